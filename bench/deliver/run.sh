#!/usr/bin/env bash
# bench/deliver/run.sh - alert delivery latency of `mamori server`: from the
# moment the server stored an alert (its "alert" event line, written right
# after the commit) to the moment a webhook receiver on 127.0.0.1 got it,
# over N alerts (default 200) sent by a real enrolled agent, one every
# 10 ms. Floor: the same receiver answering a plain `curl` POST, N times
# (curl's time_total: connect, request, answer; the process start excluded).
# Prints p50/p99/max of both, in ms. Target (issue 5): p99 <= 1000 ms.
#   bench/deliver/run.sh [N]        MAMORI=build/asan/mamori for the ASan build
. "$(dirname "$0")/../../tests/integration/lib.sh"
N=${1:-200}
T=$(lib_mktemp_dir bench-deliver)
D=$T/data
RECV=$REPO_ROOT/tests/integration/delivery/receiver.py
lib_start_bg "$T/hook.log" python3 "$RECV" http "$T/hook.port" "$T/hook.jsonl"
for ((i = 0; i < 100; i++)); do [ -s "$T/hook.port" ] && break; sleep 0.05; done
HP=$(cat "$T/hook.port")
lib_start_bg "$T/server.out" "$MAMORI" server run --data "$D" --listen 127.0.0.1:0 --api-listen none
READY=$(wait_json "$T/server.out" ready 20) || { echo "server did not start" >&2; exit 1; }
PORT=$(printf '%s' "$READY" | jq -r .listen | sed 's/.*://')
tok=$("$MAMORI" server token --data "$D" --site bench 2>/dev/null)
"$MAMORI" agent enroll --server "https://127.0.0.1:$PORT" --token "$tok" --dir "$T/a" --hostname bench-1 >/dev/null 2>&1
"$MAMORI" server route add --data "$D" --site bench --webhook "http://127.0.0.1:$HP/hook" >/dev/null
lib_start_bg "$T/agent.out" "$MAMORI" agent run --dir "$T/a" --no-guard
sleep 1.5
for ((i = 1; i <= N; i++)); do
  "$MAMORI" agent alert --dir "$T/a" --kind bench --severity info --summary "b $i" >/dev/null
  sleep 0.01
done
for ((i = 0; i < 600; i++)); do [ "$(wc -l <"$T/hook.jsonl" 2>/dev/null || echo 0)" -ge "$N" ] && break; sleep 0.1; done

stats() { # file of ms values -> "n p50 p99 max"
  sort -n "$1" >"$1.s"
  local n; n=$(wc -l <"$1.s")
  echo "$n $(sed -n "$(((n + 1) / 2))p" "$1.s") $(sed -n "$(((n * 99 + 99) / 100))p" "$1.s") $(tail -1 "$1.s")"
}
jq -cR 'fromjson? | select(.event=="alert" and .kind=="bench") | "\(.summary)\t\(.time_ms)"' -r "$T/server.out" | sort >"$T/stored.tsv"
jq -r '(.body | fromjson | .alert.summary) + "\t" + (.t * 1000 | floor | tostring)' "$T/hook.jsonl" | sort >"$T/recv.tsv"
join -t $'\t' "$T/stored.tsv" "$T/recv.tsv" | awk -F'\t' '{print $3 - $2}' >"$T/lat"
read -r n p50 p99 max <<<"$(stats "$T/lat")"

: >"$T/floor.jsonl"
lib_start_bg "$T/floor.log" python3 "$RECV" http "$T/floor.port" "$T/floor.jsonl"
for ((i = 0; i < 100; i++)); do [ -s "$T/floor.port" ] && break; sleep 0.05; done
FP=$(cat "$T/floor.port")
for ((i = 1; i <= N; i++)); do # curl's own clock: connect + POST + answer, no process start
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' --data "{\"i\":$i}" \
    "http://127.0.0.1:$FP/floor"
done | awk '{ printf "%d\n", $1 * 1000 + 0.5 }' >"$T/floor"
read -r fn f50 f99 fmax <<<"$(stats "$T/floor")"
echo "delivery (alert stored -> webhook received), $n of $N alerts: p50 $p50 ms  p99 $p99 ms  max $max ms"
echo "floor (plain curl POST, time_total),           $fn posts:     p50 $f50 ms  p99 $f99 ms  max $fmax ms"
echo "target: p99 <= 1000 ms -> $([ "${p99:-99999}" -le 1000 ] && echo met || echo NOT met)"
