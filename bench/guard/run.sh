#!/usr/bin/env bash
# bench/guard/run.sh - benchmark of `mamori guard` (a measurement, not a test:
# it asserts nothing about time). See bench/guard/README.md for the columns.
#
#   sudo bench/guard/run.sh                  # everything, RUNS=5
#   RUNS=3 MODES="full workers" WORKLOADS="tar_gzip git_repo" BENIGN_REPS=2 bench/guard/run.sh
#   GUARD_ARGS="--no-vault" bench/guard/run.sh       # extra guard options, every run
#   MAMORI_TEST_NO_PERM_EVENTS=1 bench/guard/run.sh  # as on a kernel without permission events
#
# On a fresh loop-mounted ext4 image (IMAGE_MB, default 4096, sparse):
#   1. detection: every sim mode x RUNS: new corpus, guard --action freeze,
#      sim in its own session; files damaged before the freeze (sim verify:
#      damaged+missing), freeze_ts-first_write_ts, decision_ts-first_write_ts,
#      whether the sim's job was contained (contained() in lib.sh).
#   2. idle cost: guard running 10 s with nothing to do (CPU, VmHWM).
#   3. benign overhead: every workload of benign.sh, guard off and on
#      alternately (ABBA order over BENIGN_REPS repetitions); wall-time ratio
#      on/off, alerts (must be 0), guard CPU and memory under that load.
# Prints a Markdown report and writes it to bench/out/guard-<date>.md (raw
# per-run data next to it as .tsv).
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../../tests/integration/lib.sh"
need_root
need_mamori guard
need_mamori sim

ALL_MODES=(full intermittent16 intermittent1m percent5 header4k copy-delete rename-encrypt
  base64 hex mmap threads fork-per-file workers shell-loop slow notes-first)
BENIGN=$REPO_ROOT/bench/guard/benign.sh
RUNS=${RUNS:-5}
BENIGN_REPS=${BENIGN_REPS:-3}
IMAGE_MB=${IMAGE_MB:-4096}
CORPUS_FILES=${CORPUS_FILES:-100}
CORPUS_SCALE=${CORPUS_SCALE:-0.5}
ALERT_TIMEOUT=${ALERT_TIMEOUT:-20}
SLOW_TIMEOUT=${SLOW_TIMEOUT:-60}
WL_TIMEOUT=${WL_TIMEOUT:-180}
IDLE_S=${IDLE_S:-10}
read -r -a modes <<<"${MODES:-${ALL_MODES[*]}}"
read -r -a workloads <<<"${WORKLOADS:-$("$BENIGN" list | tr '\n' ' ')}"
read -r -a guard_args <<<"${GUARD_ARGS:-}"
CLK_TCK=$(getconf CLK_TCK)

stamp=$(date +%Y%m%d-%H%M%S)
outdir=$REPO_ROOT/bench/out
mkdir -p "$outdir"
report=$outdir/guard-$stamp.md
raw=$outdir/guard-$stamp.tsv
T=$(lib_mktemp_dir bench)

# log, stat_of, col
# shellcheck source=bench/guard/stats.sh
. "$REPO_ROOT/bench/guard/stats.sh"

# ----------------------------------------------------------- detection --

mnt=$(MKFS_OPTS="-E lazy_itable_init=0,lazy_journal_init=0" mk_ext4 "$IMAGE_MB") || {
  echo "bench: mk_ext4 failed: $LIB_ERR" >&2; exit 1; }

det=$T/detection.tsv # mode run alerted damage freeze_ms decision_ms all_stopped guard_ok
: >"$det"

# all_stopped PIDS...: the sim's job is contained by the alert (contained()
# in lib.sh: live alert pids stopped, the rest only waiting ancestors);
# polled up to 2 s since SIGSTOP delivery is asynchronous.
all_stopped() {
  local end=$(($(date +%s%N) / 1000000 + 2000))
  while [ $(($(date +%s%N) / 1000000)) -lt "$end" ]; do
    contained "$SIM_PID" "$@" && { echo yes; return; }
    sleep 0.05
  done
  echo no
}

