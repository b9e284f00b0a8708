#!/usr/bin/env bash
# tests/integration/test_response.sh - response commands end to end: the
# operator's `mamori server command`, the server's COMMAND frame, the agent
# running it once, the RESULT stored and logged on both sides.
#
# SAFETY. Isolation changes a network namespace's firewall, so the agent
# runs ONLY inside a network namespace this test creates (ip netns add), tied
# to the host by a veth pair on a private /30 (10.213.N.0/30: .1 host side,
# .2 inside). The server listens on the host side of the veth; a second
# listener (nc -lk) on another port of the same address is what isolation
# must block. Before each isolate the test checks that the agent's network
# namespace is not its own, and never runs nft outside the namespace. The
# namespace (and so the veth pair and every rule in it) is deleted at exit.
#
# Cases: isolate (the agent keeps its link - heartbeats go on, the host stays
# online - and can no longer reach the other listener; the table is in the
# namespace), isolate survives a kill -9 of the agent and the loss of the
# rules (as after a reboot): the new agent puts them back before it
# connects, and `mamori agent reapply` does too; release (the listener is
# reachable again, the state file gone); a command id sent again is answered
# from the agent's ledger and not run again; kill refuses PID 1 and the
# agent itself, reports an exited actor, and kills a process tree the test
# started (queued while the agent was down, delivered when it connects);
# restore puts back the files of a guard alert from a vault on a
# loop-mounted ext4; a restore of an unknown alert fails with its reason;
# usage errors exit 2. Needs root, ip, nft, nc, jq. Prints "PASS name" /
# "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_root
need_mamori server
need_tools response ip nft nc jq sqlite3

T=$(lib_mktemp_dir response)
D=$T/data
A=$T/agent
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }

mk_netns rsp || { fail response-setup "$LIB_ERR"; lib_summary; exit 1; }
NS=$NETNS
HOST_IP=$NETNS_HOST_IP

in_ns() { ip netns exec "$NS" "$@"; }

# ------------------------------------------------------------- helpers --

start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "$HOST_IP:${1:-0}" \
    --offline-after 3s --heartbeat 1s --api-listen none
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}

# start_agent: `agent run` inside the namespace; sets AG_PID. Output in $A.out.N
AG_RUN=0
start_agent() {
  AG_RUN=$((AG_RUN + 1))
  AG_OUT=$A.out.$AG_RUN
  lib_start_bg "$AG_OUT" ip netns exec "$NS" "$MAMORI" agent run --no-guard --dir "$A" --max-backoff 2s \
    --vault "$VAULT_DIR"
  AG_PID=$LIB_BG_PID
}

# agent_in_ns: the agent really runs in the test's namespace, not ours.
agent_in_ns() { pid_in_netns "$AG_PID" "$NS"; }

host_field() {
  "$MAMORI" server hosts --data "$D" 2>/dev/null | jq -r --arg n "$1" "select(.hostname==\$n) | .$2" | head -1
}

# cmd ARGS...: `server command --data D HOST ARGS... --wait 20s`; the id in
# CMD_ID, the result row in CMD_ROW, exit status returned.
cmd() {
  "$MAMORI" server command --data "$D" box-1 "$@" --wait 20s >"$T/cmd.out" 2>"$T/cmd.err"
  local rc=$?
  CMD_ID=$(head -n 1 "$T/cmd.out")
  CMD_ROW=$(tail -n 1 "$T/cmd.out")
  return $rc
}
row() { printf '%s' "$CMD_ROW" | jq -r "$1"; }

# reach PORT: can the namespace open a TCP connection to HOST_IP:PORT (2 s)?
reach() { netns_reach "$NS" "$HOST_IP" "$1"; }

table_in_ns() { in_ns nft list table inet mamori_isolate >/dev/null 2>&1; }

# agent_event ID: the agent's "command" event line for ID (last one).
agent_event() { cat "$A".out.* 2>/dev/null | jq -cR --arg i "$1" 'fromjson? | select(.event=="command" and .id==$i)' | tail -n 1; }

