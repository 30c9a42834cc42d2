#!/usr/bin/env bash
# The accuracy of mixed-precision training: the bench config (tests/fixtures/model/b_bench) pretrained
# from the same seed on the same data twice, --precision f32 and --precision bf16, and the two loss
# curves compared step by step. Prints the summary and a BENCH line (bf16_loss_gap: the largest
# distance between the two curves smoothed over 50 steps, in nats, beside the fp32 curve's final
# smoothed loss). Not part of `make bench` (two full runs: about two hours at 1000 steps of
# 16 x 256 tokens on 2 cores); run it alone on a quiet machine:
#
#   bench/loss_bf16.sh [STEPS (1000)] [BATCH (16)] [SEQ_LEN (256)]       e.g. bench/loss_bf16.sh 40 4 128
#
# Files go to $BUILD/loss_bf16/ (data, tokenizer, run_f32/, run_bf16/, curves.tsv).
set -eu
BUILD=${BUILD:-build}
STEPS=${1:-1000}
BATCH=${2:-16}
SEQ=${3:-256}
THREADS=${BENCH_THREADS:-2}
R1="$BUILD/r1"
W="$BUILD/loss_bf16"
for v in "$STEPS" "$BATCH" "$SEQ" "$THREADS"; do
  case $v in ''|*[!0-9]*|0) echo "loss_bf16.sh: STEPS, BATCH, SEQ_LEN and BENCH_THREADS must be positive integers" >&2; exit 2;; esac
done
[ -x "$R1" ] || { echo "loss_bf16.sh: $R1 not built (make)" >&2; exit 2; }
mkdir -p "$W"
if [ ! -s "$W/data.jsonl" ]; then
  "$R1" data make --task arith,countdown,linear,chat --level 1-5 --lang mixed --mix-cot 0.1 --n 60000 \
    --format pretrain --seed 11 --text-out "$W/corpus.txt" --out "$W/data.jsonl" >&2
  "$R1" tokenizer train --data "$W/corpus.txt" --vocab-size 4096 --out "$W/tokenizer.json" >&2
fi
for p in f32 bf16; do
  rm -rf "$W/run_$p"
  echo "== --precision $p: $STEPS steps of $BATCH x $SEQ tokens, $THREADS threads" >&2
  start=$(date +%s)
  "$R1" pretrain --config tests/fixtures/model/b_bench/config.json --tokenizer "$W/tokenizer.json" \
    --data "$W/data.jsonl" --out "$W/run_$p" --steps "$STEPS" --batch "$BATCH" --seq-len "$SEQ" \
    --learning-rate 1e-3 --warmup-steps $(( STEPS / 20 + 1 )) --seed 1 --val-frac 0.01 --eval-every 0 \
    --threads "$THREADS" --precision "$p" --log-every 50 >&2
  echo "   $(( $(date +%s) - start )) s" >&2
done
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
def curve(p):
    rows = [json.loads(l) for l in open(f"{w}/run_{p}/metrics.jsonl") if l.strip()]
    return [r["loss"] for r in rows if "loss" in r]
f, b = curve("f32"), curve("bf16")
n = min(len(f), len(b))
def ema(x, span=50):
    a, out, s = 2 / (span + 1), [], None
    for v in x:
        s = v if s is None else s + a * (v - s)
        out.append(s)
    return out
ef, eb = ema(f[:n]), ema(b[:n])
gap = [abs(x - y) for x, y in zip(ef, eb)]
worst = max(range(n), key=lambda i: gap[i])
tail = max(1, n // 10)
mean_tail_f = sum(f[n - tail:n]) / tail
mean_tail_b = sum(b[n - tail:n]) / tail
with open(f"{w}/curves.tsv", "w") as out:
    out.write("step\tloss_f32\tloss_bf16\tema_f32\tema_bf16\n")
    for i in range(n):
        out.write(f"{i}\t{f[i]:.6f}\t{b[i]:.6f}\t{ef[i]:.6f}\t{eb[i]:.6f}\n")
print(f"steps {n}: final smoothed loss f32 {ef[-1]:.4f}, bf16 {eb[-1]:.4f}; mean of the last {tail} steps "
      f"f32 {mean_tail_f:.4f}, bf16 {mean_tail_b:.4f}; largest smoothed gap {gap[worst]:.4f} nats at step {worst}; "
      f"mean per-step |diff| {sum(abs(x - y) for x, y in zip(f, b)) / n:.4f}")
print("BENCH " + json.dumps({"name": "bf16_loss_gap", "value": round(gap[worst], 5), "unit": "nats",
      "reference": f"fp32 final smoothed loss ({n} steps)", "reference_value": round(ef[-1], 5),
      "ratio": round(eb[-1] / ef[-1], 5)}))
PY
