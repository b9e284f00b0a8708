#!/usr/bin/env bash
# tests/integration/test_agent_guard.sh - `mamori agent run` runs the guard:
# a real server on 127.0.0.1 and an enrolled agent whose guard protects ONLY
# a loop-mounted ext4 image this test makes (--protect MNT; never / or a
# home directory).
#
# Cases: the agent starts the guard (a child in its own process group,
# holding none of the agent's sockets) and it becomes ready; `mamori sim
# ransomware` on the image is killed by the
# guard and its alert reaches the server within a few seconds, kind
# ransomware, severity critical, with the guard's actor_key (BOOT-PID-START)
# and alert id; the guard killed with SIGKILL is started again and a
# guard_down alert reaches the server; with the server down an attack is
# still stopped, its alert waits in the spool and arrives once the server is
# back (same port); a restore command from the server puts the files back
# while heartbeats keep the host online although the restore is slowed
# (MAMORI_TEST_RESTORE_DELAY_MS, a test-only hook) past the server's
# offline window (--offline-after 3s); SIGTERM to the agent stops the guard
# first (its clean "stopped" exit, its fanotify group gone) and the agent
# exits 0; a SIGKILLed agent takes its guard along (PR_SET_PDEATHSIG); a
# guard that cannot start is a guard_down alert; the guard's ready line
# reaches the server as a guard_ready event. Needs root, jq, sqlite3.
. "$(dirname "$0")/lib.sh"
need_root
need_mamori server
need_tools agent-guard jq sqlite3

T=$(lib_mktemp_dir agentguard)
D=$T/data
A=$T/agent
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }

start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "127.0.0.1:${1:-0}" \
    --offline-after 3s --heartbeat 1s --api-listen none
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}


gone() { ! kill -0 "$1" 2>/dev/null || [ "$(proc_state "$1")" = Z ]; }

# start_agent [ENV...]: `agent run` with the guard on $MNT; output in $AG_OUT.
AG_RUN=0
start_agent() {
  AG_RUN=$((AG_RUN + 1))
  AG_OUT=$A.out.$AG_RUN
  lib_start_bg "$AG_OUT" env "$@" "$MAMORI" agent run --dir "$A" --max-backoff 2s \
    --protect "$MNT" --action kill
  AG_PID=$LIB_BG_PID
}

# ev EVENT: the agent's event lines of that kind (this run).
ev() { jq -cR --arg e "$1" 'fromjson? | select(.event==$e)' <"$AG_OUT" 2>/dev/null; }

# wait_guard_ready N TIMEOUT_S: the Nth guard_ready line of this run; sets GPID.
wait_guard_ready() {
  local deadline=$(($(ms) + $2 * 1000)) line
  while [ "$(ms)" -lt "$deadline" ]; do
    line=$(ev guard_ready | sed -n "${1}p")
    [ -n "$line" ] && { GPID=$(printf '%s' "$line" | jq -r .pid); return 0; }
    sleep 0.05
  done
  return 1
}

# server_alert KIND N TIMEOUT_S: the Nth alert of KIND in server.db (JSON
# body).
server_alert() {
  local deadline=$(($(ms) + $3 * 1000)) b
  while [ "$(ms)" -lt "$deadline" ]; do
    b=$(sqlite3 "$D/server.db" "SELECT json_object('severity',severity,'summary',summary,'body',json(body)) FROM alerts WHERE kind='$1' ORDER BY id LIMIT 1 OFFSET $(($2 - 1))" 2>/dev/null)
    [ -n "$b" ] && { echo "$b"; return 0; }
    sleep 0.05
  done
  return 1
}

host_status() {
  "$MAMORI" server hosts --data "$D" 2>/dev/null | jq -r 'select(.hostname=="gbox") | .status' | head -1
}

# corpus DIR: a fresh sim corpus.
corpus() { timeout 60 "$MAMORI" sim corpus --dir "$1" --files 30 --scale 0.2 --seed 7 >/dev/null 2>&1; }