# ---------------------------------------------------------------- setup --
VAULT_DIR=$T/no-vault-yet
if ! start_server; then fail response-server-start "$LIB_ERR"; lib_summary; exit 1; fi
tok=$("$MAMORI" server token --data "$D" --site lab 2>/dev/null)
if ! in_ns "$MAMORI" agent enroll --server "https://$HOST_IP:$PORT" --token "$tok" --dir "$A" \
  --hostname box-1 >"$T/enroll.out" 2>&1; then
  fail response-enroll "$(cat "$T/enroll.out")"; lib_summary; exit 1
fi
start_agent
if ! wait_json "$AG_OUT" connected 10 >/dev/null || ! agent_in_ns; then
  fail response-agent-start "$(tail -c 400 "$AG_OUT")"; lib_summary; exit 1
fi
# the other listener isolation must cut off
lib_start_bg "$T/nc.out" nc -lk "$HOST_IP" $((PORT + 1))
OTHER=$((PORT + 1))
for ((i = 0; i < 20; i++)); do reach "$OTHER" && break; sleep 0.1; done
if reach "$OTHER" && ! table_in_ns; then pass reachable-before-isolation; else
  fail reachable-before-isolation "the namespace cannot reach $HOST_IP:$OTHER before any command"; fi

# -------------------------------------------------------------- isolate --
agent_in_ns || { fail isolate "agent not in the test namespace: refusing to isolate"; lib_summary; exit 1; }
n_disc=$(grep -c '"event":"disconnected"' "$AG_OUT")
if cmd isolate; then
  ISO_ID=$CMD_ID
  sleep 4 # longer than --offline-after (3 s) and than 3 missed heartbeats
  errs=()
  [ "$(row .status)" = ok ] || errs+=("status $(row .status)")
  [[ $(row .message) == "isolated: only loopback, the server $HOST_IP port $PORT and DNS to"* ]] ||
    errs+=("message: $(row .message)")
  table_in_ns || errs+=("no table inet mamori_isolate in the namespace")
  reach "$OTHER" && errs+=("the other listener is still reachable")
  [ "$(grep -c '"event":"disconnected"' "$AG_OUT")" = "$n_disc" ] || errs+=("the agent lost its link")
  [ "$(host_field box-1 status)" = online ] || errs+=("host is $(host_field box-1 status)")
  [ -s "$A/isolate.nft" ] || errs+=("no state file")
  [ "$(stat -c %a "$A/isolate.nft" 2>/dev/null)" = 600 ] || errs+=("state file mode not 0600")
  [ "$(nft list tables 2>/dev/null | grep -c mamori_isolate)" = 0 ] || errs+=("TABLE IN THE HOST NAMESPACE")
  grep -q "\"event\":\"command_sent\".*\"command\":\"$ISO_ID\"" "$SRV_OUT" || errs+=("no command_sent event")
  grep -q "\"event\":\"command_result\".*\"command\":\"$ISO_ID\".*\"status\":\"ok\"" "$SRV_OUT" || errs+=("no command_result event")
  [ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE target='$ISO_ID'")" = 2 ] || errs+=("audit rows != 2")
  agent_event "$ISO_ID" | jq -e '.status=="ok" and .repeat==false' >/dev/null || errs+=("no agent event")
  grep -q "command $ISO_ID (isolate): ok: isolated" "$AG_OUT" || errs+=("no agent log line")
  if [ ${#errs[@]} -eq 0 ]; then pass isolate-keeps-server-blocks-rest; else
    fail isolate-keeps-server-blocks-rest "$(IFS=';'; echo "${errs[*]}")"; fi
else
  fail isolate-keeps-server-blocks-rest "rc=$?: $(cat "$T/cmd.err") $CMD_ROW"
fi

# ------------------------------------------ persistence: kill -9, reboot --
kill_tree "$AG_PID"
table_in_ns && in_ns nft delete table inet mamori_isolate # as after a reboot
start_agent
if wait_json "$AG_OUT" connected 15 >/dev/null && table_in_ns && ! reach "$OTHER"; then
  first=$(jq -cR 'fromjson? | select(.event=="isolation_reapplied" or .event=="connected") | .event' "$AG_OUT" | head -n 1)
  if [ "$first" = '"isolation_reapplied"' ]; then pass isolate-survives-restart-and-reboot; else
    fail isolate-survives-restart-and-reboot "first event $first"; fi
else
  fail isolate-survives-restart-and-reboot "table=$(table_in_ns && echo y) $(tail -c 400 "$AG_OUT")"
fi
in_ns nft delete table inet mamori_isolate
out=$(in_ns "$MAMORI" agent reapply --dir "$A" 2>&1)
if table_in_ns && [[ $out == "isolation re-applied from $A/isolate.nft"* ]]; then pass agent-reapply; else
  fail agent-reapply "$out"; fi

# -------------------------------------------------------------- release --
if cmd release && [ "$(row .status)" = ok ] && ! table_in_ns && [ ! -e "$A/isolate.nft" ] &&
   reach "$OTHER" && [[ $(row .message) == "released: nftables table inet mamori_isolate removed, and its state file" ]]; then
  pass release-restores-traffic
else
  fail release-restores-traffic "$CMD_ROW table=$(table_in_ns && echo y) $(cat "$T/cmd.err")"
fi

# -------------------------------------------- a repeated id runs once --
# The server lost the isolate's result (as if it crashed before storing it):
# it sends the command again after the next HELLO; the agent answers from
# its ledger and does not isolate again.
sqlite3 "$D/server.db" "UPDATE commands SET status='sent', done=NULL, message=NULL WHERE uid='$ISO_ID'"
kill_tree "$AG_PID"
start_agent
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt "$deadline" ] && ! agent_event "$ISO_ID" | grep -q '"repeat":true'; do sleep 0.1; done
sleep 0.5
st=$("$MAMORI" server commands --data "$D" | jq -r --arg i "$ISO_ID" 'select(.id==$i) | .status')
if agent_event "$ISO_ID" | jq -e '.repeat==true and .status=="ok"' >/dev/null && [ "$st" = ok ] &&
   ! table_in_ns && reach "$OTHER" && grep -q "command $ISO_ID (isolate) repeated: not run again: ok" "$AG_OUT"; then
  pass repeated-id-not-run-twice
else
  fail repeated-id-not-run-twice "status=$st table=$(table_in_ns && echo y) event=$(agent_event "$ISO_ID")"
fi

# ----------------------------------------------------------------- kill --
boot=$(tr -d '\n-' </proc/sys/kernel/random/boot_id | cut -c1-8)
key_of() { echo "$boot-$1-$(proc_field "$1" 22)"; }
if ! cmd kill --actor "$(key_of 1)" && [ "$(row .status)" = failed ] &&
   [[ $(row .message) == *"is never signalled: it is PID 1 (init)"* ]]; then
  pass kill-refuses-pid-1
else
  fail kill-refuses-pid-1 "$CMD_ROW"
fi
if ! cmd kill --actor "$(key_of "$AG_PID")" && [ "$(row .status)" = failed ] &&
   [[ $(row .message) == *"it is the mamori agent itself"* ]] && kill -0 "$AG_PID"; then
  pass kill-refuses-itself
else
  fail kill-refuses-itself "$CMD_ROW"
fi
if ! cmd kill --actor "$boot-$AG_PID-1" && [ "$(row .status)" = failed ] &&
   [[ $(row .message) == *"is not actor"* ]] && kill -0 "$AG_PID"; then
  pass kill-stale-key-refused
else
  fail kill-stale-key-refused "$CMD_ROW"
fi
# a process tree, killed by a command queued while the agent is down
lib_start_bg "$T/victim.out" bash -c 'sleep 300 & sleep 301 & wait'
VICTIM=$LIB_BG_PID
sleep 0.3
kids=$(descendants "$VICTIM" | tr '\n' ' ')
kill_tree "$AG_PID"
"$MAMORI" server command --data "$D" box-1 kill --actor "$(key_of "$VICTIM")" >"$T/q.out" 2>&1
KILL_ID=$(head -n 1 "$T/q.out")
start_agent
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt "$deadline" ]; do
  r=$("$MAMORI" server commands --data "$D" | jq -c --arg i "$KILL_ID" 'select(.id==$i)')
  [[ $r == *'"status":"ok"'* || $r == *'"status":"failed"'* ]] && break
  sleep 0.1
