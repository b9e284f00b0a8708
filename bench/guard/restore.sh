#!/usr/bin/env bash
# bench/guard/restore.sh - benchmark of the guard's pre-image vault (a
# measurement, not a test: it asserts nothing). See bench/guard/README.md.
#
#   sudo bench/guard/restore.sh                       # everything, RUNS=3
#   RUNS=1 MODES="full mmap" WORKLOADS="tar_gzip sed_inplace" bench/guard/restore.sh
#   PARTS=restore bench/guard/restore.sh              # only part 1 (or PARTS=benign)
#
# On a fresh loop-mounted ext4 image (IMAGE_MB, default 4096, sparse):
#   1. restore: every sim mode x RUNS: new corpus, empty vault, guard
#      --action freeze (vault on), sim in its own session; after the alert
#      (+0.5 s) the sim is killed; files damaged before the restore (sim
#      verify: damaged+missing, and extra), vault bytes used (sum of the sizes
#      of the numeric blob files in MNT/.mamori-vault), then `mamori restore`
#      of one alert of every incident in the alert lines, timed; files lost
#      after the restore: damaged+missing+extra of sim verify, which compares
#      sha256 hashes with the corpus manifest.
#   2. benign: every workload of benign.sh x BENIGN_RUNS (default RUNS), each run measuring guard
#      off / guard --no-vault / guard with the vault in the interleaved order
#      BENIGN_ORDER (default off novault vault vault novault off) so that
#      drift of the machine cancels; each measurement: untimed setup with no
#      guard, empty vault, guard started, timed run, vault bytes after it.
#      Ratios vault/off, novault/off and vault/novault per run (means of the
#      run's measurements of each kind), then median over the runs.
# The vault's cap (2% of the filesystem, the default) is checked against
# every sample of its size. Prints a Markdown report and writes it to
# bench/out/vault-<date>-<time>.md (raw per-run data next to it as .tsv).
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../../tests/integration/lib.sh"
# shellcheck source=bench/guard/stats.sh
. "$REPO_ROOT/bench/guard/stats.sh"
need_root
need_mamori guard
need_mamori sim
need_mamori restore

ALL_MODES=(full intermittent16 intermittent1m percent5 header4k copy-delete rename-encrypt
  base64 hex mmap threads fork-per-file workers shell-loop slow notes-first)
BENIGN=$REPO_ROOT/bench/guard/benign.sh
RUNS=${RUNS:-3}
BENIGN_RUNS=${BENIGN_RUNS:-$RUNS} # runs of the benign part
PARTS=${PARTS:-restore benign}
IMAGE_MB=${IMAGE_MB:-4096}
CORPUS_FILES=${CORPUS_FILES:-100}
CORPUS_SCALE=${CORPUS_SCALE:-0.5}
ALERT_TIMEOUT=${ALERT_TIMEOUT:-20}
SLOW_TIMEOUT=${SLOW_TIMEOUT:-60}
WL_TIMEOUT=${WL_TIMEOUT:-180}
CAP_PERCENT=${CAP_PERCENT:-2} # the guard's default vault.cap_percent
read -r -a modes <<<"${MODES:-${ALL_MODES[*]}}"
read -r -a workloads <<<"${WORKLOADS:-$("$BENIGN" list | tr '\n' ' ')}"
read -r -a order <<<"${BENIGN_ORDER:-off novault vault vault novault off}"

