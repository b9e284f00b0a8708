# shellcheck shell=bash
# tests/integration/lib.sh - helpers sourced by the integration tests (and by
# bench/guard/run.sh).
#
#   . "$(dirname "$0")/lib.sh"
#   need_root
#   mnt=$(mk_ext4 256)                      # fresh loop-mounted ext4, cleaned up at exit
#   start_guard "$T/guard.log" --protect "$mnt" --action freeze || fail x "$LIB_ERR"
#   run_sim_bg "$T/sim.out" ransomware --dir "$mnt/c" --mode full   # sets SIM_PID
#   alert=$(wait_alert "$T/guard.log" 20) && pass x || fail x "no alert"
#   kill_tree "$SIM_PID"; stop_guard x
#
# Output protocol (read by tests/run.sh): one "PASS name" or "FAIL name: why"
# line per case on stdout. Diagnostics go to stderr.
#
# SAFETY. Everything this library creates lives under one mktemp directory
# ($LIB_TMP) or on filesystems it created there itself (sparse ext4 images
# loop-mounted on mountpoints inside $LIB_TMP, tmpfs mounts likewise). The
# guard is only ever pointed at those. Cleanup (EXIT trap, also run on
# INT/TERM/HUP) kills every process group/session this library started,
# then any process still holding a file on one of *our* mounts, deletes the
# network namespaces it made (mk_netns; tests that isolate or firewall run
# their agents only in those, never in ours), unmounts, detaches loop
# devices and removes $LIB_TMP (KEEP=1 keeps it for debugging).
# Cleanup state is kept in files, so mk_ext4 can be called inside $(...).
#
# Every wait is bounded; helpers return non-zero with a reason in LIB_ERR
# instead of hanging.

# ----------------------------------------------------------------- set-up --

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LIB_DIR/../.." && pwd)
MAMORI=${MAMORI:-$REPO_ROOT/build/release/mamori}
LIB_ERR=
GUARD_PID=
GUARD_LOG=
SIM_PID=
LIB_NPASS=0
LIB_NFAIL=0

LIB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mamori-it.XXXXXX") || {
  echo "FAIL lib: mktemp failed"; exit 1; }
# Registries, one entry a line (appended from subshells too).
: >"$LIB_TMP/.mounts" # mountpoint<TAB>loopdev-or-dash
: >"$LIB_TMP/.pgids"  # process-group / session leaders we started
: >"$LIB_TMP/.netns"  # network namespace<TAB>host-side veth

# ------------------------------------------------------------ reporting --

pass() { # NAME
  LIB_NPASS=$((LIB_NPASS + 1))
  echo "PASS $1"
}

fail() { # NAME WHY
  LIB_NFAIL=$((LIB_NFAIL + 1))
  local why=${2:-}
  why=${why//$'\n'/ }
  echo "FAIL $1: $why"
}

# lib_summary: print counts to stderr; exit status 0 iff no case failed.
lib_summary() {
  echo "# $LIB_NPASS passed, $LIB_NFAIL failed" >&2
  [ "$LIB_NFAIL" -eq 0 ]
}

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL $(basename "$0"): must run as root (loop mounts, fanotify)"
    exit 1
  fi
}

# need_tools NAME TOOL...: fail case NAME-setup and end the script unless
# every TOOL is on PATH (scripts/deps.sh installs them).
need_tools() {
  local name=$1 t
  shift
  for t in "$@"; do
    command -v "$t" >/dev/null || { fail "$name-setup" "$t is not installed"; lib_summary; exit 1; }
  done
}

# need_mamori CMD: fail the whole script unless "$MAMORI CMD" is implemented.
need_mamori() {
  local out
  if [ ! -x "$MAMORI" ]; then
    echo "FAIL $(basename "$0"): $MAMORI is not built"; exit 1
  fi
  out=$(timeout 10 "$MAMORI" "$1" --help 2>&1 </dev/null)
  if printf '%s' "$out" | grep -q 'not built yet'; then
    echo "FAIL $(basename "$0"): 'mamori $1' is not built yet"; exit 1
  fi
}

# now: wall clock in seconds with microseconds.
now() { echo "$EPOCHREALTIME"; }

# ------------------------------------------------------------ filesystems --

