#!/usr/bin/env bash
# tests/integration/test_sim.sh - `mamori sim` end to end through the binary.
#
# Builds one small corpus in a mktemp directory, copies it per mode, runs
# `sim ransomware --mode M` and checks with `sim verify` + jq that the files
# were damaged (or renamed) as the mode promises. Also checks the refusals
# (not a sandbox, "/", non-empty corpus dir, encrypt-one outside) and that a
# file outside the sandbox reached through a symlink is never touched.
# Prints "PASS name" / "FAIL name: why" per case. Needs $MAMORI and jq.
set -u
MAMORI=${MAMORI:?set MAMORI to the mamori binary}
command -v jq >/dev/null || { echo "FAIL sim-setup: jq is not installed"; exit 1; }
work=$(mktemp -d /tmp/mamori-simit.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
N=24

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# case: corpus
if out=$("$MAMORI" sim corpus --dir "$work/base" --files $N --seed 5 --scale 0.05 2>&1) &&
   [ "$(printf '%s' "$out" | jq -r .files)" = $N ] &&
   [ -f "$work/base/.mamori-sim-sandbox" ] &&
   [ "$(wc -l < "$work/base/.mamori-sim-manifest")" -eq $N ]; then
  pass sim-corpus
else
  fail sim-corpus "corpus not created as expected: $out"; exit 0
fi

# case: fresh corpus verifies intact
v=$("$MAMORI" sim verify --dir "$work/base")
if [ "$(jq -r '[.total,.intact,.damaged,.missing,.extra]|join(" ")' <<<"$v")" = "$N $N 0 0 0" ]; then
  pass sim-verify-intact
else
  fail sim-verify-intact "$v"
fi

# case: the same seed gives the same corpus
"$MAMORI" sim corpus --dir "$work/again" --files $N --seed 5 --scale 0.05 >/dev/null 2>&1
if cmp -s "$work/base/.mamori-sim-manifest" "$work/again/.mamori-sim-manifest"; then
  pass sim-corpus-deterministic
else
  fail sim-corpus-deterministic "manifests differ for the same seed"
fi

# Outside victim and symlinks into it, added to each mode's copy.
mkdir -p "$work/outside"
echo "must not change" > "$work/outside/victim.txt"
victim_sum=$(sha256sum < "$work/outside/victim.txt")

# run_mode name mode expect(damaged missing extra; '-' = do not check) [options...]
run_mode() {
  local name=$1 mode=$2 d=$3 m=$4 x=$5; shift 5
  local dir="$work/m-$name" out v got
  cp -a "$work/base" "$dir"
  ln -s "$work/outside" "$dir/escape"
  ln -s "$work/outside/victim.txt" "$dir/finance/evil.txt" 2>/dev/null || ln -s "$work/outside/victim.txt" "$dir/evil.txt"
  if ! out=$(timeout 120 "$MAMORI" sim ransomware --dir "$dir" --mode "$mode" "$@" 2>&1); then
    fail "sim-mode-$name" "exit $?: $(tail -1 <<<"$out")"; return
  fi
  if [ "$(tail -1 <<<"$out" | jq -r '.event + " " + .mode')" != "sim-done $mode" ]; then
    fail "sim-mode-$name" "no sim-done line: $out"; return
  fi
  v=$("$MAMORI" sim verify --dir "$dir")
  got=$(jq -r '[.damaged,.missing,.extra]|join(" ")' <<<"$v")
  local want="$d $m $x" ok=1
  read -r gd gm gx <<<"$got"
  for e in $d:$gd $m:$gm $x:$gx; do
    [ "${e%%:*}" = - ] || [ "${e%%:*}" = "${e#*:}" ] || ok=0
  done
  if [ "$(sha256sum < "$work/outside/victim.txt")" != "$victim_sum" ]; then
    fail "sim-mode-$name" "file outside the sandbox changed"; return
  fi
  if [ ! -f "$dir/.mamori-sim-sandbox" ]; then
    fail "sim-mode-$name" "marker was touched"; return
  fi
  [ $ok = 1 ] && pass "sim-mode-$name" || fail "sim-mode-$name" "want damaged/missing/extra $want, got $got"
}

run_mode full full $N 0 0
run_mode intermittent16 intermittent16 $N 0 0
run_mode intermittent1m intermittent1m $N 0 0
run_mode percent5 percent5 $N 0 0
run_mode header4k header4k $N 0 0
run_mode copy-delete copy-delete 0 $N $N
run_mode rename-encrypt rename-encrypt 0 $N $N --ext .crypt
run_mode base64 base64 $N 0 0
run_mode hex hex $N 0 0
run_mode mmap mmap $N 0 0
run_mode threads threads $N 0 0 --workers 4
run_mode fork-per-file fork-per-file $N 0 0
run_mode workers workers $N 0 0 --workers 6
run_mode shell-loop shell-loop $N 0 0
run_mode slow slow 3 0 0 --delay-ms 50 --max-files 3
run_mode max-files full 5 0 - --max-files 5 --note
ndirs=$(find "$work/base" -type d | wc -l)
run_mode notes-first notes-first $N 0 "$ndirs"

# case: the pids of the workers are reported
out=$("$MAMORI" sim ransomware --dir "$work/m-full" --mode workers --workers 3 2>/dev/null | tail -1)
if [ "$(jq '.pids|length' <<<"$out")" = 4 ]; then pass sim-workers-pids; else fail sim-workers-pids "$out"; fi

# refusals: exit 2 and a message naming the directory
check_refusal() { # name expected-exit args...
  local name=$1 want=$2; shift 2
  local err rc
  err=$("$MAMORI" sim "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = "$want" ] && [ -n "$err" ]; then pass "$name"; else fail "$name" "exit $rc ($err)"; fi
}
mkdir -p /tmp/not-a-sandbox-$$ && echo keep > /tmp/not-a-sandbox-$$/keep.txt
check_refusal sim-refuse-not-a-sandbox 2 ransomware --dir /tmp/not-a-sandbox --mode full
check_refusal sim-refuse-no-marker 2 ransomware --dir /tmp/not-a-sandbox-$$ --mode full
[ "$(cat /tmp/not-a-sandbox-$$/keep.txt)" = keep ] || fail sim-refuse-no-marker "file changed"
rm -rf /tmp/not-a-sandbox-$$
check_refusal sim-refuse-root 2 ransomware --dir / --mode full
check_refusal sim-refuse-nonempty-corpus 2 corpus --dir "$work/base"
check_refusal sim-refuse-encrypt-one-outside 2 encrypt-one --dir "$work/base" "$work/outside/victim.txt"
check_refusal sim-refuse-bad-mode 2 ransomware --dir "$work/base" --mode nonsense
[ "$(sha256sum < "$work/outside/victim.txt")" = "$victim_sum" ] || fail sim-refusals "victim changed"

# every subcommand answers --help with exit 0
ok=1
for s in corpus ransomware encrypt-one verify; do
  "$MAMORI" sim $s --help >/dev/null 2>&1 || ok=0
done
"$MAMORI" sim --help >/dev/null 2>&1 || ok=0
[ $ok = 1 ] && pass sim-help || fail sim-help "a --help did not exit 0"
exit 0
