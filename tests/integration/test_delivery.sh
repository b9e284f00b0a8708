#!/usr/bin/env bash
# tests/integration/test_delivery.sh - alert delivery of `mamori server`
# (src/deliver) end to end, through the binary, to real receivers on
# 127.0.0.1 started here (tests/integration/delivery/receiver.py): an HTTP
# and an HTTPS webhook (self-signed certificate given with --ca), Slack- and
# Teams-format webhooks, RFC 5424 syslog over TCP and over TLS, and SMTP.
# Two sites (osaka, kyoto) with one enrolled, running agent each. Cases:
# one agent alert reaches every route of its site with the right content
# and format; per-site routing; a guard-shaped alert gets its texts (kill
# and restore commands); a receiver that is down is retried with backoff
# and served once it is up; pending deliveries survive kill -9 of the
# server; a receiver that hangs does not delay the others; host_silent is
# delivered; secrets stay out of listings, logs and API answers; the API
# (routes in a site-admin's scope, deliveries of an alert); route test and rm; bad
# route arguments exit 2. Prints p50/p99 of alert-stored -> webhook-received
# latency over 200 alerts (bound asserted: p99 < 3 s, generous).
# Needs $MAMORI, jq, python3 and the openssl CLI; no root.
. "$(dirname "$0")/lib.sh"
need_tools delivery jq python3 openssl sqlite3
need_mamori server

T=$(lib_mktemp_dir delivery)
D=$T/data
SRV_OUT=$T/server.out
RECV=$REPO_ROOT/tests/integration/delivery/receiver.py
ms() { echo $(($(date +%s%N) / 1000000)); }

start_server() {
  : >"$SRV_OUT"
  lib_start_bg "$SRV_OUT" "$MAMORI" server run --data "$D" --listen "127.0.0.1:${1:-0}" \
    --offline-after 3s --heartbeat 1s --api-listen 127.0.0.1:0
  SRV_PID=$LIB_BG_PID
  READY=$(wait_json "$SRV_OUT" ready 20) || { LIB_ERR="no ready line: $(tail -c 600 "$SRV_OUT")"; return 1; }
  API=$(wait_json "$SRV_OUT" api_ready 5 | jq -r .listen)
  PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
}

