#!/usr/bin/env bash
# tests/integration/test_benign.sh - the guard must not flag ordinary work.
#
# On a fresh loop-mounted ext4 image it prepares every workload of
# bench/guard/benign.sh (untimed setup, guard not yet running), starts
#   mamori guard --protect <mnt> --action freeze
# and runs each workload under a timeout. Per workload: PASS iff it exits 0
# within the timeout (a frozen workload times out) and the guard wrote no
# alert while it ran. A workload the guard froze is killed as soon as that is
# seen (an alert plus a stopped process of the workload) and fails. Then the
# guard must exit 0 on SIGTERM.
#
#   MAMORI=build/release/mamori tests/integration/test_benign.sh
#   WORKLOADS="tar_gzip git_repo" WL_TIMEOUT=120 ... (subset / per-workload limit)
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
need_mamori guard

BENIGN=$REPO_ROOT/bench/guard/benign.sh
WL_TIMEOUT=${WL_TIMEOUT:-120}
read -r -a workloads <<<"${WORKLOADS:-$("$BENIGN" list | tr '\n' ' ')}"

mnt=$(mk_ext4 4096) || { fail benign-setup "mk_ext4: $LIB_ERR"; exit 1; }
T=$(lib_mktemp_dir benign)
log=$T/guard.log

# 1. inputs, before the guard watches (files that already exist on a server)
declare -A setup_ok=()
for n in "${workloads[@]}"; do
  if timeout -k 5 "$WL_TIMEOUT" "$BENIGN" setup "$n" "$mnt/$n" >"$T/$n.setup" 2>&1; then
    setup_ok[$n]=1
  else
    fail "benign[$n]" "setup failed (guard not running yet): $(tail -c 400 "$T/$n.setup" | tr '\n' ' ')"
  fi
done
sync

# 2. the guard, freezing
start_guard "$log" --protect "$mnt" --action freeze || { fail benign-guard-start "$LIB_ERR"; exit 1; }

# 3. every workload under the guard
for n in "${workloads[@]}"; do
  [ -n "${setup_ok[$n]:-}" ] || continue
  before=$(count_alerts "$log")
  run_watched "$WL_TIMEOUT" "$T/$n.run" "$BENIGN" run "$n" "$mnt/$n"
  rc=$?
  secs=${RW_SECS:--}
  sleep 0.2 # let a late alert for this workload land in the log
  new=$(($(count_alerts "$log") - before))
  why=()
  if [ "$RW_FROZEN" = 1 ]; then
    why+=("frozen by the guard (killed after 1 s stopped)")
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    why+=("did not finish within ${WL_TIMEOUT}s (frozen or hung)")
  elif [ "$rc" -ne 0 ]; then
    why+=("exited $rc: $(tail -c 300 "$T/$n.run" | tr '\n' ' ')")
  fi
  if [ "$new" -gt 0 ]; then
    why+=("$new alert(s): $(jq -cR 'fromjson? | select(.event=="alert") | {action,exe,cmdline,indicators,nfiles:(.files|length)}' <"$log" | tail -n "$new" | head -n 2 | tr '\n' ' ')")
  fi
  if [ ${#why[@]} -eq 0 ]; then
    pass "benign[$n]"
  else
    fail "benign[$n]" "${why[*]}"
  fi
  echo "# $n: ${secs}s rc=$rc alerts=$new" >&2
done

# 4. clean exit, and no alert at all
total=$(count_alerts "$log")
stop_guard benign && pass benign-guard-exit
if [ "$total" -eq 0 ]; then pass benign-no-alerts; else fail benign-no-alerts "$total alert(s) in total"; fi
lib_summary
