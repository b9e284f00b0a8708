#!/usr/bin/env bash
# tests/integration/test_console.sh - the web console of `mamori server` end
# to end: a real server (temp data directory, API on loopback, ports chosen
# by the kernel), console users made with `mamori server user`, two agents
# enrolled (web-1 of site osaka, running the guard on a tmpfs this test
# mounted; db-1 of site kyoto, uplink only), then
#   - HTTP checks with curl: page files and their security headers, path
#     traversal on /static (plain, encoded, backslash, NUL) never serves a
#     file, 25 logins at once (at most 18 checked, the rest 503; another
#     client's requests answered meanwhile in a fraction of one login's
#     time), login answers (unknown name and wrong password alike, and the
#     time each takes), lockout after 5 failures, session fixation, CSRF
#     and Origin checks, logout ends the session server-side, the cookie on
#     the event stream, bearer tokens unchanged, audit rows, TOTP;
#   - the message catalogues and the page scripts (tests/unit/web/check_i18n.mjs);
#   - the pages in Debian's chromium driven by playwright-core
#     (tests/e2e/console.mjs): login, overview, an alert arriving live,
#     the incidents list and an incident's page following the event stream
#     (a new incident, an alert joining, a resolution through the API),
#     the alert page (its title, what happened, what mamori did and what to
#     do next from the catalogues), Japanese and back, host page and its
#     confirmation, isolate and release of web-1 from the page (its
#     namespace really loses and regains its network), an incident made by a real ransomware
#     attack (`mamori sim` on the guarded tmpfs, frozen by web-1's guard)
#     opened from the overview: its timeline (the process tree under the
#     process that started the actor, from the guard's ppids; files,
#     indicators, what the guard did), kill of the actor and restore of the
#     files from the page with who did it; in Japanese the title and next
#     steps of that ransomware alert and of db-1's host_silent (its agent
#     stopped) on their alert and incident pages; resolve; alert routing (add,
#     test message to a receiver, remove); XSS through alert fields, CSRF,
#     logout, a site admin refused another site's host and incident, a
#     viewer without action buttons, a phone-sized screen; screenshots
#     saved under $ART and printed;
#   - afterwards: the actor's processes are gone, its files are back
#     (`mamori sim verify`), every response and route change is audited
#     with the user who did it, and our own network namespace holds no
#     isolation table.
# SAFETY. The page's isolate really isolates: both agents run ONLY inside
# network namespaces this test makes (mk_netns: a veth pair on a private
# /30 each); the server's agent listener is on our side of web-1's pair, and
# db-1's namespace reaches it through a host route; a listener (nc) on
# another port of that address is what isolation must cut off. Before the
# isolate the page's test checks that the agent's namespace is not ours; no
# nft runs here but a read-only `nft list tables` of our namespace at the
# end. The guard protects only the tmpfs this test mounted.
# Needs root, $MAMORI, ip, nft, nc, jq, curl, sqlite3, python3, node with
# npm (installs tests/e2e's node_modules on first run) and /usr/bin/chromium.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_root
need_tools console jq curl sqlite3 node npm ip nft nc python3
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { fail console-setup "no $CHROMIUM (scripts/deps.sh installs it)"; lib_summary; exit 1; }
need_mamori server

T=$(lib_mktemp_dir console)
# a copy of the binary: a rebuild in the tree during the run cannot swap it
cp "$MAMORI" "$T/mamori" && MAMORI=$T/mamori
D=$T/data
ART=${ART:-$REPO_ROOT/tests/e2e/artifacts}
mkdir -p "$D" "$ART"
SRV_OUT=$T/server.out
PW_ADMIN='correct horse battery 1'
PW_OSAKA='osaka-staple-2'
PW_EVE='eve-password-3'
PW_KYOTO='kyoto-staple-4'

# ------------------------------------------------------------ catalogues --
node "$REPO_ROOT/tests/unit/web/check_i18n.mjs" --self-test | tee "$T/i18n.out"
node "$REPO_ROOT/tests/unit/web/check_i18n.mjs" "$REPO_ROOT/web" | tee -a "$T/i18n.out"
LIB_NPASS=$((LIB_NPASS + $(grep -c '^PASS' "$T/i18n.out")))
LIB_NFAIL=$((LIB_NFAIL + $(grep -c '^FAIL' "$T/i18n.out")))

