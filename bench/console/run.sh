#!/usr/bin/env bash
# bench/console/run.sh - the web console's first views on a large store
# (issue 6: under 1 s with 10,000 hosts and 100,000 alerts).
#
# 1. Two real servers on loopback, each filled through its real intake:
#    "full" gets HOSTS agents enrolled over the real protocol into SITES sites
#    by bench/server's loadgen, which then sends ALERTS alerts over mutual TLS
#    (--mix: alertmix.h's episodes over DAYS days, so intake and correlation
#    make incidents as they would) and stays connected (heartbeats) while the
#    pages are measured; "small" (the floor) gets 1 agent, 1 site and 60
#    alerts the same way.
# 2. pages.mjs loads each console page LOADS times per store in Debian's
#    chromium (playwright-core from tests/e2e), a cold browser context each
#    time, alternating full and small: navigation -> the page's data in the
#    DOM. Pages: overview, site, host, alert, incidents, incident, the
#    overview's next page of alerts ("More"), login -> overview, and the
#    overview on a phone-sized screen with the CPU slowed 4x.
# 3. Every API call those pages made is fetched REPS times with curl on one
#    keep-alive connection per store (median and p95), next to GET
#    /api/v1/health and /static/app.js (no store read).
# Prints (and writes to OUT) p50/p95 per page and endpoint with the ratio
# full / small. Everything runs in one temp directory, removed at the end
# with the processes the script started.
#
# Usage: bench/console/run.sh   (HOSTS=10000 SITES=40 ALERTS=100000 DAYS=30 LOADS=10 REPS=20)
#   RATE=  alerts/s offered while filling (20000: as fast as the server acknowledges)
#   OUT=   report file (default bench/out/console-DATE.md; the raw JSON next to it)
set -u
# Chromium fails the requests in flight when the machine's network changes
# (net::ERR_NETWORK_CHANGED, e.g. when another test adds a veth pair): as
# root, the bench runs in a network namespace of its own, loopback only,
# gone when its last process ends.
if [ -z "${BENCH_CONSOLE_NETNS:-}" ] && [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
  exec env BENCH_CONSOLE_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOSTS=${HOSTS:-10000} SITES=${SITES:-40} ALERTS=${ALERTS:-100000} DAYS=${DAYS:-30}
LOADS=${LOADS:-10} REPS=${REPS:-20} RATE=${RATE:-20000}
OUT=${OUT:-$ROOT/bench/out/console-$(date -u +%Y%m%d-%H%M%S).md}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
for c in jq curl sqlite3 node npm setsid; do
  command -v $c >/dev/null || { echo "$c is not installed (scripts/deps.sh)"; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "no $CHROMIUM (scripts/deps.sh installs it)"; exit 1; }
if ! make -C "$ROOT" -j2 bench-server >/dev/null 2>&1; then
  [ -x "$ROOT/build/release/mamori" ] && [ -x "$ROOT/build/release/bench/server/loadgen" ] ||
    { echo "build failed (make bench-server)"; exit 1; }
  echo "warning: make bench-server failed; benchmarking the binaries already built"
fi
if [ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ]; then
  (cd "$ROOT/tests/e2e" && npm ci --no-audit --no-fund >/dev/null 2>&1) || { echo "npm ci in tests/e2e failed"; exit 1; }
fi
T=$(mktemp -d /tmp/mamori-bench-console.XXXXXX)
# copies: a rebuild in the tree during the run cannot swap them
cp "$ROOT/build/release/mamori" "$T/mamori" && cp "$ROOT/build/release/bench/server/loadgen" "$T/loadgen"
M=$T/mamori LG=$T/loadgen
PIDS=() # servers and loadgens, each the leader of its own session
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)"
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
say() { printf '%s\n' "$*" | tee -a "$OUT"; }
PW='bench console password 1'

# start_server NAME: data in $T/NAME, console users "bench" and "login"
# (admins); sets PORT_NAME (agents) and URL_NAME (HTTPS API and console).
start_server() {
  local n=$1 d=$T/$1 u ready aready
  mkdir -p "$d"
  for u in bench login; do
    printf '%s\n' "$PW" | "$M" server user --data "$d" add "$u" --role admin --password-stdin >/dev/null 2>>"$T/$n.err" ||
      { echo "user add failed: $(cat "$T/$n.err")"; exit 1; }
  done
  setsid "$M" server run --data "$d" --listen 127.0.0.1:0 --api-listen 127.0.0.1:0 --log-level warn \
    >"$T/$n.out" 2>>"$T/$n.err" &
  PIDS+=($!)
  for _ in $(seq 200); do grep -q '"api_ready"' "$T/$n.out" && break; sleep 0.1; done
  ready=$(grep -m1 '"event":"ready"' "$T/$n.out") aready=$(grep -m1 '"api_ready"' "$T/$n.out")
  [ -n "$ready" ] && [ -n "$aready" ] || { echo "server $n did not start: $(tail -5 "$T/$n.err")"; exit 1; }
  printf -v "PORT_$n" '%s' "$(jq -r .listen <<<"$ready" | sed 's/.*://')"
  printf -v "URL_$n" 'https://127.0.0.1:%s' "$(jq -r .listen <<<"$aready" | sed 's/.*://')"
}

