#!/usr/bin/env bash
# bench/guard/floor.sh - the floor under the guard's benign overhead: what
# the kernel mechanism alone costs (a listener that does nothing), measured in
# the same run as the guard itself. A measurement, not a test.
#
#   sudo bench/guard/floor.sh
#   REPS=3 WORKLOADS="tar_zstd git_repo" bench/guard/floor.sh
#
# On a fresh loop-mounted ext4 image, for each workload of benign.sh and
# REPS repetitions, one timed run in each configuration, in the mirrored
# order off notif perm perm-ign novault vault vault novault perm-ign perm
# notif off (every configuration twice per repetition, early and late):
#   off       nothing watches the filesystem
#   notif     floor_listener notif: write and name events, nothing waits
#   perm      floor_listener perm: FAN_OPEN_PERM on every open, ALLOW at once
#   perm-ign  floor_listener perm-ign: one round trip per inode, then an
#             ignore mark (the best case of any design that must see each
#             file's first open)
#   novault   mamori guard --no-vault --action alert
#   vault     mamori guard --action alert (the vault on)
#   noperm    mamori guard --action alert as on a kernel without permission
#             events (MAMORI_TEST_NO_PERM_EVENTS=1; not in the default ORDER)
# Inputs are recreated (untimed) before every run and the page cache dropped.
# Prints a Markdown table (median wall time per configuration, ratio of the
# medians to off) and writes it to bench/out/floor-<date>.md, raw runs in .tsv.
# It also says whether this kernel loads a BPF LSM program (the mechanism
# that could filter opens before user space; see bench/RESULTS.md).
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../../tests/integration/lib.sh"
need_root
need_mamori guard

BENIGN=$REPO_ROOT/bench/guard/benign.sh
REPS=${REPS:-3}
IMAGE_MB=${IMAGE_MB:-4096}
WL_TIMEOUT=${WL_TIMEOUT:-300}
read -r -a workloads <<<"${WORKLOADS:-tar_gzip tar_zstd tar_xz zip_dir git_repo compile_c}"
read -r -a order <<<"${ORDER:-off notif perm perm-ign novault vault vault novault perm-ign perm notif off}"

# shellcheck source=bench/guard/stats.sh
. "$REPO_ROOT/bench/guard/stats.sh"
stamp=$(date +%Y%m%d-%H%M%S)
outdir=$REPO_ROOT/bench/out
mkdir -p "$outdir"
report=$outdir/floor-$stamp.md
raw=$outdir/floor-$stamp.tsv
T=$(lib_mktemp_dir floor)

listener=$T/floor_listener
lsm_cflags=() lsm_libs=()
if pkg-config --exists libbpf 2>/dev/null; then
  lsm_cflags=(-DWITH_LIBBPF)
  read -r -a lsm_libs <<<"$(pkg-config --libs libbpf)"
fi
gcc -std=gnu17 -O2 -Wall -Wextra -Werror "${lsm_cflags[@]}" -o "$listener" \
  "$REPO_ROOT/bench/guard/floor_listener.c" "${lsm_libs[@]}" || {
  echo "floor: cannot build floor_listener" >&2; exit 1; }
lsm=$("$listener" probe-lsm)

mnt=$(MKFS_OPTS="-E lazy_itable_init=0,lazy_journal_init=0" mk_ext4 "$IMAGE_MB") || {
  echo "floor: mk_ext4 failed: $LIB_ERR" >&2; exit 1; }

