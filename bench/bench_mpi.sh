#!/usr/bin/env bash
# Data-parallel scaling on one machine: pretraining tokens/s of `mpirun -np 2` ranks × 1 thread
# beside one process × 1 thread, same config (the bench config), same global batch (2 micro-batches
# of 4 × 256 a step: one per rank), median step after a warm-up, REPS pairs in turn and the median
# pair: mpi_scaling (ideal 2). Also
# mpi_comm_share: the share of a 2-rank step spent in the gradient reduce-scatter and parameter
# all-gather (the metrics' comm_s); mpi_zero1_moments and mpi_peak_rss: the largest rank's AdamW
# moments (ZeRO-1) and peak resident memory (the run's memory.json). Open MPI's default transport
# here (shared memory); skipped without mpirun.
set -u
BUILD=${BUILD:-build}
R1=$BUILD/r1
STEPS=${BENCH_MPI_STEPS:-8}
CONFIG=/work/shared/bench/bench_config.json
[ -f "$CONFIG" ] || CONFIG=tests/fixtures/model/b_bench/config.json
if ! command -v mpirun > /dev/null 2>&1; then
  echo "bench_mpi.sh: no mpirun (tools/deps.sh installs openmpi-bin); mpi_scaling skipped" >&2
  exit 0
fi
work=$(mktemp -d /tmp/r1_bench_mpi_XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -c '
import random
random.seed(1)
w = "the water of day number sound people know think answer two plus three is five what".split()
print("\n".join(" ".join(random.choice(w) for _ in range(13)) for _ in range(20000)))' > "$work/c.txt"
"$R1" tokenizer train --data "$work/c.txt" --vocab-size 320 --out "$work/tok/tokenizer.json" --quiet || exit 1
args=(pretrain --config "$CONFIG" --tokenizer "$work/tok/tokenizer.json" --data "$work/c.txt" --batch 4
      --seq-len 256 --grad-accum 2 --steps "$STEPS" --threads 1 --eval-every 0 --quiet)
# REPS pairs in turn (default 3): one process, then 2 ranks; the figure is the median pair's
REPS=${REPS:-3}
for rep in $(seq "$REPS"); do
  rm -rf "$work/one" "$work/two"
  "$R1" "${args[@]}" --out "$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log" >&2; exit 1; }
  # Open MPI refuses root unless told: for this command only
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 "$R1" "${args[@]}" \
    --out "$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log" >&2; exit 1; }
  mkdir -p "$work/pair$rep" && cp "$work/one/metrics.jsonl" "$work/pair$rep/one.jsonl" &&
    cp "$work/two/metrics.jsonl" "$work/pair$rep/two.jsonl" || exit 1
done
python3 - "$work" "$REPS" <<'PY'
import json, statistics, sys
work, reps = sys.argv[1], int(sys.argv[2])
def steps(path):   # the steps after the first two (warm-up)
    rows = [json.loads(l) for l in open(path)]
    return rows[2:] if len(rows) > 3 else rows
pairs = []
for rep in range(1, reps + 1):
    one, two = steps(f"{work}/pair{rep}/one.jsonl"), steps(f"{work}/pair{rep}/two.jsonl")
    pairs.append((statistics.median(r["tokens_per_s"] for r in two), statistics.median(r["tokens_per_s"] for r in one),
                  statistics.median(r["comm_s"] * r["tokens_per_s"] / (2 * 4 * 256) for r in two)))
pairs.sort(key=lambda p: p[0] / p[1])
t2, t1, share = pairs[len(pairs) // 2]    # the median pair (the upper one of an even count)
print("mpi_scaling: pair ratios " + " ".join(f"{a / b:.3f}" for a, b, _ in pairs), file=sys.stderr)
print("BENCH " + json.dumps({"name": "mpi_scaling", "value": round(t2, 1), "unit": "tokens/s",
      "reference": "1 process x 1 thread (2 ranks x 1 thread; ideal 2)", "reference_value": round(t1, 1),
      "ratio": round(t2 / t1, 4), "pairs": len(pairs)}))
print("BENCH " + json.dumps({"name": "mpi_comm_share", "value": round(share, 4), "unit": "of a step",
      "reference": None, "reference_value": None, "ratio": None}))
mem = json.load(open(f"{work}/two/memory.json"))   # ZeRO-1: each rank's moments and peak memory
ranks = mem["per_rank"]
print("BENCH " + json.dumps({"name": "mpi_zero1_moments", "value": round(max(r["moment_bytes"] for r in ranks) / 1e6, 2),
      "unit": "MB per rank", "reference": "one process's AdamW moments (ideal ratio 1/2)",
      "reference_value": round(mem["moment_bytes_one_process"] / 1e6, 2),
      "ratio": round(max(r["moment_bytes"] for r in ranks) / mem["moment_bytes_one_process"], 4)}))
print("BENCH " + json.dumps({"name": "mpi_peak_rss", "value": round(max(r["peak_rss_bytes"] for r in ranks) / 1e6, 1),
      "unit": "MB per rank (largest)", "reference": None, "reference_value": None, "ratio": None}))
PY
