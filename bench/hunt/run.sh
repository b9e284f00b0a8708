#!/usr/bin/env bash
# bench/hunt/run.sh - `mamori hunt` and EVTX parsing: throughput and memory,
# against evtxexport (Debian's libevtx-utils) and reading the files (cat).
# (Until 2026-12-02 this was bench/hunt/parse.sh, parse only.)
#
# Builds a corpus of at least CORPUS_MB (default 1024) MB from copies of the
# EVTX attack samples in a temporary directory (removed at exit), warms the
# page cache, then times on one core (taskset -c 0), REPS times each, in the
# same run. SET=all (default) copies every sample file: most of their bytes
# are unused chunk space (exported logs, partly filled chunks); SET=dense
# copies only the files whose used chunks are at least 90% full, as the
# chunks of a live log are. The tools:
#   cat            reading the files, the floor    (cat FILES > /dev/null)
#   read floor     one process, one reused 1 MiB buffer (perl sysread): GNU
#                  cat allocates and unmaps a fresh buffer per file, which
#                  costs much where page faults are slow (virtual machines)
#   mamori count   parse only                      (mamori evtx --count FILES)
#   mamori jsonl   parse and render JSON lines     (mamori evtx FILES > /dev/null)
#   evtxexport     Debian's libevtx-utils          (evtxexport FILE > /dev/null, per file)
#   mamori hunt    every rule of SigmaHQ's rules* trees (SIGMA, default
#                  ../shared/data/sigma) over the corpus, JSON lines to
#                  /dev/null: on one core with --threads 1, and on all cores
#                  (CPUS, default every online CPU) with one thread per CPU
# and reports, for the run with the least CPU time, MiB/s and events/s per
# CPU second (user + sys: throughput per core, robust to other load on the
# machine), the wall time, and the peak RSS (GNU time).
# evtxexport runs EVTXEXPORT_REPS times (default 1: about 5 minutes per GB).
# Events are the records mamori counts (the same files for every tool).
#
#   bash bench/hunt/run.sh                      # needs build/release/mamori
#   MAMORI=path CORPUS_MB=256 REPS=1 SKIP_EVTXEXPORT=1 SET=dense bash bench/hunt/run.sh
# Ratios in the table: each tool's MiB/s per core against the read floor
# measured in the same run, and the hunt's all-core wall speed-up over its
# one-thread run.
#
# Writes the table to stdout and to bench/out/hunt-<set>-<time>.md.
set -eu
cd "$(dirname "$0")/../.."
MAMORI=${MAMORI:-$PWD/build/release/mamori}
SAMPLES=${SAMPLES:-$PWD/../shared/data/evtx-attack-samples}
CORPUS_MB=${CORPUS_MB:-1024}
REPS=${REPS:-3}
EVTXEXPORT_REPS=${EVTXEXPORT_REPS:-1}
CPU=${CPU:-0}
SET=${SET:-all}
SIGMA=${SIGMA:-$PWD/../shared/data/sigma}
NCPU=$(nproc)
CPUS=${CPUS:-0-$((NCPU - 1))}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

