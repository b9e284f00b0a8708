#!/usr/bin/env bash
# tests/integration/test_api.sh - the HTTPS API of `mamori server` end to end,
# through the binary, with curl and openssl s_client on loopback.
#
# A real server (agents' port and API port chosen by the kernel, read from
# its ready / api_ready lines) with a temp data directory that already holds
# 250 generated hosts and 1,200 alerts of a site "bulk" (written with the
# sqlite3 CLI before the start), API tokens made with `mamori server
# api-token` (admin, site-admin of osaka, site-admin of kyoto, viewer), and
# two real agents enrolled with enrollment tokens the API hands out (the
# command line it returns is the one run). Cases: security headers; TLS 1.3
# only; 401 without, with a malformed, unknown or revoked token; a viewer
# cannot write (403); a site admin never sees another site's hosts, alerts
# or site, directly or through list filters (404), nor revokes its host;
# keyset pagination walks every host and alert exactly once; a drill alert
# spooled by `mamori agent alert` reaches the admin's event stream within
# 1 s of being stored, never the other site's; revoke through the API stops
# the agent and is audited; hostile requests (malformed, oversized head and
# body, chunked, bad method, header injection, path traversal plain and
# encoded, unknown parameters, bad cursor, a slow head) get their 4xx JSON
# error while the server keeps serving; SIGTERM with streams open exits 0.
# Needs $MAMORI, jq, curl, sqlite3 and the openssl CLI; no root.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_tools api jq curl sqlite3 openssl
need_mamori server

T=$(lib_mktemp_dir api)
D=$T/data
SRV_OUT=$T/server.out
ms() { echo $(($(date +%s%N) / 1000000)); }
alive() { kill -0 "$SRV_PID" 2>/dev/null && [ "$(proc_state "$SRV_PID")" != Z ]; }

# api TOKEN METHOD PATH [curl args]: body in $T/body, status in CODE, headers in $T/hdr.
api() {
  local tok=$1 m=$2 p=$3; shift 3
  local auth=()
  [ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
  CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --cacert "$D/ca.crt" --max-time 10 \
    -X "$m" "${auth[@]}" "$@" "https://127.0.0.1:$APORT$p")
}
body() { cat "$T/body"; }
errcode() { jq -r '.error.code // empty' <"$T/body" 2>/dev/null; }

# raw FILE: send FILE's bytes over TLS 1.3 and print the response (status line first).
raw() {
  { cat "$1"; sleep 1; } | timeout 10 openssl s_client -connect "127.0.0.1:$APORT" -tls1_3 \
    -quiet -CAfile "$D/ca.crt" 2>/dev/null
}

# -------------------------------------------------------- data and tokens --
mkdir -p "$D"
"$MAMORI" server api-token --data "$D" --name ops >"$T/admin.tok" 2>"$T/tok.err" &&
"$MAMORI" server api-token --data "$D" --name osaka-it --role site-admin --site osaka >"$T/osaka.tok" 2>>"$T/tok.err" &&
"$MAMORI" server api-token --data "$D" --name kyoto-it --role site-admin --site kyoto >"$T/kyoto.tok" 2>>"$T/tok.err" &&
"$MAMORI" server api-token --data "$D" --name wall --role viewer >"$T/viewer.tok" 2>>"$T/tok.err" &&
"$MAMORI" server api-token --data "$D" --name gone >"$T/gone.tok" 2>>"$T/tok.err" || {
  fail api-tokens "$(cat "$T/tok.err")"; lib_summary; exit 1; }
ADM=$(cat "$T/admin.tok") OSA=$(cat "$T/osaka.tok") KYO=$(cat "$T/kyoto.tok") VIEW=$(cat "$T/viewer.tok")
GONE=$(cat "$T/gone.tok")
gone_id=$(echo "$GONE" | cut -d. -f2)
"$MAMORI" server api-token --data "$D" --revoke "$gone_id" >/dev/null 2>>"$T/tok.err"
if [[ $ADM =~ ^mamori-api1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$ ]] &&
   [ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM api_tokens WHERE hash LIKE '%${ADM:29:20}%'")" = 0 ] &&
   [ "$("$MAMORI" server api-token --data "$D" --list | jq -r 'select(.name=="osaka-it") | .role + " " + .site')" = "site-admin osaka" ] &&
   "$MAMORI" server api-token --data "$D" --name x --role site-admin 2>/dev/null; [ $? -eq 2 ]; then
  pass api-token-cli