# ----------------------------------------------------------------- users --
ok=1 why=
printf '%s\n' "$PW_ADMIN" | "$MAMORI" server user --data "$D" add alice --role admin --password-stdin >/dev/null 2>"$T/u.err" || { ok=0; why+="add-alice "; }
printf '%s\n' "$PW_OSAKA" | "$MAMORI" server user --data "$D" add oscar --role site-admin --site osaka --password-stdin >/dev/null 2>>"$T/u.err" || { ok=0; why+="add-oscar "; }
printf '%s\n' "$PW_EVE" | "$MAMORI" server user --data "$D" add eve --role viewer --password-stdin >/dev/null 2>>"$T/u.err" || { ok=0; why+="add-eve "; }
printf 'x\n' | "$MAMORI" server user --data "$D" add short --role viewer --password-stdin 2>/dev/null; [ $? = 2 ] || { ok=0; why+="short-password "; }
printf '%s\n' "$PW_EVE" | "$MAMORI" server user --data "$D" add eve --role viewer --password-stdin 2>/dev/null; [ $? = 2 ] || { ok=0; why+="duplicate "; }
"$MAMORI" server user --data "$D" add x --role site-admin </dev/null 2>/dev/null; [ $? = 2 ] || { ok=0; why+="site-admin-without-site "; }
hash=$(sqlite3 "$D/server.db" "SELECT hash FROM users WHERE name='alice'")
[[ $hash == '$argon2id$v=19$m=65536,t=3,p=1$'* ]] || { ok=0; why+="hash:'$hash' "; }
[ "$("$MAMORI" server user --data "$D" list | jq -r 'select(.name=="oscar") | .role + " " + .site')" = "site-admin osaka" ] || { ok=0; why+="list "; }
"$MAMORI" server user --data "$D" list | grep -q argon2 && { ok=0; why+="list-shows-hash "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE action='user_add'")" = 3 ] || { ok=0; why+="audit "; }
[ $ok = 1 ] && pass console-user-cli || fail console-user-cli "$why $(cat "$T/u.err")"
# kyoto's site admin: refused osaka's incident in the browser part
printf '%s\n' "$PW_KYOTO" | "$MAMORI" server user --data "$D" add kenji --role site-admin --site kyoto --password-stdin >/dev/null 2>>"$T/u.err" ||
  fail console-user-kenji "$(cat "$T/u.err")"

