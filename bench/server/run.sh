#!/usr/bin/env bash
# bench/server/run.sh - thousands of agents against one `mamori server` on
# loopback mutual TLS (issue 5): connect N (10,000), sustained alert load,
# kill -9 of the server mid-load (time until every agent is back; every
# acknowledged alert stored exactly once, checked with sqlite3), a real
# `mamori agent` killed -9 while forwarding its spool (every alert once), and
# the floors measured in the same run: the raw SQLite insert rate of the same
# rows on the same disk, and the heartbeat round trip (no database) next to
# the alert acknowledgement.
#
# Usage: bench/server/run.sh  (N=10000 RATE=500 EVENTS_RATE=50000 DURATION=20 POST=5)
#   N=       simulated agents          RATE=     alerts/s offered in total
#   EVENTS_RATE= events/s offered in total (EVENTS frames of 100 events)
#   DURATION= seconds of steady load   POST=     seconds of load after the restart
#   AGENT_ALERTS= alerts in the real agent's spool (1000: several windows of 256)
#   RECOVER= seconds allowed for every agent to be back after the restart (120)
#   WORK=    cache of enrolled identities and the enrolled data directory
#            (default /tmp/mamori-bench-server-N; reruns reuse it)
#   OUT=     report file (default bench/out/server-DATE.md)
# Everything else lives in a temp directory removed at the end.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
N=${N:-10000} RATE=${RATE:-500} EVENTS_RATE=${EVENTS_RATE:-50000} DURATION=${DURATION:-20} POST=${POST:-5}
AGENT_ALERTS=${AGENT_ALERTS:-1000} RECOVER=${RECOVER:-120}
WORK=${WORK:-/tmp/mamori-bench-server-$N}
OUT=${OUT:-$ROOT/bench/out/server-$(date -u +%Y%m%d-%H%M%S).md}
M=$ROOT/build/release/mamori
LG=$ROOT/build/release/bench/server/loadgen
if ! make -C "$ROOT" -j2 bench-server >/dev/null 2>&1; then
  [ -x "$M" ] && [ -x "$LG" ] || { echo "build failed (make bench-server)"; exit 1; }
  echo "warning: make bench-server failed; benchmarking the binaries already built"
