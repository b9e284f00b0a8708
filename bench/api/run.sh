#!/usr/bin/env bash
# bench/api/run.sh - page times of the HTTPS API on a generated store:
# 10,000 hosts in 20 sites, 100,000 alerts and 20,000 incidents (one per 5
# alerts, every 100th an outbreak, a third resolved; sizes: HOSTS=, ALERTS=),
# written with the sqlite3 CLI into a fresh data directory, then a real
# `mamori server` answers; each page is fetched REPS (20) times with curl
# over one keep-alive connection and the median and worst time_total are
# printed per query. Loopback only; everything in a temp directory removed
# at the end. Usage: bench/api/run.sh [path/to/mamori]
set -u
M=${1:-$(dirname "$0")/../../build/release/mamori}
HOSTS=${HOSTS:-10000} ALERTS=${ALERTS:-100000} REPS=${REPS:-20}
# alert times: one a second up to now (retention deletes alerts older than a year)
B=$(($(date +%s) * 1000 - ALERTS * 1000))
T=$(mktemp -d /tmp/mamori-bench-api.XXXXXX)
SRV=
cleanup() { [ -n "$SRV" ] && kill -TERM "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
D=$T/data
mkdir -p "$D"
"$M" server api-token --data "$D" --name bench >"$T/tok" 2>/dev/null || { echo "api-token failed"; exit 1; }
"$M" server api-token --data "$D" --name osaka --role site-admin --site site-07 >"$T/tok7" 2>/dev/null
t0=$(date +%s%N)
sqlite3 "$D/server.db" "
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19)
INSERT OR IGNORE INTO sites(name, created) SELECT printf('site-%02d', i), 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $HOSTS)
INSERT INTO hosts(id, site_id, hostname, cert_fp, enrolled, last_seen, status)
  SELECT printf('h-%016x', i), (SELECT id FROM sites WHERE name = printf('site-%02d', i % 20)),
         printf('host-%05d', i), printf('%064x', i), 0, 0,
         CASE WHEN i % 10 = 0 THEN 'offline' ELSE 'enrolled' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ALERTS)
INSERT INTO alerts(host_id, site_id, time, kind, severity, summary, body)
  SELECT printf('h-%016x', i % $HOSTS + 1),
         (SELECT id FROM sites WHERE name = printf('site-%02d', (i % $HOSTS + 1) % 20)),
         $B + i * 1000, 'encryption',
         CASE i % 5 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' WHEN 3 THEN 'low' ELSE 'info' END,
         'process /usr/bin/x' || i || ' encrypted files in /srv/share; mamori froze it', '{}' FROM n;
-- incidents: every 5 alerts (by id) one incident, every 100th an outbreak, a third resolved
INSERT INTO incidents(id, site_id, host_id, kind, key, title, severity, status, first, last,
                      alert_count, host_count, resolved_by, resolved_at, rev)
  SELECT g, MIN(site_id), CASE WHEN g % 100 = 0 THEN NULL ELSE MIN(host_id) END,
         CASE WHEN g % 100 = 0 THEN 'outbreak' ELSE 'host' END,
         CASE WHEN g % 100 = 0 THEN 'guard:encryption' ELSE 'actor:0a1b2c3d-' || g || '-1' END,
         'ransomware on ' || MIN(host_id) || ' by /usr/bin/x' || MIN(id),
         CASE (g / 7) % 4 WHEN 0 THEN 'critical' WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END,
         CASE WHEN g % 3 = 0 THEN 'resolved' ELSE 'open' END, MIN(time), MAX(time), COUNT(*),
         CASE WHEN g % 100 = 0 THEN COUNT(DISTINCT host_id) ELSE 1 END,
         CASE WHEN g % 3 = 0 THEN 'token:bench(bench)' END, CASE WHEN g % 3 = 0 THEN MAX(time) END, g
  FROM (SELECT (id - 1) / 5 + 1 AS g, * FROM alerts) GROUP BY g;
UPDATE alerts SET incident_id = CASE WHEN ((id - 1) / 5 + 1) % 100 = 0 THEN NULL ELSE (id - 1) / 5 + 1 END,
                  outbreak_id = CASE WHEN ((id - 1) / 5 + 1) % 100 = 0 THEN (id - 1) / 5 + 1 END;
