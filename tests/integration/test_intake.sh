#!/usr/bin/env bash
# tests/integration/test_intake.sh - events from agent to server end to end:
# `mamori agent event` -> DIR/spool-events -> EVENTS frames -> the server's
# bounded intake queue -> the events table, over loopback mutual TLS.
#
# A real server (127.0.0.1, port from its ready line, no API listener except
# in the API case) and one enrolled agent (`agent run --no-guard`). Cases:
# 100,000 events arrive all, in order, once (seq 1..100000, seq = the n each
# line carries); the server killed -9 during intake and restarted loses no
# event and stores none twice; events spooled while the server is stopped
# wait in the spool and drain after; a server whose intake queue is the
# smallest allowed (1024 events, 2 MiB: config file) still stores
# everything and logs that it paused reading; an alert sent while a large
# event backlog drains arrives before the backlog ends; retention by age
# (rows made old in the database) and by size removes the oldest events and
# logs the counts; a broken config file exits 2 naming FILE:LINE:COL with a
# suggestion; the API's events page of a host. Needs $MAMORI, jq, sqlite3,
# curl and the openssl CLI; no root.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_tools intake jq sqlite3 curl
need_mamori server

T=$(lib_mktemp_dir intake)
D=$T/data
A=$T/agent
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }
mkdir -p "$D" && chmod 700 "$D"

# start_server [ARGS...]: server in its own session; sets SRV_PID and PORT
# (the same port again after the first start).
start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "127.0.0.1:${PORT:-0}" \
    --api-listen none "$@"
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}


start_agent() {
  lib_start_bg "$A.out" "$MAMORI" agent run --no-guard --dir "$A" --max-backoff 2s
  AG_PID=$LIB_BG_PID
}

q() { sqlite3 -cmd '.timeout 5000' "$D/server.db" "$1"; }

# gen FROM TO: event lines carrying n = FROM..TO
gen() { seq "$1" "$2" | awk '{printf "{\"kind\":\"test\",\"n\":%d,\"time_ms\":%d000,\"pad\":\"abcdefghijklmnopqrstuvwxyz0123456789\"}\n", $1, 1700000000+$1}'; }

spool_events() { # FROM TO
  gen "$1" "$2" >"$T/ev.jsonl"
  "$MAMORI" agent event --dir "$A" --file "$T/ev.jsonl" >"$T/ev.out" 2>"$T/ev.err"
}

# wait_count N TIMEOUT_S: until the events table holds N rows.
wait_count() {
  local deadline=$(($(ms) + $2 * 1000))
  while [ "$(ms)" -lt "$deadline" ]; do
    [ "$(q 'SELECT count(*) FROM events')" -ge "$1" ] && return 0
    sleep 0.2
  done
  return 1
}

