#!/usr/bin/env bash
# tests/run.sh - runs the whole test suite and ends with "N passed, N failed".
#
# For each built variant (release, asan = ASan+UBSan) it runs every cmocka
# unit-test binary and every integration script, each in its own process with
# a timeout, so a crash or hang fails one test and never the run.
#   unit tests:        build/<variant>/tests/<area>/test_*   (cmocka; cases counted)
#   integration tests: tests/integration/test_*.sh, run with MAMORI=<binary>;
#                      each prints "PASS name" / "FAIL name: why" per case.
# Options: VARIANTS="release asan" (default: those that are built),
#          ONLY=<substring> to run matching tests only, KEEP=1 keeps temp dirs.
set -u
cd "$(dirname "$0")/.."
root=$PWD
passed=0
failed=0
failures=()

variants=${VARIANTS:-}
if [ -z "$variants" ]; then
  for v in release asan; do [ -x "build/$v/mamori" ] && variants="$variants $v"; done
fi
[ -n "$variants" ] || { echo "tests/run.sh: nothing built (run make check)"; echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}

record() { # status name [detail]
  if [ "$1" = pass ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$2${3:+: $3}"); fi
}

run_unit() { # variant binary
  local v=$1 bin=$2 name out rc p f t0
  name="$v/${bin#build/$v/tests/}"
  t0=$SECONDS
  out=$(timeout 300 "$bin" 2>&1); rc=$?
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  passed=$((passed + p))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$f" -gt 0 ]; then
    failed=$((failed + f)); failures+=("$name ($f failed, exit $rc)")
    printf '%s\n' "$out" | tail -40
  fi
  printf '%-60s %s passed, %s failed  (%ss)\n' "$name" "$p" "$f" $((SECONDS - t0))
}

run_integration() { # variant script
  local v=$1 script=$2 name out rc np nf t0
  name="$v/$(basename "$script")"
  t0=$SECONDS
  out=$(MAMORI="$root/build/$v/mamori" VARIANT=$v timeout --kill-after=10 900 bash "$script" 2>&1); rc=$?
  np=$(printf '%s\n' "$out" | grep -c '^PASS ')
  nf=$(printf '%s\n' "$out" | grep -c '^FAIL ')
  passed=$((passed + np)); failed=$((failed + nf))
  while IFS= read -r l; do failures+=("$name: ${l#FAIL }"); done < <(printf '%s\n' "$out" | grep '^FAIL ')
  if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
    failed=$((failed + 1)); failures+=("$name exited $rc without a FAIL line")
  fi
  if [ "$nf" -gt 0 ] || [ "$rc" -ne 0 ]; then printf '%s\n' "$out" | tail -60; fi
  printf '%-60s %s passed, %s failed  (%ss)\n' "$name" "$np" "$nf" $((SECONDS - t0))
}

for v in $variants; do
  while IFS= read -r bin; do
    [ -n "${ONLY:-}" ] && [[ $bin != *"$ONLY"* ]] && continue
    run_unit "$v" "$bin"
  done < <(find "build/$v/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
  for s in tests/integration/test_*.sh; do
    [ -e "$s" ] || continue
    [ -n "${ONLY:-}" ] && [[ $s != *"$ONLY"* ]] && continue
    run_integration "$v" "$s"
  done
done

# Fuzz smoke: each libFuzzer target (make fuzz) runs for FUZZ_SECONDS on a
# copy of its seed corpus; the seeds in tests/fuzz/corpus/ stay untouched.
# The targets run FUZZ_JOBS at a time (default: the number of cores; the
# tests before them are done, so the cores are free); results are printed
# in name order once all have finished.
fuzz_one() { # binary workdir: runs one target, leaves its exit status and output in workdir
  timeout 300 "$1" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
    -artifact_prefix="$2/" "$2" >"$2.out" 2>&1
  echo $? >"$2.rc"
}
if [ -d build/fuzz/bin ] && [ -z "${ONLY:-}" -o "${ONLY:-}" = fuzz ]; then
  fz_bins=() fz_work=()
  running=0
  for fz in build/fuzz/bin/fuzz_*; do
    [ -x "$fz" ] || continue
    name=${fz##*/fuzz_}
    work=$(mktemp -d /tmp/mamori-fuzz.XXXXXX)
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
    if [ "$running" -ge "${FUZZ_JOBS:-$(nproc)}" ]; then wait -n; running=$((running - 1)); fi
    fuzz_one "$fz" "$work" &
    running=$((running + 1))
    fz_bins+=("$fz") fz_work+=("$work")
  done
  wait
  for i in "${!fz_bins[@]}"; do
    name=${fz_bins[$i]##*/fuzz_} work=${fz_work[$i]}
    rc=$(cat "$work.rc" 2>/dev/null || echo 1)
    if [ "$rc" -eq 0 ]; then
      passed=$((passed + 1))
      printf '%-60s %s\n' "fuzz/$name" "$(grep -o 'Done [0-9]* runs' "$work.out" | tail -1)"
      rm -rf "$work" "$work.out" "$work.rc"
    else
      failed=$((failed + 1)); failures+=("fuzz/$name (exit $rc; crash input kept in $work)")
      tail -30 "$work.out"
    fi
  done
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo; echo "failures:"; printf '  %s\n' "${failures[@]}"
fi
echo "tests took $((SECONDS / 60)) min $((SECONDS % 60)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
