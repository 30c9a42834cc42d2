#!/usr/bin/env bash
# Decode speed beside our PyTorch reference with a K/V cache, same config, same threads, same
# run (tools/bench_torch.py --mode decode): decode64_vs_torch (64 sequences × 128 new tokens) and
# decode1_vs_torch (one stream). Each pair is measured back to back (torch, then ours) so both
# see the same machine load. Skipped with a note when torch is not installed.
set -u
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
CONFIG=/work/shared/bench/bench_config.json
[ -f "$CONFIG" ] || CONFIG=tests/fixtures/model/b_bench/config.json
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench_decode.sh: no torch for /usr/bin/python3; decode*_vs_torch skipped" >&2
  exit 0
fi
for B in 64 1; do
  t=$(/usr/bin/python3 tools/bench_torch.py --config "$CONFIG" --batch $B --new-tokens 128 \
        --threads $THREADS --mode decode | tail -1)
  o=$("$BUILD/bench/bench_decode" --config "$CONFIG" --threads $THREADS --only $B | grep '^BENCH ')
  python3 - "$B" "$t" "$o" <<'PY'
import json, sys
B, t, o = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3].split("BENCH ", 1)[1])
ours, ref = o["value"], t["tokens_per_s"]
print("BENCH " + json.dumps({"name": f"decode{B}_vs_torch", "value": round(ours, 3), "unit": "tokens/s",
      "reference": f"torch {t.get('torch')} KV cache, {t['threads']} threads (median)",
      "reference_value": round(ref, 3), "ratio": round(ours / ref, 4)}))
PY
done
