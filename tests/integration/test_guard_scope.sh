#!/usr/bin/env bash
# test_guard_scope.sh - the guard judges only what happens below the
# protected paths, although it watches their whole filesystem: encryption in
# a sibling directory of the same filesystem raises nothing, the same
# encryption below a protected path is stopped, and an allow-listed
# executable is never judged. Uses one ext4 image this script creates.
set -u
. "$(dirname "$0")/lib.sh"
need_root
need_mamori guard
need_mamori sim

mnt=$(mk_ext4 512) || { fail ext4 "$LIB_ERR"; exit 0; }
mkdir -p "$mnt/prot" "$mnt/other"
log="$LIB_TMP/scope.log"
"$MAMORI" sim corpus --dir "$mnt/other/c" --files 30 --scale 0.1 --seed 3 >/dev/null
"$MAMORI" sim corpus --dir "$mnt/prot/c" --files 30 --scale 0.1 --seed 3 >/dev/null
start_guard "$log" --protect "$mnt/prot" --action freeze || { fail start "$LIB_ERR"; exit 0; }

# outside the protected path: runs to the end, no alert
timeout 60 "$MAMORI" sim ransomware --dir "$mnt/other/c" --mode full >/dev/null 2>&1; rc=$?
n=$(grep -c '"event":"alert"' "$log")
if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]; then pass outside-not-judged
else fail outside-not-judged "sim rc=$rc, $n alert(s)"; fi

# below the protected path: stopped
run_sim_bg "$LIB_TMP/sim.out" ransomware --dir "$mnt/prot/c" --mode full
if alert=$(wait_alert "$log" 20); then
  pass inside-stopped
  d=$("$MAMORI" sim verify --dir "$mnt/prot/c" | jq '.damaged + .missing')
  [ "$d" -le 3 ] && pass inside-damage-bounded || fail inside-damage-bounded "$d files damaged"
else
  fail inside-stopped "no alert: $LIB_ERR"
fi
kill_tree "$SIM_PID"
stop_guard scope

# an allow-listed executable is never judged
"$MAMORI" sim corpus --dir "$mnt/prot/d" --files 20 --scale 0.1 --seed 4 >/dev/null
real=$(readlink -f "$MAMORI")
start_guard "$log" --protect "$mnt/prot" --action freeze --allow-exe "$real" || { fail start2 "$LIB_ERR"; exit 0; }
before=$(grep -c '"event":"alert"' "$log")
timeout 60 "$MAMORI" sim ransomware --dir "$mnt/prot/d" --mode full >/dev/null 2>&1; rc=$?
after=$(grep -c '"event":"alert"' "$log")
if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then pass allow-listed-not-judged
else fail allow-listed-not-judged "sim rc=$rc, $((after - before)) alert(s)"; fi
stop_guard allow
