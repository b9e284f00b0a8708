#!/usr/bin/env bash
# tests/integration/test_server.sh - `mamori server` and `mamori agent` end to
# end over loopback mutual TLS, through the binary.
#
# A real server on 127.0.0.1 (port chosen by the kernel, read from its ready
# line) with a temp data directory, --offline-after 3s --heartbeat 1s so that
# liveness is observable quickly (the defaults stay 30 s / 10 s). Cases:
# the CA and database on first start; enrollment with a good token, a reused
# one, an expired one, and one pinned to another server's CA (refused by the
# agent: enrollment is not blind trust); heartbeats make a host online; raw
# clients sending plain text, garbage, oversized frames, bad JSON and frames
# out of order are dropped with their reason while a live agent stays
# connected and new enrollments still work; a killed agent is offline within
# 3 s (+ one 250 ms tick) with a "host_silent" alert; revoke closes a live
# agent's connection and refuses it thereafter; SIGTERM stops server and
# agent with status 0 (clean under ASan); a restart keeps CA and hosts;
# alerts spooled while the server is down (across an agent restart and a
# kill -9) arrive in order, once each, and a resend is stored once; usage
# errors exit 2. Needs $MAMORI, jq and the openssl CLI; no root.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_tools server jq openssl
need_mamori server

T=$(lib_mktemp_dir server)
D=$T/data
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }

# start_server [PORT]: server in its own session; sets SRV_PID and PORT.
start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "127.0.0.1:${1:-0}" \
    --offline-after 3s --heartbeat 1s
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}

# host_field NAME FIELD: FIELD of host NAME in `server hosts`.
host_field() {
  "$MAMORI" server hosts --data "$D" 2>/dev/null | jq -r --arg n "$1" "select(.hostname==\$n) | .$2" | head -1
}