detect_run() { # MODE RUN
  local m=$1 r=$2 dir=$mnt/sim-$1-$2 glog=$T/g-$1-$2.log tmo=$ALERT_TIMEOUT
  local alerted=no damage=- fz=- dc=- stopped=- gok=yes alert v
  local -a pids=()
  [ "$m" = slow ] && tmo=$SLOW_TIMEOUT
  timeout 120 "$MAMORI" sim corpus --dir "$dir" --files "$CORPUS_FILES" --scale "$CORPUS_SCALE" \
    --seed "$r" >/dev/null 2>&1 || { log "corpus failed for $m/$r"; return; }
  sync
  if ! start_guard "$glog" --protect "$mnt" --action freeze "${guard_args[@]}"; then
    log "guard did not start: $LIB_ERR"
    printf '%s\t%s\tno\t-\t-\t-\t-\tno\n' "$m" "$r" >>"$det"
    return
  fi
  run_sim_bg "$T/sim-$m-$r.out" ransomware --dir "$dir" --mode "$m"
  if alert=$(wait_alert "$glog" "$tmo"); then
    alerted=yes
    # every alert so far: a one-file child may have exited before the first
    mapfile -t pids < <(jq -r 'select(.event=="alert") | .pids[] | tostring' "$glog" 2>/dev/null)
    stopped=$(all_stopped "${pids[@]}")
    fz=$(jq '((.freeze_ts - .first_write_ts) * 1000) // "-"' <<<"$alert" 2>/dev/null || echo -)
    dc=$(jq '((.decision_ts - .first_write_ts) * 1000) // "-"' <<<"$alert" 2>/dev/null || echo -)
  fi
  kill_tree "$SIM_PID" >/dev/null 2>&1
  stop_guard "bench-$m-$r" >&2 || gok=no
  v=$(timeout 120 "$MAMORI" sim verify --dir "$dir" 2>/dev/null | jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1)
  [ -n "$v" ] && damage=$(jq '.damaged + .missing' <<<"$v")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$r" "$alerted" "$damage" "$fz" "$dc" "$stopped" "$gok" >>"$det"
  log "detect $m run $r: alerted=$alerted damage=$damage freeze=${fz}ms decision=${dc}ms stopped=$stopped guard_exit_ok=$gok"
  rm -rf "$dir"
}

for m in "${modes[@]}"; do
  for ((r = 1; r <= RUNS; r++)); do detect_run "$m" "$r"; done
done

# ---------------------------------------------------------------- idle --

res=$T/resources.tsv # phase wall_s cpu_s vmhwm_kb vmrss_kb
: >"$res"
if start_guard "$T/idle.log" --protect "$mnt" --action freeze "${guard_args[@]}"; then
  c0=$(guard_cpu_ticks); t0=$(now)
  sleep "$IDLE_S"
  c1=$(guard_cpu_ticks); t1=$(now)
  printf 'idle\t%s\t%s\t%s\t%s\n' "$(echo "$t1 - $t0" | bc)" \
    "$(echo "scale=3; ($c1 - $c0) / $CLK_TCK" | bc)" "$(guard_mem_kb VmHWM)" "$(guard_mem_kb VmRSS)" >>"$res"
  stop_guard bench-idle >&2
else
  log "idle: guard did not start: $LIB_ERR"
fi

# -------------------------------------------------------------- benign --

ben=$T/benign.tsv # workload rep phase seconds rc alerts guard_cpu_s
: >"$ben"

