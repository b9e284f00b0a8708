#!/usr/bin/env bash
# tests/integration/test_evtx_cli.sh - `mamori evtx` end to end through the binary.
#
# On a real sample (read in place from the EVTX attack samples:
# MAMORI_EVTX_SAMPLES, else ../shared/data/evtx-attack-samples): the record
# count equals what the file header states (next record id - 1), every JSON
# line parses, the first record's values. On a damaged copy in a temp dir:
# exit 1, and the error names the file, the chunk and the reason, while the
# good chunks still yield. Usage errors exit 2. Needs $MAMORI and jq; no root.
# Prints "PASS name" / "FAIL name: why" per case.
. "$(dirname "$0")/lib.sh"
need_tools evtx jq
need_mamori evtx

samples=${MAMORI_EVTX_SAMPLES:-$REPO_ROOT/../shared/data/evtx-attack-samples}
bits="$samples/Command and Control/bits_openvpn.evtx" # 16 chunks, 1537 records
if [ ! -f "$bits" ]; then
  echo "test_evtx_cli: samples not found in $samples: sample cases skipped" >&2
else
  T=$(lib_mktemp_dir evtx)
  # What the file header says: next record id (bytes 24..31, little-endian) - 1.
  next=$(od -An -t u8 -j 24 -N 8 "$bits" | tr -d ' ')
  want=$((next - 1))

  # case: --count equals the file header's count, no errors, exit 0
  out=$("$MAMORI" evtx --count "$bits" 2>"$T/err"); rc=$?
  got=$(printf '%s\n' "$out" | sed -n 's/^total: \([0-9]*\) records, \([0-9]*\) lost.*/\1 \2/p')
  if [ $rc -eq 0 ] && [ "$got" = "$want 0" ] && [ ! -s "$T/err" ]; then
    pass evtx-count
  else
    fail evtx-count "rc=$rc records/lost='$got' want '$want 0': $(head -3 "$T/err")"
  fi

  # case: one valid JSON object per record, the same count, known first values
  "$MAMORI" evtx "$bits" >"$T/out.jsonl" 2>"$T/err"; rc=$?
  lines=$(wc -l <"$T/out.jsonl")
  parsed=$(jq -c . <"$T/out.jsonl" 2>/dev/null | wc -l)
  first=$(head -1 "$T/out.jsonl" | jq -r '[.record_id, .event_id, .channel, .computer, .fields.jobId] | join("|")')
  if [ $rc -eq 0 ] && [ "$lines" -eq "$want" ] && [ "$parsed" -eq "$want" ] &&
     [ "$first" = "1|5|Microsoft-Windows-Bits-Client/Operational|MSEDGEWIN10|{1960D15E-5FC2-457D-ABE7-9A7CB97B7761}" ]; then
    pass evtx-jsonl
  else
    fail evtx-jsonl "rc=$rc lines=$lines parsed=$parsed want $want; first: $first"
  fi

  # case: a damaged copy - chunk 3's header checksum fails, the file is cut short
  cp "$bits" "$T/damaged.evtx"
  printf '\xff' | dd of="$T/damaged.evtx" bs=1 seek=$((4096 + 3 * 65536 + 300)) conv=notrunc 2>/dev/null
  truncate -s $((4096 + 10 * 65536 + 20000)) "$T/damaged.evtx"
  out=$("$MAMORI" evtx --count "$T/damaged.evtx" 2>"$T/err"); rc=$?
  recs=$(printf '%s\n' "$out" | sed -n 's/^total: \([0-9]*\) records, \([0-9]*\) lost.*/\1/p')
  lost=$(printf '%s\n' "$out" | sed -n 's/^total: \([0-9]*\) records, \([0-9]*\) lost.*/\2/p')
  if [ $rc -eq 1 ] && grep -q "^mamori evtx: $T/damaged.evtx: chunk 3, offset 0x[0-9a-f]*: bad chunk header checksum" "$T/err" &&
     grep -q "truncated chunk" "$T/err" && [ "${recs:-0}" -gt 500 ] &&
     [ $((recs + lost)) -eq "$want" ] && printf '%s\n' "$out" | grep -q '^  bad chunk header checksum: 1 errors'; then
    pass evtx-damaged
  else
    fail evtx-damaged "rc=$rc records=$recs lost=$lost (want sum $want): $(head -5 "$T/err" | tr '\n' ';') $out"
  fi

  # case: several files, one unreadable: the others are read, exit 1
  out=$("$MAMORI" evtx --count "$bits" "$T/nonexistent.evtx" "$bits" 2>"$T/err"); rc=$?
  if [ $rc -eq 1 ] && grep -q "nonexistent.evtx: offset 0x0: cannot open: No such file" "$T/err" &&
     printf '%s\n' "$out" | grep -q "^total: $((2 * want)) records, 0 lost"; then
    pass evtx-unreadable
  else
    fail evtx-unreadable "rc=$rc: $(cat "$T/err") / $out"
  fi

  # case: not an EVTX file
  head -c 100000 /dev/urandom >"$T/random.evtx"
  "$MAMORI" evtx "$T/random.evtx" >"$T/out" 2>"$T/err"; rc=$?
  if [ $rc -eq 1 ] && [ ! -s "$T/out" ] && grep -q "random.evtx: offset 0x0: not an EVTX file" "$T/err"; then
    pass evtx-not-evtx
  else
    fail evtx-not-evtx "rc=$rc: $(cat "$T/err")"
  fi
fi

# case: usage errors exit 2, --help exits 0
"$MAMORI" evtx >/dev/null 2>&1; r1=$?
"$MAMORI" evtx --format csv x.evtx >/dev/null 2>&1; r2=$?
"$MAMORI" evtx --no-such-option x.evtx >/dev/null 2>&1; r3=$?
"$MAMORI" evtx --help >"$LIB_TMP/help" 2>&1; r4=$?
if [ $r1 -eq 2 ] && [ $r2 -eq 2 ] && [ $r3 -eq 2 ] && [ $r4 -eq 0 ] && grep -q 'usage: mamori evtx' "$LIB_TMP/help"; then
  pass evtx-usage
else
  fail evtx-usage "exit codes: none=$r1 format=$r2 option=$r3 help=$r4"
fi

lib_summary