# fill NAME N SITES TOTAL: enroll N agents, send TOTAL mixed alerts, stay
# connected; figures in $T/NAME.fig
fill() {
  local n=$1 port w=$T/$1-work t0 t1 t2
  port=PORT_$1 port=${!port}
  t0=$(date +%s%N)
  "$LG" enroll --data "$T/$n" --work "$w" -n "$2" --sites "$3" --server "127.0.0.1:$port" \
    >"$T/$n.fig" 2>"$T/$n-enroll.err" || { echo "enrollment failed: $(tail -5 "$T/$n-enroll.err")"; exit 1; }
  cp "$T/$n/ca.crt" "$w/ca.crt"
  t1=$(date +%s%N)
  setsid "$LG" run --work "$w" -n "$2" --server "127.0.0.1:$port" --sites "$3" --mix "$DAYS" \
    --total "$4" --rate "$RATE" --duration 900 --hold 3600 >>"$T/$n.fig" 2>"$T/$n-run.err" &
  PIDS+=($!)
  for _ in $(seq 9000); do grep -q '^hold=1' "$T/$n.fig" && break; kill -0 "${PIDS[-1]}" 2>/dev/null || break; sleep 0.1; done
  grep -q '^drain_ok=1' "$T/$n.fig" || { echo "filling $n failed: $(tail -5 "$T/$n-run.err")"; exit 1; }
  t2=$(date +%s%N)
  echo "enroll_wall_ms=$(((t1 - t0) / 1000000))" >>"$T/$n.fig"
  echo "fill_wall_ms=$(((t2 - t1) / 1000000))" >>"$T/$n.fig"
}
fig() { sed -n "s/^$2=//p" "$T/$1.fig" | tail -1; }
q() { sqlite3 "file:$T/$1/server.db?mode=ro" "$2"; }

say "# bench/console - first views of the web console"
say ""
say "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r), commit $(git -C "$ROOT" rev-parse --short HEAD)"
say "HOSTS=$HOSTS SITES=$SITES ALERTS=$ALERTS DAYS=$DAYS LOADS=$LOADS REPS=$REPS; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
say "network: $([ -n "${BENCH_CONSOLE_NETNS:-}" ] && echo "a namespace of its own (loopback)" || echo "the machine's loopback (not root: no namespace of its own)")"
say ""

start_server full
start_server small
fill small 1 1 60
fill full "$HOSTS" "$SITES" "$ALERTS"
cs=$(fig full connect_seconds)
say "full store: $(q full 'SELECT count(*) FROM hosts') hosts in $(q full 'SELECT count(*) FROM sites') sites enrolled in $(awk -v m="$(fig full enroll_wall_ms)" 'BEGIN{printf "%.1f", m/1000}') s;" \
  "$(q full 'SELECT count(*) FROM alerts') alerts sent and acknowledged in $(awk -v m="$(fig full fill_wall_ms)" -v c="$cs" 'BEGIN{printf "%.1f s after connecting all agents in %.1f s", m/1000 - c, c}')" \
  "($(awk -v m="$(fig full fill_wall_ms)" -v c="$cs" -v a="$ALERTS" 'BEGIN{printf "%.0f", a / (m/1000 - c)}') alerts/s);" \
  "$(q full "SELECT count(*) || ' host incidents, ' FROM incidents WHERE kind = 'host'")$(q full "SELECT count(*) || ' outbreaks' FROM incidents WHERE kind = 'outbreak'");" \
  "$(du -h "$T/full/server.db" | cut -f1) database"
say "alerts by severity: $(q full "SELECT group_concat(severity || ' ' || n, ', ') FROM (SELECT severity, count(*) n FROM alerts GROUP BY 1 ORDER BY 2 DESC)");" \
  "by kind: $(q full "SELECT group_concat(kind || ' ' || n, ', ') FROM (SELECT kind, count(*) n FROM alerts GROUP BY 1 ORDER BY 2 DESC)");" \
  "last 24 h: $(q full "SELECT count(*) FROM alerts WHERE time >= (strftime('%s','now') - 86400) * 1000")"
say "small store (the floor): $(q small 'SELECT count(*) FROM hosts') host, $(q small 'SELECT count(*) FROM alerts') alerts"
say ""