# settle_guard: wait (at most 10 s) until the guard has used no CPU for
# 0.3 s, so that the events of an untimed setup (thousands of new files) are
# not judged inside the next timed run.
settle_guard() {
  local prev cur quiet=0 i
  prev=$(guard_cpu_ticks)
  for ((i = 0; i < 100 && quiet < 3; i++)); do
    sleep 0.1
    cur=$(guard_cpu_ticks)
    if [ "$cur" = "$prev" ]; then quiet=$((quiet + 1)); else quiet=0; fi
    prev=$cur
  done
}

benign_phase() { # REP on|off
  local rep=$1 ph=$2 n w before c0 c1 rc alerts cpu secs pt0 pc0=0
  if [ "$ph" = on ]; then
    start_guard "$T/benign-$rep.log" --protect "$mnt" --action freeze "${guard_args[@]}" || {
      log "benign: guard did not start: $LIB_ERR"; return; }
    pc0=$(guard_cpu_ticks)
  fi
  pt0=$(now)
  for n in "${workloads[@]}"; do
    w=$mnt/b-$n-$rep-$ph
    before=0
    [ "$ph" = on ] && before=$(count_alerts "$GUARD_LOG")
    timeout -k 5 "$WL_TIMEOUT" "$BENIGN" setup "$n" "$w" >"$T/$n.setup.log" 2>&1 || log "setup $n failed"
    sync
    [ "$ph" = on ] && settle_guard
    c0=0; [ "$ph" = on ] && c0=$(guard_cpu_ticks)
    run_watched "$WL_TIMEOUT" "$T/$n.run.log" "$BENIGN" run "$n" "$w"
    rc=$?
    secs=${RW_SECS:--}
    [ "$RW_FROZEN" = 1 ] && log "benign $n: frozen by the guard, killed"
    alerts=- cpu=-
    if [ "$ph" = on ]; then
      c1=$(guard_cpu_ticks)
      cpu=$(echo "scale=3; ($c1 - $c0) / $CLK_TCK" | bc)
      alerts=$(($(count_alerts "$GUARD_LOG") - before))
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$rep" "$ph" "$secs" "$rc" "$alerts" "$cpu" >>"$ben"
    log "benign $n rep $rep guard-$ph: ${secs}s rc=$rc alerts=$alerts guard_cpu=${cpu}s"
    rm -rf "$w"
    sync
  done
  if [ "$ph" = on ]; then
    local wall cpu_s hwm
    wall=$(echo "$(now) - $pt0" | bc)
    cpu_s=$(echo "scale=3; ($(guard_cpu_ticks) - $pc0) / $CLK_TCK" | bc)
    hwm=$(guard_mem_kb VmHWM)
    printf 'load-rep%s\t%s\t%s\t%s\t%s\n' "$rep" "$wall" "$cpu_s" "$hwm" "$(guard_mem_kb VmRSS)" >>"$res"
    stop_guard "bench-benign-$rep" >&2
  fi
}

for ((rep = 1; rep <= BENIGN_REPS; rep++)); do
  if [ $((rep % 2)) -eq 1 ]; then benign_phase "$rep" off; benign_phase "$rep" on
  else benign_phase "$rep" on; benign_phase "$rep" off; fi
done

# -------------------------------------------------------------- report --

machine() {
  echo "- date: $(date -Is)"
  echo "- host: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
  echo "- kernel: $(uname -srm)"
  echo "- mamori: $MAMORI ($(git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "- filesystem: ext4 on a ${IMAGE_MB} MiB sparse loop image; corpus --files $CORPUS_FILES --scale $CORPUS_SCALE; RUNS=$RUNS, BENIGN_REPS=$BENIGN_REPS"
}

