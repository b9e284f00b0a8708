#!/usr/bin/env bash
# tests/integration/test_guard_modes.sh - the guard stops every simulated
# ransomware behaviour, and only the ransomware.
#
# On one fresh loop-mounted ext4 image, for every `mamori sim ransomware`
# mode: a new small corpus, `mamori guard --protect <mnt> --action freeze`,
# the simulator started in its own session, then within the timeout:
#   - an alert with action "freeze", non-empty files and indicators,
#     decision_ts >= first_write_ts;
#   - every live process of the simulator's session (the encryptor, its
#     threads/children/workers) is in the alert, except a parent that only
#     started the job and now waits for a stopped child (an innocent
#     ancestor, which the guard must not touch); the session then makes no
#     further progress (sim verify unchanged over 1 s);
#   - every live pid in the alert is stopped (state T), at least one is -
#     polled for up to 2 s, since SIGSTOP delivery is asynchronous; a pid
#     that had exited before the freeze (a one-file child) may be a zombie;
#   - no pid outside the simulator's session is in the alert (not this test
#     shell, not the guard, not PID 1);
#   - after the sim is killed: `sim verify` damaged+missing <= 3;
#   - the guard exits 0 on SIGTERM;
#   - "ppids" is parallel to "pids", "parent" (the process that started the
#     actor) is not among the stopped pids, and with freeze each member's
#     parent is a member, the actor's parent or 0 (gone).
# Plus one case with --action kill (alerted processes gone) and one with
# --action alert (alert emitted, processes keep running and finish).
#
#   MAMORI=build/release/mamori tests/integration/test_guard_modes.sh
#   MODES="full workers" ... runs a subset; ALERT_TIMEOUT=20 SLOW_TIMEOUT=60
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_root
need_mamori guard
need_mamori sim

ALL_MODES=(full intermittent16 intermittent1m percent5 header4k copy-delete rename-encrypt
  base64 hex mmap threads fork-per-file workers shell-loop slow notes-first)
read -r -a modes <<<"${MODES:-${ALL_MODES[*]}}"
ALERT_TIMEOUT=${ALERT_TIMEOUT:-20}
SLOW_TIMEOUT=${SLOW_TIMEOUT:-60}
MAX_DAMAGE=${MAX_DAMAGE:-3}
CORPUS_ARGS=(--files 60 --scale 0.2)

mnt=$(mk_ext4 1024) || { fail modes-setup "mk_ext4: $LIB_ERR"; exit 1; }
T=$(lib_mktemp_dir modes)
seed=0

# live_session SID: live (not zombie) pids of session SID.
live_session() {
  lib_ps | awk -v s="$1" '$4 == s && $5 != "Z" { print $1 }'
}

# in_list X LIST...: is X one of LIST?
in_list() {
  local x=$1; shift
  local y
  for y in "$@"; do [ "$x" = "$y" ] && return 0; done
  return 1
}

# check_fields ALERT ACTION: contract fields of one alert line.
check_fields() {
  local a=$1 want=$2 got
  got=$(jq -r '.action // ""' <<<"$a")
  [ "$got" = "$want" ] || errs+=("alert action is '$got', want '$want'")
  jq -e '(.files | type == "array" and length > 0)' <<<"$a" >/dev/null ||
    errs+=("alert has no files")
  jq -e '(.indicators | type == "array" and length > 0)' <<<"$a" >/dev/null ||
    errs+=("alert has no indicators")
  jq -e '(.pids | type == "array" and length > 0)' <<<"$a" >/dev/null ||
    errs+=("alert has no pids")
  jq -e '(.first_write_ts | type == "number") and (.decision_ts | type == "number")
         and .decision_ts >= .first_write_ts' <<<"$a" >/dev/null ||
    errs+=("decision_ts < first_write_ts or missing ($(jq -c '{first_write_ts,decision_ts}' <<<"$a"))")
  if [ "$want" != alert ]; then
    jq -e '(.freeze_ts | type == "number") and .freeze_ts >= .first_write_ts' <<<"$a" >/dev/null ||
      errs+=("freeze_ts missing or < first_write_ts ($(jq -c '{first_write_ts,freeze_ts}' <<<"$a"))")
  fi
}

