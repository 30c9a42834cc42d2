#!/usr/bin/env bash
# Training speed beside our PyTorch reference (tools/bench_torch.py --mode train): same config,
# batch 16 x 256, same threads, the two timed in lockstep by bench/train_vs_torch.py (one step of
# each in turn, BENCH_TRAIN_PAIRS timed steps per side, default 15, after a warm-up step; the
# ratio is the median pair's):
# train_vs_torch (2 threads) and train_vs_torch_1t; and the model's GFLOP/s beside the machine's
# 2-thread SGEMM peak measured right after the 2-thread pairs (train_vs_sgemm_peak).
# Without torch, our own figures only.
set -u
BUILD=${BUILD:-build}
PAIRS=${BENCH_TRAIN_PAIRS:-15}
case $PAIRS in ''|*[!0-9]*|0) echo "bench_train.sh: BENCH_TRAIN_PAIRS must be a positive integer" >&2; exit 2;; esac
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench_train.sh: no torch; train_vs_torch skipped" >&2
  exec "$BUILD/bench/bench_model" --steps 5
fi
for T in ${BENCH_TRAIN_THREADS:-2 1}; do
  out=$(python3 bench/train_vs_torch.py --build "$BUILD" --threads "$T" --pairs "$PAIRS") || exit 1
  if [ "$T" = 2 ]; then
    peak=$("$BUILD/bench/bench_kernels" --quick | grep '"name": "sgemm_peak_2t"' | sed 's/^BENCH //')
    g=$(printf '%s\n' "$out" | grep '"name": "train_gflops_2t"' | sed 's/^BENCH //')
    python3 - "$g" "$peak" <<'PY'
import json, sys
g, peak = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("BENCH " + json.dumps({"name": "train_vs_sgemm_peak", "value": round(g["value"], 2), "unit": "GFLOP/s",
      "reference": "OpenBLAS SGEMM peak, 2 threads, right after", "reference_value": peak["value"],
      "ratio": round(g["value"] / peak["value"], 4)}))
PY
  fi
  printf '%s\n' "$out"
done