# ---------------------------------------------------------------- setup --
MNT=$(mk_ext4 256) || { fail agent-guard-setup "mk_ext4: $LIB_ERR"; lib_summary; exit 1; }
case $MNT in "$LIB_TMP"/*) ;; *) fail agent-guard-setup "mount point $MNT not under $LIB_TMP"; lib_summary; exit 1 ;; esac
if ! start_server; then fail agent-guard-server "$LIB_ERR"; lib_summary; exit 1; fi
tok=$("$MAMORI" server token --data "$D" --site lab 2>/dev/null)
"$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok" --dir "$A" \
  --hostname gbox >"$T/enroll.out" 2>&1 || { fail agent-guard-enroll "$(cat "$T/enroll.out")"; lib_summary; exit 1; }
corpus "$MNT/share" || { fail agent-guard-setup "sim corpus failed"; lib_summary; exit 1; }

# -------------------------------------------------------- guard started --
start_agent
if wait_guard_ready 1 20 && wait_json "$AG_OUT" connected 10 >/dev/null &&
   [ "$(proc_field "$GPID" 4)" = "$AG_PID" ] && [ "$(proc_field "$GPID" 5)" = "$GPID" ] &&
   [[ $(ev guard_ready | head -1 | jq -r .note) == "protecting $MNT"* ]] &&
   ! find "/proc/$GPID/fd" -lname 'socket:*' 2>/dev/null | grep -q .; then
  pass guard-started-by-agent
else
  fail guard-started-by-agent "no ready guard child of the agent (pid ${GPID:-?}): $(tail -c 600 "$AG_OUT")"
  lib_summary; exit 1
fi

# the guard's ready line also reaches the server as an event
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt "$deadline" ]; do
  ev_row=$(sqlite3 "$D/server.db" "SELECT body FROM events WHERE kind='guard_ready' LIMIT 1" 2>/dev/null)
  [ -n "$ev_row" ] && break
  sleep 0.1
done
if [ "$(printf '%s' "$ev_row" | jq -r '.protect[0]')" = "$MNT" ]; then pass guard-ready-event-at-server; else
  fail guard-ready-event-at-server "no guard_ready event in server.db: ${ev_row:-none}"; fi

# ------------------------------------------------------- attack, online --
t0=$(ms)
run_sim_bg "$T/sim1.out" ransomware --dir "$MNT/share" --mode full
if a=$(server_alert ransomware 1 15); then
  dt=$(($(ms) - t0)) # arrival seen by the 50 ms poll
  errs=()
  [ "$(printf '%s' "$a" | jq -r .severity)" = critical ] || errs+=("severity $(printf '%s' "$a" | jq -r .severity)")
  key=$(printf '%s' "$a" | jq -r .body.actor_key)
  [[ $key =~ ^[0-9a-f]{8}-[0-9]+-[0-9]+$ ]] || errs+=("actor_key '$key'")
  boot=$(tr -d '-' </proc/sys/kernel/random/boot_id | cut -c1-8)
  [ "${key%%-*}" = "$boot" ] || errs+=("actor_key boot ${key%%-*} is not this boot's $boot")
  ALERT1=$(printf '%s' "$a" | jq -r .body.alert_id)
  [ -n "$ALERT1" ] && [ "$ALERT1" = "$(printf '%s' "$a" | jq -r .body.id)" ] || errs+=("alert_id")
  [ "$(printf '%s' "$a" | jq -r .body.action)" = kill ] || errs+=("action")
  [[ $(printf '%s' "$a" | jq -r .summary) == "the guard killed "* ]] || errs+=("summary: $(printf '%s' "$a" | jq -r .summary)")
  [ "$(ev guard_alert | head -1 | jq -r .actor_key)" = "$key" ] || errs+=("agent event")
  # the sim (its session) is dead: killed by the guard, not by us
  sleep 0.3
  [ -z "$(session_pids "$SIM_PID" | while read -r p; do [ "$(proc_state "$p")" = Z ] || echo "$p"; done)" ] ||
    errs+=("sim still running")
  if [ ${#errs[@]} -eq 0 ] && [ "$dt" -lt 10000 ]; then
    pass attack-alert-at-server
    echo "# ransomware alert stored by the server ${dt} ms after the sim started (actor $key)" >&2
  else
    fail attack-alert-at-server "${errs[*]} after ${dt} ms: $a"
  fi
else
  fail attack-alert-at-server "no ransomware alert in server.db after 15 s: $(tail -c 600 "$AG_OUT")"
fi
kill_tree "$SIM_PID"

# ------------------------------------------------- guard killed: restart --
OLD=$GPID
kill -KILL "$OLD"
if a=$(server_alert guard_down 1 10) && wait_guard_ready 2 15 && [ "$GPID" != "$OLD" ] &&
   [[ $(printf '%s' "$a" | jq -r .summary) == "the guard (pid $OLD) was killed by signal 9 (SIGKILL) after "*"ransomware protection was interrupted"* ]] &&
   [ "$(printf '%s' "$a" | jq -c '.body | [.cause, .pid, .signal, .ready, (.ran_s >= 0), (.retry_s >= 1)]')" = "[\"exited\",$OLD,9,true,true,true]" ] &&
   ! gone "$AG_PID"; then
  pass guard-killed-restarted
else
  fail guard-killed-restarted "old $OLD new ${GPID:-?} alert: ${a:-none}; $(tail -c 400 "$AG_OUT")"
fi

# ------------------------------------------------ attack with server down --
corpus "$MNT/share2" || fail attack-server-down "sim corpus failed"
stop_pid "$SRV_PID" 15
n_before=$(ev guard_alert | wc -l)
run_sim_bg "$T/sim2.out" ransomware --dir "$MNT/share2" --mode full
deadline=$(($(ms) + 15000))
while [ "$(ms)" -lt "$deadline" ] && [ "$(ev guard_alert | wc -l)" -le "$n_before" ]; do sleep 0.1; done
spooled=$(ev guard_alert | sed -n "$((n_before + 1))p")
sleep 1
kill_tree "$SIM_PID"
if [ -n "$spooled" ] && [ "$(printf '%s' "$spooled" | jq -r .seq)" -gt 0 ] && start_server "$PORT" &&
   a=$(server_alert ransomware 2 20) &&
   [ "$(printf '%s' "$a" | jq -r .body.alert_id)" = "$(printf '%s' "$spooled" | jq -r .alert_id)" ] &&
   [ "$(printf '%s' "$a" | jq -r .body.actor_key)" = "$(printf '%s' "$spooled" | jq -r .actor_key)" ]; then
  pass attack-server-down-spooled
else
  fail attack-server-down-spooled "spooled: ${spooled:-none}; at server: ${a:-none}"
fi

# ------------------------------------- restore while heartbeats go on --
# The agent restarted with the test-only delay: its restore sleeps 5 s, longer
# than --offline-after 3s; the host must stay online all along.
stop_pid "$AG_PID" 15
start_agent MAMORI_TEST_RESTORE_DELAY_MS=5000
wait_guard_ready 1 20 && wait_json "$AG_OUT" connected 10 >/dev/null
for ((i = 0; i < 50; i++)); do [ "$(host_status)" = online ] && break; sleep 0.1; done
"$MAMORI" server command --data "$D" gbox restore --alert "$ALERT1" --wait 40s >"$T/cmd.out" 2>"$T/cmd.err" &
CMD_PID=$!
t0=$(ms)
seen=""
while kill -0 "$CMD_PID" 2>/dev/null; do
  s=$(host_status)
  case " $seen " in *" $s "*) ;; *) seen="$seen $s" ;; esac
  sleep 0.2
done
wait "$CMD_PID"; rc=$?
dt=$(($(ms) - t0))
row=$(tail -n 1 "$T/cmd.out")
v=$(timeout 60 "$MAMORI" sim verify --dir "$MNT/share" 2>/dev/null | jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1)
okv=$(printf '%s' "$v" | jq -r 'select(.damaged == 0 and .missing == 0 and .extra == 0) | "ok"')
if [ "$rc" = 0 ] && [ "$(printf '%s' "$row" | jq -r .status)" = ok ] && [ "$okv" = ok ] &&
   [ "$seen" = " online" ] && [ "$dt" -ge 5000 ] &&
   ! grep -q '"event":"offline".*"hostname":"gbox"' "$SRV_OUT"; then
  pass restore-keeps-host-online
  echo "# restore with a 5 s test delay answered after ${dt} ms; host status seen:$seen" >&2
else
  fail restore-keeps-host-online "rc $rc after ${dt} ms, statuses:$seen, row $row, verify $v"
fi

# ------------------------------------------------ SIGTERM: guard first --
G=$GPID
stop_pid "$AG_PID" 15
fan=0
for f in /proc/[0-9]*/fdinfo/*; do
  p=${f#/proc/}; p=${p%%/*}
  [ "$p" = "$G" ] && grep -q '^fanotify' "$f" 2>/dev/null && fan=1
done
if [ "$STOP_RC" = 0 ] && gone "$G" && [ "$fan" = 0 ] &&
   [ "$(ev guard_stopped | jq -r .status)" = "exited with status 0" ]; then
  pass sigterm-stops-guard
else
  fail sigterm-stops-guard "agent rc $STOP_RC, guard $G gone=$(gone "$G" && echo y) fanotify=$fan: $(ev guard_stopped)"
fi

# ------------------------------------------------ SIGKILL: guard follows --
start_agent
if wait_guard_ready 1 20; then
  G=$GPID
  kill -KILL "$AG_PID"
  for ((i = 0; i < 100; i++)); do gone "$G" && break; sleep 0.1; done
  if gone "$G"; then pass agent-killed-guard-follows; else
    fail agent-killed-guard-follows "guard $G still alive after its agent was killed"; kill -KILL "$G"; fi
  wait "$AG_PID" 2>/dev/null
else
  fail agent-killed-guard-follows "no guard: $(tail -c 400 "$AG_OUT")"
fi

# ------------------------------------------- a guard that cannot start --
n=$(sqlite3 "$D/server.db" "SELECT count(*) FROM alerts WHERE kind='guard_down'")
AG_RUN=$((AG_RUN + 1))
AG_OUT=$A.out.$AG_RUN
lib_start_bg "$AG_OUT" "$MAMORI" agent run --dir "$A" --max-backoff 2s --protect "$T/does-not-exist"
AG_PID=$LIB_BG_PID
if a=$(server_alert guard_down $((n + 1)) 15) &&
   [[ $(printf '%s' "$a" | jq -r .summary) == *"before it was ready"* ]] &&
   [ "$(printf '%s' "$a" | jq -c '.body | [.cause, .ready, (.exit_status // .signal | type)]')" = '["exited",false,"number"]' ]; then
  pass guard-cannot-start-alert
else
  fail guard-cannot-start-alert "${a:-no guard_down alert}: $(tail -c 400 "$AG_OUT")"
fi
stop_pid "$AG_PID" 15

# ---------------------------------------------------------------- usage --
u() { "$@" >"$T/u.out" 2>"$T/u.err"; echo $?; }
if [ "$(u "$MAMORI" agent run --dir "$A" --protect relative)" = 2 ] &&
   [ "$(u "$MAMORI" agent run --dir "$A" --action nuke)" = 2 ] &&
   [ "$(u "$MAMORI" agent alert --dir "$A" --no-guard --kind k --summary s)" = 2 ]; then
  pass agent-guard-usage
else
  fail agent-guard-usage "$(cat "$T/u.err")"
fi

stop_pid "$SRV_PID" 15
lib_summary