printf 'workload\trep\tconfig\twall_s\tevents\tload1\n' >"$raw"
n=0
measure() { # WORKLOAD REP CONFIG
  local wl=$1 rep=$2 cfg=$3 w=$mnt/w$n lp='' ev=- t0 t1 rc load
  n=$((n + 1))
  if ! (bash "$BENIGN" setup "$wl" "$w" >"$T/setup.out" 2>&1); then
    log "setup of $wl failed: $(tail -c 300 "$T/setup.out")"; return
  fi
  sync
  echo 3 >/proc/sys/vm/drop_caches
  case $cfg in
    off) ;;
    notif | perm | perm-ign)
      "$listener" "$cfg" "$mnt" >"$T/l.out" 2>"$T/l.err" &
      lp=$!
      local i
      for ((i = 0; i < 100; i++)); do grep -q ready "$T/l.out" 2>/dev/null && break; sleep 0.05; done ;;
    novault) start_guard "$T/g.log" --protect "$mnt" --action alert --no-vault || {
      log "guard: $LIB_ERR"; return; } ;;
    vault) start_guard "$T/g.log" --protect "$mnt" --action alert || {
      log "guard: $LIB_ERR"; return; } ;;
    noperm) MAMORI_TEST_NO_PERM_EVENTS=1 start_guard "$T/g.log" --protect "$mnt" --action alert || {
      log "guard: $LIB_ERR"; return; } ;;
  esac
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$EPOCHREALTIME
  timeout "$WL_TIMEOUT" bash "$BENIGN" run "$wl" "$w" >"$T/run.out" 2>&1
  rc=$?
  t1=$EPOCHREALTIME
  if [ -n "$lp" ]; then
    kill -TERM "$lp"; wait "$lp"
    ev=$(awk '/^events/ { print $2 }' "$T/l.err")
  elif [ "$cfg" = novault ] || [ "$cfg" = vault ] || [ "$cfg" = noperm ]; then
    stop_guard "$cfg" >/dev/null || log "guard did not stop cleanly: $LIB_ERR"
    [ "$(grep -c '"event":"alert"' "$T/g.log")" -eq 0 ] || log "ALERT during $wl ($cfg)"
  fi
  if [ "$rc" -ne 0 ]; then
    log "$wl ($cfg) failed: rc=$rc $(tail -c 300 "$T/run.out")"
  else
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$rep" "$cfg" "$(echo "$t1 - $t0" | bc)" "$ev" "$load" >>"$raw"
  fi
  rm -rf "$w"
}

started=$(date -u +%FT%TZ)
for ((r = 1; r <= REPS; r++)); do
  for wl in "${workloads[@]}"; do
    for cfg in "${order[@]}"; do
      log "rep $r $wl $cfg"
      measure "$wl" "$r" "$cfg"
    done
  done
done

cfgs=()
for c in off notif perm perm-ign novault vault noperm; do
  [[ " ${order[*]} " == *" $c "* ]] && cfgs+=("$c")
done
{
  echo "## bench/guard/floor.sh — $started, mamori $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null)"
  echo
  echo "Machine: $(nproc) CPUs, $(uname -r); ext4 on a ${IMAGE_MB} MiB sparse loop image;"
  echo "REPS=$REPS (each configuration twice per repetition); 1-min load during runs:"
  echo "median $(tail -n +2 "$raw" | cut -f6 | stat_of median), max $(tail -n +2 "$raw" | cut -f6 | stat_of max)."
  echo "BPF LSM on this kernel: $lsm"
  echo
  echo "Median wall time (s), ratio of medians to off in parentheses; events of the listener (median):"
  echo
  printf '| workload |'; printf ' %s |' "${cfgs[@]}"; echo " events notif / perm / perm-ign |"
  printf '|---|'; printf -- '---|%.0s' "${cfgs[@]}"; echo "---|"
  for wl in "${workloads[@]}"; do
    off=$(awk -F'\t' -v w="$wl" '$1 == w && $3 == "off" { print $4 }' "$raw" | stat_of median)
    printf '| %s |' "$wl"
    for c in "${cfgs[@]}"; do
      m=$(awk -F'\t' -v w="$wl" -v c="$c" '$1 == w && $3 == c { print $4 }' "$raw" | stat_of median)
      if [ "$c" = off ] || [ "$m" = - ] || [ "$off" = - ]; then
        printf ' %s |' "$m"
      else
        printf ' %s (×%s) |' "$m" "$(echo "scale=4; $m / $off" | bc | awk '{ printf "%.3f", $1 }')"
      fi
    done
    ev=()
    for c in notif perm perm-ign; do
      ev+=("$(awk -F'\t' -v w="$wl" -v c="$c" '$1 == w && $3 == c { print $5 }' "$raw" | stat_of median)")
    done
    echo " ${ev[0]} / ${ev[1]} / ${ev[2]} |"
  done
  printf '| all (sum of medians) |'
  for c in "${cfgs[@]}"; do
    s=0
    for wl in "${workloads[@]}"; do
      m=$(awk -F'\t' -v w="$wl" -v c="$c" '$1 == w && $3 == c { print $4 }' "$raw" | stat_of median)
      [ "$m" = - ] || s=$(echo "$s + $m" | bc)
    done
    [ "$c" = off ] && soff=$s
    if [ "$c" = off ]; then printf ' %s |' "$s"; else
      printf ' %s (×%s) |' "$s" "$(echo "scale=4; $s / $soff" | bc | awk '{ printf "%.3f", $1 }')"; fi
  done
  echo " |"
} | tee "$report"
echo "raw runs: $raw" >&2
