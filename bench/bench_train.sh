#!/usr/bin/env bash
# Training speed beside our PyTorch reference (tools/bench_torch.py --mode train): same config,
# batch 16 x 256, same threads, r1 and torch each in f32 and in bf16 (r1 --precision bf16, torch
# CPU autocast), the four timed in lockstep by bench/train_vs_torch.py (one step of each in turn,
# BENCH_TRAIN_PAIRS timed steps per side, default 15, after a warm-up step; each ratio is the
# median pair's): train_vs_torch (r1 at its best precision vs torch f32), train_f32_vs_torch,
# train_bf16_vs_torch, train_bf16_vs_torch_bf16, torch_bf16_vs_torch_f32, r1_bf16_vs_r1_f32 at 2
# threads, the same with _1t at 1; and the model's f32 GFLOP/s beside the machine's 2-thread SGEMM
# peak measured right after the 2-thread rounds (train_vs_sgemm_peak).
# BENCH_TRAIN_PRECISIONS (default f32,bf16) narrows the precisions. Without torch, our own figures.
set -u
BUILD=${BUILD:-build}
# OpenBLAS's best kernels for this CPU on every side (train_vs_torch.py does the same): an
# inherited OPENBLAS_CORETYPE=Haswell on an AVX-512 machine halves both sides' SGEMM
if grep -m1 '^flags' /proc/cpuinfo | grep -qw avx512bw; then export OPENBLAS_CORETYPE=SkylakeX; fi
PAIRS=${BENCH_TRAIN_PAIRS:-15}
case $PAIRS in ''|*[!0-9]*|0) echo "bench_train.sh: BENCH_TRAIN_PAIRS must be a positive integer" >&2; exit 2;; esac
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench_train.sh: no torch; train_vs_torch skipped" >&2
  "$BUILD/bench/bench_model" --steps 5 || exit 1
  exec "$BUILD/bench/bench_model" --steps 5 --precision bf16
fi
for T in ${BENCH_TRAIN_THREADS:-2 1}; do
  out=$(python3 bench/train_vs_torch.py --build "$BUILD" --threads "$T" --pairs "$PAIRS" \
         --precisions "${BENCH_TRAIN_PRECISIONS:-f32,bf16}") || exit 1
  if [ "$T" = 2 ] && printf '%s\n' "$out" | grep -q '"name": "train_gflops_2t"'; then
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