else
  fail api-token-cli "token '$ADM' / list / usage"
fi

# 250 hosts and 1,200 alerts of site "bulk", with ties in hostnames (keyset on (hostname, id))
sqlite3 "$D/server.db" "
INSERT INTO sites(name, created) VALUES('bulk', 0);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
INSERT INTO hosts(id, site_id, hostname, cert_fp, enrolled, status)
  SELECT printf('h-%016x', i), (SELECT id FROM sites WHERE name = 'bulk'),
         printf('bulk-%03d', i / 2), printf('%064x', i), 0, 'enrolled' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
INSERT INTO alerts(host_id, site_id, time, kind, severity, summary)
  SELECT printf('h-%016x', i % 250 + 1), (SELECT id FROM sites WHERE name = 'bulk'),
         1700000000000 + i * 1000, 'gen', CASE i % 3 WHEN 0 THEN 'high' ELSE 'low' END,
         'generated ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO incidents(site_id, host_id, kind, key, title, severity, status, first, last)
  SELECT (SELECT id FROM sites WHERE name = 'bulk'), printf('h-%016x', i), 'host', 'k' || i,
         'generated ' || i, CASE i % 4 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END,
         CASE WHEN i % 5 = 0 THEN 'resolved' ELSE 'open' END, 1700000000000, 1700000000000 FROM n;" || { fail api-setup "sqlite3 could not fill the store"; lib_summary; exit 1; }

# ------------------------------------------------------------------ start --
# a slow head in flight from the start: checked at the end (408 after 10 s)
start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen 127.0.0.1:0 \
    --api-listen 127.0.0.1:0 --offline-after 3s --heartbeat 1s
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  AREADY=$(wait_json "$SRV_OUT" api_ready 5) || { LIB_ERR="no api_ready line"; return 1; }
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
  APORT=$(printf '%s' "$AREADY" | jq -r .listen | sed 's/.*://')
}
if ! start_server; then
  fail api-start "$LIB_ERR"; lib_summary; exit 1
fi
printf 'GET /api/v1/health HTTP/1.1\r\nHost: a\r\n' >"$T/slow.req"
( { cat "$T/slow.req"; sleep 14; } | timeout 20 openssl s_client -connect "127.0.0.1:$APORT" -tls1_3 \
    -quiet -CAfile "$D/ca.crt" >"$T/slow.out" 2>/dev/null ) &
SLOW_PID=$!

api "" GET /api/v1/health
if [ "$CODE" = 200 ] && [ "$(jq -r .status "$T/body")" = ok ] &&
   grep -qi "^Content-Security-Policy: default-src 'none'" "$T/hdr" &&
   grep -qi '^X-Content-Type-Options: nosniff' "$T/hdr" && grep -qi '^Referrer-Policy: no-referrer' "$T/hdr" &&
   grep -qi '^Strict-Transport-Security: max-age=' "$T/hdr" && grep -qi '^Cache-Control: no-store' "$T/hdr" &&
   grep -qi '^Content-Type: application/json' "$T/hdr"; then
  pass api-health-headers
else
  fail api-health-headers "$CODE $(tr '\r\n' '  ' <"$T/hdr")"
fi

if curl -s -o /dev/null --cacert "$D/ca.crt" --tls-max 1.2 "https://127.0.0.1:$APORT/api/v1/health" 2>/dev/null; then
  fail api-tls13-only "a TLS 1.2 client was served"
else
  pass api-tls13-only
fi