# lib_mktemp_dir [PREFIX]: a fresh directory inside $LIB_TMP.
lib_mktemp_dir() { mktemp -d "$LIB_TMP/${1:-d}.XXXXXX"; }

# mk_loopfs TYPE SIZE_MB MKFS_ARGS...: sparse image + mkfs.TYPE -q + loop
# mount on a fresh mountpoint; prints the mountpoint.
mk_loopfs() {
  local type=$1 size=$2 d dev
  shift 2
  d=$(lib_mktemp_dir "$type") || return 1
  truncate -s "${size}M" "$d/image" || return 1
  "mkfs.$type" -q "$@" "$d/image" >&2 || { LIB_ERR="mkfs.$type failed"; return 1; }
  mkdir "$d/mnt" || return 1
  dev=$(losetup -f --show "$d/image") || { LIB_ERR="losetup failed"; return 1; }
  printf '%s\t%s\n' "$d/mnt" "$dev" >>"$LIB_TMP/.mounts"
  mount -t "$type" "$dev" "$d/mnt" || { LIB_ERR="mount $dev failed"; return 1; }
  echo "$d/mnt"
}

# mk_ext4 SIZE_MB: an ext4 mk_loopfs. Extra mkfs options: MKFS_OPTS env.
mk_ext4() {
  # shellcheck disable=SC2086  # MKFS_OPTS is a word list on purpose
  mk_loopfs ext4 "$1" -F ${MKFS_OPTS:-}
}

# mk_xfs SIZE_MB: an xfs mk_loopfs with reflinks (the vault clones files).
mk_xfs() { mk_loopfs xfs "$1" -m reflink=1; }

# mk_tmpfs SIZE_MB: a fresh tmpfs; prints the mountpoint.
mk_tmpfs() {
  local size=$1 d
  d=$(lib_mktemp_dir tmpfs) || return 1
  mkdir "$d/mnt" || return 1
  printf '%s\t-\n' "$d/mnt" >>"$LIB_TMP/.mounts"
  mount -t tmpfs -o "size=${size}m,mode=0755" mamori-test "$d/mnt" || {
    LIB_ERR="mount tmpfs failed"; return 1; }
  echo "$d/mnt"
}

# --------------------------------------------------------------- network --

# mk_netns TAG: a network namespace of our own, tied to ours by a veth pair
# on a private /30 no interface here uses yet (10.213.A.B/30: .B+1 our side,
# .B+2 inside), its loopback up and no other route. Sets NETNS (its name),
# NETNS_VETH (our side of the pair), NETNS_HOST_IP and NETNS_IP. Registered
# before it is made, so lib_cleanup deletes it (with the veth pair and every
# nftables rule inside) once the processes this library started are gone.
# Sets variables: call it directly, not inside $(...). Needs root and ip.
mk_netns() {
  local n a b i vh va ns
  n=$(wc -l <"$LIB_TMP/.netns")
  ns=mamori-$1-$$-$n
  vh=mh$$n$n # veth names: at most 15 bytes
  va=ma$$n$n
  for ((i = 0; i < 100; i++)); do
    a=$((RANDOM % 250 + 3)) b=$((RANDOM % 64 * 4))
    ip -o -4 addr show | grep -q " inet 10\.213\.$a\.\($((b + 1))\|$((b + 2))\)/" || break
  done
  printf '%s\t%s\n' "$ns" "$vh" >>"$LIB_TMP/.netns"
  ip netns add "$ns" &&
    ip link add "$vh" type veth peer name "$va" &&
    ip link set "$va" netns "$ns" &&
    ip addr add "10.213.$a.$((b + 1))/30" dev "$vh" && ip link set "$vh" up &&
    ip netns exec "$ns" ip addr add "10.213.$a.$((b + 2))/30" dev "$va" &&
    ip netns exec "$ns" ip link set "$va" up &&
    ip netns exec "$ns" ip link set lo up || {
    LIB_ERR="cannot make network namespace $ns"; return 1; }
  NETNS=$ns NETNS_VETH=$vh NETNS_HOST_IP=10.213.$a.$((b + 1)) NETNS_IP=10.213.$a.$((b + 2))
}