detection_table() {
  echo "| mode | alerted | damaged median | damaged max | freeze latency median (ms) | freeze latency p95 (ms) | decision latency median (ms) | decision latency p95 (ms) | all stopped | guard exit 0 |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  local m n a s g
  for m in "${modes[@]}"; do
    n=$(col "$det" 1 "$m" 2 | wc -l)
    a=$(col "$det" 1 "$m" 3 | grep -c yes)
    s=$(col "$det" 1 "$m" 7 | grep -c yes)
    g=$(col "$det" 1 "$m" 8 | grep -c yes)
    printf '| %s | %s/%s | %s | %s | %s | %s | %s | %s | %s/%s | %s/%s |\n' "$m" "$a" "$n" \
      "$(col "$det" 1 "$m" 4 | stat_of median)" "$(col "$det" 1 "$m" 4 | stat_of max)" \
      "$(col "$det" 1 "$m" 5 | stat_of median)" "$(col "$det" 1 "$m" 5 | stat_of p95)" \
      "$(col "$det" 1 "$m" 6 | stat_of median)" "$(col "$det" 1 "$m" 6 | stat_of p95)" \
      "$s" "$a" "$g" "$n"
  done
}

benign_table() {
  echo "| workload | guard off median (s) | guard on median (s) | ratio on/off (median) | ratio min..max | alerts | failed runs | guard CPU (s, median) |"
  echo "|---|---|---|---|---|---|---|---|"
  local n rep off on ratios alerts failed
  for n in "${workloads[@]}"; do
    ratios=$(for ((rep = 1; rep <= BENIGN_REPS; rep++)); do
      off=$(awk -F'\t' -v n="$n" -v r="$rep" '$1 == n && $2 == r && $3 == "off" { print $4 }' "$ben")
      on=$(awk -F'\t' -v n="$n" -v r="$rep" '$1 == n && $2 == r && $3 == "on" { print $4 }' "$ben")
      [[ $off =~ ^[0-9.]+$ && $on =~ ^[0-9.]+$ ]] && echo "scale=4; $on / $off" | bc
    done)
    alerts=$(awk -F'\t' -v n="$n" '$1 == n && $3 == "on" { s += $6 } END { print s + 0 }' "$ben")
    failed=$(awk -F'\t' -v n="$n" '$1 == n && $5 != 0 { c++ } END { print c + 0 }' "$ben")
    printf '| %s | %s | %s | %s | %s..%s | %s | %s | %s |\n' "$n" \
      "$(awk -F'\t' -v n="$n" '$1 == n && $3 == "off" { print $4 }' "$ben" | stat_of median)" \
      "$(awk -F'\t' -v n="$n" '$1 == n && $3 == "on" { print $4 }' "$ben" | stat_of median)" \
      "$(stat_of median <<<"$ratios")" "$(stat_of min <<<"$ratios")" "$(stat_of max <<<"$ratios")" \
      "$alerts" "$failed" \
      "$(awk -F'\t' -v n="$n" '$1 == n && $3 == "on" { print $7 }' "$ben" | stat_of median)"
  done
}

resources_table() {
  echo "| phase | wall (s) | guard CPU (s) | guard CPU (% of one core) | VmHWM (MiB) | VmRSS at end (MiB) |"
  echo "|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %.1f | %.2f | %.2f | %.1f | %.1f |\n", $1, $2, $3, ($2 > 0 ? 100 * $3 / $2 : 0), $4 / 1024, $5 / 1024 }' "$res"
}

{
  echo "# mamori guard benchmark, $(date +%F)"
  echo
  machine
  echo
  echo "## Detection: files damaged and latency, per sim mode (guard --action freeze)"
  echo
  detection_table
  echo
  echo "## Benign workloads: false alerts and overhead (guard on vs off, same run)"
  echo
  benign_table
  echo
  echo "## Guard resources (summed over the guard's session)"
  echo
  resources_table
} | tee "$report"
{
  echo "# detection: mode run alerted damage freeze_ms decision_ms all_stopped guard_exit_ok"
  cat "$det"
  echo "# benign: workload rep phase seconds rc alerts guard_cpu_s"
  cat "$ben"
  echo "# resources: phase wall_s cpu_s vmhwm_kb vmrss_kb"
  cat "$res"
} >"$raw"
log "report: $report (raw: $raw)"
