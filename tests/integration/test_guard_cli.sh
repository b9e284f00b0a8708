#!/usr/bin/env bash
# test_guard_cli.sh - `mamori guard` as an operator meets it: usage and
# configuration errors (exit 2, naming file, line and reason), refusing to run
# without root (exit 1), a clean stop on SIGTERM (marks gone, decoys gone, a
# "stopped" line), permission events always answered (files stay usable),
# the watchdog answering when the event thread is stalled, and the path of a
# kernel without permission events (an open never waits, the vault is off,
# an encryption is still stopped).
# Uses only a tmpfs and an ext4 image this script creates.
set -u
. "$(dirname "$0")/lib.sh"
need_root

tmp=$LIB_TMP   # removed by lib.sh's cleanup

# --- usage and configuration errors -------------------------------------
"$MAMORI" guard --help | grep -q -- '--protect DIR' && pass help || fail help "no usage text"

"$MAMORI" guard --bogus >/dev/null 2>&1
[ $? -eq 2 ] && pass unknown-option || fail unknown-option "exit status not 2"

printf 'guard:\n  protect: [/tmp]\n  action: explode\n' > "$tmp/bad.yaml"
out=$("$MAMORI" guard --config "$tmp/bad.yaml" 2>&1); rc=$?
if [ $rc -eq 2 ] && [[ $out == *"$tmp/bad.yaml:3:11:"*action* ]]; then pass config-bad-value
else fail config-bad-value "rc=$rc out=$out"; fi

printf 'guard:\n  protect: [/tmp\n' > "$tmp/broken.yaml"
out=$("$MAMORI" guard --config "$tmp/broken.yaml" 2>&1); rc=$?
if [ $rc -eq 2 ] && [[ $out == *"$tmp/broken.yaml:"[0-9]*:[0-9]*:* ]]; then pass config-syntax
else fail config-syntax "rc=$rc out=$out"; fi

printf 'gaurd: {}\n' > "$tmp/typo.yaml"
out=$("$MAMORI" guard --config "$tmp/typo.yaml" 2>&1); rc=$?
if [ $rc -eq 2 ] && [[ $out == *"unknown section 'gaurd'"* ]]; then pass config-unknown-section
else fail config-unknown-section "rc=$rc out=$out"; fi

out=$("$MAMORI" guard --config "$tmp/missing.yaml" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *missing.yaml* ]] && pass config-missing || fail config-missing "rc=$rc out=$out"

out=$("$MAMORI" guard --protect "$tmp/nonexistent" 2>&1); rc=$?
[ $rc -eq 2 ] && [[ $out == *nonexistent* ]] && pass protect-missing-dir || fail protect-missing-dir "rc=$rc out=$out"

# --- not root -------------------------------------------------------------
if command -v setpriv >/dev/null; then
  mkdir -p "$tmp/nr" && chmod 755 "$tmp" "$tmp/nr"
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MAMORI" guard --protect "$tmp/nr" 2>&1); rc=$?
  [ $rc -eq 1 ] && [[ $out == *root* ]] && pass not-root || fail not-root "rc=$rc out=$out"
fi

# --- clean start and stop on a tmpfs --------------------------------------
mnt=$(mk_tmpfs 64) || { fail tmpfs "cannot mount"; exit 0; }
log="$tmp/g.log"
start_guard "$log" --protect "$mnt" --action freeze || { fail start "$LIB_ERR"; exit 0; }
ready=$(grep -m1 '"event":"ready"' "$log")
[ "$(jq -r .permission_events <<<"$ready")" = true ] && pass ready-perm || fail ready-perm "$ready"
[ -f "$mnt/00_mamori_decoy_do_not_edit.pdf" ] && pass decoys-placed || fail decoys-placed "no decoy"
# files stay usable while the guard runs: every permission event is answered
ok=1
for i in $(seq 200); do echo "line $i" > "$mnt/f$i.txt" || ok=0; cat "$mnt/f$i.txt" >/dev/null || ok=0; done
[ $ok = 1 ] && pass files-usable || fail files-usable "open failed"
stop_guard sigterm && pass sigterm-exit0
grep -q '"event":"stopped"' "$log" && pass stopped-line || fail stopped-line "no stopped line"
[ ! -e "$mnt/00_mamori_decoy_do_not_edit.pdf" ] && pass decoys-removed || fail decoys-removed "decoy left"
# no fanotify group left behind: opens are not held by anyone
timeout 5 cat "$mnt/f1.txt" >/dev/null && pass marks-removed || fail marks-removed "open hangs"

# --- the watchdog allows what the event thread does not answer -----------
# MAMORI_TEST_STALL_MS makes the event thread sleep before each permission
# answer (test builds and production alike read it only when set).
MAMORI_TEST_STALL_MS=2000 start_guard "$log" --protect "$mnt" --action freeze \
  --watchdog-ms 100 || { fail watchdog-start "guard not ready: $LIB_ERR"; exit 0; }
t0=$(date +%s%N)
timeout 10 cat "$mnt/f2.txt" >/dev/null; rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ $rc -eq 0 ] && [ $ms -lt 1500 ]; then pass watchdog-allows
else fail watchdog-allows "rc=$rc after ${ms} ms"; fi
stop_guard watchdog
grep '"event":"stopped"' "$log" | tail -1 | jq -e '.late_allowed >= 1' >/dev/null \
  && pass watchdog-counted || fail watchdog-counted "late_allowed not counted"

# --- a kernel without permission events ----------------------------------
# MAMORI_TEST_NO_PERM_EVENTS takes the path the guard takes where fanotify
# has no permission events: with the event thread stalled as above, an open
# is not held at all, the ready line says what is lost (the vault among it),
# and an encryption is still stopped.
MAMORI_TEST_STALL_MS=2000 MAMORI_TEST_NO_PERM_EVENTS=1 start_guard "$log" --protect "$mnt" \
  --action freeze || { fail no-perm-start "guard not ready: $LIB_ERR"; exit 0; }
ready=$(jq -c 'select(.event=="ready")' "$log")
if jq -e '.permission_events == false and .vaults == 0 and
          (.degraded | test("no fanotify permission events.*no pre-images"))' <<<"$ready" >/dev/null
then pass no-perm-ready; else fail no-perm-ready "$ready"; fi
t0=$(date +%s%N)
timeout 10 cat "$mnt/f2.txt" >/dev/null; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 0 ] && [ $ms -lt 1000 ] && pass no-perm-never-waits ||
  fail no-perm-never-waits "rc=$rc after ${ms} ms"
timeout 60 "$MAMORI" sim corpus --dir "$mnt/nc" --files 12 --scale 0.1 --seed 9 >/dev/null 2>&1
run_sim_bg "$tmp/nc.sim" ransomware --dir "$mnt/nc" --mode full
if alert=$(wait_alert "$log" 20); then
  jq -e '.action == "freeze" and (.pids | length) >= 1' <<<"$alert" >/dev/null &&
    pass no-perm-stops || fail no-perm-stops "$alert"
else
  fail no-perm-stops "no alert within 20 s"
fi
kill_tree "$SIM_PID" >/dev/null
stop_guard no-perm
grep '"event":"stopped"' "$log" | tail -1 | jq -e '.permission_events == 0' >/dev/null &&
  pass no-perm-counted || fail no-perm-counted "$(grep stopped "$log" | tail -1)"
