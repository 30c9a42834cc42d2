#!/usr/bin/env bash
# Runs every test binary given, adds up their PASS/FAIL lines, and ends with "N passed, N failed".
# A binary that exits non-zero without printing a FAIL line (a crash) counts as one failure.
set -u
passed=0; failed=0
for bin in "$@"; do
  name=$(basename "$bin")
  out=$(cd "$(dirname "$0")/.." && "$bin" 2>&1); rc=$?
  p=$(grep -c '^PASS ' <<<"$out"); f=$(grep -c '^FAIL ' <<<"$out")
  if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" | grep -v '^PASS ' | sed "s|^|[$name] |"
    if [ "$f" -eq 0 ]; then echo "[$name] FAIL: exited with status $rc"; f=1; fi
  fi
  echo "$name: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