# check_tree ALERT ACTION: "ppids" parallel to "pids"; the actor's "parent"
# (which started it) is never one of the stopped pids; with freeze (members
# stay, stopped) each member's parent is another member, the actor's parent,
# or 0 (a one-file child already reaped).
check_tree() {
  local a=$1 want=$2 bad
  jq -e '(.ppids | type == "array") and (.ppids | length) == (.pids | length)' <<<"$a" >/dev/null ||
    { errs+=("ppids not parallel to pids ($(jq -c '{pids,ppids}' <<<"$a"))"); return; }
  jq -e '(.parent.pid | type == "number") and .parent.pid > 0 and (.parent.exe | type == "string")' \
    <<<"$a" >/dev/null || errs+=("alert has no parent ($(jq -c '.parent' <<<"$a"))")
  jq -e '.parent.pid as $p | .pids | index($p) == null' <<<"$a" >/dev/null ||
    errs+=("the actor's parent $(jq -c .parent <<<"$a") is among the stopped pids")
  [ "$want" = freeze ] || return
  bad=$(jq -c '.pids as $m | .parent.pid as $p | [range(0; $m | length) as $i
      | .ppids[$i] as $q | select($q != 0 and $q != $p and ($m | any(. == $q) | not))
      | {pid: $m[$i], ppid: $q}]' <<<"$a") || bad="jq failed"
  [ "$bad" = "[]" ] || errs+=("members whose parent is neither a member nor the actor's parent: $bad (parent $(jq -c .parent <<<"$a"))")
}

# check_not_innocent PIDS...: no alert pid outside the sim's session.
check_not_innocent() {
  local p sid
  for p in "$@"; do
    if [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] || [ "$p" = "$PPID" ] || [ "$p" = 1 ] ||
      [ "$p" = "$GUARD_PID" ]; then
      errs+=("alert names an innocent pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))")
      continue
    fi
    sid=$(proc_field "$p" 6) || continue # gone: reported by the state check
    [ "$sid" = "$SIM_PID" ] ||
      errs+=("alert pid $p is outside the sim's session (sid $sid: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))")
  done
}

# verify_count DIR: damaged+missing+extra now.
verify_count() {
  timeout 60 "$MAMORI" sim verify --dir "$1" 2>/dev/null |
    jq -r 'fromjson? // . | select(.event=="sim-verify") | .damaged + .missing + .extra' 2>/dev/null | head -n 1
}

# check_frozen DIR LOG: the job is contained by the alerts in LOG (see contained() in lib.sh,
# polled up to 2 s as SIGSTOP delivery is asynchronous), and makes no further
# progress when a waiting ancestor is left running.
check_frozen() {
  local dir=$1 log=$2
  local end=$(($(date +%s%N) / 1000000 + 2000)) v1 v2
  local -a all
  # A one-file child may have exited before the first alert; the next one,
  # stopped at its first open, is named by a later alert: judge them together.
  until mapfile -t all < <(jq -r 'select(.event=="alert") | .pids[] | tostring' "$log" 2>/dev/null) &&
    contained "$SIM_PID" "${all[@]}"; do
    if [ $(($(date +%s%N) / 1000000)) -ge "$end" ]; then
      errs+=("$CONTAINED_WHY"); return
    fi
    sleep 0.05
  done
  v1=$(verify_count "$dir"); sleep 1; v2=$(verify_count "$dir")
  [ "$v1" = "$v2" ] || errs+=("the job went on after the freeze ($v1 -> $v2 files changed)")
}