# netns_reach NS IP PORT: can namespace NS open a TCP connection to IP:PORT
# (within 2 s)?
netns_reach() {
  ip netns exec "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}

# pid_in_netns PID NS: PID runs in namespace NS, which is not ours.
pid_in_netns() {
  local theirs ours
  theirs=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 1
  ours=$(readlink /proc/self/ns/net)
  [ -n "$theirs" ] && [ "$theirs" != "$ours" ] &&
    [ "$theirs" = "$(ip netns exec "$2" readlink /proc/self/ns/net)" ]
}

# root_isolated: does OUR network namespace hold mamori's isolation table?
# (A test that saw it has cut the test machine off: it must fail.)
root_isolated() { nft list tables 2>/dev/null | grep -q mamori_isolate; }

# ------------------------------------------------------------- processes --

# proc_field PID N: field N (1-based, as in proc(5)) of /proc/PID/stat;
# handles a comm containing spaces or parentheses. Empty if PID is gone.
proc_field() {
  local pid=$1 n=$2 s='' rest
  { read -r s <"/proc/$pid/stat"; } 2>/dev/null
  [ -n "$s" ] || return 1
  rest=${s##*) }
  local -a f
  read -r -a f <<<"$rest"
  [ "$n" -ge 3 ] || return 1
  echo "${f[$((n - 3))]:-}"
}

# proc_state PID: one letter (R S D T t Z X I ...); empty if the PID is gone.
proc_state() { proc_field "$1" 3; }

# lib_ps: "pid ppid pgid sid state" for every live process (one /proc pass).
lib_ps() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk '{ r = $0; sub(/^.*\) /, "", r); split(r, f, " "); print $1, f[2], f[3], f[4], f[1] }'
}

# is_ancestor_of_any P PIDS...: is P the parent (grandparent, ...) of one of PIDS?
is_ancestor_of_any() {
  local a=$1 p q n; shift
  for p in "$@"; do
    q=$p
    for ((n = 0; n < 16; n++)); do
      q=$(proc_field "$q" 4) || break
      [ "$q" = "$a" ] && return 0
      [ "$q" -le 1 ] && break
    done
  done
  return 1
}

# contained SID PIDS...: is the job of session SID stopped by an alert that
# named PIDS? Every live alert pid is stopped (state T) and at least one is;
# an alert pid that had exited before the freeze may be a zombie or gone;
# every other live process of the session is stopped too (it joined the
# actor after the alert line) or is an ancestor of an alert pid (a parent
# that only started the job and waits for it, which the guard must not
# touch). Sets CONTAINED_WHY; returns 0 when contained.
contained() {
  local sid=$1; shift
  local p s nstopped=0 l
  local -a bad=() others=()
  for p in "$@"; do
    s=$(proc_state "$p") || s=gone
    case $s in
      T | t) nstopped=$((nstopped + 1)) ;;
      Z | gone) ;;
      *) bad+=("$p:$s") ;;
    esac
  done
  while read -r l; do
    [[ " $* " == *" $l "* ]] && continue
    # stopped after the alert line (a worker denied at its next open joins
    # the actor then) is stopped all the same
    [ "$(proc_state "$l")" = T ] && continue
    is_ancestor_of_any "$l" "$@" || others+=("$l:$(proc_state "$l")")
  done < <(lib_ps | awk -v s="$sid" '$4 == s && $5 != "Z" { print $1 }')
  CONTAINED_WHY=
  [ "$nstopped" -gt 0 ] || CONTAINED_WHY="no alert pid is stopped; "
  [ ${#bad[@]} -eq 0 ] || CONTAINED_WHY+="alert pids not stopped (pid:state): ${bad[*]}; "
  [ ${#others[@]} -eq 0 ] || CONTAINED_WHY+="sim processes neither in the alert nor waiting for it: ${others[*]}; "
  [ -z "$CONTAINED_WHY" ]
}

# session_pids SID: every live PID whose session id is SID.
session_pids() {
  lib_ps | awk -v s="$1" '$4 == s { print $1 }'
}

# descendants PID: every live descendant of PID (not PID itself).
descendants() {
  lib_ps | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      for (p in parent) {
        q = parent[p]; n = 0
        while (q != "" && q != 0 && q != root && n++ < 64) q = parent[q]
        if (q == root) print p
      }
    }'
}

# lib_start_bg OUT CMD...: run CMD in a new session/process group (setsid),
# stdout+stderr to OUT; prints nothing, sets LIB_BG_PID (= pgid = sid).
lib_start_bg() {
  local out=$1; shift
  # No job control in scripts, so the child is not a group leader and
  # setsid(1) calls setsid() itself and execs: $! is the command itself.
  setsid "$@" >"$out" 2>&1 </dev/null &
  LIB_BG_PID=$!
  echo "$LIB_BG_PID" >>"$LIB_TMP/.pgids"
  local i sid
  for i in 1 2 3 4 5 6 7 8 9 10; do # session is set before exec; be sure
    sid=$(proc_field "$LIB_BG_PID" 6) || break
    [ "$sid" = "$LIB_BG_PID" ] && break
    sleep 0.01
  done
}

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT_S (10) s, else
# kill_tree; the exit status in STOP_RC ("timeout" if it had to be killed).
# Not inside $(...): only this shell can wait for its child.
stop_pid() {
  local pid=$1 i
  STOP_RC=timeout
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < ${2:-10} * 10; i++)); do
    { ! kill -0 "$pid" 2>/dev/null || [ "$(proc_state "$pid")" = Z ]; } && break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; then
    kill_tree "$pid"; wait "$pid" 2>/dev/null; return
  fi
  wait "$pid"; STOP_RC=$?
}

