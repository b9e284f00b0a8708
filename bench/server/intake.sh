#!/usr/bin/env bash
# bench/server/intake.sh - events/s stored by `mamori server` from N real
# agents on loopback, with the server's CPU time and peak RSS.
#
#   bench/server/intake.sh [AGENTS] [EVENTS_PER_AGENT] [-- extra `server run` args]
#
# Each agent (`mamori agent run --no-guard`, its own directory) starts with
# EVENTS_PER_AGENT events already in its event spool (`mamori agent event`,
# ~190-byte JSON objects), so the run measures the path agent spool ->
# EVENTS frames -> TLS -> intake queue -> SQLite, not the spooling. The clock
# runs from the agents' start to the moment the events table holds them all
# (polled every 50 ms). Prints one JSON line: agents, events, seconds,
# events_per_s, server_cpu_s (user+system over the run), server_cpu_pct (of
# one core), server_rss_max_mib (VmHWM), and the same for the agents
# together. Everything lives in a temporary directory, removed at the end;
# only processes this script started are stopped. Needs jq and sqlite3.
set -u
AGENTS=${1:-4}
PER=${2:-250000}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = -- ] && shift
REPO=$(cd "$(dirname "$0")/../.." && pwd)
M=${MAMORI:-$REPO/build/release/mamori}
T=$(mktemp -d /tmp/mamori-bench-intake.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

mkdir -m 700 "$T/data"
"$M" server run --data "$T/data" --listen 127.0.0.1:0 --api-listen none "$@" >"$T/server.out" 2>&1 &
SRV=$!; PIDS+=("$SRV")
for _ in $(seq 100); do grep -q '"event":"ready"' "$T/server.out" && break; sleep 0.1; done
PORT=$(grep -m1 '"event":"ready"' "$T/server.out" | jq -r .listen | sed 's/.*://')
[ -n "$PORT" ] || { echo "server did not start: $(tail -5 "$T/server.out")" >&2; exit 1; }

seq 1 "$PER" | awk '{printf "{\"kind\":\"proc_exec\",\"time_ms\":%d,\"pid\":%d,\"exe\":\"/usr/bin/example-%d\",\"args\":\"--flag value %d\",\"user\":\"svc\"}\n", 1700000000000 + $1, $1, $1 % 97, $1}' >"$T/events.jsonl"
for i in $(seq "$AGENTS"); do
  tok=$("$M" server token --data "$T/data" --site bench)
  "$M" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok" --dir "$T/a$i" \
    --hostname "bench-$i" >/dev/null 2>&1 || { echo "enroll $i failed" >&2; exit 1; }
  "$M" agent event --dir "$T/a$i" --file "$T/events.jsonl" >/dev/null || exit 1
done
TOTAL=$((AGENTS * PER))
c0=$(ticks "$SRV"); t0=$(ms)
APIDS=()
for i in $(seq "$AGENTS"); do
  "$M" agent run --no-guard --dir "$T/a$i" >"$T/a$i.out" 2>&1 &
  APIDS+=($!); PIDS+=($!)
done
n=0
while [ "$n" -lt "$TOTAL" ]; do
  sleep 0.05
  n=$(sqlite3 -cmd '.timeout 2000' "$T/data/server.db" 'SELECT max(id) FROM events' 2>/dev/null)
  n=${n:-0}
  [ $(($(ms) - t0)) -gt 600000 ] && { echo "timeout at $n of $TOTAL" >&2; exit 1; }
done
t1=$(ms); c1=$(ticks "$SRV")
stored=$(sqlite3 "$T/data/server.db" 'SELECT count(*) FROM events')
acpu=0; arss=0
for p in "${APIDS[@]}"; do
  acpu=$((acpu + $(ticks "$p"))); arss=$((arss + $(hwm "$p")))
done
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1000}')
jq -cn --argjson agents "$AGENTS" --argjson events "$stored" --argjson s "$secs" \
  --argjson cpu "$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b-a)/hz}')" \
  --argjson rss "$(awk -v k="$(hwm "$SRV")" 'BEGIN{printf "%.1f", k/1024}')" \
  --argjson acpu "$(awk -v a="$acpu" -v hz="$HZ" 'BEGIN{printf "%.2f", a/hz}')" \
  --argjson arss "$(awk -v k="$arss" 'BEGIN{printf "%.1f", k/1024}')" \
  '{agents: $agents, events: $events, seconds: $s, events_per_s: (($events / $s) | floor),
    server_cpu_s: $cpu, server_cpu_pct: (($cpu / $s * 100) | floor), server_rss_max_mib: $rss,
    agents_cpu_s: $acpu, agents_rss_max_mib_sum: $arss}'
