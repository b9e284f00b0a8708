#!/usr/bin/env bash
# tests/integration/test_up.sh - scripts/up.sh, the main job, end to end with
# every default overridden into this test's own directories: the server's
# data and the agent's directory under $LIB_TMP, free loopback ports, the
# guard protecting ONLY a tmpfs this test mounts (never /home or /srv), no
# deps.sh or build (MAMORI = a copy of the binary).
#
# Cases: the first run starts the server (ready, API on the port asked) and
# prints the banner; it makes the console user admin with a random password,
# printed once and kept 0600 in DATA/admin.password, with which a login over
# real TLS (curl --cacert DATA/ca.crt, POST /api/v1/session) works and a
# wrong one does not; the host is enrolled once and online; the guard
# protects the test tmpfs only (its ready line, and every fanotify mark it
# holds is on that superblock); a simulated attack there is stopped and its
# alert is shown on up.sh's terminal; SIGINT stops everything (exit 0, no
# process of the binary left, no fanotify mark on the tmpfs, decoys gone);
# a second run reuses all (no password printed, the same password file, no
# new token, one host row, the same certificate) and SIGTERM stops it
# cleanly; a busy API port is a clear failure that leaves nothing running;
# bad input (a protected directory that does not exist, a relative data
# directory) is refused with exit 2 before anything starts.
# Needs root, jq, curl, sqlite3, ss, setpriv.
. "$(dirname "$0")/lib.sh"
need_root
need_mamori server
need_tools up jq curl sqlite3 ss setpriv

T=$(lib_mktemp_dir up)
# a copy of the binary: a rebuild in the tree during the run cannot swap it
cp "$MAMORI" "$T/mamori" && MAMORI=$T/mamori
D=$T/server
A=$T/agent
UP=$REPO_ROOT/scripts/up.sh
ms() { echo $(($(date +%s%N) / 1000000)); }
T0=$(ms)
step() { echo "# t+$(($(ms) - T0)) ms: $*" >&2; } # where the time goes, on stderr
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(proc_state "$1")" = Z ]; }