# kill_tree PID [SIG]: SIGKILL (default) the process group and session led
# by PID and every descendant of PID, then wait (bounded) until they are gone.
# Stopped (frozen) processes die from SIGKILL too.
kill_tree() {
  local root=$1 sig=${2:-KILL} p i
  [ -n "$root" ] || return 0
  for i in 1 2 3 4 5 6 7 8 9 10; do
    local -a victims=()
    mapfile -t victims < <({ descendants "$root"; session_pids "$root"; } | sort -u)
    kill -0 "$root" 2>/dev/null && [ "$(proc_state "$root")" != Z ] && victims+=("$root")
    kill -s "$sig" -- "-$root" 2>/dev/null
    for p in "${victims[@]}"; do
      [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
      kill -s "$sig" "$p" 2>/dev/null
      [ "$sig" = KILL ] || kill -s CONT "$p" 2>/dev/null
    done
    [ "$sig" = KILL ] || return 0
    sleep 0.05
    # our direct child: reap it so it does not linger as a zombie
    if [ "$(proc_state "$root")" = Z ] || ! kill -0 "$root" 2>/dev/null; then
      wait "$root" 2>/dev/null
    fi
    mapfile -t victims < <({ descendants "$root"; session_pids "$root"; } | sort -u)
    local alive=0
    for p in "${victims[@]}"; do
      [ "$(proc_state "$p")" = Z ] || alive=1
    done
    kill -0 "$root" 2>/dev/null && alive=1
    [ "$alive" -eq 0 ] && return 0
  done
  LIB_ERR="kill_tree $root: processes still alive"
  return 1
}

# --------------------------------------------------------------- guard --

# start_guard LOG ARGS...: start "$MAMORI guard ARGS... --log LOG" in its own
# session; wait up to GUARD_READY_TIMEOUT (10) s for {"event":"ready"} in LOG.
# Sets GUARD_PID and GUARD_LOG. Returns 1 with LIB_ERR set on failure (the
# guard is then killed). Guard stdout/stderr go to LOG.stderr.
start_guard() {
  local log=$1; shift
  local deadline
  GUARD_LOG=$log
  : >"$log"
  lib_start_bg "$log.stderr" "$MAMORI" guard "$@" --log "$log"
  GUARD_PID=$LIB_BG_PID
  deadline=$(($(date +%s%N) / 1000000 + ${GUARD_READY_TIMEOUT:-10} * 1000))
  while [ $(($(date +%s%N) / 1000000)) -lt "$deadline" ]; do
    if jq -cR 'fromjson? | select(.event=="ready")' <"$log" 2>/dev/null | grep -q .; then
      return 0
    fi
    if ! kill -0 "$GUARD_PID" 2>/dev/null || [ "$(proc_state "$GUARD_PID")" = Z ]; then
      local rc
      wait "$GUARD_PID"; rc=$?
      LIB_ERR="guard exited ($(exit_desc "$rc")) before ready: $(tail -c 600 "$log.stderr" | tr '\n' ' ')"
      GUARD_PID=
      return 1
    fi
    sleep 0.05
  done
  LIB_ERR="guard not ready after ${GUARD_READY_TIMEOUT:-10} s: $(tail -c 600 "$log.stderr" | tr '\n' ' ')"
  kill_tree "$GUARD_PID"
  GUARD_PID=
  return 1
}

# exit_desc RC: "exit 3" or "signal 11 (SEGV)".
exit_desc() {
  if [ "$1" -gt 128 ]; then
    echo "killed by signal $(($1 - 128)) ($(kill -l "$(($1 - 128))" 2>/dev/null))"
  else
    echo "exit $1"
  fi
}

# stop_guard [LABEL]: SIGTERM the guard, wait up to 10 s, require exit 0.
# On failure prints "FAIL guard-exit[LABEL]: why", sets LIB_ERR, returns 1.
stop_guard() {
  local label=${1:-} rc i pid=$GUARD_PID
  [ -n "$pid" ] || return 0
  GUARD_PID=
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 200; i++)); do
    { ! kill -0 "$pid" 2>/dev/null || [ "$(proc_state "$pid")" = Z ]; } && break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; then
    kill_tree "$pid"
    wait "$pid" 2>/dev/null
    LIB_ERR="guard did not exit within 10 s of SIGTERM"
    fail "guard-exit${label:+[$label]}" "$LIB_ERR"
    return 1
  fi
  wait "$pid"; rc=$?
  kill_tree "$pid" # helpers it may have left behind in its session
  if [ "$rc" -ne 0 ]; then
    LIB_ERR="guard $(exit_desc "$rc") on SIGTERM: $(tail -c 800 "$GUARD_LOG.stderr" | tr '\n' ' ')"
    fail "guard-exit${label:+[$label]}" "$LIB_ERR"
    return 1
  fi
  return 0
}