stamp=$(date +%Y%m%d-%H%M%S)
outdir=$REPO_ROOT/bench/out
mkdir -p "$outdir"
report=$outdir/vault-$stamp.md
raw=$outdir/vault-$stamp.tsv
T=$(lib_mktemp_dir vbench)
t_start=$(now)
# at the start: the tree may move on while the benchmark runs
rev=$(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
bin_sum=$(sha256sum "$MAMORI" | cut -c1-12)

mnt=$(MKFS_OPTS="-E lazy_itable_init=0,lazy_journal_init=0" mk_ext4 "$IMAGE_MB") || {
  echo "bench: mk_ext4 failed: $LIB_ERR" >&2; exit 1; }
vault=$mnt/.mamori-vault
# as the guard computes it: f_blocks * f_frsize / 100 * cap_percent
# shellcheck disable=SC2017  # same rounding as the guard
cap=$(($(stat -f -c '%b * %S' "$mnt") / 100 * CAP_PERCENT))

# vault_bytes: sum of the sizes of the blob files (numeric names) in the vault.
vault_bytes() {
  [ -d "$vault" ] || { echo 0; return; }
  find "$vault" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9]+' -printf '%s\n' |
    awk '{ s += $1 } END { print s + 0 }'
}

# stopped_field LOG FIELD: FIELD of the guard's {"event":"stopped"} line, or "-".
stopped_field() {
  jq -rR --arg f "$2" 'fromjson? | select(.event=="stopped") | .[$f] // "-"' "$1" 2>/dev/null |
    head -n 1 | grep . || echo -
}

# verify DIR: the sim-verify JSON line.
verify() {
  timeout 120 "$MAMORI" sim verify --dir "$1" 2>/dev/null |
    jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1
}

ms_since() { echo "($(now) - $1) * 1000" | bc | awk '{ printf "%.1f\n", $1 }'; }

# ------------------------------------------------------------- restore --

rst=$T/restore.tsv
# mode run alerted incidents damaged_before extra_before lost_after restore_ms restore_rc
# vault_bytes vault_bytes_after_restore over_cap alerts_after_restore guard_ok evicted full too_big errors
: >"$rst"

restore_run() { # MODE RUN
  local m=$1 r=$2 dir=$mnt/sim-$1-$2 glog=$T/r-$1-$2.log out=$T/r-$1-$2.restore tmo=$ALERT_TIMEOUT
  local alerted=no inc=0 dmg=- xtr=- lost=- rms=- rrc=- vb=- vb2=- over=no arest=- gok=yes v id t0 a0
  [ "$m" = slow ] && tmo=$SLOW_TIMEOUT
  rm -rf "$vault"
  timeout 120 "$MAMORI" sim corpus --dir "$dir" --files "$CORPUS_FILES" --scale "$CORPUS_SCALE" \
    --seed "$r" >/dev/null 2>&1 || { log "corpus failed for $m/$r"; return; }
  sync
  if ! start_guard "$glog" --protect "$mnt" --action freeze; then
    log "guard did not start: $LIB_ERR"
    printf '%s\t%s\tno\t0\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno\t-\t-\t-\t-\n' "$m" "$r" >>"$rst"
    rm -rf "$dir"
    return
  fi
  run_sim_bg "$T/sim-$m-$r.out" ransomware --dir "$dir" --mode "$m"
  wait_alert "$glog" "$tmo" >/dev/null && alerted=yes
  sleep 0.5 # as tests/integration/test_restore.sh: a restarted one-shot encryptor is stopped too
  kill_tree "$SIM_PID" >/dev/null 2>&1
  vb=$(vault_bytes)
  [ "$vb" -gt "$cap" ] && over=yes
  v=$(verify "$dir")
  if [ -n "$v" ]; then
    dmg=$(jq '.damaged + .missing' <<<"$v")
    xtr=$(jq '.extra' <<<"$v")
  fi
  a0=$(count_alerts "$glog")
  : >"$out"
  rrc=0
  t0=$(now)
  for id in $(jq -rRs '[split("\n")[] | fromjson? | select(.event=="alert")] | group_by(.incident) | .[] | .[0].id' "$glog"); do
    inc=$((inc + 1))
    timeout 300 "$MAMORI" restore --vault "$vault" --alert "$id" >>"$out" 2>&1 || rrc=$?
  done
  rms=$(ms_since "$t0")
  [ "$inc" -eq 0 ] && rms=- rrc=-
  v=$(verify "$dir")
  [ -n "$v" ] && lost=$(jq '.damaged + .missing + .extra' <<<"$v")
  if [ "$lost" != 0 ]; then
    log "restore $m run $r: after the restore $(jq -c '{intact,damaged,missing,extra,damaged_files}' <<<"${v:-null}" 2>/dev/null)"
    log "restore $m run $r: $(grep -E '^(failed|skipped|alert)' "$out" | head -c 600 | tr '\n' ' ')"
  fi
  vb2=$(vault_bytes)
  [ "$vb2" -gt "$cap" ] && over=yes
  arest=$(($(count_alerts "$glog") - a0))
  stop_guard "vault-$m-$r" >&2 || gok=no
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$alerted" \
    "$inc" "$dmg" "$xtr" "$lost" "$rms" "$rrc" "$vb" "$vb2" "$over" "$arest" "$gok" \
    "$(stopped_field "$glog" vault_evicted)" "$(stopped_field "$glog" vault_full)" \
    "$(stopped_field "$glog" vault_too_big)" "$(stopped_field "$glog" vault_errors)" >>"$rst"
  log "restore $m run $r: alerted=$alerted incidents=$inc damaged_before=$dmg extra_before=$xtr lost_after=$lost restore=${rms}ms rc=$rrc vault=${vb}B over_cap=$over alerts_during_restore=$arest guard_exit_ok=$gok"
  rm -rf "$dir"
  sync
}