# check_all N: rows 1..N, each seq once, body n = seq, ids follow seq order.
check_all() {
  local r
  r=$(q "SELECT count(*), count(DISTINCT seq), min(seq), max(seq),
           sum(json_extract(body, '\$.n') != seq) FROM events" | tr '|' ' ')
  [ "$r" = "$1 $1 1 $1 0" ] || { LIB_ERR="count/distinct/min/max/mismatch: $r"; return 1; }
  r=$(q "SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY id) p FROM events)
         WHERE p IS NOT NULL AND seq <= p")
  [ "$r" = 0 ] || { LIB_ERR="$r rows stored out of order"; return 1; }
}

# wait_retention FIELD TIMEOUT_S: a "retention" line with done and FIELD > 0.
wait_retention() {
  local deadline=$(($(ms) + $2 * 1000))
  while [ "$(ms)" -lt "$deadline" ]; do
    jq -cR --arg f "$1" 'fromjson? | select(.event=="retention" and .done and .[$f] > 0)' \
      <"$SRV_OUT" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------------ setup --
if ! start_server; then
  fail intake-start "$LIB_ERR"; lib_summary; exit 1
fi
tok=$("$MAMORI" server token --data "$D" --site lab 2>"$T/token.err")
if ! "$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok" --dir "$A" \
     --hostname ev-1 >"$T/enroll.out" 2>&1; then
  fail intake-enroll "$(cat "$T/enroll.out")"; lib_summary; exit 1
fi
HOST=$(jq -r .host_id "$A/agent.json")
start_agent

# --------------------------------------------------------- 100k in order --
t0=$(ms)
if spool_events 1 100000 && grep -q 'spooled 100000 events (seq 1..100000)' "$T/ev.out"; then
  if wait_count 100000 90 && check_all 100000; then
    pass intake-100k-in-order-once
    echo "# 100000 events spooled and stored in $(($(ms) - t0)) ms" >&2
  else
    fail intake-100k-in-order-once "${LIB_ERR:-only $(q 'SELECT count(*) FROM events') rows}"
  fi
else
  fail intake-100k-in-order-once "spool: $(cat "$T/ev.out" "$T/ev.err")"
fi

# ----------------------------------------------------- server kill -9 -----
# spooled while the agent is stopped, so that the kill lands mid-intake
stop_pid "$AG_PID"
spool_events 100001 300000
start_agent
deadline=$(($(ms) + 60000))
while [ "$(q 'SELECT count(*) FROM events')" -lt 120000 ] && [ "$(ms)" -lt "$deadline" ]; do sleep 0.05; done
before=$(q 'SELECT count(*) FROM events')
kill -KILL "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
acked=$(od -An -t u8 "$A/spool-events/acked" | tr -d ' ')
stored=$(q 'SELECT count(*) FROM events')
if [ "$before" -lt 300000 ] && [ "$stored" -ge "$acked" ] && start_server &&
   wait_count 300000 300 && check_all 300000; then
  pass intake-server-kill9-no-loss-no-dup
  echo "# killed at $stored rows (agent acked $acked); all 300000 once after restart" >&2
else
  fail intake-server-kill9-no-loss-no-dup "before=$before stored=$stored acked=$acked ${LIB_ERR:-}"
fi

# ------------------------------------------------------------ outage ------
stop_pid "$SRV_PID"
spool_events 300001 320000
sleep 3
pending=$(ls "$A/spool-events"/*.seg 2>/dev/null | wc -l)
n_down=$(q 'SELECT count(*) FROM events')
if [ "$n_down" = 300000 ] && [ "$pending" -ge 1 ] && start_server && wait_count 320000 60 &&
   check_all 320000; then
  pass intake-outage-drains
else
  fail intake-outage-drains "rows while down $n_down, segments $pending ${LIB_ERR:-}"
fi

# ------------------------------------------------------- backpressure -----
stop_pid "$SRV_PID"
cat >"$T/tiny.yaml" <<'EOF'
intake:
  queue_events: 1024
  queue_bytes: 2MiB
  batch_events: 512
EOF
spool_events 320001 400000
if start_server --config "$T/tiny.yaml" && wait_count 400000 300 && check_all 400000 &&
   grep -q 'paused reading from host' "$SRV_OUT"; then
  pass intake-backpressure-tiny-queue-no-drop
  echo "# $(grep -c 'paused reading' "$SRV_OUT") pause lines logged" >&2
else
  fail intake-backpressure-tiny-queue-no-drop "rows $(q 'SELECT count(*) FROM events') ${LIB_ERR:-}; log: $(grep -m1 paused "$SRV_OUT")"
fi

# ------------------------------------------------ alerts ahead of events --
stop_pid "$AG_PID"
spool_events 400001 600000
start_agent
sleep 0.5
"$MAMORI" agent alert --dir "$A" --kind drill --summary "behind a backlog" >/dev/null 2>&1
deadline=$(($(ms) + 30000)); at=
while [ "$(ms)" -lt "$deadline" ]; do
  if [ "$(q "SELECT count(*) FROM alerts WHERE kind='drill'")" = 1 ]; then
    at=$(q 'SELECT count(*) FROM events'); break
  fi
  sleep 0.05
done
if [ -n "$at" ] && [ "$at" -lt 600000 ] && wait_count 600000 300 && check_all 600000; then
  pass intake-alert-not-behind-event-backlog
  echo "# the alert was stored with $((at - 400000)) of 200000 backlog events stored" >&2
else
  fail intake-alert-not-behind-event-backlog "alert stored at events=${at:-never} ${LIB_ERR:-}"
fi

# ------------------------------------------------------------ retention ---
stop_pid "$SRV_PID"
q "UPDATE events SET received = received - 3 * 86400000 WHERE seq <= 5000"
cat >"$T/age.yaml" <<'EOF'
retention:
  events_max_age: 2d
  alerts_max_age: 30d
EOF
if start_server --config "$T/age.yaml" && wait_retention events_age 30 &&
   [ "$(q 'SELECT count(*) FROM events')" = 595000 ] && [ "$(q 'SELECT min(seq) FROM events')" = 5001 ] &&
   grep -q 'removed 5000 events older than 172800 s' "$SRV_OUT"; then
  pass intake-retention-age
else
  fail intake-retention-age "rows $(q 'SELECT count(*) FROM events'); $(grep -m1 retention "$SRV_OUT")"
fi
stop_pid "$SRV_PID"
cat >"$T/size.yaml" <<'EOF'
retention:
  events_max_size: 100MiB
EOF
size_before=$(q 'SELECT count(*) FROM events')
if start_server --config "$T/size.yaml" &&
   wait_retention events_size 90; then
  used=$(q 'SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())')
  psz=$(q 'PRAGMA page_size')
  n=$(q 'SELECT count(*) FROM events'); mn=$(q 'SELECT min(seq) FROM events')
  if [ "$n" -lt "$size_before" ] && [ $((used * psz)) -le $((100 << 20)) ] &&
     [ "$mn" -gt 5001 ] && [ "$(q 'SELECT max(seq) FROM events')" = 600000 ] &&
     grep -q 'events over the size bound' "$SRV_OUT"; then
    pass intake-retention-size
    echo "# size bound 100 MiB: $size_before -> $n rows, $((used * psz)) bytes used" >&2
  else
    fail intake-retention-size "rows $size_before -> $n, used $((used * psz)), min seq $mn"
  fi
else
  fail intake-retention-size "no retention line: $(tail -c 400 "$SRV_OUT")"
fi

# --------------------------------------------------------- broken config --
printf 'listen: 127.0.0.1:0\n# a comment\nhartbeat: 1s\n' >"$T/bad.yaml"
"$MAMORI" server run --data "$T/nodata" --config "$T/bad.yaml" >"$T/bad.out" 2>&1; rc=$?
printf 'retention:\n  events_max_age: soon\n' >"$T/bad2.yaml"
"$MAMORI" server run --data "$T/nodata" --config "$T/bad2.yaml" >"$T/bad2.out" 2>&1; rc2=$?
if [ $rc = 2 ] && grep -qF "$T/bad.yaml:3:1: unknown key 'hartbeat' (did you mean 'heartbeat'?)" "$T/bad.out" &&
   [ $rc2 = 2 ] && grep -qF "$T/bad2.yaml:2:19: 'events_max_age' must be a duration" "$T/bad2.out" &&
   [ ! -e "$T/nodata/server.db" ]; then
  pass intake-config-broken-exit-2
else
  fail intake-config-broken-exit-2 "rc=$rc $(cat "$T/bad.out") / rc=$rc2 $(cat "$T/bad2.out")"
fi

# ------------------------------------------------------------------ API ---
stop_pid "$SRV_PID"
: >"$SRV_OUT"
lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "127.0.0.1:$PORT" \
  --api-listen 127.0.0.1:0
SRV_PID=$LIB_BG_PID
api=$(wait_json "$SRV_OUT" api_ready 20 | jq -r '.listen // empty')
atok=$("$MAMORI" server api-token --data "$D" --name intake-test --role viewer 2>"$T/tok.err")
"$MAMORI" server token --data "$D" --site elsewhere >/dev/null 2>&1
otok=$("$MAMORI" server api-token --data "$D" --name other --role site-admin --site elsewhere 2>>"$T/tok.err")
page() { # TOKEN PATH
  curl -s --max-time 10 --cacert "$D/ca.crt" -H "Authorization: Bearer $1" "https://$api$2"
}
if [ -n "$api" ] && [ -n "$atok" ]; then
  p1=$(page "$atok" "/api/v1/hosts/$HOST/events?limit=3")
  cur=$(printf '%s' "$p1" | jq -r '.next_cursor // empty')
  p2=$(page "$atok" "/api/v1/hosts/$HOST/events?limit=3&cursor=$cur")
  s1=$(printf '%s' "$p1" | jq -c '[.items[].seq]'); s2=$(printf '%s' "$p2" | jq -c '[.items[].seq]')
  mn=$(q 'SELECT seq FROM events ORDER BY time, id LIMIT 1')
  # the events carry time_ms = (1700000000 + n) s: a window of 5 s from event n = 500000
  w=$(page "$atok" "/api/v1/hosts/$HOST/events?since=$(((1700000000 + 500000) * 1000))&until=$(((1700000000 + 500005) * 1000))" | jq -c '[.items[].seq]')
  scoped=$(page "$otok" "/api/v1/hosts/$HOST/events" | jq -r '.error.code // empty')
  badcur=$(page "$atok" "/api/v1/hosts/$HOST/events?since=5&cursor=$cur" | jq -r '.error.code // empty')
  if [ "$(printf '%s' "$s1" | jq length)" = 3 ] && [ "$(printf '%s' "$s1" | jq '.[0]')" = "$mn" ] &&
     [ "$(printf '%s' "$s2" | jq '.[0]')" = "$(($(printf '%s' "$s1" | jq '.[2]') + 1))" ] &&
     [ "$(printf '%s' "$p1" | jq -r '.items[0].event.kind')" = test ] &&
     [ "$w" = "[500000,500001,500002,500003,500004]" ] && [ "$scoped" = not_found ] &&
     [ "$badcur" = bad_cursor ]; then
    pass intake-api-events-page
  else
    fail intake-api-events-page "p1=$(printf '%s' "$p1" | head -c 300) s2=$s2 window=$w scoped=$scoped badcur=$badcur"
  fi
else
  fail intake-api-events-page "no API listener or token: $(tail -c 300 "$SRV_OUT") $(cat "$T/tok.err")"
fi

stop_pid "$AG_PID"
stop_pid "$SRV_PID"
lib_summary