[ -x "$MAMORI" ] || { echo "run.sh: $MAMORI not built (make)" >&2; exit 2; }
[ -d "$SAMPLES" ] || { echo "run.sh: no samples in $SAMPLES" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
have_evtxexport=1
if [ -n "${SKIP_EVTXEXPORT:-}" ] || ! command -v evtxexport >/dev/null; then
  have_evtxexport=0
  [ -n "${SKIP_EVTXEXPORT:-}" ] || echo "run.sh: evtxexport not installed (libevtx-utils): skipped" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-evtxbench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# dense FILE: true when the file's used chunks hold at least 90% records
# (free space offset of each chunk header, bytes 48..51).
dense() {
  local f=$1 size k off sig used=0 fill=0
  size=$(stat -c %s "$f")
  for ((k = 0; 4096 + (k + 1) * 65536 <= size; k++)); do
    off=$((4096 + k * 65536))
    sig=$(od -An -t x1 -j $off -N 8 "$f" | tr -d ' \n')
    [ "$sig" = 456c6643686e6b00 ] || continue # "ElfChnk\0"
    used=$((used + 1))
    fill=$((fill + $(od -An -t u4 -j $((off + 48)) -N 4 "$f")))
  done
  [ $used -gt 0 ] && [ $((fill * 10)) -ge $((used * 65536 * 9)) ]
}

# ---- corpus: whole copies of the sample set until CORPUS_MB is reached
mapfile -d '' all < <(find "$SAMPLES" -name '*.evtx' -type f -print0 | sort -z)
samples=()
for s in "${all[@]}"; do
  if [ "$SET" = all ] || dense "$s"; then samples+=("$s"); fi
done
[ ${#samples[@]} -gt 0 ] || { echo "run.sh: no .evtx under $SAMPLES for SET=$SET" >&2; exit 2; }
set_bytes=$(cat "${samples[@]}" | wc -c)
copies=$(( (CORPUS_MB * 1048576 + set_bytes - 1) / set_bytes ))
mkdir -p "$work/corpus/0"
i=0
for s in "${samples[@]}"; do cp "$s" "$work/corpus/0/$i.evtx"; i=$((i + 1)); done
for ((c = 1; c < copies; c++)); do cp -r "$work/corpus/0" "$work/corpus/$c"; done
find "$work/corpus" -name '*.evtx' -print0 | sort -z > "$work/files0"
nfiles=$(tr -cd '\0' < "$work/files0" | wc -c)
bytes=$(xargs -0 cat < "$work/files0" | wc -c) # also warms the page cache
xargs -0 cat < "$work/files0" > /dev/null
mb=$(echo "scale=3; $bytes / 1048576" | bc)

# Events: mamori's count over the corpus (every tool reads the same files).
counts=$(xargs -0 "$MAMORI" evtx --count < "$work/files0" | grep '^total:')
events=$(printf '%s\n' "$counts" | awk '{s += $2} END {print s}')
lost=$(printf '%s\n' "$counts" | awk '{s += $4} END {print s}')

# run NAME CMD...: the run with the least CPU time (its wall time beside it)
# and the max peak RSS over REPS runs
results=()
run() {
  local name=$1 best='' wall='' rss=0 e u s m cpu reps=$REPS
  shift
  case $name in evtxexport*) reps=$EVTXEXPORT_REPS ;; esac
  for ((r = 0; r < reps; r++)); do
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" taskset -c "${ON:-$CPU}" "$@" > /dev/null 2>"$work/err" || {
      echo "run.sh: $name failed: $(tail -3 "$work/err")" >&2; return 1; }
    read -r e u s m < "$work/time"
    cpu=$(echo "$u + $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$cpu < $best" | bc)" = 1 ]; then best=$cpu; wall=$e; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  results+=("$name|$best|$wall|$rss")
}

run "cat (floor)" xargs -0 -a "$work/files0" cat
# shellcheck disable=SC2016  # perl code, not shell
run "read floor (perl sysread, 1 MiB buffer)" xargs -0 -a "$work/files0" perl -e \
  'for my $f (@ARGV) { open(my $h, "<:raw", $f) or die "$f: $!"; my $b; while (sysread($h, $b, 1 << 20)) {} }'
run "mamori evtx --count" xargs -0 -a "$work/files0" "$MAMORI" evtx --count
run "mamori evtx (jsonl to /dev/null)" xargs -0 -a "$work/files0" "$MAMORI" evtx
if [ $have_evtxexport = 1 ]; then
  run "evtxexport (text to /dev/null)" xargs -0 -n 1 -a "$work/files0" evtxexport
fi
rule_args=()
for d in "$SIGMA"/rules*; do [ -d "$d" ] && rule_args+=(--rules "$d"); done
if [ ${#rule_args[@]} -gt 0 ]; then
  hunt=("$MAMORI" hunt "${rule_args[@]}" --quiet --no-summary --no-progress -f jsonl)
  run "mamori hunt, all rules, 1 thread" "${hunt[@]}" --threads 1 "$work/corpus"
  ON=$CPUS run "mamori hunt, all rules, $NCPU threads (cpus $CPUS)" "${hunt[@]}" --threads "$NCPU" "$work/corpus"
  "${hunt[@]}" --threads 1 "$work/corpus" 2>&1 >/dev/null | grep -E 'rules:|findings' > "$work/hunt.txt" || true
else
  echo "run.sh: no SigmaHQ rules in $SIGMA: hunt skipped" >&2
fi

out=$(
  echo "Corpus (SET=$SET): $nfiles files, $mb MiB ($copies copies of ${#samples[@]} sample files), $events events ($lost lost); one core (taskset -c $CPU), page cache warm, best of $REPS (evtxexport: $EVTXEXPORT_REPS); mamori $rev; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  [ -f "$work/hunt.txt" ] && sed 's/^/    /' "$work/hunt.txt"
  echo
  echo "| tool | CPU s (user+sys) | MiB/s per core | x read floor | events/s per core | wall s | MiB/s wall | peak RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|---|"
  floor=''
  for r in "${results[@]}"; do
    IFS='|' read -r name t wall rss <<< "$r"
    mbs=$(echo "scale=1; $mb / $t" | bc 2>/dev/null || echo 0)
    case $name in "read floor"*) floor=$mbs ;; esac
  done
  one=''
  for r in "${results[@]}"; do
    IFS='|' read -r name t wall rss <<< "$r"
    mbs=$(echo "scale=1; $mb / $t" | bc 2>/dev/null || echo inf)
    eps=$(echo "scale=0; $events / $t" | bc 2>/dev/null || echo inf)
    ratio=$( [ -n "$floor" ] && echo "scale=3; $mbs / $floor" | bc 2>/dev/null || echo -)
    wmbs=$(echo "scale=1; $mb / $wall" | bc 2>/dev/null || echo inf)
    case $name in "mamori hunt, all rules, 1 thread") one=$wall ;; esac
    case $name in "mamori hunt, all rules, "*threads*) [ -n "$one" ] && name="$name, speed-up x$(echo "scale=2; $one / $wall" | bc)" ;; esac
    echo "| $name | $t | $mbs | $ratio | $eps | $wall | $wmbs | $(echo "scale=1; $rss / 1024" | bc) |"
  done
)
printf '%s\n' "$out"
mkdir -p bench/out
printf '%s\n' "$out" > "bench/out/hunt-$SET-$(date +%Y%m%d-%H%M%S).md"