if [[ " $PARTS " == *" restore "* ]]; then
  for m in "${modes[@]}"; do
    for ((r = 1; r <= RUNS; r++)); do restore_run "$m" "$r"; done
  done
fi

# -------------------------------------------------------------- benign --

ben=$T/benign.tsv
# workload run idx config seconds rc alerts vault_bytes over_cap saved_bytes evicted full too_big guard_ok load1
: >"$ben"

measure() { # WORKLOAD RUN IDX off|novault|vault
  local n=$1 r=$2 i=$3 cfg=$4 w=$mnt/v-$1-$2-$3 glog=$T/b-$1-$2-$3.log
  local rc secs alerts=- vb=- over=- saved=- ev=- full=- tb=- gok=- load
  local -a gargs=(--protect "$mnt" --action freeze)
  [ "$cfg" = novault ] && gargs+=(--no-vault)
  rm -rf "$vault"
  timeout -k 5 "$WL_TIMEOUT" "$BENIGN" setup "$n" "$w" >"$T/$n.setup.log" 2>&1 || log "setup $n failed"
  sync
  if [ "$cfg" != off ] && ! start_guard "$glog" "${gargs[@]}"; then
    log "benign: guard did not start: $LIB_ERR"
    printf '%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno\n' "$n" "$r" "$i" "$cfg" >>"$ben"
    rm -rf "$w"
    return
  fi
  read -r load _ </proc/loadavg # other load on the machine shows here (raw data only)
  run_watched "$WL_TIMEOUT" "$T/$n.run.log" "$BENIGN" run "$n" "$w"
  rc=$?
  secs=${RW_SECS:--}
  [ "$RW_FROZEN" = 1 ] && log "benign $n ($cfg): frozen by the guard, killed"
  if [ "$cfg" != off ]; then
    alerts=$(count_alerts "$glog")
    if [ "$cfg" = vault ]; then
      vb=$(vault_bytes)
      over=no; [ "$vb" -gt "$cap" ] && over=yes
    fi
    gok=yes
    stop_guard "vault-bench-$n-$r-$i" >&2 || gok=no
    if [ "$cfg" = vault ]; then
      saved=$(stopped_field "$glog" vault_saved_bytes)
      ev=$(stopped_field "$glog" vault_evicted)
      full=$(stopped_field "$glog" vault_full)
      tb=$(stopped_field "$glog" vault_too_big)
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "$i" "$cfg" "$secs" "$rc" \
    "$alerts" "$vb" "$over" "$saved" "$ev" "$full" "$tb" "$gok" "$load" >>"$ben"
  log "benign $n run $r #$i $cfg: ${secs}s load1=$load rc=$rc alerts=$alerts vault=${vb}B saved=${saved}B evicted=$ev full=$full too_big=$tb"
  rm -rf "$w"
  sync
}