done
alive=
for p in $VICTIM $kids; do
  [ -n "$(proc_state "$p")" ] && [ "$(proc_state "$p")" != Z ] && alive+="$p "
done
wait "$VICTIM" 2>/dev/null
if [[ $r == *'"status":"ok"'* ]] && [ -z "$alive" ] && [ -n "$kids" ] &&
   [[ $(printf '%s' "$r" | jq -r .message) == "killed actor $boot-$VICTIM-"*" and 2 descendants" ]]; then
  pass kill-actor-tree-queued-while-offline
else
  fail kill-actor-tree-queued-while-offline "alive: $alive row: $r"
fi
if ! cmd kill --actor "$(key_of "$AG_PID" | sed "s/-$AG_PID-/-$VICTIM-/")" && [ "$(row .status)" = failed ]; then
  pass kill-exited-actor-fails
else
  fail kill-exited-actor-fails "$CMD_ROW"
fi

# -------------------------------------------------------------- restore --
if ! cmd restore --alert no-such-alert && [ "$(row .status)" = failed ] &&
   [[ $(row .message) == "restore: alert no-such-alert is in none of the 1 vault; "* ]]; then
  pass restore-unknown-alert-fails
else
  fail restore-unknown-alert-fails "$CMD_ROW"
fi

restore_case() {
  local mnt dir log alert id bad v
  mnt=$(mk_ext4 256) || { fail restore-from-vault "mk_ext4: $LIB_ERR"; return; }
  dir=$mnt/share
  timeout 60 "$MAMORI" sim corpus --dir "$dir" --files 30 --scale 0.2 --seed 7 >/dev/null 2>&1 ||
    { fail restore-from-vault "sim corpus failed"; return; }
  log=$T/guard.log
  start_guard "$log" --protect "$mnt" --action freeze || { fail restore-from-vault "$LIB_ERR"; return; }
  run_sim_bg "$T/sim.out" ransomware --dir "$dir" --mode full
  alert=$(wait_alert "$log" 20) || { fail restore-from-vault "no alert"; kill_tree "$SIM_PID"; stop_guard; return; }
  sleep 0.5
  kill_tree "$SIM_PID"
  stop_guard restore
  id=$(printf '%s' "$alert" | jq -r .id)
  VAULT_DIR=$mnt/.mamori-vault
  kill_tree "$AG_PID"
  start_agent
  wait_json "$AG_OUT" connected 10 >/dev/null
  cmd restore --alert "$id"
  v=$(timeout 60 "$MAMORI" sim verify --dir "$dir" 2>/dev/null | jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1)
  bad=$(printf '%s' "$v" | jq -r 'select(.damaged == 0 and .missing == 0 and .extra == 0) | "ok"')
  if [ "$(row .status)" = ok ] && [ "$bad" = ok ] &&
     [[ $(row .message) == "restore of alert $id: "*" 0 skipped, 0 failed (details in $A/restore.log)" ]]; then
    pass restore-from-vault
  else
    fail restore-from-vault "$CMD_ROW verify: $v"
  fi
}
restore_case