# ------------------------------------------------------------------- auth --
ok=1 why=
api "" GET /api/v1/hosts
[ "$CODE" = 401 ] && grep -qi '^WWW-Authenticate: Bearer' "$T/hdr" && [ "$(errcode)" = unauthorized ] || { ok=0; why+="none:$CODE "; }
api "mamori-api1.nonsense" GET /api/v1/hosts; [ "$CODE" = 401 ] || { ok=0; why+="malformed:$CODE "; }
api "${ADM:0:29}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /api/v1/hosts
[ "$CODE" = 401 ] || { ok=0; why+="wrong-secret:$CODE "; }
api "$GONE" GET /api/v1/hosts; [ "$CODE" = 401 ] && grep -q revoked "$T/body" || { ok=0; why+="revoked:$CODE "; }
api "$ADM" GET /api/v1/hosts -H "Authorization: Bearer $ADM"; [ "$CODE" = 400 ] || { ok=0; why+="two-headers:$CODE "; }
api "$ADM" GET /api/v1/hosts; [ "$CODE" = 200 ] || { ok=0; why+="admin:$CODE "; }
[ $ok = 1 ] && pass api-auth-required || fail api-auth-required "$why"

# ------------------------------------------------ enrollment through the API --
ok=1 why=
api "$ADM" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"site":"osaka","expires":"1h"}'
osaka_cmd=$(jq -r .command "$T/body"); [ "$CODE" = 201 ] || { ok=0; why+="admin:$CODE $(body) "; }
api "$KYO" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{}'
kyoto_cmd=$(jq -r .command "$T/body"); [ "$CODE" = 201 ] && [ "$(jq -r .site "$T/body")" = kyoto ] || { ok=0; why+="site-admin-own:$CODE "; }
api "$OSA" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"site":"kyoto"}'
[ "$CODE" = 404 ] || { ok=0; why+="site-admin-other:$CODE "; }
api "$VIEW" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"site":"osaka"}'
[ "$CODE" = 403 ] || { ok=0; why+="viewer:$CODE "; }
api "$ADM" POST /api/v1/tokens -d 'site=osaka'; [ "$CODE" = 415 ] || { ok=0; why+="form:$CODE "; }
api "$ADM" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"site":"osaka","x":1}'
[ "$CODE" = 400 ] || { ok=0; why+="unknown-member:$CODE "; }
api "$ADM" POST /api/v1/tokens -H 'Content-Type: application/json' -d '{"site":"../x"}'
[ "$CODE" = 400 ] || { ok=0; why+="bad-site:$CODE "; }
api "$ADM" POST /api/v1/tokens -H 'Content-Type: application/json' -d '[1,2'
[ "$CODE" = 400 ] || { ok=0; why+="bad-json:$CODE "; }
[[ $osaka_cmd == "mamori agent enroll --server https://127.0.0.1:$PORT --token mamori1."* ]] || { ok=0; why+="command:'$osaka_cmd' "; }
[ $ok = 1 ] && pass api-enroll-token || fail api-enroll-token "$why"