fi
T=$(mktemp -d /tmp/mamori-bench-server.XXXXXX)
PIDF=$T/server.pid AGPID=
stop_server() { # TERM, wait until the pid is gone
  local p; p=$(cat "$PIDF" 2>/dev/null) || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$PIDF"
}
cleanup() {
  [ -n "$AGPID" ] && kill -9 -- "-$AGPID" 2>/dev/null
  stop_server
  rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
PORT=$((20000 + RANDOM % 10000)) API_LISTEN=none # the HTTPS API (event stream) once enrolled
# start_server DATA: in the background (its own session), pid in $PIDF,
# event lines in $T/events, log in $T/server.err; waits for "ready".
start_server() {
  : >"$T/events"
  setsid "$M" server run --data "$1" --listen "127.0.0.1:$PORT" --api-listen "$API_LISTEN" \
    --log-level warn >>"$T/events" 2>>"$T/server.err" &
  echo $! >"$PIDF"
  disown $! # its kill -9 is part of the bench, not news for the shell
  for _ in $(seq 100); do grep -q '"ready"' "$T/events" && return 0; sleep 0.1; done
  echo "server did not start: $(tail -5 "$T/server.err")"
  exit 1
}
val() { sed -n "s/^$1=//p" "$T/figures" | tail -1; }
{
echo "# bench/server - $N agents against one mamori server"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$N RATE=$RATE EVENTS_RATE=$EVENTS_RATE DURATION=$DURATION POST=$POST, commit $(git -C "$ROOT" rev-parse --short HEAD)"
echo
} | tee "$OUT"

# ---------------------------------------------------------- enrollment --
mkdir -p "$WORK"
have=$(ls "$WORK/ids" 2>/dev/null | wc -l)
if [ "$have" -lt "$N" ]; then
  mkdir -p "$WORK/data"
  start_server "$WORK/data"
  "$LG" enroll --data "$WORK/data" --work "$WORK" -n "$N" --server "127.0.0.1:$PORT" \
    >"$T/figures" 2>"$T/enroll.err" || { echo "enrollment failed: $(tail -5 "$T/enroll.err")"; exit 1; }
  stop_server
  cp "$WORK/data/ca.crt" "$WORK/ca.crt"
  echo "enrolled $(val enroll_new) hosts in $(val enroll_ms) ms (tokens: one transaction, $(val enroll_tokens_ms) ms; $(val enroll_cached) cached)" | tee -a "$OUT"
else
  echo "enrollment: $have identities cached in $WORK" | tee -a "$OUT"
fi
cp -a "$WORK/data" "$T/data"
rm -f "$T/data/server.lock"

# ------------------------------------------ connect, load, kill -9, drain --
APORT=$((PORT + 1)) API_LISTEN=127.0.0.1:$((PORT + 1))
"$M" server api-token --data "$T/data" --name bench >"$T/apitok" 2>>"$T/server.err"
start_server "$T/data"
# the floors: the same rows into a copy of the (upgraded) database, same disk,
# while the server idles
for tb in alerts:200000:4096 events:500000:16384; do
  IFS=: read -r tname rows batch <<<"$tb"
  sqlite3 "$T/data/server.db" ".backup '$T/floor.db'"
  "$LG" floor --db "$T/floor.db" --table "$tname" --rows "$rows" --batch "$batch" >>"$T/figures"
  rm -f "$T/floor.db"*
done
RESTART="setsid '$M' server run --data '$T/data' --listen 127.0.0.1:$PORT --api-listen 127.0.0.1:$APORT --log-level warn >>'$T/events' 2>>'$T/server.err' & echo \$! >'$PIDF'"
"$LG" run --work "$WORK" -n "$N" --server "127.0.0.1:$PORT" --pid-file "$PIDF" --rate "$RATE" --events-rate "$EVENTS_RATE" \
  --duration "$DURATION" --post "$POST" --restart-cmd "$RESTART" \
  --recover-timeout "$RECOVER" \
  --sse "127.0.0.1:$APORT" --sse-token "$(cat "$T/apitok")" >>"$T/figures" 2>"$T/run.err"
LGRC=$?
tail -3 "$T/run.err"
stop_server
# every acknowledged alert exactly once
sqlite3 "$T/check.db" ".separator ' '" "CREATE TABLE l(host_id TEXT PRIMARY KEY, acked INT, sent INT, ev_acked INT);" \
  ".import $WORK/ledger l" "ATTACH '$T/data/server.db' AS s;" \
  "SELECT 'ledger_acked=' || (SELECT sum(acked) FROM l);
   SELECT 'stored_acked=' || (SELECT count(*) FROM s.alerts a JOIN l ON a.host_id = l.host_id AND a.seq BETWEEN 1 AND l.acked);
   SELECT 'stored_bench=' || (SELECT count(*) FROM s.alerts WHERE kind = 'bench');
   SELECT 'ledger_ev_acked=' || (SELECT sum(ev_acked) FROM l);
   SELECT 'stored_ev_acked=' || (SELECT count(*) FROM s.events e JOIN l ON e.host_id = l.host_id AND e.seq BETWEEN 1 AND l.ev_acked);
   SELECT 'ev_duplicates=' || (SELECT count(*) FROM (SELECT 1 FROM s.events WHERE seq IS NOT NULL GROUP BY host_id, seq HAVING count(*) > 1));
   SELECT 'duplicates=' || (SELECT count(*) FROM (SELECT 1 FROM s.alerts WHERE seq IS NOT NULL GROUP BY host_id, seq HAVING count(*) > 1));" \
  >>"$T/figures" 2>>"$T/check.err"

# ------------------------------------------- a real agent killed mid-send --
start_server "$T/data"
TOK=$("$M" server token --data "$T/data" --site crash 2>>"$T/server.err")
"$M" agent enroll --server "https://127.0.0.1:$PORT" --token "$TOK" --dir "$T/ag" --hostname crash-1 \
  >/dev/null 2>"$T/agent.err" || { echo "agent enroll failed: $(cat "$T/agent.err")"; exit 1; }
for i in $(seq "$AGENT_ALERTS"); do
  "$M" agent alert --dir "$T/ag" --kind drill --summary "crash drill $i" >/dev/null 2>>"$T/agent.err"
done
setsid "$M" agent run --dir "$T/ag" --max-backoff 1s >"$T/agent.out" 2>&1 &
AGPID=$!
acked() { od -An -t u8 "$T/ag/spool/acked" 2>/dev/null | tr -d ' '; }
for _ in $(seq 200); do [ -n "$(acked)" ] && break; sleep 0.01; done
kill -9 -- "-$AGPID"; wait "$AGPID" 2>/dev/null
echo "agent_acked_at_kill=$(acked)" >>"$T/figures"
setsid "$M" agent run --dir "$T/ag" --max-backoff 1s >>"$T/agent.out" 2>&1 &
AGPID=$!
for _ in $(seq 1200); do [ "$(acked)" = "$AGENT_ALERTS" ] && break; sleep 0.05; done
kill -9 -- "-$AGPID"; wait "$AGPID" 2>/dev/null; AGPID=
stop_server
sqlite3 "$T/data/server.db" "SELECT 'agent_stored=' || count(*) || char(10) || 'agent_distinct=' || count(DISTINCT seq) || char(10) || 'agent_in_order=' || (max(seq) = count(*)) FROM alerts WHERE kind = 'drill';" >>"$T/figures"
echo "agent_acked=$(acked)" >>"$T/figures"

# -------------------------------------------------------------- report --
cp "$T/figures" "${OUT%.md}.txt"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a >= 0) printf "%.2f", a / b; else printf "-" }'; }
row() { printf '| %-44s | %12s | %-14s | %8s | %-22s | %s\n' "$1" "$2" "$3" "$4" "$5" "$6"; }
F=$(val floor_sqlite_rows_per_s) HB50=$(val steady_hb_p50_ms) HB99=$(val steady_hb_p99_ms)
A50=$(val steady_ack_p50_ms) A99=$(val steady_ack_p99_ms) ACK=$(val steady_alerts_acked_per_s)
HWM=$(val crash_server_hwm_kib); [ -n "$HWM" ] || HWM=$(val steady_server_hwm_kib)
LOST=$(( $(val ledger_acked) - $(val stored_acked) )) EVLOST=$(( $(val ledger_ev_acked) - $(val stored_ev_acked) ))
okw() { if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !((op == "<=") ? a <= b : a >= b) }'; then echo met; else echo MISSED; fi; }
{
echo
row "figure" "measured" "target" "verdict" "floor (same run)" "ratio to floor"
row "---" "---:" "---" "---" "---" "---:"
row "agents connected" "$(val connect_connected)" ">= 10000" "$(okw "$(val connect_connected)" '>=' 10000)" "" ""
row "time to connect them all (s)" "$(val connect_seconds)" "" "" "" ""
row "heartbeats/s acknowledged (steady)" "$(val steady_heartbeats_per_s)" "" "" "" ""
row "alerts/s offered" "$(val steady_alerts_sent_per_s)" "" "" "" ""
row "alerts/s stored and acknowledged" "$ACK" "all offered" "$(okw "$ACK" '>=' "$(awk -v r="$(val steady_alerts_sent_per_s)" 'BEGIN{print r*0.98}')")" "SQLite insert $F rows/s" "$(ratio "$ACK" "$F")"
EV=$(val steady_events_acked_per_s)
row "events/s offered" "$(val steady_events_sent_per_s)" "" "" "" ""
FE=$(val floor_events_rows_per_s)
row "events/s stored and acknowledged" "$EV" ">= 50000" "$(okw "$EV" '>=' 50000)" "SQLite insert $FE rows/s" "$(ratio "$EV" "$FE")"
row "EVENTS frame -> EVENTS_ACK p50 / p99 (ms)" "$(val steady_ev_ack_p50_ms) / $(val steady_ev_ack_p99_ms)" "" "" "" ""
row "alert sent -> ALERT_ACK (stored) p50 (ms)" "$A50" "" "" "heartbeat RTT p50 $HB50 ms" "$(ratio "$A50" "$HB50")"
row "alert sent -> ALERT_ACK (stored) p99 (ms)" "$A99" "<= 1000" "$(okw "$A99" '<=' 1000)" "heartbeat RTT p99 $HB99 ms" "$(ratio "$A99" "$HB99")"
row "alert sent -> SSE event (API) p50 (ms)" "$(val steady_sse_p50_ms)" "" "" "ALERT_ACK p50 $A50 ms" "$(ratio "$(val steady_sse_p50_ms)" "$A50")"
row "alert sent -> SSE event (API) p99 (ms)" "$(val steady_sse_p99_ms)" "<= 1000" "$(okw "$(val steady_sse_p99_ms)" '<=' 1000)" "ALERT_ACK p99 $A99 ms" "$(ratio "$(val steady_sse_p99_ms)" "$A99")"
row "alerts seen on the SSE stream (timed/untimed)" "$(val steady_sse_alerts)/$(val steady_sse_untimed)" "" "" "" ""
row "server CPU during steady load (% of a core)" "$(val steady_server_cpu_pct)" "" "" "" ""
row "server peak RSS (VmHWM, MiB)" "$(awk -v k="$HWM" 'BEGIN{printf "%.0f", k/1024}')" "<= 1024" "$(okw "$HWM" '<=' 1048576)" "" ""
row "offered during recovery (alerts/s, events/s)" "$(val crash_alerts_offered_per_s), $(val crash_events_offered_per_s)" "" "" "steady acked rates" ""
row "kill -9 -> all agents back (s)" "$(awk -v m="$(val recover_from_kill_ms)" 'BEGIN{printf "%.1f", m/1000}')" "" "" "" ""
row "restart -> all agents back (s)" "$(awk -v m="$(val recover_from_restart_ms)" 'BEGIN{printf "%.1f", m/1000}')" "" "" "connect phase $(val connect_seconds) s" "$(ratio "$(val recover_from_restart_ms)" "$(awk -v s="$(val connect_seconds)" 'BEGIN{print s*1000}')")"
row "alerts/s acknowledged after the restart" "$(val after_alerts_acked_per_s)" "" "" "" ""
row "acked alerts lost across server kill -9" "$LOST of $(val ledger_acked)" "0" "$([ "$LOST" = 0 ] && echo met || echo MISSED)" "" ""
row "acked events lost across server kill -9" "$EVLOST of $(val ledger_ev_acked)" "0" "$([ "$EVLOST" = 0 ] && echo met || echo MISSED)" "" ""
row "events stored twice" "$(val ev_duplicates)" "0" "$([ "$(val ev_duplicates)" = 0 ] && echo met || echo MISSED)" "" ""
row "alerts stored twice" "$(val duplicates)" "0" "$([ "$(val duplicates)" = 0 ] && echo met || echo MISSED)" "" ""
row "real agent kill -9 mid-send: stored/spooled" "$(val agent_stored)/$AGENT_ALERTS (acked at kill: $(val agent_acked_at_kill))" "all, once" "$([ "$(val agent_stored)" = "$AGENT_ALERTS" ] && [ "$(val agent_distinct)" = "$AGENT_ALERTS" ] && echo met || echo MISSED)" "" ""
echo
echo "loadgen exit $LGRC; drain_ok=$(val drain_ok); alerts sent $(val alerts_sent_total), acked $(val alerts_acked_total), stored (kind bench) $(val stored_bench); events sent $(val events_sent_total), acked $(val events_acked_total); reconnects $(val reconnects)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT"
