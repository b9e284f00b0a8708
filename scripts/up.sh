#!/usr/bin/env bash
# scripts/up.sh - the main job: installs what is needed (scripts/deps.sh),
# builds mamori, then runs in the foreground, on their embedded defaults,
#   - the server (`mamori server run`): agents on 0.0.0.0:7447, the API and
#     web console on https://127.0.0.1:8443/, data in /var/lib/mamori/server;
#   - a local agent enrolled to it (`mamori agent run`, /var/lib/mamori/agent),
#     which starts and supervises the file guard on /home and /srv.
# The first run creates the console user `admin` (role admin) with a random
# password, printed once and kept (0600) in DATA/admin.password, and enrolls
# this host in site "main" with a one-time token; later runs reuse both.
# Prints where the console listens and how to log in; alerts (and hosts gone
# offline) appear on the terminal as they reach the server; the full JSON-line
# output goes to DATA/server.log and AGENT/agent.log (the previous run's to
# *.log.1). Ctrl-C, SIGTERM or SIGHUP stops the agent (and its guard, which
# removes its marks and decoys), then the server; exit 0 when both stopped
# cleanly, 1 when something failed, 2 for bad input. Needs root.
#
# Extra arguments go to `mamori agent run` (e.g. --action alert, --config F).
# Environment (for tests and other layouts; the defaults are the above):
#   MAMORI=PATH             use this mamori binary; skips deps.sh and the build
#   MAMORI_UP_NO_BUILD=1    skip deps.sh and the build; use build/release/mamori
#   MAMORI_UP_DATA=DIR      server data directory (absolute)
#   MAMORI_UP_AGENT=DIR     agent directory (absolute)
#   MAMORI_UP_PROTECT=DIRS  directories the guard protects instead of the
#                           configuration's (colon-separated, absolute, existing)
#   MAMORI_UP_LISTEN=A:P    the server's agent port (--listen; else its default
#                           or DATA/server.yaml)
#   MAMORI_UP_API=A:P       the API and console (--api-listen; likewise)
#   MAMORI_UP_SITE=NAME     the site this host is enrolled in (default main)
#   MAMORI_UP_WAIT=SECONDS  bound on each start-up wait (default 60)
# shellcheck disable=SC2317  # stop, cleanup, on_exit: called from traps
set -eu
# a MAMORI given relative to the caller's directory, before the cd
if [ -n "${MAMORI:-}" ] && [ -e "$MAMORI" ]; then MAMORI=$(realpath "$MAMORI"); fi
cd "$(dirname "$0")/.."
SRV_PID='' AG_PID='' WATCH_PID='' RC=0