# ---------------------------------------------------------------- usage --
u() { "$@" >"$T/u.out" 2>"$T/u.err"; echo $?; }
e=(
  "$(u "$MAMORI" server command --data "$D" box-1 explode)" "$(u "$MAMORI" server command --data "$D" box-1 kill)"
  "$(u "$MAMORI" server command --data "$D" box-1 kill --actor 12)" "$(u "$MAMORI" server command --data "$D" box-1 restore)"
  "$(u "$MAMORI" server command --data "$D" box-1 isolate --actor "$boot-1-1")" "$(u "$MAMORI" server command --data "$D" nobody isolate)"
  "$(u "$MAMORI" server command --data "$D" box-1)" "$(u "$MAMORI" agent run --vault x --dir "$T/none")"
)
if [ "${e[*]}" = "2 2 2 2 2 2 2 2" ] && [ "$(u "$MAMORI" server command --help)" = 0 ] &&
   [ "$(u "$MAMORI" server commands --data "$D")" = 0 ]; then
  pass response-usage
else
  fail response-usage "${e[*]} (want 2s)"
fi
if grep -l "Sanitizer" "$T"/*.out* "$A".out.* >/dev/null 2>&1; then
  fail response-no-sanitizer-reports "$(grep -l Sanitizer "$T"/*.out* "$A".out.* | tr '\n' ' ')"
else
  pass response-no-sanitizer-reports
fi
kill_tree "$AG_PID"
kill -TERM "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
lib_summary
