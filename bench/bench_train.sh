#!/usr/bin/env bash
# Training speed beside our PyTorch reference (tools/bench_torch.py --mode train), same config,
# batch 16 x 256, same threads, measured back to back (torch, then ours) so both see the same
# load: train_vs_torch (2 threads) and train_vs_torch_1t; and the model's GFLOP/s beside the
# machine's 2-thread SGEMM peak measured right after (train_vs_sgemm_peak).
set -u
BUILD=${BUILD:-build}
CONFIG=/work/shared/bench/bench_config.json
[ -f "$CONFIG" ] || CONFIG=tests/fixtures/model/b_bench/config.json
have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || { have_torch=0; echo "bench_train.sh: no torch; train_vs_torch skipped" >&2; }
for T in ${BENCH_TRAIN_THREADS:-2 1}; do
  t='{}'
  [ $have_torch = 1 ] && t=$(/usr/bin/python3 tools/bench_torch.py --config "$CONFIG" --batch 16 --seq 256 \
        --threads $T --mode train | tail -1)
  o=$("$BUILD/bench/bench_model" --config "$CONFIG" --batch 16 --seq 256 --threads $T | grep '^BENCH ')
  p='{}'
  [ $T = 2 ] && p=$("$BUILD/bench/bench_kernels" --quick | grep '"name": "sgemm_peak_2t"' | sed 's/^BENCH //')
  python3 - "$T" "$t" "$o" "$p" <<'PY'
import json, sys
T, t, lines, peak = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
rows = {r["name"]: r for r in (json.loads(l.split("BENCH ", 1)[1]) for l in lines.splitlines() if l.strip())}
ours = rows.get(f"train_tokens_per_s_{T}t", {}).get("value")
if ours and t.get("tokens_per_s"):
    ref = t["tokens_per_s"]
    name = "train_vs_torch" if T == "2" else "train_vs_torch_1t"
    print("BENCH " + json.dumps({"name": name, "value": round(ours, 1), "unit": "tokens/s",
          "reference": f"torch {t.get('torch', '')} fwd+bwd, {T} threads", "reference_value": round(ref, 1),
          "ratio": round(ours / ref, 4)}))
g = rows.get("train_gflops_2t", {}).get("value")
if T == "2" and g and peak.get("value"):
    print("BENCH " + json.dumps({"name": "train_vs_sgemm_peak", "value": round(g, 2), "unit": "GFLOP/s",
          "reference": "OpenBLAS SGEMM peak, 2 threads", "reference_value": peak["value"],
          "ratio": round(g / peak["value"], 4)}))
for r in rows.values():
    print("BENCH " + json.dumps(r))
PY
done
