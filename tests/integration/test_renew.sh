#!/usr/bin/env bash
# tests/integration/test_renew.sh - an agent renews its client certificate
# (RENEW / RENEW_OK) over loopback mutual TLS, through the binary.
#
# A real server on 127.0.0.1 issues short-lived client certificates while
# MAMORI_TEST_CLIENT_CERT_SECONDS=120 is set (tests only), then is restarted
# without it (certificates of the normal 825 days). Cases: a host enrolled
# with a 120 s certificate is in its renewal window at once; its agent renews
# on its first session (new key 0600 and certificate: new serial, notAfter
# later, same CN, our CA's; no leftover .new files), stays connected, and the
# server records the new fingerprint (the old one kept as cert_fp_prev) and a
# "cert_renew" audit row; after an agent restart (here after a simulated
# crash in the middle of installing the files, finished at start) the new
# certificate is used (the same host id, one host row, cert_fp_prev cleared,
# no second renewal);
# a RENEW with a garbage CSR gets an ERROR "bad_csr" frame and the connection
# closed while the server keeps serving (the agent reconnects); a revoked
# host gets no new certificate (refused at the connection or at its RENEW).
# Needs $MAMORI, jq, sqlite3 and the openssl CLI; no root.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_tools renew jq openssl sqlite3
need_mamori server

T=$(lib_mktemp_dir renew)
cp "$MAMORI" "$T/mamori" && MAMORI=$T/mamori
D=$T/data
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }

# start_server [ENV=VALUE...]: server in its own session on $PORT (0: the
# kernel's choice, then kept: agents store it); sets SRV_PID and PORT.
PORT=0
start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" env "$@" "$MAMORI" server run --data "$D" --listen "127.0.0.1:$PORT" \
    --offline-after 3s --heartbeat 1s
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}

enroll() { # DIR HOSTNAME
  local tok
  tok=$("$MAMORI" server token --data "$D" --site osaka 2>>"$T/token.err") &&
    "$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok" --dir "$1" \
      --hostname "$2" >"$T/enroll.out" 2>"$T/enroll.err"
}

start_agent() { # DIR: output in DIR.out; sets AG_PID
  lib_start_bg "$1.out" "$MAMORI" agent run --no-guard --dir "$1" --max-backoff 2s
  AG_PID=$LIB_BG_PID
}

# count_json OUT EVENT: lines {"event":EVENT} in OUT.
count_json() { jq -cR --arg e "$2" 'fromjson? | select(.event==$e)' <"$1" 2>/dev/null | wc -l; }
# wait_count OUT EVENT N TIMEOUT_S: until OUT has at least N EVENT lines.
wait_count() {
  local deadline=$(($(ms) + $4 * 1000))
  while [ "$(ms)" -lt "$deadline" ]; do
    [ "$(count_json "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.1
  done
  return 1
}

fp() { openssl x509 -in "$1" -outform DER 2>/dev/null | sha256sum | cut -c1-64; }
serial() { openssl x509 -in "$1" -noout -serial 2>/dev/null; }
not_after() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 2>/dev/null; }
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }
db() { sqlite3 "$D/server.db" "$1"; }
alive() { kill -0 "$SRV_PID" 2>/dev/null && [ "$(proc_state "$SRV_PID")" != Z ]; }

# frame TYPE BODY: one wire frame as a printf format (body under 256 bytes).
frame() { printf '\\x00\\x00\\x00\\x%02x\\x00\\x%02x\\x00\\x00%s' "${#2}" "$1" "$2"; }

# ------------------------------------------- enroll with short-lived certs --
if ! start_server MAMORI_TEST_CLIENT_CERT_SECONDS=120; then
  fail renew-server-start "$LIB_ERR"; lib_summary; exit 1
fi
A=$T/a B=$T/b
enroll "$A" db-1 || fail renew-enroll "$(cat "$T/enroll.err")"
enroll "$B" web-1 || fail renew-enroll "$(cat "$T/enroll.err")"
HID=$(jq -r .host_id "$A/agent.json")
FP1=$(fp "$A/host.crt") SER1=$(serial "$A/host.crt") NA1=$(not_after "$A/host.crt")
SUBJ1=$(subject "$A/host.crt") PUB1=$(pubkey_of_key "$A/host.key")
left=$((NA1 - $(date +%s)))
if [ "$left" -gt 0 ] && [ "$left" -le 125 ] && [ "$(db "SELECT cert_fp FROM hosts WHERE id='$HID'")" = "$FP1" ]; then
  pass renew-short-lived-cert
else
  fail renew-short-lived-cert "notAfter in $left s, host $HID fp $(db "SELECT cert_fp FROM hosts WHERE id='$HID'") vs $FP1"
fi
stop_pid "$SRV_PID"
start_server || { fail renew-server-restart "$LIB_ERR"; lib_summary; exit 1; }

