#!/usr/bin/env bash
# Runs each fuzz target (built by `make test` when clang is present) for a few seconds over its
# seed corpus; prints one PASS/FAIL line per target for tests/run.sh to count.
set -u
secs=${FUZZ_TEST_SECONDS:-4}
rc=0
for f in ${FUZZ:-}; do
  name=$(basename "$f")
  corpus="fuzz/corpus/$name"; work=$(mktemp -d)
  [ -d "$corpus" ] || corpus=""
  if out=$("$f" -max_total_time="$secs" -max_len=65536 "$work" $corpus 2>&1); then
    echo "PASS $name ($(grep -o 'Done [0-9]* runs' <<<"$out" | tail -1))"
  else
    echo "FAIL $name"; tail -30 <<<"$out"; rc=1
  fi
  rm -rf "$work"
done
exit $rc