P=$(mk_tmpfs 64) || { fail up-setup "mk_tmpfs: $LIB_ERR"; lib_summary; exit 1; }
case $P in "$LIB_TMP"/*) ;; *) fail up-setup "mount point $P not under $LIB_TMP"; lib_summary; exit 1 ;; esac
echo "made by test_up.sh" >"$P/marker.txt"
# the tmpfs's superblock as fanotify's fdinfo prints it (sdev, hex)
mm=$(awk -v m="$P" '$5 == m { print $3 }' /proc/self/mountinfo | tail -1)
SDEV=$(printf '%x' $(((${mm%%:*} << 20) | ${mm##*:})))

# free_port: a loopback TCP port nothing listens on now
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((RANDOM % 30000 + 20000))
    [ "$p" = "${PORT:-}" ] && continue
    [ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  return 1
}
if ! PORT=$(free_port) || ! APORT=$(free_port); then fail up-setup "no free port"; lib_summary; exit 1; fi
URL=https://127.0.0.1:$APORT
ENVS=(MAMORI="$MAMORI" MAMORI_UP_DATA="$D" MAMORI_UP_AGENT="$A" MAMORI_UP_PROTECT="$P"
  MAMORI_UP_LISTEN="127.0.0.1:$PORT" MAMORI_UP_API="127.0.0.1:$APORT" MAMORI_UP_SITE=lab)

# start_up N [ENV...]: bash scripts/up.sh in its own session with SIGINT at
# its default (a background job's SIGINT is ignored, and up.sh must trap it);
# output in $T/up.N.out, UP_PID.
start_up() {
  local n=$1; shift
  UP_OUT=$T/up.$n.out
  lib_start_bg "$UP_OUT" env --default-signal=INT "${ENVS[@]}" "$@" bash "$UP"
  UP_PID=$LIB_BG_PID
}

# wait_banner: up.sh printed "mamori is running" (120 s: ASan, a loaded
# machine); sets SRV, AG (its children) and GPID. They are not registered
# for lib_cleanup by PID (PIDs wrap at 32768 here and may be reused by then):
# while up.sh lives they are its descendants, which kill_tree finds, and
# when it dies they get SIGTERM (setpriv --pdeathsig).
wait_banner() {
  local t0 deadline p c
  t0=$(ms) deadline=$(($(ms) + 120000))
  while ! grep -q '^mamori is running' "$UP_OUT"; do
    gone "$UP_PID" && { LIB_ERR="up.sh exited: $(tail -c 800 "$UP_OUT")"; return 1; }
    [ "$(ms)" -lt "$deadline" ] || { LIB_ERR="no banner after 120 s: $(tail -c 800 "$UP_OUT")"; return 1; }
    sleep 0.2
  done
  SRV='' AG=''
  for p in $(lib_ps | awk -v u="$UP_PID" '$2 == u { print $1 }'); do
    c=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)
    case $c in "$MAMORI server run "*) SRV=$p ;; "$MAMORI agent run "*) AG=$p ;; esac
  done
  if [ -z "$SRV" ] || [ -z "$AG" ]; then LIB_ERR="no server/agent child of up.sh ($SRV/$AG)"; return 1; fi
  echo "# $(basename "$UP_OUT"): banner $(($(ms) - t0)) ms after the start" >&2
  GPID=$(jq -rR 'fromjson? | select(.event=="guard_ready") | .pid' <"$A/agent.log" | head -1)
}

# login PASSWORD: the HTTP status of POST /api/v1/session as admin, over TLS
# trusting only the server's CA
login() {
  curl -s -o "$T/login.body" -D "$T/login.hdr" -w '%{http_code}' --cacert "$D/ca.crt" --max-time 30 \
    -X POST -H 'Content-Type: application/json' -H "Origin: $URL" \
    -d "$(jq -cn --arg p "$1" '{name:"admin",password:$p}')" "$URL/api/v1/session"
}

hosts() { "$MAMORI" server hosts --data "$D" 2>/dev/null; }

# wait_online: the one host row is online (within 15 s)
wait_online() {
  local i
  for ((i = 0; i < 150; i++)); do
    [ "$(hosts | jq -r .status)" = online ] && return 0
    sleep 0.1
  done
  return 1
}

# mine: PIDs running this test's copy of the binary
mine() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$MAMORI" ] && echo "${p#/proc/}"
  done
}

# marks: fanotify mark lines on the tmpfs, in any process
marks() { grep -h "^fanotify .*sdev:$SDEV " /proc/[0-9]*/fdinfo/* 2>/dev/null; }

# stop_up SIG NAME: send SIG to up.sh; it must exit 0 within 60 s, saying so,
# and leave no process of the binary, no watcher, no mark and no decoy.
stop_up() {
  local sig=$1 name=$2 i rc left why='' t0
  t0=$(ms)
  kill -s "$sig" "$UP_PID"
  for ((i = 0; i < 600; i++)); do gone "$UP_PID" && break; sleep 0.1; done
  if ! gone "$UP_PID"; then
    fail "$name" "up.sh still running 60 s after SIG$sig: $(tail -c 600 "$UP_OUT")"
    kill_tree "$UP_PID"; return
  fi
  wait "$UP_PID"; rc=$?
  echo "# up.sh exited $(($(ms) - t0)) ms after SIG$sig" >&2
  [ "$rc" = 0 ] || why+="exit $rc; "
  grep -q '^mamori: stopped$' "$UP_OUT" || why+="no 'stopped' line; "
  for p in "$SRV" "$AG" "$GPID"; do
    gone "$p" || [ "$(readlink "/proc/$p/exe")" != "$MAMORI" ] || why+="pid $p alive; "
  done
  left=$(mine | tr '\n' ' ')
  [ -z "$left" ] || why+="processes of the binary left: $left; "
  for p in $(lib_ps | awk '{ print $1 }'); do
    { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$D/server.log" && why+="watcher $p left; "
  done
  [ -z "$(marks)" ] || why+="fanotify marks left on the tmpfs; "
  left=$(find "$P" -name '*mamori_decoy*' | tr '\n' ' ')
  [ -z "$left" ] || why+="decoys left: $left; "
  [ "$(jq -rR 'fromjson? | select(.event=="guard_stopped") | .status' <"$A/agent.log")" = "exited with status 0" ] ||
    why+="no clean guard_stopped line; "
  if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why $(tail -c 400 "$UP_OUT")"; fi
}

# ------------------------------------------------------------ first run --
step "set up; first run of up.sh"
start_up 1
if ! wait_banner; then fail up-first-start "$LIB_ERR"; lib_summary; exit 1; fi
rd=$(jq -cR 'fromjson? | select(.event=="ready")' <"$D/server.log" | head -1)
ard=$(jq -cR 'fromjson? | select(.event=="api_ready")' <"$D/server.log" | head -1)
if [ "$(jq -r .listen <<<"$rd")" = "127.0.0.1:$PORT" ] && [ "$(jq -r .listen <<<"$ard")" = "127.0.0.1:$APORT" ] &&
   grep -qF "console  $URL/   user admin" "$UP_OUT" && grep -qF "trust $D/ca.crt" "$UP_OUT" &&
   grep -qF "server $D/server.log, agent and guard $A/agent.log" "$UP_OUT"; then
  pass up-first-start
else
  fail up-first-start "ready '$rd' api '$ard'; banner: $(tail -c 900 "$UP_OUT")"
fi

PW=$(head -n 1 "$D/admin.password" 2>/dev/null)
st=$(stat -c '%a %U' "$D/admin.password" 2>/dev/null)
if [ "$st" = "600 root" ] && [[ $PW =~ ^[A-Za-z0-9_-]{16,}$ ]] && [ "$(grep -cF "$PW" "$UP_OUT")" = 1 ] &&
   grep -qF "kept in $D/admin.password (mode 0600)" "$UP_OUT"; then
  pass up-password-file
else
  fail up-password-file "mode/owner '$st', ${#PW} chars, printed $(grep -cF "${PW:-none}" "$UP_OUT") times"
fi

step "login"
c_ok=$(login "$PW"); hdr=$(cat "$T/login.hdr" 2>/dev/null)
c_bad=$(login "${PW}x")
if [ "$c_ok" = 201 ] && grep -qi '^set-cookie: mamori_session=' <<<"$hdr" && [ "$c_bad" = 401 ]; then
  pass up-login-tls
else
  fail up-login-tls "login with the file's password: $c_ok, with a wrong one: $c_bad ($(cat "$T/login.body" 2>/dev/null))"
fi

step "host online"
if wait_online && [ "$(hosts | wc -l)" = 1 ] && [ "$(hosts | jq -r .site)" = lab ] &&
   [ "$(sqlite3 "$D/server.db" 'SELECT count(*) FROM tokens')" = 1 ]; then
  pass up-host-online
else
  fail up-host-online "hosts: $(hosts | tr '\n' ' '); tokens $(sqlite3 "$D/server.db" 'SELECT count(*) FROM tokens')"
fi
HOST_ID=$(hosts | jq -r .host_id)

note=$(jq -rR 'fromjson? | select(.event=="guard_ready") | .note' <"$A/agent.log" | head -1)
gm=$(grep -h '^fanotify .*sdev:' "/proc/$GPID/fdinfo/"* 2>/dev/null | sed 's/.*sdev:\([0-9a-f]*\) .*/\1/' | sort -u | tr '\n' ' ')
if [[ $note == "protecting $P" || $note == "protecting $P;"* ]] && [ "$gm" = "$SDEV " ] && [ -n "$(marks)" ] &&
   [ -n "$(find "$P" -maxdepth 1 -name '*mamori_decoy*')" ] &&
   grep -qF "guard    $note" "$UP_OUT" && [ "$(proc_field "$GPID" 4)" = "$AG" ]; then
  pass up-guard-protects-test-dir-only
