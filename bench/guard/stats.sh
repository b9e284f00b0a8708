# shellcheck shell=bash
# bench/guard/stats.sh - small helpers shared by bench/guard/run.sh and
# bench/guard/restore.sh (sourced, not run).

log() { echo "# $*" >&2; }

# stat_of KIND < numbers: median | max | p95 (nearest rank) | min; "-" if none.
stat_of() {
  sort -g | awk -v k="$1" '
    $1 != "" && $1 != "-" { v[n++] = $1 }
    END {
      if (n == 0) { print "-"; exit }
      if (k == "median") r = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
      else if (k == "max") r = v[n - 1]
      else if (k == "min") r = v[0]
      else if (k == "p95") { i = int(0.95 * n + 0.999999) - 1; if (i < 0) i = 0; r = v[i] }
      printf "%.4g\n", r
    }'
}

# col TSV-FILE FILTER-FIELD FILTER-VALUE FIELD: values of FIELD where FILTER matches.
col() { awk -F'\t' -v f="$2" -v v="$3" -v c="$4" '$f == v { print $c }' "$1"; }
