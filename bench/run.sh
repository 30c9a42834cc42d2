#!/usr/bin/env bash
# Runs every benchmark binary given (and bench/*.sh scripts), collects their BENCH lines into
# $BUILD/bench.json, and prints a table of figure, reference and ratio.
set -u
BUILD=${BUILD:-build}
lines=$(mktemp)
for b in "$@" $(ls bench/bench_*.sh 2>/dev/null); do
  echo "== $b" >&2
  "$b" | tee /dev/stderr | grep '^BENCH ' | sed 's/^BENCH //' >>"$lines"
done
python3 - "$lines" "$BUILD/bench.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"\n{'name':34} {'value':>12} {'unit':10} {'reference':28} {'ref value':>12} {'ratio':>8}")
for r in rows:
    rv = r.get("reference_value"); ra = r.get("ratio")
    print(f"{r['name']:34} {r['value']:12.4g} {r['unit']:10} {str(r.get('reference') or '-'):28} "
          f"{(f'{rv:.4g}' if rv is not None else '-'):>12} {(f'{ra:.3f}' if ra is not None else '-'):>8}")
print(f"\nwritten: {sys.argv[2]}")
PY
rm -f "$lines"