# --------------------------------------------------------------- network --
mk_netns cweb || { fail console-netns "$LIB_ERR"; lib_summary; exit 1; }
NS1=$NETNS HIP1=$NETNS_HOST_IP
mk_netns cdb || { fail console-netns "$LIB_ERR"; lib_summary; exit 1; }
NS2=$NETNS HIP2=$NETNS_HOST_IP
ip netns exec "$NS2" ip route add "$HIP1/32" via "$HIP2" || { fail console-netns "no route from $NS2 to $HIP1"; lib_summary; exit 1; }
# web-1's guard protects this tmpfs only; a sim corpus on it
MNT=$(mk_tmpfs 64) || { fail console-setup "mk_tmpfs: $LIB_ERR"; lib_summary; exit 1; }
case $MNT in "$LIB_TMP"/*) ;; *) fail console-setup "mount point $MNT not under $LIB_TMP"; lib_summary; exit 1 ;; esac
timeout 60 "$MAMORI" sim corpus --dir "$MNT/share" --files 30 --scale 0.2 --seed 7 >/dev/null 2>&1 ||
  { fail console-setup "sim corpus failed"; lib_summary; exit 1; }

# ------------------------------------------------------------------ start --
lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "$HIP1:0" \
  --api-listen 127.0.0.1:0 --offline-after 3s --heartbeat 1s
SRV_PID=$LIB_BG_PID
READY=$(wait_json "$SRV_OUT" ready 20) && AREADY=$(wait_json "$SRV_OUT" api_ready 5) || {
  fail console-start "no ready lines: $(tail -c 600 "$SRV_OUT")"; lib_summary; exit 1; }
PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
APORT=$(printf '%s' "$AREADY" | jq -r .listen | sed 's/.*://')
URL=https://127.0.0.1:$APORT

# req [curl args] URLPATH: status in CODE, body in $T/body, headers in $T/hdr
req() {
  local p=${*: -1}
  CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --cacert "$D/ca.crt" --max-time 20 \
    "${@:1:$#-1}" "$URL$p")
}
hdr() { grep -i "^$1:" "$T/hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
login() { # NAME PASSWORD [curl args]: CODE, cookie in COOKIE, csrf in CSRF
  local n=$1 p=$2; shift 2
  req -X POST -H 'Content-Type: application/json' -H "Origin: $URL" "$@" \
    -d "$(jq -cn --arg n "$n" --arg p "$p" '{name:$n,password:$p}')" /api/v1/session
  COOKIE=$(grep -io 'mamori_session=[^;]*' "$T/hdr" | head -1 | cut -d= -f2)
  CSRF=$(jq -r '.csrf_token // empty' "$T/body" 2>/dev/null)
}

# ------------------------------------------------------------- enrollment --
ok=1 why=
"$MAMORI" server token --data "$D" --site osaka >"$T/t1" 2>/dev/null &&
"$MAMORI" server token --data "$D" --site kyoto >"$T/t2" 2>/dev/null || { ok=0; why+="tokens "; }
ip netns exec "$NS1" "$MAMORI" agent enroll --server "https://$HIP1:$PORT" --token "$(tail -1 "$T/t1")" --dir "$T/a1" --hostname web-1 >"$T/e1" 2>&1 &&
ip netns exec "$NS2" "$MAMORI" agent enroll --server "https://$HIP1:$PORT" --token "$(tail -1 "$T/t2")" --dir "$T/a2" --hostname db-1 >"$T/e2" 2>&1 || { ok=0; why+="enroll:$(cat "$T/e1" "$T/e2") "; }
# the agents run inside their namespaces, never in ours
lib_start_bg "$T/a1.out" ip netns exec "$NS1" "$MAMORI" agent run --dir "$T/a1" --max-backoff 2s \
  --protect "$MNT" --action freeze
A1_PID=$LIB_BG_PID
lib_start_bg "$T/a2.out" ip netns exec "$NS2" "$MAMORI" agent run --no-guard --dir "$T/a2" --max-backoff 2s
A2_PID=$LIB_BG_PID
wait_json "$T/a1.out" connected 15 >/dev/null && wait_json "$T/a2.out" connected 15 >/dev/null || { ok=0; why+="connect "; }
pid_in_netns "$A1_PID" "$NS1" && pid_in_netns "$A2_PID" "$NS2" || { ok=0; why+="agents-not-in-their-namespaces "; }
wait_json "$T/a1.out" guard_ready 20 >/dev/null || { ok=0; why+="no-guard-ready:$(tail -c 300 "$T/a1.out") "; }
H1=$(sqlite3 "$D/server.db" "SELECT id FROM hosts WHERE hostname='web-1'")
H2=$(sqlite3 "$D/server.db" "SELECT id FROM hosts WHERE hostname='db-1'")
[ -n "$H1" ] && [ -n "$H2" ] || { ok=0; why+="host-ids "; }
[ $ok = 1 ] && pass console-agents-enrolled || { fail console-agents-enrolled "$why"; lib_summary; exit 1; }
# the other listener on web-1's veth that isolation must cut off
OTHER=$((PORT + 1))
lib_start_bg "$T/nc.out" nc -lk "$HIP1" "$OTHER"
for _ in $(seq 30); do netns_reach "$NS1" "$HIP1" "$OTHER" && break; sleep 0.1; done
netns_reach "$NS1" "$HIP1" "$OTHER" && pass console-namespace-reaches-listener ||
  fail console-namespace-reaches-listener "$NS1 cannot reach $HIP1:$OTHER before any command"
# an alert whose body names files and a program with markup in them
XSS='<img src=x onerror=alert(1)>'
XSS_ALERT=$(sqlite3 "$D/server.db" "INSERT INTO alerts(host_id, site_id, time, kind, severity, summary, body)
  SELECT id, site_id, strftime('%s','now')*1000, 'ransomware', 'critical', 'files renamed: $XSS',
  json_object('exe', '/tmp/$XSS', 'cmdline', '$XSS --all', 'files', json_array('$XSS', '/srv/a.docx'),
              'indicators', json_array('entropy'), 'actions', json_array('killed'))
  FROM hosts WHERE id = '$H1' RETURNING id;")

# ------------------------------------------------------- page files, headers --
ok=1 why=
req / ; [ "$CODE" = 200 ] && grep -q '/static/app.js' "$T/body" || { ok=0; why+="index:$CODE "; }
csp=$(hdr Content-Security-Policy)
[[ $csp == *"default-src 'self'"* && $csp == *"frame-ancestors 'none'"* && $csp != *unsafe-inline* ]] || { ok=0; why+="csp:'$csp' "; }
[ "$(grep -ci '^content-security-policy:' "$T/hdr")" = 1 ] || { ok=0; why+="two-csp "; }
[ "$(hdr X-Content-Type-Options)" = nosniff ] && [ "$(hdr Referrer-Policy)" = no-referrer ] || { ok=0; why+="headers "; }
req /static/app.js; [ "$CODE" = 200 ] && [[ $(hdr Content-Type) == text/javascript* ]] || { ok=0; why+="app.js:$CODE "; }
etag=$(hdr ETag)
req -H "If-None-Match: $etag" /static/app.js; [ "$CODE" = 304 ] || { ok=0; why+="etag:$CODE "; }
req /static/i18n/ja.json; [ "$CODE" = 200 ] && jq -e '."action.isolate" == "隔離"' "$T/body" >/dev/null || { ok=0; why+="ja.json:$CODE "; }
grep -q 'innerHTML' "$REPO_ROOT"/web/*.js && grep -v '^//' "$REPO_ROOT"/web/*.js | grep -q 'innerHTML' && { ok=0; why+="innerHTML "; }
[ $ok = 1 ] && pass console-static-and-headers || fail console-static-and-headers "$why"

ok=1 why=
for p in '/static/../server.db' '/static/%2e%2e/server.db' '/static/%2E%2E/%2E%2E/etc/passwd' \
         '/static/..%2fserver.db' '/static/..\server.db' '/static/%5c..%5cserver.db' \
         '/static/app.js%00.png' '/static/i18n/../../server.db' '/static/' '/static/server.db' \
         '/static//etc/passwd' '/static/ca.key' '/static/.%2e/server.db' '/..'; do
  req --path-as-is "$p"
  if [ "$CODE" = 200 ] || grep -q 'SQLite format\|PRIVATE KEY\|root:' "$T/body"; then ok=0; why+="'$p':$CODE "; fi
  case $CODE in 400|404) ;; *) ok=0; why+="'$p':$CODE " ;; esac
done
[ $ok = 1 ] && pass console-static-path-traversal || fail console-static-path-traversal "$why"

# ------------------------------------------------------ logins off the loop --
# 25 logins at once (5 per user: within each name's failures left) while
# another client reads /api/v1/sites with a token: the argon2id checks run
# on the console's workers (2, with 16 waiting), so at most 18 are taken
# (201) and the rest answered at once 503 with Retry-After; and the other
# client's requests are answered meanwhile in a fraction of the time of one
# login of the same run (median; on the API's thread they waited for the checks)
printf '%s\n' "$PW_EVE" | "$MAMORI" server user --data "$D" add bob --role viewer --password-stdin >/dev/null 2>&1
PROBE=$("$MAMORI" server api-token --data "$D" --name probe 2>/dev/null)
mkdir -p "$T/burst"
pids=() i=0
for up in "alice:$PW_ADMIN" "oscar:$PW_OSAKA" "eve:$PW_EVE" "kenji:$PW_KYOTO" "bob:$PW_EVE"; do
  for _ in 1 2 3 4 5; do
    i=$((i + 1))
    curl -s -o /dev/null -D "$T/burst/$i.hdr" -w '%{http_code} %{time_total}\n' --cacert "$D/ca.crt" --max-time 120 \
      -X POST -H 'Content-Type: application/json' -H "Origin: $URL" \
      -d "$(jq -cn --arg n "${up%%:*}" --arg p "${up#*:}" '{name:$n,password:$p}')" "$URL/api/v1/session" >"$T/burst/$i.out" &
    pids+=($!)
  done
done
burst_alive() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
: >"$T/probe.out"
while burst_alive; do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --cacert "$D/ca.crt" --max-time 60 \
    -H "Authorization: Bearer $PROBE" "$URL/api/v1/sites" >>"$T/probe.out"
  sleep 0.05
done
wait "${pids[@]}"
cat "$T"/burst/*.out >"$T/burst.out"
n201=$(grep -c '^201 ' "$T/burst.out"); n503=$(grep -c '^503 ' "$T/burst.out")
ms_of() { awk '{ printf "%d\n", $2 * 1000 }'; }
login_min=$(grep '^201 ' "$T/burst.out" | ms_of | sort -n | head -1)
login_max=$(grep '^201 ' "$T/burst.out" | ms_of | sort -n | tail -1)
probe_n=$(grep -c '^200 ' "$T/probe.out"); probe_max=$(ms_of <"$T/probe.out" | sort -n | tail -1)
probe_med=$(ms_of <"$T/probe.out" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "login burst: $n201 logins 201 in ${login_min:-?}-${login_max:-?} ms, $n503 answered 503; meanwhile $probe_n GET /api/v1/sites: median ${probe_med:-?} ms, max ${probe_max:-?} ms"
ok=1 why=
# (the bound of 18 in flight is the unit test's (test_web): from outside, a
# login that ends while the burst still arrives frees a place - 19 taken was
# seen under ASan - so here: both answers seen, every request answered)
[ "$n201" -ge 2 ] && [ "$n503" -ge 1 ] && [ $((n201 + n503)) = 25 ] || { ok=0; why+="answers:$(sort "$T/burst.out" | cut -d' ' -f1 | uniq -c | tr '\n' ' ') "; }
for f in "$T"/burst/*.out; do
  grep -q '^503 ' "$f" && ! grep -qi '^Retry-After: [1-9]' "${f%.out}.hdr" && { ok=0; why+="503-without-Retry-After "; break; }
done
[ "$probe_n" -ge 3 ] && [ "$(grep -vc '^200 ' "$T/probe.out")" = 0 ] || { ok=0; why+="probes:$probe_n/$(wc -l <"$T/probe.out") "; }
# the median, not the slowest: with two cores busy hashing, one probe's own
# TLS handshake can wait for the CPU (a max of 369 ms against 671 ms was
# seen under ASan); on the API's thread every probe waited for the checks
[ -n "$login_min" ] && [ -n "$probe_med" ] && [ $((probe_med * 2)) -lt "$login_min" ] ||
  { ok=0; why+="GETs took ${probe_med:-?} ms (median), one login ${login_min:-?} ms "; }
[ $ok = 1 ] && pass console-logins-checked-off-the-api-loop || fail console-logins-checked-off-the-api-loop "$why"

# ----------------------------------------------------------------- logins --
ok=1 why=
t0=$(now); login eve 'wrong-password-x'; t1=$(now); c1=$CODE; b1=$(cat "$T/body")
t2=$(now); login nobody-here 'wrong-password-x'; t3=$(now); c2=$CODE; b2=$(cat "$T/body")
[ "$c1" = 401 ] && [ "$c2" = 401 ] && [ "$b1" = "$b2" ] || { ok=0; why+="answers:$c1/$c2 '$b1' '$b2' "; }
d1=$(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1); d2=$(echo "($t3 - $t2) * 1000" | bc | cut -d. -f1)
echo "login cost: wrong password ${d1} ms, unknown name ${d2} ms (argon2id t=3 m=64MiB p=1, over TLS)"
[ $((d1 * 3)) -ge "$d2" ] && [ $((d2 * 3)) -ge "$d1" ] || { ok=0; why+="time:${d1}/${d2}ms "; }
login eve "$PW_EVE" -H "Origin: https://evil.example"
[ "$CODE" = 403 ] || { ok=0; why+="cross-origin-login:$CODE "; }
login eve "$PW_EVE"; [ "$CODE" = 201 ] && [ -n "$COOKIE" ] && [ -n "$CSRF" ] || { ok=0; why+="eve-ok:$CODE "; }
sc=$(hdr Set-Cookie)
[[ $sc == *Secure* && $sc == *HttpOnly* && $sc == *SameSite=Strict* && $sc == *Path=/* ]] || { ok=0; why+="cookie:'$sc' "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM sessions WHERE id = X'$(printf '%s' "$COOKIE" | tr '_-' '/+' | base64 -d 2>/dev/null | xxd -p -c 64)'")" = 0 ] || { ok=0; why+="raw-cookie-stored "; }
[ $ok = 1 ] && pass console-login-answers || fail console-login-answers "$why"

ok=1 why=
for i in 1 2 3 4 5; do login oscar "wrong-$i"; [ "$CODE" = 401 ] || { ok=0; why+="try$i:$CODE "; }; done
login oscar "$PW_OSAKA"; [ "$CODE" = 429 ] && [ -n "$(hdr Retry-After)" ] || { ok=0; why+="locked:$CODE "; }
[ "$(sqlite3 "$D/server.db" "SELECT failed_logins FROM users WHERE name='oscar'")" = 5 ] || { ok=0; why+="column "; }
for i in 1 2 3 4 5; do login ghost "wrong-$i"; done
login ghost "whatever-else"; [ "$CODE" = 429 ] || { ok=0; why+="unknown-name-locked-too:$CODE "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE action='login_failed'")" -ge 12 ] || { ok=0; why+="audit "; }
[ $ok = 1 ] && pass console-login-lockout || fail console-login-lockout "$why"
# oscar is locked for 30 s: clear it for the browser part (as an operator would with passwd)
printf '%s\n' "$PW_OSAKA" | "$MAMORI" server user --data "$D" passwd oscar --password-stdin >/dev/null &&
  [ "$(sqlite3 "$D/server.db" "SELECT failed_logins FROM users WHERE name='oscar'")" = 0 ] ||
  fail console-user-passwd "passwd did not reset oscar's failure count"

ok=1 why=
login alice "$PW_ADMIN"; A_COOKIE=$COOKIE A_CSRF=$CSRF
req -b "mamori_session=$A_COOKIE" /api/v1/session
[ "$CODE" = 200 ] && [ "$(jq -r .name "$T/body")" = alice ] && [ "$(jq -r .csrf_token "$T/body")" = "$A_CSRF" ] || { ok=0; why+="whoami:$CODE "; }
POST=(-X POST -H 'Content-Type: application/json' -d '{"site":"osaka"}')
req -b "mamori_session=$A_COOKIE" "${POST[@]}" -H "Origin: $URL" /api/v1/tokens
[ "$CODE" = 403 ] && [ "$(jq -r .error.code "$T/body")" = csrf ] || { ok=0; why+="no-csrf:$CODE "; }
req -b "mamori_session=$A_COOKIE" "${POST[@]}" -H "Origin: $URL" -H "X-CSRF-Token: ${A_CSRF%?}x" /api/v1/tokens
[ "$CODE" = 403 ] || { ok=0; why+="wrong-csrf:$CODE "; }
req -b "mamori_session=$A_COOKIE" "${POST[@]}" -H "X-CSRF-Token: $A_CSRF" -H "Origin: https://evil.example" /api/v1/tokens
[ "$CODE" = 403 ] && [ "$(jq -r .error.code "$T/body")" = origin ] || { ok=0; why+="evil-origin:$CODE "; }
req -b "mamori_session=$A_COOKIE" "${POST[@]}" -H "X-CSRF-Token: $A_CSRF" /api/v1/tokens
[ "$CODE" = 403 ] || { ok=0; why+="no-origin:$CODE "; }
req -b "mamori_session=$A_COOKIE" "${POST[@]}" -H "X-CSRF-Token: $A_CSRF" -H "Origin: $URL" /api/v1/tokens
[ "$CODE" = 201 ] || { ok=0; why+="good:$CODE "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE actor LIKE 'user:%(alice)' AND detail LIKE 'refused 403%'")" -ge 4 ] || { ok=0; why+="refusals-audited "; }
req -b "mamori_session=$A_COOKIE; mamori_session=$A_COOKIE" /api/v1/sites; [ "$CODE" = 401 ] || { ok=0; why+="doubled-cookie:$CODE "; }
req -b "mamori_session=AAAA" /api/v1/sites; [ "$CODE" = 401 ] || { ok=0; why+="junk-cookie:$CODE "; }
[ $ok = 1 ] && pass console-csrf-and-origin || fail console-csrf-and-origin "$why"

ok=1 why=
FIX=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
login alice "$PW_ADMIN" -b "mamori_session=$FIX"
[ "$CODE" = 201 ] && [ -n "$COOKIE" ] && [ "$COOKIE" != "$FIX" ] || { ok=0; why+="planted-kept:$CODE "; }
login alice "$PW_ADMIN" -b "mamori_session=$A_COOKIE"; B_COOKIE=$COOKIE B_CSRF=$CSRF
[ "$B_COOKIE" != "$A_COOKIE" ] || { ok=0; why+="same-id-after-relogin "; }
req -b "mamori_session=$A_COOKIE" /api/v1/sites; [ "$CODE" = 401 ] || { ok=0; why+="old-session-alive:$CODE "; }
[ $ok = 1 ] && pass console-session-fixation || fail console-session-fixation "$why"

ok=1 why=
# the event stream takes the cookie: an alert arrives on it
curl -sN --cacert "$D/ca.crt" --max-time 8 -b "mamori_session=$B_COOKIE" "$URL/api/v1/events/stream" >"$T/sse" 2>/dev/null &
SSE=$!
sleep 1
"$MAMORI" agent alert --dir "$T/a1" --kind drill --summary "stream-by-cookie" >/dev/null 2>&1
for _ in $(seq 50); do grep -q stream-by-cookie "$T/sse" && break; sleep 0.1; done
grep -q stream-by-cookie "$T/sse" || { ok=0; why+="sse "; }
kill "$SSE" 2>/dev/null; wait "$SSE" 2>/dev/null
req -b "mamori_session=$B_COOKIE" -X DELETE -H "X-CSRF-Token: $B_CSRF" -H "Origin: $URL" /api/v1/session
[ "$CODE" = 204 ] && [[ $(hdr Set-Cookie) == *Max-Age=0* ]] || { ok=0; why+="logout:$CODE "; }
req -b "mamori_session=$B_COOKIE" /api/v1/sites; [ "$CODE" = 401 ] || { ok=0; why+="after-logout:$CODE "; }
[ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE action='logout' AND actor LIKE 'user:%(alice)'")" = 1 ] || { ok=0; why+="audit "; }
# a viewer may read and log out, never write
login eve "$PW_EVE"
req -b "mamori_session=$COOKIE" "${POST[@]}" -H "X-CSRF-Token: $CSRF" -H "Origin: $URL" /api/v1/tokens
[ "$CODE" = 403 ] || { ok=0; why+="viewer-write:$CODE "; }
# bearer tokens are unchanged
TOK=$("$MAMORI" server api-token --data "$D" --name ci 2>/dev/null)
req -H "Authorization: Bearer $TOK" /api/v1/sites; [ "$CODE" = 200 ] || { ok=0; why+="bearer:$CODE "; }
req -H "Authorization: Bearer $TOK" -b "mamori_session=junk" "${POST[@]}" /api/v1/tokens; [ "$CODE" = 201 ] || { ok=0; why+="bearer-write:$CODE "; }
[ $ok = 1 ] && pass console-stream-logout-roles || fail console-stream-logout-roles "$why"

# TOTP: a user with a second factor needs the current code, and the
# answer without it or with a wrong one is the same as for a wrong password
ok=1 why=
printf '%s\n' "$PW_EVE" | "$MAMORI" server user --data "$D" add tina --role viewer --password-stdin >/dev/null 2>&1
uri=$("$MAMORI" server user --data "$D" totp tina 2>/dev/null)
secret=$(printf '%s' "$uri" | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p')
[[ $uri == otpauth://totp/mamori:tina\?secret=* ]] && [ ${#secret} = 32 ] || { ok=0; why+="uri:'$uri' "; }
totp_now() { python3 -c 'import base64,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]); c=struct.pack(">Q", int(time.time())//30)
h=hmac.new(k,c,"sha1").digest(); o=h[-1]&15
print("%06d" % ((struct.unpack(">I",h[o:o+4])[0]&0x7fffffff)%1000000))' "$1"; }
login tina "$PW_EVE"; c1=$CODE b1=$(cat "$T/body")
code=$(totp_now "$secret"); wrong=$(printf '%06d' $(( (10#$code + 500000) % 1000000 )))
req -X POST -H 'Content-Type: application/json' -H "Origin: $URL" -d "{\"name\":\"tina\",\"password\":\"$PW_EVE\",\"totp\":\"$wrong\"}" /api/v1/session
c2=$CODE b2=$(cat "$T/body")
login nobody-else 'x-wrong-password'; b3=$(cat "$T/body")
[ "$c1" = 401 ] && [ "$c2" = 401 ] && [ "$b1" = "$b2" ] && [ "$b1" = "$b3" ] || { ok=0; why+="refusals:$c1/$c2 "; }
code=$(totp_now "$secret")
req -X POST -H 'Content-Type: application/json' -H "Origin: $URL" -d "{\"name\":\"tina\",\"password\":\"$PW_EVE\",\"totp\":\"$code\"}" /api/v1/session
[ "$CODE" = 201 ] || { ok=0; why+="good-code:$CODE $(cat "$T/body") "; }
"$MAMORI" server user --data "$D" list | jq -e 'select(.name=="tina") | .totp == true' >/dev/null || { ok=0; why+="list "; }
"$MAMORI" server user --data "$D" totp tina --off >/dev/null 2>&1
login tina "$PW_EVE"; [ "$CODE" = 201 ] || { ok=0; why+="off:$CODE "; }
[ $ok = 1 ] && pass console-totp || fail console-totp "$why"

# ------------------------------------------------------------ the attack --
# A real ransomware run (mamori sim) on the guarded tmpfs: web-1's guard
# freezes it and its alert becomes an incident at the server.
run_sim_bg "$T/sim.out" ransomware --dir "$MNT/share" --mode full
RANSOM_ALERT= INCIDENT=
for _ in $(seq 200); do
  read -r RANSOM_ALERT INCIDENT < <(sqlite3 -separator ' ' "$D/server.db" "SELECT id, COALESCE(incident_id, '') FROM alerts
    WHERE host_id = '$H1' AND kind = 'ransomware' AND json_extract(body, '$.actor_key') IS NOT NULL ORDER BY id LIMIT 1")
  [ -n "$INCIDENT" ] && break
  sleep 0.1
done
ALERT_BODY=$(sqlite3 "$D/server.db" "SELECT body FROM alerts WHERE id = '${RANSOM_ALERT:-0}'")
ACTOR_PIDS=$(printf '%s' "$ALERT_BODY" | jq -r '.pids[]?' 2>/dev/null | tr '\n' ' ')
frozen=0
for p in $ACTOR_PIDS; do [ "$(proc_state "$p")" = T ] && frozen=$((frozen + 1)); done
# the guard's parent links reach the server unchanged: ppids parallel to
# pids, the actor's parent (never stopped) not among them
tree_ok=0
printf '%s' "$ALERT_BODY" | jq -e '(.ppids | length) == (.pids | length) and (.parent.pid | type == "number")
  and (.parent.pid as $p | .pids | index($p) == null)' >/dev/null 2>&1 && tree_ok=1
if [ -n "$INCIDENT" ] && [ "$(printf '%s' "$ALERT_BODY" | jq -r .action)" = freeze ] && [ "$frozen" -gt 0 ] && [ $tree_ok = 1 ]; then
  pass console-attack-frozen-incident
else
  fail console-attack-frozen-incident "alert ${RANSOM_ALERT:-none} incident ${INCIDENT:-none} frozen $frozen of '$ACTOR_PIDS' tree $(printf '%s' "$ALERT_BODY" | jq -c '{ppids,parent}' 2>/dev/null): $(tail -c 300 "$T/a1.out")"
fi

# db-1 goes silent (its agent stopped): a host_silent alert opens an incident
kill -TERM "$A2_PID" 2>/dev/null; wait "$A2_PID" 2>/dev/null
SILENT_ALERT= SILENT_INCIDENT=
for _ in $(seq 150); do
  read -r SILENT_ALERT SILENT_INCIDENT < <(sqlite3 -separator ' ' "$D/server.db" "SELECT id, COALESCE(incident_id, '')
    FROM alerts WHERE host_id = '$H2' AND kind = 'host_silent' ORDER BY id LIMIT 1")
  [ -n "$SILENT_INCIDENT" ] && break
  sleep 0.1
done
[ -n "$SILENT_INCIDENT" ] && pass console-host-silent-incident ||
  fail console-host-silent-incident "no host_silent alert with an incident for db-1 within 15 s (alert '${SILENT_ALERT:-none}')"

# a webhook receiver for the routing page's test message
SECRET=$(head -c 12 /dev/urandom | xxd -p)
lib_start_bg "$T/recv.log" python3 "$REPO_ROOT/tests/integration/delivery/receiver.py" http "$T/rport" "$T/recv.out"
for _ in $(seq 50); do [ -s "$T/rport" ] && break; sleep 0.1; done
RECV_URL=http://127.0.0.1:$(cat "$T/rport" 2>/dev/null)/hook/$SECRET

# ---------------------------------------------------------------- browser --
if [ ! -d "$REPO_ROOT/tests/e2e/node_modules/playwright-core" ]; then
  (cd "$REPO_ROOT/tests/e2e" && npm ci --no-audit --no-fund >"$T/npm.out" 2>&1) ||
    { fail console-e2e-setup "npm ci: $(tail -5 "$T/npm.out")"; lib_summary; exit 1; }
fi
# REACH_CMD: can web-1's namespace open a connection to the other listener?
URL=$URL ART=$ART MAMORI=$MAMORI AGENT1=$T/a1 HOST1=$H1 HOST2=$H2 XSS_ALERT=$XSS_ALERT \
  PW_ADMIN=$PW_ADMIN PW_OSAKA=$PW_OSAKA PW_KYOTO=$PW_KYOTO PW_EVE=$PW_EVE CHROMIUM=$CHROMIUM \
  AGENT1_PID=$A1_PID AGENT1_NETNS=$NS1 \
  REACH_CMD="ip netns exec $NS1 timeout 2 bash -c 'exec 3<>/dev/tcp/$HIP1/$OTHER'" \
  INCIDENT=$INCIDENT RANSOM_ALERT=$RANSOM_ALERT ACTOR_KEY="$(printf '%s' "$ALERT_BODY" | jq -r .actor_key)" \
  ACTOR_EXE="$(printf '%s' "$ALERT_BODY" | jq -r .exe)" ACTOR_PIDS_JSON="$(printf '%s' "$ALERT_BODY" | jq -c .pids)" \
  ACTOR_PPIDS_JSON="$(printf '%s' "$ALERT_BODY" | jq -c .ppids)" ACTOR_PARENT="$(printf '%s' "$ALERT_BODY" | jq -r '.parent.pid // empty')" \
  SILENT_ALERT=$SILENT_ALERT SILENT_INCIDENT=$SILENT_INCIDENT \
  SHARE=$MNT/share RECV_URL=$RECV_URL RECV_OUT=$T/recv.out API_TOKEN=$TOK CA=$D/ca.crt \
  timeout 400 node "$REPO_ROOT/tests/e2e/console.mjs" 2>"$T/e2e.err" | tee "$T/e2e.out"
LIB_NPASS=$((LIB_NPASS + $(grep -c '^PASS' "$T/e2e.out")))
LIB_NFAIL=$((LIB_NFAIL + $(grep -c '^FAIL' "$T/e2e.out")))
grep -q '^PASS\|^FAIL' "$T/e2e.out" || fail console-e2e "the browser run printed nothing: $(tail -5 "$T/e2e.err")"
# what the page asked for: commands of web-1 by alice, their outcome, audited
by_alice() { # ACTION: "status count" of web-1's commands of ACTION by alice
  sqlite3 -separator ' ' "$D/server.db" "SELECT group_concat(DISTINCT status), count(*) FROM commands
    WHERE host_id='$H1' AND action='$1' AND created_by LIKE 'user:%(alice)'"
}
ok=1 why=
for a in isolate release kill restore; do
  r=$(by_alice $a); [[ $r == "ok "[1-9]* ]] || { ok=0; why+="$a:'$r' "; }
done
n=$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE action='command' AND actor LIKE 'user:%(alice)'
  AND detail NOT LIKE 'refused%'")
[ "$n" -ge 4 ] || { ok=0; why+="command-audit-rows:$n "; }
for a in route_add route_test route_rm api_incident_resolve; do
  [ "$(sqlite3 "$D/server.db" "SELECT count(*) FROM audit WHERE action='$a' AND actor LIKE 'user:%(alice)' AND detail NOT LIKE 'refused%'")" -ge 1 ] ||
    { ok=0; why+="no-$a-audit "; }
done
[ "$(sqlite3 "$D/server.db" "SELECT detail FROM audit WHERE action='route_test' AND actor LIKE 'user:%(alice)' ORDER BY id DESC LIMIT 1")" = \
  "webhook http://127.0.0.1:$(cat "$T/rport" 2>/dev/null)/hook/...: delivered" ] || { ok=0; why+="route-test-detail "; }
[ $ok = 1 ] && pass console-responses-recorded-and-audited || fail console-responses-recorded-and-audited "$why"

# the kill from the incident page: the frozen actor is gone; the restore: its files are back
alive=
for p in $ACTOR_PIDS; do s=$(proc_state "$p"); [ -n "$s" ] && [ "$s" != Z ] && alive+="$p:$s "; done
[ -n "$ACTOR_PIDS" ] && [ -z "$alive" ] && pass console-actor-killed ||
  fail console-actor-killed "still alive: ${alive:-none} (pids '$ACTOR_PIDS')"
v=$(timeout 60 "$MAMORI" sim verify --dir "$MNT/share" 2>/dev/null | jq -cR 'fromjson? | select(.event=="sim-verify")' | head -n 1)
[ "$(printf '%s' "$v" | jq -r 'select(.damaged == 0 and .missing == 0 and .extra == 0) | "ok"')" = ok ] &&
  pass console-files-restored || fail console-files-restored "verify: ${v:-nothing}"

# isolation stayed in web-1's namespace
if root_isolated; then
  fail console-root-namespace-untouched "OUR network namespace has a mamori_isolate table: $(nft list tables 2>&1 | tr '\n' ' ')"
else
  pass console-root-namespace-untouched
fi
grep -l Sanitizer "$T"/*.out >/dev/null 2>&1 && fail console-no-sanitizer-reports "$(grep -l Sanitizer "$T"/*.out | tr '\n' ' ')"

kill -TERM "$SRV_PID" 2>/dev/null
lib_summary