if [[ " $PARTS " == *" benign "* ]]; then
  for ((r = 1; r <= BENIGN_RUNS; r++)); do
    for n in "${workloads[@]}"; do
      for i in "${!order[@]}"; do measure "$n" "$r" "$i" "${order[$i]}"; done
    done
  done
fi

# -------------------------------------------------------------- report --

machine() {
  echo "- date: $(date -Is) (run took $(echo "($(now) - $t_start) / 60" | bc) min)"
  echo "- host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
  echo "- kernel: $(uname -srm)"
  echo "- mamori: $MAMORI (sha256 $bin_sum; source tree at the start: $rev)"
  echo "- filesystem: ext4 on a ${IMAGE_MB} MiB sparse loop image, vault cap $cap bytes ($(awk -v c="$cap" 'BEGIN { printf "%.1f MiB", c / 1048576 }'), ${CAP_PERCENT}%); corpus --files $CORPUS_FILES --scale $CORPUS_SCALE; RUNS=$RUNS (sim modes), BENIGN_RUNS=$BENIGN_RUNS; benign order: ${order[*]}"
}

# mib: bytes on stdin -> MiB (for stat_of)
mib() { awk '$1 != "-" && $1 != "" { printf "%.3f\n", $1 / 1048576 }'; }

restore_table() {
  echo "| mode | alerted | incidents (max) | damaged before restore median / max | extra before median / max | **lost after restore** median / max | vault used median / max (MiB) | restore time median / max (ms) | restore exit 0 | over cap | alerts during restore | guard exit 0 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  local m n a rok over arest g
  for m in "${modes[@]}"; do
    n=$(col "$rst" 1 "$m" 2 | wc -l)
    [ "$n" -gt 0 ] || continue
    a=$(col "$rst" 1 "$m" 3 | grep -c yes)
    rok=$(col "$rst" 1 "$m" 9 | grep -cx 0)
    over=$(col "$rst" 1 "$m" 12 | grep -c yes)
    arest=$(col "$rst" 1 "$m" 13 | awk '$1 != "-" { s += $1 } END { print s + 0 }')
    g=$(col "$rst" 1 "$m" 14 | grep -c yes)
    printf '| %s | %s/%s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s / %s | %s/%s | %s | %s | %s/%s |\n' "$m" "$a" "$n" \
      "$(col "$rst" 1 "$m" 4 | stat_of max)" \
      "$(col "$rst" 1 "$m" 5 | stat_of median)" "$(col "$rst" 1 "$m" 5 | stat_of max)" \
      "$(col "$rst" 1 "$m" 6 | stat_of median)" "$(col "$rst" 1 "$m" 6 | stat_of max)" \
      "$(col "$rst" 1 "$m" 7 | stat_of median)" "$(col "$rst" 1 "$m" 7 | stat_of max)" \
      "$(col "$rst" 1 "$m" 10 | mib | stat_of median)" "$(col "$rst" 1 "$m" 10 | mib | stat_of max)" \
      "$(col "$rst" 1 "$m" 8 | stat_of median)" "$(col "$rst" 1 "$m" 8 | stat_of max)" \
      "$rok" "$n" "$over" "$arest" "$g" "$n"
  done
}

# run_means WORKLOAD-or-* CONFIG: "run mean_seconds" for every run where all
# of that config's measurements succeeded (for * : summed over workloads).
run_means() {
  awk -F'\t' -v n="$1" -v c="$2" '
    $4 == c && (n == "*" || $1 == n) {
      k = $1 SUBSEP $2
      if ($5 ~ /^[0-9.]+$/ && $6 == 0) { s[k] += $5; m[k]++ } else bad[$2] = 1
    }
    END {
      for (k in s) { split(k, p, SUBSEP); mean[p[2]] += s[k] / m[k]; wl[p[2]]++ }
      for (r in mean) if (!(r in bad)) print r, mean[r]
    }' "$ben" | sort -k1,1
}