# ------------------------------------------------------------ renewal --
start_agent "$A"; AP=$AG_PID
if wait_json "$A.out" cert_renewed 30 >/dev/null; then
  FP2=$(fp "$A/host.crt") NA2=$(not_after "$A/host.crt")
  ls "$A" >"$T/a.ls"
  if [ "$(serial "$A/host.crt")" != "$SER1" ] && [ "$NA2" -gt $((NA1 + 86400)) ] &&
     [ "$(subject "$A/host.crt")" = "$SUBJ1" ] &&
     openssl verify -CAfile "$A/ca.crt" "$A/host.crt" >/dev/null 2>&1 &&
     [ "$(stat -c %a "$A/host.key")" = 600 ] && [ "$(pubkey_of_key "$A/host.key")" != "$PUB1" ] &&
     [ "$(pubkey_of_key "$A/host.key")" = "$(pubkey_of_cert "$A/host.crt")" ] &&
     ! grep -q '\.new\|\.tmp' "$T/a.ls"; then
    pass renew-agent-files
  else
    fail renew-agent-files "serial $(serial "$A/host.crt") vs $SER1, notAfter $NA2 vs $NA1, subject $(subject "$A/host.crt") vs $SUBJ1, key mode $(stat -c %a "$A/host.key"), files $(tr '\n' ' ' <"$T/a.ls")"
  fi
  row=$(db "SELECT count(*), cert_fp, COALESCE(cert_fp_prev, '') FROM hosts WHERE hostname='db-1'")
  audit=$(db "SELECT count(*) FROM audit WHERE action='cert_renew' AND target='$HID' AND detail LIKE 'cert_sha256=$FP2 previous=$FP1 %'")
  if [ "$row" = "1|$FP2|$FP1" ] && [ "$audit" = 1 ] &&
     grep -q "\"event\":\"cert_renewed\".*\"host_id\":\"$HID\"" "$SRV_OUT"; then
    pass renew-server-records
  else
    fail renew-server-records "hosts row '$row' (want 1|$FP2|$FP1), audit rows $audit"
  fi
  sleep 1.5 # the session goes on with the old certificate: heartbeats, no reconnect
  if [ "$(count_json "$A.out" connected)" = 1 ] && [ "$(count_json "$A.out" disconnected)" = 0 ]; then
    pass renew-session-kept
  else
    fail renew-session-kept "$(tail -c 400 "$A.out")"
  fi
else
  fail renew-agent-files "no cert_renewed: $(tail -c 600 "$A.out")"
fi

# --------------------------------------------- restart with the new cert --
# ... after a crash between writing the .new pair and moving it in (the old
# files stand for the pair being replaced): the start finishes the move
stop_pid "$AP"
mv "$A/host.key" "$A/host.key.new" && mv "$A/host.crt" "$A/host.crt.new" &&
  echo stale >"$A/host.key" && echo stale >"$A/host.crt"
start_agent "$A"; AP=$AG_PID
if wait_json "$A.out" connected 20 >/dev/null; then
  sleep 0.5
  row=$(db "SELECT count(*), id, cert_fp, COALESCE(cert_fp_prev, '') FROM hosts WHERE hostname='db-1'")
  if [ "$row" = "1|$HID|$FP2|" ] && [ "$(jq -r .host_id "$A/agent.json")" = "$HID" ] &&
     [ ! -e "$A/host.key.new" ] && [ ! -e "$A/host.crt.new" ] &&
     [ "$(count_json "$A.out" cert_renewed)" = 0 ] && [ "$(fp "$A/host.crt")" = "$FP2" ] &&
     [ "$(grep -c "\"event\":\"connected\".*\"host_id\":\"$HID\"" "$SRV_OUT")" = 2 ]; then
    pass renew-reconnect-new-cert
  else
    fail renew-reconnect-new-cert "hosts row '$row' (want 1|$HID|$FP2|), renewals $(count_json "$A.out" cert_renewed)"
  fi
else
  fail renew-reconnect-new-cert "not connected: $(tail -c 600 "$A.out")"
fi

# ------------------------------------------------ garbage CSR in RENEW --
hello=$(frame 1 '{"proto":1,"hostname":"db-1"}')
renew=$(frame 14 '{"csr":"-----BEGIN CERTIFICATE REQUEST----- garbage"}')
{ printf "$hello$renew"; sleep 1; } | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
  -quiet -no_ign_eof -cert "$A/host.crt" -key "$A/host.key" >"$T/raw.out" 2>/dev/null
if grep -aq '"code":"bad_csr"' "$T/raw.out" && alive &&
   [ "$(db "SELECT count(*) FROM audit WHERE action='cert_renew' AND target='$HID' AND detail LIKE 'refused (bad_csr)%'")" = 1 ] &&
   [ "$(db "SELECT cert_fp FROM hosts WHERE id='$HID'")" = "$FP2" ] &&
   wait_count "$A.out" connected 2 15; then
  pass renew-garbage-csr-refused
else
  fail renew-garbage-csr-refused "reply $(tr -c '[:print:]' . <"$T/raw.out" | tail -c 300); agent: $(tail -c 300 "$A.out")"
fi

# --------------------------------------------------- revoked host --
# Revoked by another process: the server may see it at the connection (the
# host is refused) or, if its next look at the store comes later, at the
# RENEW (refused from the store's row, audited "refused (revoked)"); either
# way no certificate is issued.
BID=$(jq -r .host_id "$B/agent.json") FPB=$(fp "$B/host.crt")
out=$("$MAMORI" server revoke --data "$D" web-1 2>&1) || fail renew-revoked "revoke: $out"
timeout 30 "$MAMORI" agent run --no-guard --dir "$B" >"$B.out" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "revoked" "$B.out" && [ "$(fp "$B/host.crt")" = "$FPB" ] &&
   [ "$(db "SELECT count(*) FROM audit WHERE action='cert_renew' AND target='$BID' AND detail NOT LIKE 'refused (revoked)%'")" = 0 ] &&
   [ "$(db "SELECT cert_fp FROM hosts WHERE id='$BID'")" = "$FPB" ] && alive; then
  pass renew-revoked-refused
else
  fail renew-revoked-refused "rc=$rc: $(tail -c 300 "$B.out")"
fi

stop_pid "$AP"
[ "$STOP_RC" = 0 ] || fail renew-agent-stop "agent exit $STOP_RC: $(tail -c 300 "$A.out")"
stop_pid "$SRV_PID"
[ "$STOP_RC" = 0 ] || fail renew-server-stop "server exit $STOP_RC: $(tail -c 300 "$SRV_OUT")"
lib_summary