# the pasted command line, with this test's binary and directories
# shellcheck disable=SC2086  # the command is words on purpose
if "$MAMORI" ${osaka_cmd#mamori } --dir "$T/a1" --hostname web-1 >"$T/e1.out" 2>&1 &&
   "$MAMORI" ${kyoto_cmd#mamori } --dir "$T/a2" --hostname db-1 >"$T/e2.out" 2>&1; then
  lib_start_bg "$T/a1.out" "$MAMORI" agent run --no-guard --dir "$T/a1" --max-backoff 2s; A1=$LIB_BG_PID
  lib_start_bg "$T/a2.out" "$MAMORI" agent run --no-guard --dir "$T/a2" --max-backoff 2s; A2=$LIB_BG_PID
  wait_json "$T/a1.out" connected 10 >/dev/null && wait_json "$T/a2.out" connected 10 >/dev/null &&
    pass api-enroll-pasted-command || fail api-enroll-pasted-command "agents did not connect"
else
  fail api-enroll-pasted-command "$(cat "$T/e1.out" "$T/e2.out")"
fi
api "$ADM" GET "/api/v1/hosts?site=osaka"; H1=$(jq -r '.items[0].id' "$T/body")
api "$ADM" GET "/api/v1/hosts?site=kyoto"; H2=$(jq -r '.items[0].id' "$T/body")

# -------------------------------------------------------------- scoping --
ok=1 why=
api "$OSA" GET /api/v1/hosts
[ "$CODE" = 200 ] && [ "$(jq -r '[.items[].site] | unique | join(",")' "$T/body")" = osaka ] || { ok=0; why+="list:$(body | head -c 200) "; }
api "$OSA" GET "/api/v1/hosts/$H2"; [ "$CODE" = 404 ] || { ok=0; why+="host:$CODE "; }
api "$OSA" GET "/api/v1/hosts?site=kyoto"; [ "$CODE" = 404 ] || { ok=0; why+="filter-site:$CODE "; }
api "$OSA" GET "/api/v1/hosts?site=bulk&status=enrolled"; [ "$CODE" = 404 ] || { ok=0; why+="filter-bulk:$CODE "; }
api "$OSA" GET "/api/v1/alerts?host=$H2"; [ "$CODE" = 404 ] || { ok=0; why+="alerts-host:$CODE "; }
api "$OSA" GET "/api/v1/alerts?site=bulk"; [ "$CODE" = 404 ] || { ok=0; why+="alerts-site:$CODE "; }
api "$OSA" GET "/api/v1/alerts?limit=500"
[ "$CODE" = 200 ] && [ "$(jq '[.items[] | select(.site != "osaka")] | length' "$T/body")" = 0 ] || { ok=0; why+="alerts:$CODE "; }
api "$OSA" GET /api/v1/alerts/1; [ "$CODE" = 404 ] || { ok=0; why+="alert-bulk:$CODE "; }
api "$OSA" GET /api/v1/sites/kyoto; [ "$CODE" = 404 ] || { ok=0; why+="site:$CODE "; }
api "$OSA" GET /api/v1/sites; [ "$(jq -r '[.items[].name] | join(",")' "$T/body")" = osaka ] || { ok=0; why+="sites:$(body) "; }
api "$OSA" POST "/api/v1/hosts/$H2/revoke"; [ "$CODE" = 404 ] || { ok=0; why+="revoke-other:$CODE "; }
api "$OSA" GET "/api/v1/hosts/$H1"; [ "$CODE" = 200 ] && [ "$(jq -r .hostname "$T/body")" = web-1 ] || { ok=0; why+="own:$CODE "; }
# the version the agent named in its HELLO, in the API and the CLI (bulk hosts never said one)
ver=$("$MAMORI" version | awk '{print $2}')
[ -n "$ver" ] && [ "$(jq -r .version "$T/body")" = "$ver" ] || { ok=0; why+="version:'$(jq -r .version "$T/body")'/'$ver' "; }
[ "$("$MAMORI" server hosts --data "$D" | jq -r 'select(.hostname == "web-1") | .version')" = "$ver" ] || { ok=0; why+="cli-version "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM hosts WHERE agent_version IS NOT NULL AND hostname LIKE 'bulk-%'")" = 0 ] || { ok=0; why+="bulk-version "; }
api "$ADM" GET /api/v1/sites
[ "$(jq -r '[.items[].name] | join(",")' "$T/body")" = bulk,kyoto,osaka ] &&
  [ "$(jq -r '.items[0].hosts.total' "$T/body")" = 250 ] || { ok=0; why+="admin-sites:$(body | head -c 300) "; }
# open incidents by severity, per site, as the store counts them (bulk's 30,
# 24 of them open, made above)
for sn in bulk kyoto osaka; do
  want=$(sqlite3 -separator , "$D/server.db" "SELECT $(for v in critical high medium low info; do
    printf "(SELECT count(*) FROM incidents i JOIN sites s ON s.id = i.site_id WHERE s.name = '%s' AND status = 'open' AND severity = '%s')," "$sn" "$v"; done | sed 's/,$//')")
  got=$(jq -r --arg n "$sn" '.items[] | select(.name == $n) | .open_incidents | [.critical, .high, .medium, .low, .info] | join(",")' "$T/body")
  [ "$got" = "$want" ] || { ok=0; why+="open-incidents-$sn:'$got'/'$want' "; }
done
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM incidents WHERE status = 'open'")" -gt 0 ] || { ok=0; why+="no-open-incidents "; }
api "$VIEW" GET "/api/v1/hosts/$H2"; [ "$CODE" = 200 ] || { ok=0; why+="viewer-read:$CODE "; }
api "$VIEW" POST "/api/v1/hosts/$H2/revoke"; [ "$CODE" = 403 ] || { ok=0; why+="viewer-revoke:$CODE "; }
api "$VIEW" GET /api/v1/audit; [ "$CODE" = 403 ] || { ok=0; why+="viewer-audit:$CODE "; }
[ $ok = 1 ] && pass api-site-scope || fail api-site-scope "$why"

# ------------------------------------------------------------ pagination --
# walk LIST_PATH LIMIT: follow next_cursor, ids into $T/walk; pages into NPAGES.
walk() {
  local path=$1 lim=$2 cur= sep='?'
  [[ $path == *\?* ]] && sep='&'
  : >"$T/walk"; NPAGES=0
  while :; do
    api "$ADM" GET "$path${sep}limit=$lim${cur:+&cursor=$cur}"
    [ "$CODE" = 200 ] || { echo "page $NPAGES: $CODE $(body)" >&2; return 1; }
    jq -r '.items[].id' "$T/body" >>"$T/walk"
    NPAGES=$((NPAGES + 1))
    cur=$(jq -r '.next_cursor // empty' "$T/body")
    [ -n "$cur" ] || return 0
    [ "$NPAGES" -lt 100 ] || return 1
  done
}
ok=1 why=
walk "/api/v1/hosts?site=bulk" 100 || { ok=0; why+="hosts-walk "; }
[ "$(wc -l <"$T/walk")" = 250 ] && [ "$(sort -u "$T/walk" | wc -l)" = 250 ] && [ "$NPAGES" = 3 ] || { ok=0; why+="hosts:$(wc -l <"$T/walk")/$NPAGES "; }
walk "/api/v1/alerts?site=bulk" 500 || { ok=0; why+="alerts-walk "; }
[ "$(wc -l <"$T/walk")" = 1200 ] && [ "$(sort -u "$T/walk" | wc -l)" = 1200 ] &&
  [ "$(sort -rn "$T/walk" | cmp - "$T/walk" && echo sorted)" = sorted ] || { ok=0; why+="alerts:$(wc -l <"$T/walk") "; }
walk "/api/v1/alerts?site=bulk&severity=high" 77 || { ok=0; why+="sev-walk "; }
[ "$(wc -l <"$T/walk")" = 400 ] && [ "$(sort -u "$T/walk" | wc -l)" = 400 ] || { ok=0; why+="severity:$(wc -l <"$T/walk") "; }
walk "/api/v1/alerts?since=2023-11-14T22:23:20Z&site=bulk" 500 || { ok=0; why+="since-walk "; }
[ "$(wc -l <"$T/walk")" = 601 ] || { ok=0; why+="since:$(wc -l <"$T/walk") "; }
walk "/api/v1/alerts?since=1700000600000&site=bulk" 200 || { ok=0; why+="since-ms-walk "; }
[ "$(wc -l <"$T/walk")" = 601 ] || { ok=0; why+="since-ms:$(wc -l <"$T/walk") "; }
api "$ADM" GET "/api/v1/hosts?site=bulk&limit=10"; cur=$(jq -r .next_cursor "$T/body")
api "$ADM" GET "/api/v1/hosts?site=kyoto&limit=10&cursor=$cur"; [ "$CODE" = 400 ] && [ "$(errcode)" = bad_cursor ] || { ok=0; why+="cursor-other-filter:$CODE "; }
api "$ADM" GET "/api/v1/alerts?cursor=$cur"; [ "$CODE" = 400 ] || { ok=0; why+="cursor-other-list:$CODE "; }
api "$ADM" GET "/api/v1/hosts?cursor=zzzz"; [ "$CODE" = 400 ] || { ok=0; why+="cursor-garbage:$CODE "; }
api "$ADM" GET "/api/v1/hosts?limit=501"; [ "$CODE" = 400 ] || { ok=0; why+="limit:$CODE "; }
api "$ADM" GET "/api/v1/hosts?sitee=x"; [ "$CODE" = 400 ] && grep -q sitee "$T/body" || { ok=0; why+="unknown-param:$CODE "; }
api "$ADM" GET "/api/v1/alerts?since=yesterday"; [ "$CODE" = 400 ] || { ok=0; why+="since-bad:$CODE "; }
[ $ok = 1 ] && pass api-pagination || fail api-pagination "$why"

# ---------------------------------------------------------- alert counts --
# the "bulk" alerts (one a second from 1700000001000) over two hourly buckets,
# against what sqlite3 counts in the same window
ok=1 why=
S=1699997000000 U=1700004200000
sq() { sqlite3 "$D/server.db" "SELECT count(*) FROM alerts WHERE time >= $S AND time < $U $1"; }
want="$(sq "AND time < $S + 3600000"),$(sq "AND time >= $S + 3600000")"
api "$VIEW" GET "/api/v1/alerts/counts?since=$S&until=$U"
[ "$CODE" = 200 ] && [ "$(jq -r '.buckets | join(",")' "$T/body")" = "$want" ] &&
  [ "$(jq -r '.total' "$T/body")" = "$(sq "")" ] && [ "$(jq -r '.bucket_ms' "$T/body")" = 3600000 ] ||
  { ok=0; why+="buckets:$CODE:$(head -c 200 "$T/body") want $want "; }
bulk_site="AND site_id = (SELECT id FROM sites WHERE name = 'bulk')"
[ "$(jq -c '[.sites[] | .site, .total, .high, .low, .critical]' "$T/body")" = \
  "[\"bulk\",$(sq "$bulk_site"),$(sq "$bulk_site AND severity = 'high'"),$(sq "$bulk_site AND severity = 'low'"),0]" ] ||
  { ok=0; why+="sites:$(jq -c .sites "$T/body") "; }
api "$ADM" GET "/api/v1/alerts/counts?since=2023-11-14T21:23:20Z&until=$U&site=bulk"
[ "$CODE" = 200 ] && [ "$(jq -r '.buckets | join(",")' "$T/body")" = "$want" ] || { ok=0; why+="rfc3339-site:$CODE "; }
api "$OSA" GET "/api/v1/alerts/counts?since=$S&until=$U" # bulk is not osaka's
[ "$CODE" = 200 ] && [ "$(jq -c '[.total, .sites]' "$T/body")" = '[0,[]]' ] || { ok=0; why+="scope:$(head -c 200 "$T/body") "; }
api "$OSA" GET "/api/v1/alerts/counts?site=bulk"; [ "$CODE" = 404 ] || { ok=0; why+="scope-site:$CODE "; }
api "$ADM" GET "/api/v1/alerts/counts"
[ "$CODE" = 200 ] && [ "$(jq '.buckets | length' "$T/body")" = 24 ] &&
  [ "$(jq '.until_ms - .since_ms' "$T/body")" = 86400000 ] || { ok=0; why+="default-24h:$CODE "; }
api "$ADM" GET "/api/v1/alerts/counts?since=$U&until=$S"; [ "$CODE" = 400 ] || { ok=0; why+="reversed:$CODE "; }
api "$ADM" GET "/api/v1/alerts/counts?since=$((U - 9 * 86400000))&until=$U"; [ "$CODE" = 400 ] || { ok=0; why+="9-days:$CODE "; }
api "$ADM" GET "/api/v1/alerts/counts?severity=high"; [ "$CODE" = 400 ] || { ok=0; why+="unknown-param:$CODE "; }
api "$ADM" GET /api/v1/alerts/1; [ "$CODE" = 200 ] && [ "$(jq .id "$T/body")" = 1 ] || { ok=0; why+="alert-by-id:$CODE "; }
[ $ok = 1 ] && pass api-alert-counts || fail api-alert-counts "$why"

# ----------------------------------------------------------- event stream --
# stream TOKEN OUT: curl -N with each line prefixed by its arrival time (ms).
stream() {
  lib_start_bg "$2.err" bash -c 'curl -sN --cacert "$1" -H "Authorization: Bearer $2" \
    "https://127.0.0.1:$3/api/v1/events/stream" | while IFS= read -r l; do
      echo "$(($(date +%s%N) / 1000000)) $l"; done >"$4"' _ "$D/ca.crt" "$1" "$APORT" "$2"
}
stream "$ADM" "$T/sse.adm"; SSE1=$LIB_BG_PID
stream "$OSA" "$T/sse.osa"; SSE2=$LIB_BG_PID
deadline=$(($(ms) + 5000))
until grep -q 'mamori alerts after' "$T/sse.adm" 2>/dev/null && grep -q 'mamori alerts after' "$T/sse.osa" 2>/dev/null; do
  [ "$(ms)" -lt "$deadline" ] || break; sleep 0.05
done
t0=$(ms)
"$MAMORI" agent alert --dir "$T/a2" --kind drill --severity critical --summary 'drill <script>x</script>' >/dev/null 2>&1
deadline=$(($(ms) + 5000))
until grep -q '"kind":"drill"' "$T/sse.adm" 2>/dev/null; do
  [ "$(ms)" -lt "$deadline" ] || break; sleep 0.02
done
sleep 0.6 # what the osaka stream might wrongly get
line=$(grep '"kind":"drill"' "$T/sse.adm" | head -1)
t_sse=${line%% *}
stored=$(jq -cR 'fromjson? | select(.event=="alert" and .kind=="drill")' <"$SRV_OUT" | head -1 | jq -r .time_ms)
if [ -n "$line" ] && [ -n "$stored" ] && [ $((t_sse - stored)) -le 1000 ] &&
   printf '%s' "${line#* data: }" | jq -e '.severity=="critical" and .hostname=="db-1" and .summary=="drill <script>x</script>"' >/dev/null &&
   ! grep -q '"kind":"drill"' "$T/sse.osa"; then
  pass api-sse-alert
  echo "# event stream: stored -> stream $((t_sse - stored)) ms; agent alert command -> stream $((t_sse - t0)) ms" >&2
else
  fail api-sse-alert "line='$line' stored=$stored t0=$t0 osaka=$(grep -c drill "$T/sse.osa")"
fi

# --------------------------------------------------------------- revoke --
ok=1 why=
api "$OSA" POST "/api/v1/hosts/$H1/revoke" -H 'Content-Type: application/json' -d '{}'
[ "$CODE" = 200 ] && [ "$(jq -r '.host.status + " " + (.changed|tostring)' "$T/body")" = "revoked true" ] || { ok=0; why+="revoke:$CODE $(body) "; }
deadline=$(($(ms) + 5000))
while kill -0 "$A1" 2>/dev/null && [ "$(proc_state "$A1")" != Z ] && [ "$(ms)" -lt "$deadline" ]; do sleep 0.1; done
grep -q "revoked" "$T/a1.out" || { ok=0; why+="agent-not-stopped "; }
api "$OSA" POST "/api/v1/hosts/$H1/revoke"; [ "$CODE" = 200 ] && [ "$(jq -r .changed "$T/body")" = false ] || { ok=0; why+="again:$CODE "; }
api "$OSA" GET /api/v1/audit
[ "$(jq -r '[.items[] | select(.action=="api_revoke" and .target=="'"$H1"'")] | length' "$T/body")" = 2 ] &&
  [ "$(jq -r '[.items[] | select(.site != "osaka")] | length' "$T/body")" = 0 ] || { ok=0; why+="audit-osaka:$(body | head -c 300) "; }
api "$ADM" GET "/api/v1/audit?action=api_revoke&limit=500"
[ "$(jq -r '[.items[] | select(.detail // "" | startswith("refused 404"))] | length' "$T/body")" -ge 1 ] || { ok=0; why+="audit-refused:$(body | head -c 300) "; }
[ $ok = 1 ] && pass api-revoke-audited || fail api-revoke-audited "$why"

# -------------------------------------------------------------- hostile --
ok=1 why=
expect_raw() { # NAME EXPECTED_STATUS EXPECTED_CODE FILE
  local out st
  out=$(raw "$4")
  st=$(printf '%s' "$out" | head -1 | awk '{print $2}')
  if [ "$st" != "$2" ] || ! printf '%s' "$out" | grep -q "\"code\":\"$3\""; then
    ok=0; why+="$1:got '$(printf '%s' "$out" | head -1 | tr -d '\r')' "
  fi
}
printf 'HELLO\r\n\r\n' >"$T/r1"; expect_raw garbage 400 bad_request "$T/r1"
printf 'GET /api/v1/health HTTP/1.1\r\nHost: a\r\nX-A: b\rSet-Cookie: evil=1\r\n\r\n' >"$T/r2"; expect_raw injection 400 bad_header "$T/r2"
{ printf 'GET /api/v1/health HTTP/1.1\r\nHost: a\r\n'; for i in $(seq 200); do printf 'X-Pad-%d: %0100d\r\n' "$i" 0; done; printf '\r\n'; } >"$T/r3"
expect_raw big-head 431 header_too_large "$T/r3"
printf 'POST /api/v1/tokens HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n{' >"$T/r4"; expect_raw big-body 413 payload_too_large "$T/r4"
printf 'POST /api/v1/tokens HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' >"$T/r5"; expect_raw chunked 411 length_required "$T/r5"
printf 'GET /api/v1/../../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n' >"$T/r6"; expect_raw traversal 400 path_traversal "$T/r6"
printf 'GET /api/v1/%%2e%%2e/%%2e%%2e/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n' >"$T/r7"; expect_raw traversal-enc 400 path_traversal "$T/r7"
printf 'GET /api/v1/hosts/..%%2f..%%2fetc HTTP/1.1\r\nHost: a\r\n\r\n' >"$T/r8"; expect_raw slash-enc 400 bad_path "$T/r8"
printf 'GET /api/v1/health HTTP/3.0\r\nHost: a\r\n\r\n' >"$T/r9"; expect_raw version 505 http_version_not_supported "$T/r9"
printf 'GET /api/v1/health HTTP/1.1\r\n\r\n' >"$T/r10"; expect_raw no-host 400 bad_header "$T/r10"
api "$ADM" BREW /api/v1/hosts; [ "$CODE" = 405 ] && grep -qi '^Allow: GET' "$T/hdr" || { ok=0; why+="method:$CODE "; }
api "$ADM" DELETE /api/v1/hosts; [ "$CODE" = 405 ] || { ok=0; why+="delete:$CODE "; }
api "$ADM" GET /api/v1/nope; [ "$CODE" = 404 ] && [ "$(errcode)" = not_found ] || { ok=0; why+="404:$CODE "; }
api "$ADM" GET /api/v1/incidents/abc; [ "$CODE" = 404 ] || { ok=0; why+="incident-abc:$CODE "; }
curl -s -o "$T/body" -w '%{http_code}' --path-as-is --cacert "$D/ca.crt" "https://127.0.0.1:$APORT/api/v1/../../etc/passwd" >"$T/code"
[ "$(cat "$T/code")" = 400 ] && [ "$(errcode)" = path_traversal ] || { ok=0; why+="curl-traversal:$(cat "$T/code") "; }
api "$ADM" GET /api/v1/health
if [ $ok = 1 ] && [ "$CODE" = 200 ] && alive; then
  pass api-hostile-requests
else
  fail api-hostile-requests "$why health:$CODE"
fi

# keep-alive: two requests on one connection, then the server still serves
out=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' --cacert "$D/ca.crt" \
  -H "Authorization: Bearer $ADM" "https://127.0.0.1:$APORT/api/v1/health" "https://127.0.0.1:$APORT/api/v1/sites/osaka")
if [ "$out" = "200:1 200:0 " ]; then
  pass api-keep-alive
else
  fail api-keep-alive "$out"
fi

wait "$SLOW_PID"
if head -1 "$T/slow.out" | grep -q '^HTTP/1.1 408' && grep -q '"code":"request_timeout"' "$T/slow.out"; then
  pass api-slow-head-408
else
  fail api-slow-head-408 "$(head -c 300 "$T/slow.out")"
fi

# ----------------------------------------------------------------- stop --
kill -TERM "$SRV_PID"
for ((i = 0; i < 100; i++)); do alive || break; sleep 0.1; done
if alive; then
  kill_tree "$SRV_PID"; fail api-sigterm "server still running 10 s after SIGTERM"
else
  wait "$SRV_PID"; rc=$?
  [ $rc -eq 0 ] && pass api-sigterm || fail api-sigterm "exit $rc: $(grep -v '^{' "$SRV_OUT" | tail -5)"
fi
kill_tree "$SSE1"; kill_tree "$SSE2"; kill_tree "$A2"
lib_summary