# ratios WORKLOAD-or-* A B: per-run ratios A/B, one a line.
ratios() {
  join <(run_means "$1" "$2") <(run_means "$1" "$3") | awk '$3 > 0 { printf "%.4f\n", $2 / $3 }'
}

benign_row() { # NAME-or-* LABEL
  local n=$1 rv rn rvn alerts failed sel vmed
  rv=$(ratios "$n" vault off); rn=$(ratios "$n" novault off); rvn=$(ratios "$n" vault novault)
  # shellcheck disable=SC2016  # an awk condition
  sel='($1 == n || n == "*")'
  alerts=$(awk -F'\t' -v n="$n" "$sel"' { if ($7 != "-") s += $7 } END { print s + 0 }' "$ben")
  failed=$(awk -F'\t' -v n="$n" "$sel"' && ($6 != 0 || $5 == "-") { c++ } END { print c + 0 }' "$ben")
  vmed=- # a median over different workloads says nothing
  [ "$n" = '*' ] || vmed=$(awk -F'\t' -v n="$n" "$sel"' && $4 == "vault" { print $8 }' "$ben" | mib | stat_of median)
  printf '| %s | %s | %s | %s | **%s** (%s..%s) | %s (%s..%s) | %s (%s..%s) | %s / %s | %s | %s | %s | %s |\n' "$2" \
    "$(run_means "$n" off | cut -d' ' -f2 | stat_of median)" \
    "$(run_means "$n" novault | cut -d' ' -f2 | stat_of median)" \
    "$(run_means "$n" vault | cut -d' ' -f2 | stat_of median)" \
    "$(stat_of median <<<"$rv")" "$(stat_of min <<<"$rv")" "$(stat_of max <<<"$rv")" \
    "$(stat_of median <<<"$rn")" "$(stat_of min <<<"$rn")" "$(stat_of max <<<"$rn")" \
    "$(stat_of median <<<"$rvn")" "$(stat_of min <<<"$rvn")" "$(stat_of max <<<"$rvn")" \
    "$vmed" \
    "$(awk -F'\t' -v n="$n" "$sel"' && $4 == "vault" { print $8 }' "$ben" | mib | stat_of max)" \
    "$(awk -F'\t' -v n="$n" "$sel"' && $4 == "vault" { print $11 }' "$ben" | stat_of max)" \
    "$(awk -F'\t' -v n="$n" "$sel"' && $9 == "yes" { c++ } END { print c + 0 }' "$ben")" \
    "$alerts" "$failed"
}

benign_table() {
  echo "| workload | off median (s) | novault median (s) | vault median (s) | ratio vault/off median (min..max) | ratio novault/off median (min..max) | ratio vault/novault median (min..max) | vault bytes after median / max (MiB) | evicted (max) | over cap | alerts | failed runs |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  local n
  for n in "${workloads[@]}"; do benign_row "$n" "$n"; done
  [ "${#workloads[@]}" -gt 1 ] && benign_row '*' "whole suite (sum)"
}

{
  echo "# mamori vault benchmark, $(date +%F)"
  echo
  machine
  if [ -s "$rst" ]; then
    echo
    echo "## Restore: files lost after \`mamori restore\`, per sim mode (guard --action freeze, vault on)"
    echo
    restore_table
  fi
  if [ -s "$ben" ]; then
    echo
    echo "## Benign workloads: wall time with guard off / guard --no-vault / guard with the vault (same run)"
    echo
    benign_table
  fi
} | tee "$report"
{
  echo "# restore: mode run alerted incidents damaged_before extra_before lost_after restore_ms restore_rc vault_bytes vault_bytes_after_restore over_cap alerts_during_restore guard_exit_ok evicted full too_big errors"
  cat "$rst"
  echo "# benign: workload run idx config seconds rc alerts vault_bytes over_cap saved_bytes evicted full too_big guard_exit_ok load1_before"
  cat "$ben"
} >"$raw"
log "report: $report (raw: $raw)"