# check_killed PIDS...: every alert pid and every sim process gone (<= 3 s).
check_killed() {
  local -a pids=("$@") left=() live
  local p s
  local end=$(($(date +%s%N) / 1000000 + 3000))
  while :; do
    left=()
    for p in "${pids[@]}"; do
      s=$(proc_state "$p") || continue
      [ "$s" = Z ] || left+=("$p:$s")
    done
    mapfile -t live < <(live_session "$SIM_PID")
    for p in "${live[@]}"; do in_list "$p:" "${left[@]/%:*/:}" || left+=("$p:$(proc_state "$p")"); done
    [ ${#left[@]} -eq 0 ] && return 0
    [ $(($(date +%s%N) / 1000000)) -ge "$end" ] && break
    sleep 0.05
  done
  errs+=("processes still alive after kill (pid:state): ${left[*]}")
}

# check_damage DIR: sim verify, damaged+missing <= MAX_DAMAGE.
check_damage() {
  local v n
  v=$(timeout 60 "$MAMORI" sim verify --dir "$1" 2>&1 | jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1)
  if [ -z "$v" ]; then errs+=("sim verify gave no result"); return; fi
  n=$(jq '.damaged + .missing' <<<"$v")
  damage="$(jq -c '{total,intact,damaged,missing,extra}' <<<"$v")"
  [ "$n" -le "$MAX_DAMAGE" ] || errs+=("damaged+missing = $n > $MAX_DAMAGE: $damage")
}

# run_case NAME ACTION TIMEOUT SIM-ARGS...
run_case() {
  local name=$1 action=$2 tmo=$3; shift 3
  local dir=$mnt/${name//[^a-z0-9-]/_} log=$T/$name.guard.log simout=$T/$name.sim.out alert t0
  local -a pids=()
  errs=(); damage=
  seed=$((seed + 1))
  if ! timeout 60 "$MAMORI" sim corpus --dir "$dir" "${CORPUS_ARGS[@]}" --seed "$seed" >"$T/$name.corpus" 2>&1; then
    fail "$name" "sim corpus failed: $(tail -c 300 "$T/$name.corpus")"; return
  fi
  sync
  if ! start_guard "$log" --protect "$mnt" --action "$action"; then
    fail "$name" "$LIB_ERR"; return
  fi
  t0=$(now)
  run_sim_bg "$simout" ransomware --dir "$dir" "$@"
  if alert=$(wait_alert "$log" "$tmo"); then
    mapfile -t pids < <(jq -r '.pids[]? | tostring' <<<"$alert")
    case $action in
      freeze) check_frozen "$dir" "$log" ;;
      kill) check_killed "${pids[@]}" ;;
      alert)
        local p s
        for p in "${pids[@]}"; do
          s=$(proc_state "$p") && [ "$s" = T ] && errs+=("pid $p stopped with --action alert")
        done
        wait_json "$simout" sim-done 60 >/dev/null ||
          errs+=("sim did not finish with --action alert: $(tail -c 200 "$simout")") ;;
    esac
    check_not_innocent "${pids[@]}"
    check_fields "$alert" "$action"
    check_tree "$alert" "$action"
  else
    errs+=("no alert within ${tmo}s (sim: $(tail -c 200 "$simout" | tr '\n' ' '); guard stderr: $(tail -c 200 "$log.stderr" | tr '\n' ' '))")
  fi
  kill_tree "$SIM_PID" || errs+=("$LIB_ERR")
  stop_guard "$name" || errs+=("guard exit: see guard-exit[$name]")
  [ "$action" = alert ] || check_damage "$dir"
  echo "# $name: $(echo "$(now) - $t0" | bc)s damage=$damage alert=$(jq -c '{action,pids,nfiles:(.files|length),indicators,lat:(.freeze_ts-.first_write_ts)}' <<<"${alert:-null}" 2>/dev/null)" >&2
  if [ ${#errs[@]} -eq 0 ]; then pass "$name"; else
    local IFS=';'
    fail "$name" "${errs[*]}"
  fi
  rm -rf "$dir"
}

for m in "${modes[@]}"; do
  tmo=$ALERT_TIMEOUT
  [ "$m" = slow ] && tmo=$SLOW_TIMEOUT
  extra=()
  case $m in
    threads) extra=(--workers 4) ;;
    workers) extra=(--workers 6) ;;
  esac
  run_case "freeze[$m]" freeze "$tmo" --mode "$m" "${extra[@]}"
done
run_case "kill[full]" kill "$ALERT_TIMEOUT" --mode full
run_case "kill[workers]" kill "$ALERT_TIMEOUT" --mode workers --workers 6
run_case "alert-only[full]" alert "$ALERT_TIMEOUT" --mode full --delay-ms 50 --max-files 40
# With kill, a shell loop keeps starting encryptors: the second is stopped at
# its first open (same program again) and the loop itself is the driver.
run_case "kill[shell-loop]" kill "$ALERT_TIMEOUT" --mode shell-loop
if grep -q '"starts-encryptors"' "$T/kill[shell-loop].guard.log"; then pass "driver[shell-loop]"
else fail "driver[shell-loop]" "the shell loop was not judged a driver: $(grep -c '"event":"alert"' "$T/kill[shell-loop].guard.log") alert(s)"; fi
lib_summary