COMMIT;" || { echo "sqlite3 failed"; exit 1; }
echo "store: $HOSTS hosts, $ALERTS alerts, $(sqlite3 "$D/server.db" 'SELECT count(*) FROM incidents') incidents in $((($(date +%s%N) - t0) / 1000000)) ms; $(du -h "$D/server.db" | cut -f1)"
"$M" server run --data "$D" --listen 127.0.0.1:0 --api-listen 127.0.0.1:0 >"$T/out" 2>"$T/err" &
SRV=$!
for _ in $(seq 100); do grep -q '"api_ready"' "$T/out" && break; sleep 0.1; done
P=$(grep '"api_ready"' "$T/out" | jq -r .listen | sed 's/.*://')
[ -n "$P" ] || { echo "server did not start: $(cat "$T/err")"; exit 1; }
page() { # LABEL TOKEN PATH
  local urls=() i
  for ((i = 0; i < REPS; i++)); do urls+=("https://127.0.0.1:$P$3"); done
  curl -s --cacert "$D/ca.crt" -H "Authorization: Bearer $2" -w '%{time_total} %{size_download}\n' \
    $(printf -- '-o /dev/null %.0s' "${urls[@]}") "${urls[@]}" |
    sort -n | awk -v l="$1" '{ t[NR] = $1 * 1000; s = $2 } END {
      printf "%-44s median %6.1f ms  worst %6.1f ms  %7d bytes\n", l, t[int((NR + 1) / 2)], t[NR], s }'
}
A=$(cat "$T/tok") S7=$(cat "$T/tok7")
page "sites (20, host counts)" "$A" "/api/v1/sites"
page "hosts, first page of 100" "$A" "/api/v1/hosts"
page "hosts, 500" "$A" "/api/v1/hosts?limit=500"
page "hosts?site=site-10&status=offline" "$A" "/api/v1/hosts?site=site-10&status=offline"
page "hosts?status=offline, 500" "$A" "/api/v1/hosts?status=offline&limit=500"
cur=$(curl -s --cacert "$D/ca.crt" -H "Authorization: Bearer $A" "https://127.0.0.1:$P/api/v1/hosts?limit=500&cursor=$(curl -s --cacert "$D/ca.crt" -H "Authorization: Bearer $A" "https://127.0.0.1:$P/api/v1/hosts?limit=500" | jq -r .next_cursor)" | jq -r .next_cursor)
page "hosts, third page of 500 (cursor)" "$A" "/api/v1/hosts?limit=500&cursor=$cur"
page "alerts, first page of 100" "$A" "/api/v1/alerts"
page "alerts, 500" "$A" "/api/v1/alerts?limit=500"
page "alerts?site=site-07 (site admin)" "$S7" "/api/v1/alerts"
page "alerts?severity=critical, 500" "$A" "/api/v1/alerts?severity=critical&limit=500"
page "alerts?host=h-...0042" "$A" "/api/v1/alerts?host=h-000000000000002a"
page "alerts?since=(last 10%)" "$A" "/api/v1/alerts?since=$(($B + ALERTS * 900))"
page "alerts?since=(last 10%)&severity=high" "$A" "/api/v1/alerts?since=$(($B + ALERTS * 900))&severity=high"
page "alerts/{id}" "$A" "/api/v1/alerts/50000"
page "incidents, first page of 100" "$A" "/api/v1/incidents"
page "incidents, 500" "$A" "/api/v1/incidents?limit=500"
page "incidents?status=open, 500" "$A" "/api/v1/incidents?status=open&limit=500"
page "incidents?site=site-07 (site admin)" "$S7" "/api/v1/incidents"
page "incidents?site=site-07&status=open&severity=high,critical" "$A" "/api/v1/incidents?site=site-07&status=open&severity=high,critical"
page "incidents?host=h-...0042" "$A" "/api/v1/incidents?host=h-000000000000002a"
icur=$(curl -s --cacert "$D/ca.crt" -H "Authorization: Bearer $A" "https://127.0.0.1:$P/api/v1/incidents?limit=500&cursor=$(curl -s --cacert "$D/ca.crt" -H "Authorization: Bearer $A" "https://127.0.0.1:$P/api/v1/incidents?limit=500" | jq -r .next_cursor)" | jq -r .next_cursor)
page "incidents, third page of 500 (cursor)" "$A" "/api/v1/incidents?limit=500&cursor=$icur"
page "incidents/{id} (host, 5 alerts)" "$A" "/api/v1/incidents/10001"
page "incidents/{id} (outbreak, 5 alerts)" "$A" "/api/v1/incidents/10000"
page "hosts/{id}/commands" "$A" "/api/v1/hosts/h-000000000000002a/commands"
page "health (no auth, no store read)" "" "/api/v1/health"
echo "server RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$SRV/status)"