# recv NAME MODE [OPTIONS...]: a receiver; its port in $T/NAME.port, its
# messages in $T/NAME.jsonl; sets RPID_NAME.
recv() {
  local n=$1 m=$2 i
  shift 2
  rm -f "$T/$n.port"
  lib_start_bg "$T/$n.log" python3 "$RECV" "$m" "$T/$n.port" "$T/$n.jsonl" "$@"
  printf -v "RPID_$n" %s "$LIB_BG_PID"
  for ((i = 0; i < 100; i++)); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
  [ -s "$T/$n.port" ]
}
rport() { cat "$T/$1.port"; }
# count NAME: messages NAME received.
count() { [ -f "$T/$1.jsonl" ] && wc -l <"$T/$1.jsonl" || echo 0; }
# wait_count NAME N TIMEOUT_S
wait_count() {
  local deadline=$(($(ms) + $3 * 1000))
  while [ "$(ms)" -lt "$deadline" ]; do
    [ "$(count "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# grep_msg NAME TEXT: a message of NAME holds TEXT (in its raw JSON line).
has() { [ -f "$T/$1.jsonl" ] && grep -qF -- "$2" "$T/$1.jsonl"; }
# msg NAME TEXT: the first message of NAME that holds TEXT.
msg() { grep -F -- "$2" "$T/$1.jsonl" 2>/dev/null | head -1; }

route() { "$MAMORI" server route "$@" --data "$D"; }
alert() { "$MAMORI" agent alert --dir "$1" --kind "$2" --severity "$3" --summary "$4" >/dev/null; }

# ---------------------------------------------------------------- set-up --
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$T/r.key" -out "$T/r.crt" \
  >/dev/null 2>&1 || { fail delivery-setup "openssl req failed"; lib_summary; exit 1; }
ok=1
recv hook http || ok=0
recv hooks http --tls "$T/r.crt" "$T/r.key" || ok=0
recv slack http || ok=0
recv teams http || ok=0
recv kyoto http || ok=0
recv sl syslog || ok=0
recv sls syslog --tls "$T/r.crt" "$T/r.key" || ok=0
recv mail smtp || ok=0
recv hang http --hang || ok=0
if [ $ok = 0 ] || ! start_server; then
  fail delivery-setup "receivers or server did not start: $LIB_ERR $(cat "$T"/*.log 2>/dev/null | tail -5)"
  lib_summary; exit 1
fi
tok_o=$("$MAMORI" server token --data "$D" --site osaka 2>/dev/null)
tok_k=$("$MAMORI" server token --data "$D" --site kyoto 2>/dev/null)
"$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok_o" --dir "$T/a1" --hostname web-1 >/dev/null 2>&1 &&
  "$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok_k" --dir "$T/a2" --hostname db-1 >/dev/null 2>&1 ||
  { fail delivery-setup "enrollment failed"; lib_summary; exit 1; }
lib_start_bg "$T/a1.out" "$MAMORI" agent run --dir "$T/a1" --max-backoff 1s --no-guard; A1=$LIB_BG_PID
lib_start_bg "$T/a2.out" "$MAMORI" agent run --dir "$T/a2" --max-backoff 1s --no-guard; A2=$LIB_BG_PID

SECRET=T0K3N-s3cr3t-path
rc=0
route add --site osaka --webhook "https://127.0.0.1:$(rport hooks)/hook/$SECRET?x=1" --ca "$T/r.crt" >"$T/add.out" || rc=1
route add --all-sites --webhook "http://127.0.0.1:$(rport hook)/plain/$SECRET" >>"$T/add.out" || rc=1
route add --all-sites --slack "http://127.0.0.1:$(rport slack)/services/T1/B2/$SECRET" >>"$T/add.out" || rc=1
route add --site osaka --teams "http://127.0.0.1:$(rport teams)/webhookb2/$SECRET" >>"$T/add.out" || rc=1
route add --site kyoto --webhook "http://127.0.0.1:$(rport kyoto)/k/$SECRET" >>"$T/add.out" || rc=1
route add --all-sites --syslog "tcp://127.0.0.1:$(rport sl)" >>"$T/add.out" || rc=1
route add --site osaka --syslog "tls://127.0.0.1:$(rport sls)" --ca "$T/r.crt" >>"$T/add.out" || rc=1
printf 'hunter2-pw\n' >"$T/pw"
route add --site osaka --email "smtp://127.0.0.1:$(rport mail)" --from mamori@example.org \
  --to soc@example.org --to oncall@example.org --user mamori --password-file "$T/pw" >>"$T/add.out" || rc=1
if [ $rc = 0 ] && [ "$(wc -l <"$T/add.out")" = 8 ] && ! grep -qF "$SECRET" "$T/add.out" &&
   ! route list | grep -qF -e "$SECRET" -e hunter2 && [ "$(route list | wc -l)" = 8 ]; then
  pass route-add-list-masked
else
  fail route-add-list-masked "rc=$rc $(cat "$T/add.out")"
fi

# ----------------------------------------------- one alert, every format --
sleep 1.5 # agents connected
alert "$T/a1" drill high 'disk <encrypted> & "wiped"'
if wait_count hooks 1 10 && wait_count hook 1 5 && wait_count slack 1 5 && wait_count teams 1 5 &&
   wait_count sl 1 5 && wait_count sls 1 5 && wait_count mail 1 10; then
  pass delivery-all-receivers
else
  fail delivery-all-receivers "counts hooks=$(count hooks) hook=$(count hook) slack=$(count slack) teams=$(count teams) sl=$(count sl) sls=$(count sls) mail=$(count mail): $(grep -F delivery "$SRV_OUT" | tail -3)"
fi

b=$(msg hooks wiped | jq -r .body)
if [ "$(printf '%s' "$b" | jq -r '.alert.hostname + "/" + .alert.site + "/" + .alert.kind + "/" + .alert.severity')" = "web-1/osaka/drill/high" ] &&
   [ "$(printf '%s' "$b" | jq -r .alert.summary)" = 'disk <encrypted> & "wiped"' ] &&
   printf '%s' "$b" | jq -e '.what_happened and .mamori_did and (.next_steps | test("mamori server alerts"))' >/dev/null &&
   [ "$(msg hooks wiped | jq -r .path)" = "/hook/$SECRET?x=1" ] &&
   [ "$(msg hooks wiped | jq -r '.headers["content-type"]')" = application/json ]; then
  pass webhook-json-https
else
  fail webhook-json-https "$b"
fi

b=$(msg slack wiped | jq -r .body)
if printf '%s' "$b" | jq -e '(.text | test("web-1")) and (.blocks[0].type == "header") and
     ([.blocks[].text.text? // empty] | join(" ") | test("disk &lt;encrypted&gt; &amp; \"wiped\"")) and
     (.blocks | length >= 4)' >/dev/null; then
  pass slack-format
else
  fail slack-format "$b"
fi

b=$(msg teams wiped | jq -r .body)
if printf '%s' "$b" | jq -e '.["@type"] == "MessageCard" and .["@context"] == "https://schema.org/extensions" and
     (.summary | test("web-1")) and (.themeColor | length == 6) and
     ([.sections[].facts? // empty | .[] | select(.name == "Site") | .value] == ["osaka"]) and
     ([.sections[].text? // empty] | join(" ") | test("&lt;encrypted&gt;"))' >/dev/null; then
  pass teams-format
else
  fail teams-format "$b"
fi

m=$(msg sl wiped | jq -r .msg)
re='^<35>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z web-1 mamori - drill \[mamori@32473 host="web-1" site="osaka" alert_id="[0-9]+" kind="drill" severity="high" host_id="h-[0-9a-f]+"\] '
if [[ $m =~ $re ]] && [[ $m == *'disk <encrypted> & "wiped"'* ]] &&
   [ "$(msg sls wiped | jq -r .msg | cut -c1-40)" = "$(printf '%s' "$m" | cut -c1-40)" ]; then
  pass syslog-rfc5424-tcp-and-tls
else
  fail syslog-rfc5424-tcp-and-tls "tcp: $m / tls: $(msg sls wiped)"
fi

mail=$(head -1 "$T/mail.jsonl")
for l in $(seq 1 "$(count mail)"); do # the drill's mail (the base64 body hides the summary)
  x=$(sed -n "${l}p" "$T/mail.jsonl"); [[ $x == *"drill on web-1"* ]] && mail=$x && break
done
data=$(printf '%s' "$mail" | jq -r .data)
body=$(printf '%s' "$data" | tr -d '\r' | sed '1,/^$/d' | base64 -d 2>/dev/null)
if [ "$(printf '%s' "$mail" | jq -r '.from + " " + (.to | join(","))')" = "<mamori@example.org> <soc@example.org>,<oncall@example.org>" ] &&
   printf '%s' "$data" | grep -q '^Date: ' && printf '%s' "$data" | grep -q '^Message-ID: <mamori.alert-' &&
   printf '%s' "$data" | grep -q '^Subject: \[mamori\] \[high\] drill on web-1' &&
   printf '%s' "$data" | grep -q '^To: soc@example.org,oncall@example.org' &&
   [[ $body == *"What to do next"* ]] && [[ $body == *'disk <encrypted> & "wiped"'* ]]; then
  pass email-smtp
else
  fail email-smtp "$mail / body: $body"
fi

# ---------------------------------------------------------- per site ------
if ! has kyoto wiped; then pass per-site-other-site-not-sent; else fail per-site-other-site-not-sent "$(cat "$T/kyoto.jsonl")"; fi
alert "$T/a2" drill medium "kyoto only"
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt $deadline ] && ! { has kyoto "kyoto only" && has hook "kyoto only"; }; do sleep 0.1; done
if sleep 1 && ! has hooks "kyoto only" && ! has teams "kyoto only" && ! has mail "kyoto only" && has kyoto "kyoto only"; then
  pass per-site-routing
else
  fail per-site-routing "kyoto: $(msg kyoto "kyoto only" | cut -c1-80); hooks: $(has hooks "kyoto only" && echo got)"
fi

# ------------------------------------------------------ guard-shaped alert --
HID=$(jq -r .host_id "$T/a1/agent.json" 2>/dev/null)
[ -n "$HID" ] && [ "$HID" != null ] || HID=$("$MAMORI" server hosts --data "$D" | jq -r 'select(.hostname=="web-1") | .id')
sqlite3 "$D/server.db" ".timeout 5000" "INSERT INTO alerts(host_id, site_id, time, kind, severity, summary, body)
  SELECT '$HID', site_id, strftime('%s','now')*1000, 'ransomware', 'critical', 'guard froze an encryptor',
  '{\"event\":\"alert\",\"action\":\"freeze\",\"actor_key\":\"b00t-4242-99\",\"pids\":[4242],\"exe\":\"/tmp/evil\",\"cmdline\":\"/tmp/evil --all\",\"user\":\"bob\",\"uid\":1000,\"files\":[\"/srv/a.docx\",\"/srv/b.xlsx\"],\"indicators\":[\"entropy\",\"rename\"],\"score\":90,\"files_damaged\":2}'
  FROM hosts WHERE id = '$HID'"
GID=$(sqlite3 "$D/server.db" "SELECT MAX(id) FROM alerts")
deadline=$(($(ms) + 5000))
while [ "$(ms)" -lt $deadline ] && ! has hooks encryptor; do sleep 0.1; done
if b=$(msg hooks encryptor | jq -r .body) &&
   printf '%s' "$b" | jq -e --arg id "$GID" '(.mamori_did | test("froze")) and
     (.next_steps | test("kill --actor b00t-4242-99")) and (.next_steps | test("restore --alert " + $id)) and
     (.what_happened | test("/tmp/evil"))' >/dev/null; then
  pass guard-alert-texts
else
  fail guard-alert-texts "$(msg hooks encryptor)"
fi

# -------------------------------------------------- receiver down, retried --
recv down http || true
DPORT=$(rport down)
kill_tree "$RPID_down"; rm -f "$T/down.jsonl"
DROUTE=$(route add --site kyoto --webhook "http://127.0.0.1:$DPORT/down" | jq -r .id)
alert "$T/a2" drill high "while down"
sleep 3.5
att=$(sqlite3 "$D/server.db" "SELECT attempts || ' ' || status FROM deliveries WHERE route_id = $DROUTE")
recv down http --port "$DPORT" || true
if [ "${att%% *}" -ge 2 ] 2>/dev/null && [ "${att#* }" = pending ] && wait_count down 1 15 && has down "while down" &&
   sleep 1 && [ "$(count down)" = 1 ] &&
   [ "$(sqlite3 "$D/server.db" "SELECT status FROM deliveries WHERE route_id = $DROUTE")" = sent ]; then
  pass receiver-down-retried-then-delivered
else
  fail receiver-down-retried-then-delivered "route '$DROUTE' port '$DPORT' before: '$att'; received $(count down)"
fi

# --------------------------------------------------- kill -9 with pending --
kill_tree "$RPID_down"
for i in 1 2 3; do alert "$T/a2" drill high "crash $i"; done
deadline=$(($(ms) + 8000))
while [ "$(ms)" -lt $deadline ]; do
  n=$(sqlite3 "$D/server.db" "SELECT COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE d.route_id = $DROUTE AND d.status = 'pending' AND a.summary LIKE 'crash %' AND d.attempts >= 1")
  [ "$n" = 3 ] && break
  sleep 0.1
done
kill -KILL "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
recv down http --port "$DPORT" || true
before=$(count down)
start_server "$PORT"; src=$?
if [ "$n" = 3 ] && [ $src = 0 ] && wait_count down $((before + 3)) 15 &&
   has down "crash 1" && has down "crash 2" && has down "crash 3"; then
  pass kill9-pending-delivered-after-restart
else
  fail kill9-pending-delivered-after-restart "pending before kill: $n; received $(count down) (had $before)"
fi
sleep 1.5 # agents reconnect

# ------------------------------------------------------------------- API --
api() { # TOKEN METHOD PATH [BODY]: prints the body, then the status on its own line
  local a=(-sk -o "$T/api.body" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1")
  [ -n "${4:-}" ] && a+=(-H 'Content-Type: application/json' --data "$4")
  curl "${a[@]}" "https://$API$3"
}
ADM=$("$MAMORI" server api-token --data "$D" --name adm --role admin 2>/dev/null | grep -o 'mamori-api1\.[A-Za-z0-9._-]*' | head -1)
SAD=$("$MAMORI" server api-token --data "$D" --name sad --role site-admin --site osaka 2>/dev/null | grep -o 'mamori-api1\.[A-Za-z0-9._-]*' | head -1)
WID=$(sqlite3 "$D/server.db" "SELECT id FROM alerts WHERE summary = 'while down'")
ok=1; why=
st=$(api "$ADM" GET "/api/v1/alerts/$WID/deliveries")
jq -e --argjson r "$DROUTE" '[.items[] | select(.route_id == $r and .status == "sent" and .attempts >= 2)] | length == 1' "$T/api.body" >/dev/null && [ "$st" = 200 ] || { ok=0; why+="deliveries $st $(cat "$T/api.body"); "; }
grep -qF "$SECRET" "$T/api.body" && { ok=0; why+="secret in deliveries; "; }
st=$(api "$SAD" POST /api/v1/routes '{"kind":"webhook","target":"http://127.0.0.1:9/x"}'); [ "$st" = 403 ] || { ok=0; why+="all-sites by site-admin $st; "; }
st=$(api "$SAD" POST /api/v1/routes '{"site":"kyoto","kind":"webhook","target":"http://127.0.0.1:9/x"}'); [ "$st" = 404 ] || { ok=0; why+="other site $st; "; }
st=$(api "$SAD" POST /api/v1/routes '{"site":"osaka","kind":"syslog","target":"udp://h:1"}'); [ "$st" = 400 ] || { ok=0; why+="bad target $st; "; }
st=$(api "$SAD" POST /api/v1/routes '{"site":"osaka","kind":"webhook","target":"http://127.0.0.1:9/api/'"$SECRET"'","min_severity":"critical"}')
NEWR=$(jq -r .id "$T/api.body"); [ "$st" = 201 ] && ! grep -qF "$SECRET" "$T/api.body" || { ok=0; why+="create $st $(cat "$T/api.body"); "; }
st=$(api "$SAD" GET /api/v1/routes); jq -e '[.items[].site] | index("kyoto") == null' "$T/api.body" >/dev/null && [ "$st" = 200 ] || { ok=0; why+="list $st; "; }
st=$(api "$SAD" DELETE "/api/v1/routes/$DROUTE"); [ "$st" = 404 ] || { ok=0; why+="delete kyoto route by osaka admin $st; "; }
st=$(api "$SAD" DELETE "/api/v1/routes/$NEWR"); [ "$st" = 200 ] || { ok=0; why+="delete $st; "; }
[ "$(sqlite3 "$D/server.db" "SELECT COUNT(*) FROM audit WHERE action IN ('route_add','route_rm') AND actor LIKE 'token:%'")" -ge 5 ] || { ok=0; why+="audit; "; }
[ $ok = 1 ] && pass api-routes-and-deliveries || fail api-routes-and-deliveries "$why"

# ------------------------------------------- a hanging receiver, the others --
route add --all-sites --webhook "http://127.0.0.1:$(rport hang)/hang" >/dev/null
c0=$(count hook)
t0=$(ms)
alert "$T/a1" drill high "hang test"
deadline=$(($(ms) + 5000))
while [ "$(ms)" -lt $deadline ] && ! has hook "hang test"; do sleep 0.05; done
if has hook "hang test" && [ $(($(ms) - t0)) -lt 3000 ]; then
  pass hanging-receiver-does-not-delay-others
else
  fail hanging-receiver-does-not-delay-others "hook got $(($(count hook) - c0)) in $(($(ms) - t0)) ms"
fi

# ------------------------------------------------------------ host_silent --
kill_tree "$A2"
deadline=$(($(ms) + 15000))
while [ "$(ms)" -lt $deadline ] && ! has kyoto host_silent; do sleep 0.1; done
if msg kyoto host_silent | jq -r .body |
   jq -e '.alert.kind == "host_silent" and .alert.hostname == "db-1" and (.next_steps | test("isolate"))' >/dev/null; then
  pass host-silent-delivered
else
  fail host-silent-delivered "$(msg kyoto host_silent)"
fi

# ------------------------------------------------------ secrets, test, rm --
if ! grep -qF -e "$SECRET" -e hunter2 "$SRV_OUT"; then pass secrets-not-logged; else fail secrets-not-logged "$(grep -F -e "$SECRET" -e hunter2 "$SRV_OUT" | head -2)"; fi
HROUTE=$(route list | jq -r 'select(.kind=="slack") | .id')
c0=$(count slack)
route test "$HROUTE" >"$T/test.out" 2>&1; trc=$?
route test "$DROUTE" >/dev/null 2>&1 # up
kill_tree "$RPID_down"
route test "$DROUTE" >"$T/test2.out" 2>&1; trc2=$?
if [ $trc = 0 ] && has slack "mamori test message" &&
   [ $trc2 = 1 ] && grep -q "not delivered" "$T/test2.out" &&
   [ "$(sqlite3 "$D/server.db" "SELECT COUNT(*) FROM audit WHERE action LIKE 'route_%'")" -ge 11 ]; then
  pass route-test
else
  fail route-test "rc=$trc/$trc2 audit $(sqlite3 "$D/server.db" "SELECT COUNT(*) FROM audit WHERE action LIKE 'route_%'") $(cat "$T/test.out" "$T/test2.out")"
fi
route rm "$HROUTE" >/dev/null; rrc=$?
alert "$T/a1" drill high "after rm"
deadline=$(($(ms) + 10000))
while [ "$(ms)" -lt $deadline ] && ! has hook "after rm"; do sleep 0.1; done
if [ $rrc = 0 ] && has hook "after rm" && sleep 0.5 && ! has slack "after rm" &&
   [ "$(route list | wc -l)" = 9 ] && [ "$(route list --all | wc -l)" = 11 ]; then
  pass route-rm
else
  fail route-rm "rc=$rrc hook: $(has hook "after rm" && echo got) slack: $(has slack "after rm" && echo got) routes $(route list | wc -l)/$(route list --all | wc -l)"
fi

# ----------------------------------------------------------------- usage --
u() { "$@" >/dev/null 2>&1; echo $?; }
e=(
  "$(u route add --site osaka)" "$(u route add --webhook http://x/y)"
  "$(u route add --site osaka --all-sites --webhook http://x/y)" "$(u route add --site osaka --webhook ftp://x/y)"
  "$(u route add --site nosuch --webhook http://x/y)" "$(u route add --site osaka --syslog udp://h:514)"
  "$(u route add --site osaka --syslog tcp://h)" "$(u route add --site osaka --email smtp://h --to a@b)"
  "$(u route add --site osaka --email smtp://h --from a@b --to 'x@y
Bcc: z@w')" "$(u route add --site osaka --webhook http://x/y --min-severity huge)"
  "$(u route add --site osaka --webhook http://x/y --ca /nonexistent)" "$(u route rm 9999)" "$(u route rm abc)"
  "$(u route test 9999)" "$(u route frob)" "$(u route add --site osaka --webhook 'http://x y/')"
)
msg=$(route add --site osaka --syslog udp://h:514 2>&1)
h=("$(u route --help)" "$(u route add --help)")
if [ "${e[*]}" = "2 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2" ] && [ "${h[*]}" = "0 0" ] && [[ $msg == *"tcp://HOST:PORT or tls://HOST:PORT"* ]]; then
  pass route-usage-errors
else
  fail route-usage-errors "errors: ${e[*]} (want 2s); help: ${h[*]}; msg: $msg"
fi

# ---------------------------------------------------------------- latency --
c0=$(count hook)
N=${DELIVERY_N:-200}
for ((i = 1; i <= N; i++)); do alert "$T/a1" lat info "lat $i"; sleep 0.01; done
if wait_count hook $((c0 + N)) 60; then
  lat=$(jq -r 'select(.event=="alert" and .kind=="lat") | "\(.summary)\t\(.time_ms)"' <(jq -cR 'fromjson?' "$SRV_OUT") | sort >"$T/stored.tsv"
        tail -n +$((c0 + 1)) "$T/hook.jsonl" | jq -r '(.body | fromjson | .alert.summary) + "\t" + (.t * 1000 | floor | tostring)' | sort >"$T/recv.tsv"
        join -t $'\t' "$T/stored.tsv" "$T/recv.tsv" | awk -F'\t' '{print $3 - $2}' | sort -n >"$T/lat.txt"
        n=$(wc -l <"$T/lat.txt")
        p50=$(sed -n "$(((n + 1) / 2))p" "$T/lat.txt"); p99=$(sed -n "$(((n * 99 + 99) / 100))p" "$T/lat.txt")
        echo "$n $p50 $p99")
  read -r n p50 p99 <<<"$lat"
  echo "# delivery latency (alert stored -> webhook received) over $n alerts: p50 ${p50} ms, p99 ${p99} ms" >&2
  if [ "$n" = "$N" ] && [ "$p99" -lt 3000 ]; then
    pass delivery-latency
  else
    fail delivery-latency "n=$n p50=$p50 p99=$p99"
  fi
else
  fail delivery-latency "only $(($(count hook) - c0)) of $N delivered"
fi

# ------------------------------------------------------------------- stop --
kill_tree "$A1"
kill -TERM "$SRV_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$SRV_PID" 2>/dev/null && [ "$(proc_state "$SRV_PID")" != Z ] || break; sleep 0.1; done
if ! kill -0 "$SRV_PID" 2>/dev/null || [ "$(proc_state "$SRV_PID")" = Z ]; then
  wait "$SRV_PID"; src=$?
  [ $src = 0 ] && pass server-stops-with-hanging-route || fail server-stops-with-hanging-route "exit $src"
else
  fail server-stops-with-hanging-route "still running 10 s after SIGTERM"; kill_tree "$SRV_PID"
fi
lib_summary