else
  fail up-guard-protects-test-dir-only "note '$note', guard $GPID marks on sdev '$gm' (tmpfs $SDEV)"
fi

# an attack on the tmpfs: stopped, and its alert shown on up.sh's terminal
step "sim corpus and attack"
if timeout 60 "$MAMORI" sim corpus --dir "$P/c" --files 30 --scale 0.2 --seed 7 >/dev/null 2>&1; then
  run_sim_bg "$T/sim.out" ransomware --dir "$P/c" --mode full
  t0=$(ms)
  while [ $(($(ms) - t0)) -lt 30000 ] && ! grep -q '^mamori ALERT .*critical ransomware: the guard' "$UP_OUT"; do
    sleep 0.1
  done
  line=$(grep '^mamori ALERT .*critical ransomware: the guard' "$UP_OUT" | head -1)
  if [ -n "$line" ] && [[ $line == *"site lab"* ]] && [[ $line == *"$P/c/"* ]]; then
    pass up-alert-on-terminal
    echo "# alert on the terminal $(($(ms) - t0)) ms after the attack started: $line" >&2
  else
    fail up-alert-on-terminal "no alert line on the terminal: $(tail -c 600 "$UP_OUT")"
  fi
  kill_tree "$SIM_PID"
else
  fail up-alert-on-terminal "sim corpus failed"