# wait_status NAME STATUS TIMEOUT_S: until `server hosts` says so.
wait_status() {
  local deadline=$(($(ms) + $3 * 1000))
  while [ "$(ms)" -lt "$deadline" ]; do
    [ "$(host_field "$1" status)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# enroll DIR HOSTNAME TOKEN: run `agent enroll`; output in $T/enroll.err.
enroll() {
  "$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$3" --dir "$1" \
    --hostname "$2" >"$T/enroll.out" 2>"$T/enroll.err"
}

new_token() { "$MAMORI" server token --data "$D" --site "$1" "${@:2}" 2>>"$T/token.err"; }

# start_agent DIR: `agent run` in its own session, output in DIR.out; sets AG_PID.
start_agent() {
  lib_start_bg "$1.out" "$MAMORI" agent run --no-guard --dir "$1" --max-backoff 2s
  AG_PID=$LIB_BG_PID
}

# raw CERTDIR HEXBYTES: a TLS 1.3 client (openssl s_client) that sends the
# bytes after the handshake (with CERTDIR's certificate unless it is "-")
# and lingers 1 s for the server to act.
raw() {
  local certopts=()
  [ "$1" != - ] && certopts=(-cert "$1/host.crt" -key "$1/host.key")
  { printf "$2"; sleep 1; } | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
    -quiet -no_ign_eof "${certopts[@]}" >/dev/null 2>&1
}

# dropped REASON: a drop event with REASON appeared in the server's output.
dropped() {
  local deadline=$(($(ms) + 5000))
  while [ "$(ms)" -lt "$deadline" ]; do
    jq -cR 'fromjson? | select(.event=="drop") | .reason' <"$SRV_OUT" 2>/dev/null | grep -qF "$1" && return 0
    sleep 0.1
  done
  return 1
}

alive() { kill -0 "$SRV_PID" 2>/dev/null && [ "$(proc_state "$SRV_PID")" != Z ]; }

# ------------------------------------------------------------- first start --
if ! start_server; then
  fail server-start "$LIB_ERR"; lib_summary; exit 1
fi
spki=$(printf '%s' "$READY" | jq -r .ca_spki_sha256)
SCHEMA=$(sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$REPO_ROOT/src/server/store.h")
if [ "$(stat -c %a "$D/ca.key")" = 600 ] && [ "$(stat -c %a "$D/server.key")" = 600 ] &&
   [ "$(stat -c %a "$D")" = 700 ] && [ -s "$D/server.db" ] && [ ${#spki} -eq 64 ] &&
   [ "$(sqlite3 "$D/server.db" 'PRAGMA journal_mode; PRAGMA user_version;' | tr '\n' ' ')" = "wal $SCHEMA " ]; then
  pass server-first-start
else
  fail server-first-start "modes $(stat -c '%n=%a' "$D" "$D"/*.key | tr '\n' ' ') spki=$spki"
fi

# ------------------------------------------------------------- enrollment --
tok1=$(new_token osaka)
if [[ $tok1 =~ ^mamori1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$ ]] &&
   ! sqlite3 "$D/server.db" 'SELECT hash FROM tokens' | grep -qF -- "${tok1:8:43}"; then
  pass server-token
else
  fail server-token "token '$tok1' (or its secret is stored in clear)"
fi

if enroll "$T/a1" web-1 "$tok1" && [ "$(stat -c %a "$T/a1/host.key")" = 600 ] &&
   [ -s "$T/a1/host.crt" ] && cmp -s "$T/a1/ca.crt" "$D/ca.crt" &&
   [ "$(jq -r .site "$T/a1/agent.json")" = osaka ] &&
   [ "$(host_field web-1 status)" = enrolled ] && [ "$(host_field web-1 site)" = osaka ]; then
  pass enroll-good
else
  fail enroll-good "$(cat "$T/enroll.err") / $(ls -l "$T/a1" 2>&1 | tr '\n' ' ')"
fi

enroll "$T/a2" web-2 "$tok1"; rc=$?
if [ $rc -eq 1 ] && grep -q "refused the enrollment: enrollment token already used (by host h-" "$T/enroll.err" &&
   [ ! -e "$T/a2/agent.json" ] && [ -z "$(host_field web-2 status)" ]; then
  pass enroll-reused-refused
else
  fail enroll-reused-refused "rc=$rc: $(cat "$T/enroll.err")"
fi

tok_exp=$(new_token osaka --expires 1s)
sleep 1.2
enroll "$T/a2" web-2 "$tok_exp"; rc=$?
if [ $rc -eq 1 ] && grep -q "refused the enrollment: enrollment token expired at " "$T/enroll.err" &&
   [ ! -e "$T/a2/agent.json" ]; then
  pass enroll-expired-refused
else
  fail enroll-expired-refused "rc=$rc: $(cat "$T/enroll.err")"
fi

# a token from another server's CA: this server's certificate does not match
# the pin, so the agent refuses to talk to it (no blind trust on first use)
tok_other=$("$MAMORI" server token --data "$T/other" --site x 2>/dev/null)
n_before=$(sqlite3 "$D/server.db" 'SELECT count(*) FROM audit')
enroll "$T/a2" web-2 "$tok_other"; rc=$?
n_after=$(sqlite3 "$D/server.db" 'SELECT count(*) FROM audit')
if [ $rc -eq 1 ] && grep -q "certificate verify failed" "$T/enroll.err" && [ "$n_before" = "$n_after" ] &&
   [ ! -e "$T/a2/agent.json" ]; then
  pass enroll-foreign-ca-refused
else
  fail enroll-foreign-ca-refused "rc=$rc audit $n_before->$n_after: $(cat "$T/enroll.err")"
fi

# ---------------------------------------------------------------- liveness --
start_agent "$T/a1"; A1=$AG_PID
if wait_json "$T/a1.out" connected 10 >/dev/null && wait_status web-1 online 5; then
  pass heartbeat-online
else
  fail heartbeat-online "agent: $(tail -c 400 "$T/a1.out"); host: $(host_field web-1 status)"
fi

enroll "$T/a3" db-1 "$(new_token lima)" || fail enroll-second "$(cat "$T/enroll.err")"
start_agent "$T/a3"; A3=$AG_PID
enroll "$T/a4" raw-1 "$(new_token lima)" || fail enroll-raw "$(cat "$T/enroll.err")"
wait_status db-1 online 10 || fail second-online "db-1 is $(host_field db-1 status)"

# ------------------------------------------------------- hostile clients --
# plain text on the TLS port
exec 3<>"/dev/tcp/127.0.0.1/$PORT" && { printf 'GET / HTTP/1.1\r\n\r\n' >&3 2>/dev/null; sleep 0.5; exec 3>&-; }
if dropped "TLS handshake" && alive; then pass raw-plain-text-dropped; else
  fail raw-plain-text-dropped "$(tail -3 "$SRV_OUT")"; fi

raw - 'GARBAGE!'
if dropped "malformed frame: unknown frame type" && alive; then pass raw-garbage-dropped; else
  fail raw-garbage-dropped "$(tail -3 "$SRV_OUT")"; fi

# ENROLL header announcing 100000 bytes: over the 64 KiB bound before a certificate
raw - '\x00\x01\x86\xa0\x00\x05\x00\x00'
if dropped "malformed frame: frame longer than the maximum" && alive; then
  pass raw-oversized-unauthenticated-dropped
else
  fail raw-oversized-unauthenticated-dropped "$(tail -3 "$SRV_OUT")"
fi

# a certified host: HEARTBEAT header announcing 2 MiB (bound 1 MiB)
n=$(grep -c '"event":"drop"' "$SRV_OUT")
raw "$T/a4" '\x00\x20\x00\x00\x00\x03\x00\x00'
if [ "$(grep '"event":"drop"' "$SRV_OUT" | tail -n +$((n + 1)) | grep -c 'frame longer than the maximum')" -ge 1 ] && alive; then
  pass raw-oversized-certified-dropped
else
  fail raw-oversized-certified-dropped "$(tail -3 "$SRV_OUT")"
fi

raw "$T/a4" '\x00\x00\x00\x08\x00\x01\x00\x00not json'
if dropped "malformed HELLO frame: frame body is not one valid JSON value" && alive; then
  pass raw-bad-json-dropped
else
  fail raw-bad-json-dropped "$(tail -3 "$SRV_OUT")"
fi

raw "$T/a4" '\x00\x00\x00\x02\x00\x03\x00\x00{}'
if dropped "protocol error: HEARTBEAT frame before HELLO" && alive; then
  pass raw-out-of-order-dropped
else
  fail raw-out-of-order-dropped "$(tail -3 "$SRV_OUT")"
fi

# enrollment frame from a certified host (only for hosts without a certificate)
raw "$T/a4" '\x00\x00\x00\x02\x00\x05\x00\x00{}'
if dropped "protocol error: ENROLL frame before HELLO" && alive; then pass raw-enroll-with-cert-dropped; else
  fail raw-enroll-with-cert-dropped "$(tail -3 "$SRV_OUT")"; fi

# ... and the server kept serving: the live agents never lost their link,
# a new enrollment works
if alive && ! grep -q '"event":"disconnected"' "$T/a1.out" "$T/a3.out" &&
   [ "$(host_field web-1 status)" = online ] && enroll "$T/a5" web-5 "$(new_token osaka)"; then
  pass server-keeps-serving
else
  fail server-keeps-serving "alive=$(alive && echo y) a1: $(grep disconnected "$T/a1.out" | head -2) enroll: $(cat "$T/enroll.err")"
fi

# ------------------------------------------------------------ going silent --
t0=$(ms)
kill_tree "$A1"
if wait_status web-1 offline 8; then
  dt=$(($(ms) - t0))
  alert=$("$MAMORI" server alerts --data "$D" | jq -c 'select(.kind=="host_silent" and .hostname=="web-1")' | head -1)
  if [ "$dt" -le 4500 ] && [ -n "$alert" ] && printf '%s' "$alert" | jq -e '.severity=="high" and .site=="osaka"' >/dev/null &&
     grep -q '"event":"offline".*"hostname":"web-1"' "$SRV_OUT"; then
    pass killed-agent-offline
    echo "# web-1 marked offline ${dt} ms after its agent was killed (--offline-after 3s)" >&2
  else
    fail killed-agent-offline "offline after ${dt} ms (want <= 4500); alert: $alert"
  fi
else
  fail killed-agent-offline "still $(host_field web-1 status) after 8 s"
fi

# ----------------------------------------------------------------- revoke --
out=$("$MAMORI" server revoke --data "$D" db-1 2>&1); rc=$?
t0=$(ms)
for ((i = 0; i < 50; i++)); do
  { ! kill -0 "$A3" 2>/dev/null || [ "$(proc_state "$A3")" = Z ]; } && break
  sleep 0.1
done
wait "$A3" 2>/dev/null; arc=$?
dt=$(($(ms) - t0))
if [ $rc -eq 0 ] && [ $arc -eq 1 ] && [ "$dt" -le 3000 ] &&
   grep -q "the server refused this host: this host was revoked" "$T/a3.out" &&
   [ "$(host_field db-1 status)" = revoked ] && grep -q '"event":"revoked".*"hostname":"db-1"' "$SRV_OUT"; then
  pass revoke-cuts-live-connection
else
  fail revoke-cuts-live-connection "revoke rc=$rc ($out); agent rc=$arc after ${dt} ms: $(tail -c 300 "$T/a3.out")"
fi
"$MAMORI" agent run --no-guard --dir "$T/a3" >"$T/a3.again" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "revoked" "$T/a3.again" && grep -q '"event":"refused_revoked"' "$SRV_OUT"; then
  pass revoked-refused-thereafter
else
  fail revoked-refused-thereafter "rc=$rc: $(cat "$T/a3.again")"
fi

# -------------------------------------------------------- stop and restart --
start_agent "$T/a5"; A5=$AG_PID
wait_json "$T/a5.out" connected 10 >/dev/null
stop_pid "$A5"
if [ "$STOP_RC" = 0 ]; then pass agent-sigterm; else fail agent-sigterm "exit $STOP_RC: $(tail -c 300 "$T/a5.out")"; fi

stop_pid "$SRV_PID"
if [ "$STOP_RC" = 0 ] && ! grep -q "Sanitizer" "$SRV_OUT"; then pass server-sigterm; else
  fail server-sigterm "exit $STOP_RC: $(grep -A5 Sanitizer "$SRV_OUT" | head -20)"; fi

# ------------------------------------------------ spool across an outage --
# the server is down: alerts wait in web-5's spool, across an agent restart
# and a kill -9, and arrive in order, once each, when the server is back
ok=1
"$MAMORI" agent alert --dir "$T/a5" --kind drill --summary "alert 1 (agent stopped)" >/dev/null || ok=0
"$MAMORI" agent alert --dir "$T/a5" --kind drill --severity critical --summary "alert 2" >/dev/null || ok=0
start_agent "$T/a5"; A5=$AG_PID
sleep 0.5
"$MAMORI" agent alert --dir "$T/a5" --kind drill --summary "alert 3 (agent running, link down)" >/dev/null || ok=0
sleep 0.3
kill_tree "$A5"
"$MAMORI" agent alert --dir "$T/a5" --kind drill --summary "alert 4 (agent killed)" >/dev/null || ok=0
if start_server "$PORT" && [ "$(printf '%s' "$READY" | jq -r .ca_spki_sha256)" = "$spki" ] &&
   [ "$(printf '%s' "$READY" | jq -r .hosts)" = 4 ]; then
  pass server-restart-keeps-ca-and-hosts
else
  fail server-restart-keeps-ca-and-hosts "$READY $LIB_ERR"
fi
start_agent "$T/a4"; A4=$AG_PID
if wait_status raw-1 online 10; then pass reconnect-after-restart; else
  fail reconnect-after-restart "$(tail -c 300 "$T/a4.out")"; fi
kill_tree "$A4"

start_agent "$T/a5"; A5=$AG_PID
drill() { "$MAMORI" server alerts --data "$D" | jq -r 'select(.kind=="drill" and .hostname=="web-5") | "\(.seq) \(.summary)"'; }
want=$'1 alert 1 (agent stopped)\n2 alert 2\n3 alert 3 (agent running, link down)\n4 alert 4 (agent killed)'
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt "$deadline" ] && [ "$(drill | wc -l)" -lt 4 ]; do sleep 0.1; done
sleep 0.5
acked=$(od -An -t u8 "$T/a5/spool/acked" 2>/dev/null | tr -d ' ')
if [ "$ok" = 1 ] && [ "$(drill)" = "$want" ] && [ "$acked" = 4 ] &&
   [ "$(grep -c '"event":"alert"' "$SRV_OUT")" -eq 4 ]; then
  pass spool-across-outage-in-order
else
  fail spool-across-outage-in-order "spooled ok=$ok acked=$acked got: $(drill | tr '\n' '|')"
fi
# the acknowledgement lost (as if the agent died before writing it): the
# agent sends all four again; the server stores them once
stop_pid "$A5"
rm -f "$T/a5/spool/acked"
start_agent "$T/a5"; A5=$AG_PID
deadline=$(($(ms) + 5000))
while [ "$(ms)" -lt "$deadline" ] && [ ! -s "$T/a5/spool/acked" ]; do sleep 0.1; done
if [ "$(od -An -t u8 "$T/a5/spool/acked" 2>/dev/null | tr -d ' ')" = 4 ] && [ "$(drill)" = "$want" ]; then
  pass spool-resend-stored-once
else
  fail spool-resend-stored-once "$(drill | tr '\n' '|')"
fi
kill_tree "$A5"
"$MAMORI" server run --data "$D" --listen 127.0.0.1:0 >"$T/second.out" 2>&1; rc=$?
if [ $rc -eq 2 ] && grep -q "another mamori server is using this data directory" "$T/second.out"; then
  pass one-server-per-data-dir
else
  fail one-server-per-data-dir "rc=$rc: $(cat "$T/second.out")"
fi
stop_pid "$SRV_PID"

# ------------------------------------------------------------------ usage --
u() { "$@" >"$T/u.out" 2>"$T/u.err"; echo $?; }
r=(
  "$(u "$MAMORI" server --help)" "$(u "$MAMORI" server token --help)" "$(u "$MAMORI" server revoke --help)"
  "$(u "$MAMORI" server hosts --help)" "$(u "$MAMORI" server alerts --help)" "$(u "$MAMORI" agent --help)"
  "$(u "$MAMORI" agent enroll --help)" "$(u "$MAMORI" agent run --help)" "$(u "$MAMORI" agent alert --help)"
)
e=(
  "$(u "$MAMORI" server run --listen nowhere)" "$(u "$MAMORI" server run --offline-after 3x)"
  "$(u "$MAMORI" server run --heartbeat 20s --offline-after 30s)" "$(u "$MAMORI" server token --data "$D")"
  "$(u "$MAMORI" server token --data "$D" --site 'a b')" "$(u "$MAMORI" server revoke --data "$D" no-such-host)"
  "$(u "$MAMORI" server hosts --data "$T/none")" "$(u "$MAMORI" server frobnicate)"
  "$(u "$MAMORI" agent enroll --server http://x:1 --token t)" "$(u "$MAMORI" agent enroll --server https://127.0.0.1:1 --token bad --dir "$T/u")"
  "$(u "$MAMORI" agent run --dir "$T/none")" "$(u "$MAMORI" agent enroll --token x)"
  "$(u "$MAMORI" agent alert --dir "$T/a5" --summary x)" "$(u "$MAMORI" agent alert --dir "$T/a5" --kind k --summary x --severity bad)"
)
if [ "${r[*]}" = "0 0 0 0 0 0 0 0 0" ] && [ "${e[*]}" = "2 2 2 2 2 2 2 2 2 2 2 2 2 2" ]; then
  pass server-agent-usage
else
  fail server-agent-usage "help: ${r[*]} (want 0s); errors: ${e[*]} (want 2s)"
fi

# no sanitizer report from any server, agent or command run above
if grep -l "Sanitizer" "$T"/*.out "$T"/*.err "$T"/*.again >/dev/null 2>&1; then
  fail no-sanitizer-reports "$(grep -l Sanitizer "$T"/*.out "$T"/*.err "$T"/*.again 2>/dev/null | tr '\n' ' ')"
else
  pass no-sanitizer-reports
fi

lib_summary