# login (curl) -> the cookie of a session of "bench"
cookie() {
  local url=URL_$1
  curl -s --cacert "$T/$1/ca.crt" -D - -o /dev/null -X POST -H 'Content-Type: application/json' -H "Origin: ${!url}" \
    -d "$(jq -cn --arg p "$PW" '{name:"bench",password:$p}')" "${!url}/api/v1/session" |
    grep -io 'mamori_session=[^;]*' | head -1 | cut -d= -f2
}
target() { # NAME: the pages' subjects: the site, host and incident with the most alerts, the newest guard alert
  local url=URL_$1
  jq -cn --arg name "$1" --arg url "${!url}" --arg cookie "$(cookie "$1")" --arg pw "$PW" \
    --arg site "$(q "$1" 'SELECT s.name FROM alerts a JOIN sites s ON s.id = a.site_id GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')" \
    --arg host "$(q "$1" 'SELECT host_id FROM alerts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1')" \
    --arg alert "$(q "$1" "SELECT max(id) FROM alerts WHERE kind = 'ransomware'")" \
    --arg incident "$(q "$1" 'SELECT id FROM incidents ORDER BY alert_count DESC, id DESC LIMIT 1')" \
    '{name:$name, url:$url, cookie:$cookie, password:$pw, site:$site, host:$host, alert:$alert, incident:$incident}'
}
TARGETS="[$(target full),$(target small)]"
say "load average before the page loads: $(cut -d' ' -f1-3 /proc/loadavg)"
TARGETS=$TARGETS LOADS=$LOADS OUT=$T/pages.json ROOT=$ROOT CHROMIUM=$CHROMIUM node "$ROOT/bench/console/pages.mjs" >"$T/pages.out" 2>&1 ||
  { echo "page loads failed: $(grep -v "^    at " "$T/pages.out" | tail -8)"
    echo "full server's log: $(tail -5 "$T/full.err")"; exit 1; }
cp "$T/pages.json" "${OUT%.md}.json"

# p50 and p95 (nearest rank) of a JSON list of numbers
pct='sort | [.[((length * 0.5) | ceil) - 1], .[((length * 0.95) | ceil) - 1]]'
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "-" }'; }
say ""
say "## Pages (ms from navigation start to the data in the DOM; login: from submit)"
say ""
say "| page | full p50 | full p95 | small p50 | small p95 | full/small p50 | p95 <= 1000 ms |"
say "|---|---:|---:|---:|---:|---:|---|"
for p in $(jq -r '.pages | keys_unsorted[]' "$T/pages.json"); do
  read -r f50 f95 < <(jq -r --arg p "$p" ".pages[\$p].full | $pct | @tsv" "$T/pages.json")
  read -r s50 s95 < <(jq -r --arg p "$p" ".pages[\$p].small | $pct | @tsv" "$T/pages.json")
  say "| $p | $f50 | $f95 | $s50 | $s95 | $(ratio "$f50" "$s50") | $(awk -v a="$f95" 'BEGIN { print (a <= 1000) ? "met" : "MISSED" }') |"
done

# curl_times NAME PATH: REPS fetches on one connection -> "p50 p95 bytes" (ms)
curl_times() {
  local url=URL_$1 cookie=COOKIE_$1 urls=() i
  for ((i = 0; i < REPS; i++)); do urls+=("${!url}$2"); done
  curl -s --cacert "$T/$1/ca.crt" -H "Cookie: mamori_session=${!cookie}" -w '%{time_total} %{size_download} %{http_code}\n' \
    $(printf -- '-o /dev/null %.0s' "${urls[@]}") "${urls[@]}" |
    sort -n | awk '{ t[NR] = $1 * 1000; s = $2; c = $3 } END {
      printf "%.1f %.1f %d %s\n", t[int((NR + 1) / 2)], t[int(NR * 0.95 + 0.999)], s, c }'
}
COOKIE_full=$(cookie full) COOKIE_small=$(cookie small)
say ""
say "## API calls the pages made (curl, $REPS on one connection; ms)"
say ""
say "| page: call (full store) | full p50 | full p95 | bytes | small p50 | full/small p50 |"
say "|---|---:|---:|---:|---:|---:|"
# each call of the full store with the small store's call of the same shape
# (ids, names, times and cursors aside; none for the extra pages of a list)
jq -r '.requests | to_entries[] | .key as $p | .value as $v
  | def norm: gsub("cursor=[^&]*"; "cursor=") | gsub("since=[0-9]+"; "since=")
      | gsub("/(?<k>hosts|sites|alerts|incidents)/[^/?]+"; "/\(.k)/X")
      | gsub("(?<k>host|site)=[^&]*"; "\(.k)=X");
  $v.full[] | .path as $fp
  | [$p, $fp, ([$v.small[]?.path | select(norm == ($fp | norm))][0] // "-")] | @tsv' "$T/pages.json" >"$T/calls"
while IFS=$'\t' read -r p fp sp; do
  read -r f50 f95 fb _ < <(curl_times full "$fp")
  s50=-; [ "$sp" != - ] && read -r s50 _ _ _ < <(curl_times small "$sp")
  say "| $p: \`$(sed 's/cursor=[^&]*/cursor=…/' <<<"$fp")\` | $f50 | $f95 | $fb | $s50 | $(ratio "$f50" "$s50") |"
done <"$T/calls"
for fp in /api/v1/health /static/app.js; do
  read -r f50 f95 fb _ < <(curl_times full "$fp")
  read -r s50 _ _ _ < <(curl_times small "$fp")
  say "| floor: \`$fp\` (no store read) | $f50 | $f95 | $fb | $s50 | $(ratio "$f50" "$s50") |"
done
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); server RSS: full $(awk '/VmRSS/ {print $2, $3}' "/proc/${PIDS[0]}/status"), small $(awk '/VmRSS/ {print $2, $3}' "/proc/${PIDS[1]}/status")"