fi

step "SIGINT"
stop_up INT up-sigint-stops-all

# --------------------------------------------------------------- re-run --
sum_pw=$(sha256sum "$D/admin.password"); mt_pw=$(stat -c %y "$D/admin.password")
sum_crt=$(sha256sum "$A/host.crt")
step "second run"
start_up 2
if wait_banner; then
  why=''
  grep -qF "$PW" "$UP_OUT" && why+="password printed again; "
  grep -q 'created the console user' "$UP_OUT" && why+="user created again; "
  grep -qF "console user 'admin' exists; password in $D/admin.password" "$UP_OUT" || why+="no pointer to the password file; "
  grep -q 'this host is enrolled already' "$UP_OUT" || why+="not reported as enrolled; "
  [ "$(sha256sum "$D/admin.password")" = "$sum_pw" ] || why+="password file changed; "
  [ "$(stat -c %y "$D/admin.password")" = "$mt_pw" ] || why+="password file rewritten; "
  [ "$(sha256sum "$A/host.crt")" = "$sum_crt" ] || why+="new certificate; "
  [ "$(sqlite3 "$D/server.db" 'SELECT count(*) FROM tokens')" = 1 ] || why+="a new token; "
  wait_online || why+="host not online; "
  [ "$(hosts | wc -l)" = 1 ] && [ "$(hosts | jq -r .host_id)" = "$HOST_ID" ] || why+="hosts: $(hosts | tr '\n' ' '); "
  [ "$(login "$PW")" = 201 ] || why+="login failed; "
  [ -s "$D/server.log.1" ] && [ -s "$A/agent.log.1" ] || why+="previous logs not kept as .1; "
  if [ -z "$why" ]; then pass up-rerun-idempotent; else fail up-rerun-idempotent "$why"; fi

  # a busy API port (the running one): a clear failure, nothing left behind
  step "busy port"
  before=$(mine | sort | tr '\n' ' ')
  BP=$(free_port)
  out=$(env "${ENVS[@]}" MAMORI_UP_DATA="$T/server2" MAMORI_UP_AGENT="$T/agent2" \
    MAMORI_UP_LISTEN="127.0.0.1:$BP" MAMORI_UP_WAIT=30 timeout 90 bash "$UP" 2>&1 </dev/null); rc=$?
  after=$(mine | sort | tr '\n' ' ')
  if [ "$rc" = 1 ] && [[ $out == *"the server exited before it was ready"* ]] && [[ $out == *"127.0.0.1:$APORT"* ]] &&
     [ "$before" = "$after" ] && [ ! -e "$T/agent2" ]; then
    pass up-busy-port-fails-cleanly
  else
    fail up-busy-port-fails-cleanly "exit $rc, processes before '$before' after '$after': $(tail -c 600 <<<"$out")"
  fi

  step "SIGTERM"
  stop_up TERM up-sigterm-stops-all
else
  fail up-rerun-idempotent "$LIB_ERR"
  kill_tree "$UP_PID"
fi

# ------------------------------------------------------------ bad input --
bad() { # NAME WANT-IN-MESSAGE ENV...
  local name=$1 want=$2 out rc; shift 2
  out=$(env "${ENVS[@]}" MAMORI_UP_DATA="$T/bad-data" MAMORI_UP_AGENT="$T/bad-agent" "$@" \
    timeout 30 bash "$UP" 2>&1 </dev/null); rc=$?
  if [ "$rc" = 2 ] && [[ $out == *"$want"* ]] && [ ! -e "$T/bad-data" ] && [ ! -e "$T/bad-agent" ]; then
    pass "$name"
  else
    fail "$name" "exit $rc, wanted '$want' in: $out"
  fi
}
step "bad input"
bad up-bad-protect-missing "MAMORI_UP_PROTECT: '$T/missing' is not an existing directory" MAMORI_UP_PROTECT="$T/missing"
bad up-bad-protect-file "MAMORI_UP_PROTECT: '$P/marker.txt' is not an existing directory" MAMORI_UP_PROTECT="$P:$P/marker.txt"
bad up-bad-relative-data "MAMORI_UP_DATA 'data' is not an absolute path" MAMORI_UP_DATA=data
step "done"
lib_summary