# guard_cpu_ticks: utime+stime (clock ticks) summed over the guard's session.
guard_cpu_ticks() {
  local p total=0 u s
  for p in $(session_pids "$GUARD_PID"); do
    u=$(proc_field "$p" 14) || continue
    s=$(proc_field "$p" 15) || continue
    total=$((total + u + s))
  done
  echo "$total"
}

# guard_mem_kb FIELD: FIELD (VmHWM, VmRSS) in kB summed over the guard's session.
guard_mem_kb() {
  local p total=0 v
  for p in $(session_pids "$GUARD_PID"); do
    v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# ----------------------------------------------------------------- sim --

# run_sim_bg OUT ARGS...: start "$MAMORI sim ARGS..." in its own session,
# stdout+stderr to OUT. Sets SIM_PID (= its pgid and sid).
run_sim_bg() {
  local out=$1; shift
  lib_start_bg "$out" "$MAMORI" sim "$@"
  # shellcheck disable=SC2034  # read by the tests
  SIM_PID=$LIB_BG_PID
}

# wait_alert LOG TIMEOUT_S: wait for the first {"event":"alert"} line in LOG;
# print it (compact JSON) and return 0, or return 1 after TIMEOUT_S.
wait_alert() {
  local log=$1 deadline line
  deadline=$(($(date +%s%N) / 1000000 + $2 * 1000))
  while :; do
    line=$(jq -cR 'fromjson? | select(.event=="alert")' <"$log" 2>/dev/null | head -n 1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# count_alerts LOG: number of alert lines in LOG.
count_alerts() {
  jq -cR 'fromjson? | select(.event=="alert")' <"$1" 2>/dev/null | wc -l
}

# wait_json OUT EVENT TIMEOUT_S: wait for {"event":EVENT} in OUT; print it.
wait_json() {
  local out=$1 ev=$2 deadline line
  deadline=$(($(date +%s%N) / 1000000 + $3 * 1000))
  while :; do
    line=$(jq -cR --arg e "$ev" 'fromjson? | select(.event==$e)' <"$out" 2>/dev/null | head -n 1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    [ $(($(date +%s%N) / 1000000)) -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

# run_watched TIMEOUT OUT CMD...: run CMD (stdout+stderr to OUT) in its own
# session under `timeout TIMEOUT`, and return its exit status. While the
# guard runs, a CMD that the guard froze (a new line in GUARD_LOG and a
# process of CMD's session stopped for 1 s) is killed at once instead of
# waiting for the timeout: RW_FROZEN=1, status 137. RW_SECS is CMD's wall
# time measured inside the session (empty if it was killed).
# shellcheck disable=SC2034  # RW_* are results for the caller
run_watched() {
  local tmo=$1 out=$2; shift 2
  local tf=$LIB_TMP/.rw.$BASHPID.$RANDOM pid base=0 size t0 t1 rc stopped=0
  RW_FROZEN=0 RW_SECS=
  [ -n "$GUARD_PID" ] && base=$(stat -c %s "$GUARD_LOG" 2>/dev/null || echo 0)
  # shellcheck disable=SC2016  # expanded by the inner bash
  lib_start_bg "$out" bash -c 't0=$EPOCHREALTIME; timeout -k 5 "$@"; rc=$?
    echo "$t0 $EPOCHREALTIME" >"$0"; exit $rc' "$tf" "$tmo" "$@"
  pid=$LIB_BG_PID
  while kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; do
    sleep 0.2
    [ -n "$GUARD_PID" ] || continue
    size=$(stat -c %s "$GUARD_LOG" 2>/dev/null || echo 0)
    if [ "$size" -gt "$base" ] &&
      lib_ps | awk -v s="$pid" '$4 == s && $5 == "T" { f = 1 } END { exit !f }'; then
      stopped=$((stopped + 1))
      if [ "$stopped" -ge 5 ]; then
        RW_FROZEN=1
        kill_tree "$pid" >/dev/null 2>&1
        break
      fi
    else
      stopped=0
    fi
  done
  wait "$pid" 2>/dev/null; rc=$?
  if [ "$RW_FROZEN" = 1 ]; then rc=137; elif read -r t0 t1 <"$tf" 2>/dev/null; then
    RW_SECS=$(echo "$t1 - $t0" | bc)
  fi
  rm -f "$tf"
  return "$rc"
}

# ------------------------------------------------------------- cleanup --

# lib_kill_mount_users MNT: SIGKILL processes with a cwd, root or open file
# on MNT (only ever one of our own mounts). Never ourselves.
lib_kill_mount_users() {
  local mnt=$1 p l hit
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
    hit=0
    for l in "/proc/$p/cwd" "/proc/$p/root" "/proc/$p"/fd/*; do
      case $(readlink "$l" 2>/dev/null) in
        "$mnt" | "$mnt"/*) hit=1; break ;;
      esac
    done
    [ "$hit" -eq 1 ] && kill -KILL "$p" 2>/dev/null
  done
}

lib_cleanup() {
  local rc=$? p mnt dev i
  trap - EXIT INT TERM HUP
  [ -d "$LIB_TMP" ] || exit "$rc"
  # 1. our process groups/sessions: guard first gets SIGTERM for a clean end
  if [ -n "$GUARD_PID" ]; then
    kill -TERM "$GUARD_PID" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      kill -0 "$GUARD_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  while read -r p; do
    [ -n "$p" ] && kill_tree "$p" >/dev/null 2>&1
  done <"$LIB_TMP/.pgids"
  # 1b. our network namespaces (their processes are gone) and veth pairs
  while IFS=$'\t' read -r p dev; do
    [ -n "$p" ] || continue
    ip netns del "$p" 2>/dev/null
    ip link del "$dev" 2>/dev/null
  done <"$LIB_TMP/.netns"
  # 2. unmount in reverse order of creation
  while IFS=$'\t' read -r mnt dev; do
    [ -n "$mnt" ] || continue
    if mountpoint -q "$mnt"; then
      for i in 1 2 3 4 5 6 7 8 9 10; do
        lib_kill_mount_users "$mnt"
        umount "$mnt" 2>/dev/null && break
        sleep 0.2
      done
      mountpoint -q "$mnt" && { echo "lib: lazy unmount of $mnt" >&2; umount -l "$mnt"; }
    fi
    if [ "$dev" != - ] && [ -n "$dev" ]; then
      losetup -d "$dev" 2>/dev/null
    fi
  done < <(tac "$LIB_TMP/.mounts")
  # 3. temp dirs (never across a mount that is still there)
  if [ "${KEEP:-0}" = 1 ]; then
    echo "lib: KEEP=1, kept $LIB_TMP" >&2
  elif ! grep -q " $LIB_TMP" /proc/mounts; then
    rm -rf --one-file-system "$LIB_TMP"
  else
    echo "lib: $LIB_TMP still has mounts, not removed" >&2
  fi
  exit "$rc"
}

trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
