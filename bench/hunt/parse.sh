#!/usr/bin/env bash
# bench/hunt/parse.sh - EVTX parse-only throughput: mamori vs evtxexport vs cat.
#
# Builds a corpus of at least CORPUS_MB (default 1024) MB from copies of the
# EVTX attack samples in a temporary directory (removed at exit), warms the
# page cache, then times on one core (taskset -c 0), REPS times each, in the
# same run:
#   cat            reading the files, the floor    (cat FILES > /dev/null)
#   read floor     one process, one reused 1 MiB buffer (perl sysread): GNU
#                  cat allocates and unmaps a fresh buffer per file, which
#                  costs much where page faults are slow (virtual machines)
#   mamori count   parse only                      (mamori evtx --count FILES)
#   mamori jsonl   parse and render JSON lines     (mamori evtx FILES > /dev/null)
#   evtxexport     Debian's libevtx-utils          (evtxexport FILE > /dev/null, per file)
# and reports MB/s and events/s of the best run and the peak RSS (GNU time).
# Events are the records mamori counts (the same files for every tool).
#
#   bash bench/hunt/parse.sh                      # needs build/release/mamori
#   MAMORI=path CORPUS_MB=256 REPS=1 SKIP_EVTXEXPORT=1 bash bench/hunt/parse.sh
#
# Writes the table to stdout and to bench/out/evtx-parse-<time>.md.
set -eu
cd "$(dirname "$0")/../.."
MAMORI=${MAMORI:-$PWD/build/release/mamori}
SAMPLES=${SAMPLES:-$PWD/../shared/data/evtx-attack-samples}
CORPUS_MB=${CORPUS_MB:-1024}
REPS=${REPS:-3}
CPU=${CPU:-0}

[ -x "$MAMORI" ] || { echo "parse.sh: $MAMORI not built (make)" >&2; exit 2; }
[ -d "$SAMPLES" ] || { echo "parse.sh: no samples in $SAMPLES" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "parse.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
have_evtxexport=1
if [ -n "${SKIP_EVTXEXPORT:-}" ] || ! command -v evtxexport >/dev/null; then
  have_evtxexport=0
  [ -n "${SKIP_EVTXEXPORT:-}" ] || echo "parse.sh: evtxexport not installed (libevtx-utils): skipped" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-evtxbench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- corpus: whole copies of the sample set until CORPUS_MB is reached
mapfile -d '' samples < <(find "$SAMPLES" -name '*.evtx' -type f -print0 | sort -z)
[ ${#samples[@]} -gt 0 ] || { echo "parse.sh: no .evtx under $SAMPLES" >&2; exit 2; }
set_bytes=$(cat "${samples[@]}" | wc -c)
copies=$(( (CORPUS_MB * 1048576 + set_bytes - 1) / set_bytes ))
for ((c = 0; c < copies; c++)); do
  d="$work/corpus/$c"
  mkdir -p "$d"
  i=0
  for s in "${samples[@]}"; do cp "$s" "$d/$i.evtx"; i=$((i + 1)); done
done
find "$work/corpus" -name '*.evtx' -print0 | sort -z > "$work/files0"
nfiles=$(tr -cd '\0' < "$work/files0" | wc -c)
bytes=$(xargs -0 cat < "$work/files0" | wc -c) # also warms the page cache
xargs -0 cat < "$work/files0" > /dev/null
mb=$(echo "scale=3; $bytes / 1048576" | bc)

# Events: mamori's count over the corpus (every tool reads the same files).
counts=$(xargs -0 "$MAMORI" evtx --count < "$work/files0" | grep '^total:')
events=$(printf '%s\n' "$counts" | awk '{s += $2} END {print s}')
lost=$(printf '%s\n' "$counts" | awk '{s += $4} END {print s}')

# run NAME CMD...: best wall time and max peak RSS over REPS runs
results=()
run() {
  local name=$1 best='' rss=0 t m
  shift
  for ((r = 0; r < REPS; r++)); do
    /usr/bin/time -f '%e %M' -o "$work/time" taskset -c "$CPU" "$@" > /dev/null 2>"$work/err" || {
      echo "parse.sh: $name failed: $(tail -3 "$work/err")" >&2; return 1; }
    read -r t m < "$work/time"
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  results+=("$name|$best|$rss")
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

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out=$(
  echo "Corpus: $nfiles files, $mb MiB ($copies copies of the ${#samples[@]} sample files), $events events ($lost lost); one core (taskset -c $CPU), page cache warm, best of $REPS; mamori $rev"
  echo
  echo "| tool | seconds | MiB/s | events/s | peak RSS (MiB) |"
  echo "|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name t rss <<< "$r"
    mbs=$(echo "scale=1; $mb / $t" | bc 2>/dev/null || echo inf)
    eps=$(echo "scale=0; $events / $t" | bc 2>/dev/null || echo inf)
    echo "| $name | $t | $mbs | $eps | $(echo "scale=1; $rss / 1024" | bc) |"
  done
)
printf '%s\n' "$out"
mkdir -p bench/out
printf '%s\n' "$out" > "bench/out/evtx-parse-$(date +%Y%m%d-%H%M%S).md"
