#!/usr/bin/env bash
# Runs every test binary given, adds up their PASS/FAIL lines, and ends with "N passed, N failed".
# A binary that exits non-zero without printing a FAIL line (a crash) counts as one failure.
# "SKIP name: why" lines (a test whose tool is missing) are shown and counted apart, never as passed.
set -u
passed=0; failed=0; skipped=0
for bin in "$@"; do
  name=$(basename "$bin")
  out=$(cd "$(dirname "$0")/.." && "$bin" 2>&1); rc=$?
  p=$(grep -c '^PASS ' <<<"$out"); f=$(grep -c '^FAIL ' <<<"$out"); s=$(grep -c '^SKIP ' <<<"$out")
  if [ "$s" -gt 0 ]; then grep '^SKIP ' <<<"$out" | sed "s|^|[$name] |"; skipped=$((skipped + s)); fi
  if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" | grep -v '^PASS ' | sed "s|^|[$name] |"
    if [ "$f" -eq 0 ]; then echo "[$name] FAIL: exited with status $rc"; f=1; fi
  fi
  echo "$name: $p passed, $f failed$([ "$s" -gt 0 ] && echo ", $s skipped")"
  passed=$((passed + p)); failed=$((failed + f))
done
[ "$skipped" -gt 0 ] && echo "$skipped skipped (listed above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