die() { echo "scripts/up.sh: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run as root (the guard needs fanotify, CAP_SYS_ADMIN)"

DATA=${MAMORI_UP_DATA:-/var/lib/mamori/server}
AGENT=${MAMORI_UP_AGENT:-/var/lib/mamori/agent}
SITE=${MAMORI_UP_SITE:-main}
WAIT=${MAMORI_UP_WAIT:-60}
PWFILE=$DATA/admin.password
SRV_LOG=$DATA/server.log
AG_LOG=$AGENT/agent.log

# ------------------------------------------------------ check the input --
case $DATA in /*) ;; *) die "MAMORI_UP_DATA '$DATA' is not an absolute path" ;; esac
case $AGENT in /*) ;; *) die "MAMORI_UP_AGENT '$AGENT' is not an absolute path" ;; esac
[[ $WAIT =~ ^[1-9][0-9]{0,3}$ ]] || die "MAMORI_UP_WAIT '$WAIT' is not a number of seconds (1-9999)"
[[ $SITE =~ ^[A-Za-z0-9._-]{1,63}$ ]] || die "MAMORI_UP_SITE '$SITE': use 1-63 letters, digits, '.', '_' or '-'"
protect_args=()
if [ -n "${MAMORI_UP_PROTECT+set}" ]; then
  IFS=: read -r -a dirs <<<"$MAMORI_UP_PROTECT"
  [ ${#dirs[@]} -gt 0 ] || die "MAMORI_UP_PROTECT is empty (unset it for the default /home and /srv)"
  for d in "${dirs[@]}"; do
    case $d in /*) ;; *) die "MAMORI_UP_PROTECT: '$d' is not an absolute path" ;; esac
    [ -d "$d" ] || die "MAMORI_UP_PROTECT: '$d' is not an existing directory"
    protect_args+=(--protect "$d")
  done
fi
[ "${MAMORI_UP_API:-}" != none ] || die "MAMORI_UP_API=none: up.sh serves the console; give ADDR:PORT"
srv_args=()
[ -z "${MAMORI_UP_LISTEN:-}" ] || srv_args+=(--listen "$MAMORI_UP_LISTEN")
[ -z "${MAMORI_UP_API:-}" ] || srv_args+=(--api-listen "$MAMORI_UP_API")

# ---------------------------------------------------------------- build --
if [ -n "${MAMORI:-}" ]; then
  [ -x "$MAMORI" ] || die "MAMORI '$MAMORI' is not an executable file"
elif [ "${MAMORI_UP_NO_BUILD:-0}" = 1 ]; then
  MAMORI=$PWD/build/release/mamori
  [ -x "$MAMORI" ] || die "$MAMORI is not built (run make, or unset MAMORI_UP_NO_BUILD)"
else
  bash scripts/deps.sh
  make -j"$(nproc)"
  MAMORI=$PWD/build/release/mamori
fi
for t in jq setsid setpriv tail; do
  command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh installs it)"
done
[ ${#protect_args[@]} -gt 0 ] || mkdir -p /srv

# ------------------------------------------------------------ processes --
# start LOG CMD...: CMD in its own session (a terminal's ^C reaches this
# script only, which stops the agent before the server), with SIGTERM when
# this script dies; output to LOG, the previous run's kept as LOG.1.
# Sets STARTED (the PID of CMD itself: setsid and setpriv exec).
start() {
  local log=$1; shift
  if [ -f "$log" ]; then mv -f "$log" "$log.1"; fi
  (umask 077; : >"$log")
  setsid setpriv --pdeathsig TERM "$@" >>"$log" 2>&1 </dev/null &
  STARTED=$!
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
running() { alive "$1" && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }

# stop PID NAME SECONDS: SIGTERM, wait, SIGKILL after SECONDS; reap it.
stop() {
  local pid=$1 name=$2 i rc
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $3 * 10; i++)); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then
    echo "mamori: the $name did not stop within $3 s of SIGTERM: killed" >&2
    kill -KILL "$pid" 2>/dev/null || true
    RC=1
  fi
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" -eq 0 ] || { echo "mamori: the $name exited with status $rc" >&2; RC=1; }
}

cleanup() {
  trap '' INT TERM HUP
  local any=$AG_PID$SRV_PID i
  [ -z "$any" ] || echo "mamori: stopping the agent and its guard, then the server"
  stop "$AG_PID" agent 30
  stop "$SRV_PID" server 20
  # the watcher's tail ends with the server (--pid), and jq with it
  if [ -n "$WATCH_PID" ]; then
    for ((i = 0; i < 30; i++)); do running "$WATCH_PID" || break; sleep 0.1; done
    kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  [ -z "$any" ] || echo "mamori: stopped"
  exit "$RC"
}
on_exit() { # the script's status unless a failure was recorded already
  local st=$?
  [ "$RC" -ne 0 ] || RC=$st
  cleanup
}
trap on_exit EXIT
trap 'exit 0' INT TERM HUP

fail() { echo "mamori: $*" >&2; RC=1; exit 1; }

# event LOG EVENT: the first {"event":EVENT} line of LOG (compact), or nothing.
event() { jq -cR --arg e "$2" 'fromjson? | select(.event==$e)' <"$1" 2>/dev/null | head -n 1; }

# wait_event LOG EVENT PID NAME: wait up to WAIT s for the line while PID lives.
wait_event() {
  local i line
  for ((i = 0; i < WAIT * 10; i++)); do
    line=$(event "$1" "$2")
    [ -n "$line" ] && { echo "$line"; return 0; }
    alive "$3" || fail "the $4 exited before it was ready; the end of $1:
$(tail -n 15 "$1")"
    sleep 0.1
  done
  fail "no '$2' from the $4 within $WAIT s; the end of $1:
$(tail -n 15 "$1")"
}

# ---------------------------------------------------------------- server --
(umask 077; mkdir -p "$DATA")
start "$SRV_LOG" "$MAMORI" server run --data "$DATA" "${srv_args[@]}"
SRV_PID=$STARTED
ready=$(wait_event "$SRV_LOG" ready "$SRV_PID" server) || exit 1
api=$(wait_event "$SRV_LOG" api_ready "$SRV_PID" server) || exit 1
listen=$(jq -r .listen <<<"$ready")
api_listen=$(jq -r .listen <<<"$api")
port=${listen##*:}
host=${listen%:*}
case $host in
  0.0.0.0 | "[::]") agent_url=https://127.0.0.1:$port remote_url=https://$(hostname):$port ;;
  *) agent_url=https://$listen remote_url=https://$listen ;;
esac
api_host=${api_listen%:*}
case $api_host in 0.0.0.0 | "[::]") api_host=$(hostname) ;; esac
CONSOLE=https://$api_host:${api_listen##*:}/
echo "mamori: server ready: agents connect to port $port ($listen), API and console on $CONSOLE"

# alerts and hosts gone offline, as the server stores them, on the terminal
# shellcheck disable=SC2016  # a jq program
tail -n +1 -s 0.2 --pid="$SRV_PID" -F "$SRV_LOG" 2>/dev/null |
  jq --unbuffered -rR 'fromjson? | select(.event == "alert" or .event == "offline") |
    (.time_ms / 1000 | floor | strflocaltime("%Y-%m-%d %H:%M:%S")) as $t |
    (if .severity then "\(.severity) \(.kind): " else "" end) as $what |
    "mamori \(.event | ascii_upcase) \($t) host \(.hostname // .host_id) (site \(.site // "?")): \($what)\(.summary // "")"' &
WATCH_PID=$!

# ------------------------------------------------------------- the user --
users=$("$MAMORI" server user --data "$DATA" list) || fail "could not list the console users"
if [ -n "$(jq -r 'select(.name == "admin") | .name' <<<"$users")" ]; then
  if [ -f "$PWFILE" ]; then
    pw_note="password in $PWFILE (made by the first run; not shown again)"
  else
    pw_note="password not kept by up.sh; set one with: $MAMORI server user --data $DATA passwd admin"
  fi
  echo "mamori: console user 'admin' exists; $pw_note"
else
  (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$PWFILE.new")
  "$MAMORI" server user --data "$DATA" add admin --role admin --password-stdin <"$PWFILE.new" >/dev/null ||
    { rm -f "$PWFILE.new"; fail "could not create the console user admin"; }
  mv -f "$PWFILE.new" "$PWFILE"
  pw_note="password in $PWFILE"
  echo "mamori: created the console user 'admin' (role admin). Its password, shown this once:"
  echo
  echo "    $(cat "$PWFILE")"
  echo
  echo "  kept in $PWFILE (mode 0600); change it with: $MAMORI server user --data $DATA passwd admin"
fi

# ------------------------------------------------------------ enrollment --
if [ -f "$AGENT/agent.json" ]; then
  cmp -s "$AGENT/ca.crt" "$DATA/ca.crt" ||
    fail "$AGENT is enrolled with another server (its ca.crt is not $DATA/ca.crt); remove $AGENT to enroll this host again"
  echo "mamori: this host is enrolled already ($(jq -r '"host \(.host_id), site \(.site), server \(.server)"' "$AGENT/agent.json"))"
  [ "$(jq -r .server "$AGENT/agent.json")" = "$agent_url" ] ||
    echo "mamori: warning: the agent connects to $(jq -r .server "$AGENT/agent.json"), the server now listens on $listen" >&2
else
  token=$("$MAMORI" server token --data "$DATA" --site "$SITE" --expires 10m 2>/dev/null) ||
    fail "could not make an enrollment token for site $SITE"
  out=$("$MAMORI" agent enroll --server "$agent_url" --token "$token" --dir "$AGENT" 2>&1) ||
    fail "enrolling this host failed: $out"
  echo "mamori: $out"
fi

# ----------------------------------------------------------------- agent --
start "$AG_LOG" "$MAMORI" agent run --dir "$AGENT" "${protect_args[@]}" "$@"
AG_PID=$STARTED
guard=$(wait_event "$AG_LOG" guard_ready "$AG_PID" agent) || exit 1
for ((i = 0; i < WAIT * 10; i++)); do
  [ -n "$(event "$AG_LOG" connected)" ] && break
  alive "$AG_PID" || break
  sleep 0.1
done
[ -n "$(event "$AG_LOG" connected)" ] ||
  echo "mamori: warning: the agent has not connected to the server yet; see $AG_LOG" >&2

cat <<EOF

mamori is running.
  console  $CONSOLE   user admin, $pw_note
  TLS      the certificate is signed by the server's own CA, so a browser warns
           until you trust $DATA/ca.crt (curl --cacert $DATA/ca.crt)
  guard    $(jq -r .note <<<"$guard")
  agents   this host is enrolled; another host: $MAMORI server token --data $DATA --site $SITE,
           then there: mamori agent enroll --server $remote_url --token TOKEN
  logs     JSON lines: server $SRV_LOG, agent and guard $AG_LOG;
           alerts and hosts going offline are shown here as they arrive
  stop     Ctrl-C (or kill -TERM $$): stops the agent and its guard, then the server

EOF

# ------------------------------------------------------------ foreground --
rc=0
wait -n -p which "$SRV_PID" "$AG_PID" || rc=$?
if [ "$which" = "$SRV_PID" ]; then SRV_PID=; name=server; log=$SRV_LOG; else AG_PID=; name=agent; log=$AG_LOG; fi
fail "the $name exited (status $rc); the end of $log:
$(tail -n 15 "$log")"
