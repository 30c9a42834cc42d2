#!/usr/bin/env bash
# Decode speed against llama.cpp itself on the same model at the same weight precision: the bench
# config (/work/shared/bench/bench_config.json, else the b_bench fixture's copy) initialised as
# bench_decode does (`r1 init --seed 1`: the same weights) and exported with `r1 export gguf
# --type PRECISION`; llama.cpp keeps its default f16 K/V cache (llama-bench accepts no f32 cache;
# r1's latent cache is f32):
#   decode1_vs_llamacpp_P    bench_decode --only 1 --weights P (one stream, 16 prompt tokens, 128
#                            new) vs llama-bench -p 0 -n 128 -d 16 (tg128 after a 16-token context)
#   decode64_vs_llamacpp_P   bench_decode --only 64 --weights P (64 streams × 16 prompt tokens, 128
#                            new) vs llama-batched-bench -npp 16 -ntg 128 -npl 64 (S_TG: decode tokens/s)
# P (PRECISION, a list; default "f32 bf16"): f32, or bf16 — bf16 weights multiplied in bf16 with
# fp32 accumulation on both sides (r1: KN_BF16_DOT packs; llama.cpp: its bf16 GGUF, whose CPU
# products round the activations to bf16 and use vdpbf16ps where the CPU has AVX512-BF16 — its
# system_info line, echoed to stderr, says whether it does).
# Each figure is at THREADS threads on both sides (default 2); the *_best figures compare each
# side at its own best of 1 and THREADS threads (the thread counts are in the reference text).
# Each side's peak RSS is in its BENCH line (peak_rss_mb, reference_peak_rss_mb).
# llama-bench and llama-batched-bench are built here, natively (-DGGML_NATIVE=ON), from the
# llama.cpp source npm node-llama-cpp@3.21.1 ships as a git bundle (tools/fetch_v3_tokenizer.sh
# installs it), into $BUILD/llama.cpp; nothing of it enters the repository. Skipped with a note
# when cmake, git or the package is missing. r1's MTP module is not used by either side.
set -u
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
PRECISION=${PRECISION:-f32 bf16}
for p in $PRECISION; do
  case $p in f32|bf16) ;; *) echo "bench_llamacpp.sh: PRECISION: f32 or bf16, got $p" >&2; exit 2 ;; esac
done
tlist=$(printf '%s\n' 1 "$THREADS" | sort -un)
CONFIG=/work/shared/bench/bench_config.json
[ -f "$CONFIG" ] || CONFIG=tests/fixtures/model/b_bench/config.json
bundle=$BUILD/node/node_modules/node-llama-cpp/llama/gitRelease.bundle
for tool in cmake git; do
  if ! command -v $tool >/dev/null 2>&1; then echo "bench_llamacpp.sh: no $tool; decode*_vs_llamacpp skipped" >&2; exit 0; fi
done
if [ ! -f "$bundle" ]; then
  echo "bench_llamacpp.sh: $bundle missing (tools/fetch_v3_tokenizer.sh installs node-llama-cpp); decode*_vs_llamacpp skipped" >&2
  exit 0
fi

# build llama-bench and llama-batched-bench once per bundle (a stamp holds the bundle's commit)
src=$BUILD/llama.cpp/src out=$BUILD/llama.cpp/build
head=$(git bundle list-heads "$bundle" | awk 'NR==1{print $1}')
if [ "$(cat "$BUILD/llama.cpp/stamp" 2>/dev/null)" != "$head" ] || [ ! -x "$out/bin/llama-bench" ] || [ ! -x "$out/bin/llama-batched-bench" ]; then
  echo "bench_llamacpp.sh: building llama-bench and llama-batched-bench from $bundle (${head:0:12}), -DGGML_NATIVE=ON" >&2
  rm -rf "$BUILD/llama.cpp"
  mkdir -p "$BUILD/llama.cpp"
  git clone -q "$bundle" "$src" 2>/dev/null && git -C "$src" checkout -q "$head" 2>/dev/null || { echo "bench_llamacpp.sh: cannot unpack $bundle; skipped" >&2; exit 0; }
  if ! cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
         -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF >"$BUILD/llama.cpp/cmake.log" 2>&1 ||
     ! cmake --build "$out" -j2 --target llama-bench llama-batched-bench >"$BUILD/llama.cpp/build.log" 2>&1; then
    echo "bench_llamacpp.sh: llama.cpp build failed (see $BUILD/llama.cpp/*.log); decode*_vs_llamacpp skipped" >&2
    exit 0
  fi
  echo "$head" >"$BUILD/llama.cpp/stamp"
fi

# the bench model, as bench_decode builds it, exported at each precision
model=$BUILD/bench-model
for p in $PRECISION; do
  gguf=$BUILD/bench-model-$p.gguf
  if [ ! -f "$gguf" ] || [ "$CONFIG" -nt "$gguf" ] || [ "$BUILD/r1" -nt "$gguf" ]; then
    "$BUILD/r1" init --config "$CONFIG" --seed 1 --out "$model" >&2 &&
      "$BUILD/r1" export gguf --model "$model" --out "$gguf" --type "$p" >&2 || { echo "bench_llamacpp.sh: export failed" >&2; exit 1; }
  fi
done

bin=$out/bin
# the CPU features llama.cpp was built with (AVX512_BF16 = 1: its bf16 products use vdpbf16ps);
# its programs no longer print this line, so it is asked of libllama itself
python3 -c 'import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); l.llama_print_system_info.restype = ctypes.c_char_p
print("bench_llamacpp.sh: llama.cpp system_info: " + l.llama_print_system_info().decode(), file=sys.stderr)' "$bin/libllama.so" ||
  echo "bench_llamacpp.sh: llama.cpp system_info unavailable" >&2
err=$BUILD/llama.cpp
rss=$(mktemp)
pairs=$(mktemp)
trap 'rm -f "$pairs" "$rss"' EXIT
# peak RSS (MB) of the last command run under it, by /usr/bin/time when present
timed() {
  if [ -x /usr/bin/time ]; then /usr/bin/time -f '%M' -o "$rss" "$@"; else echo 0 >"$rss"; "$@"; fi
}
mb() { awk '{printf "%.1f", $1 / 1024}' "$rss"; }
# REPS rounds (default 3); in each, per precision and thread count, llama.cpp then r1 for each
# workload; a line per measurement: precision, workload, threads, side, tokens/s, peak RSS MB
for rep in $(seq "${REPS:-3}"); do
  for p in $PRECISION; do
    gguf=$BUILD/bench-model-$p.gguf
    for t in $tlist; do
      # one stream: llama-bench's tg128 after a 16-token context, 3 repetitions (its average)
      v=$(timed "$bin/llama-bench" -m "$gguf" -p 0 -n 128 -d 16 -t "$t" -r 3 -o jsonl 2>"$err/bench.err" | tail -1 |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["avg_ts"])' 2>/dev/null)
      printf '%s\t1\t%s\tllama\t%s\t%s\n' "$p" "$t" "${v:-}" "$(mb)" >>"$pairs"
      v=$(timed "$BUILD/bench/bench_decode" --config "$CONFIG" --threads "$t" --only 1 --weights "$p" | grep '^BENCH ' |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split("BENCH ",1)[1])["value"])' 2>/dev/null)
      printf '%s\t1\t%s\tr1\t%s\t%s\n' "$p" "$t" "${v:-}" "$(mb)" >>"$pairs"
      # 64 streams: 64 prompts of 16 tokens, 128 new tokens each; its decode tokens/s (S_TG)
      v=$(timed "$bin/llama-batched-bench" -m "$gguf" -c $((64 * 160)) -b 2048 -ub 512 -npp 16 -ntg 128 -npl 64 \
            -t "$t" --output-format jsonl 2>"$err/batched.err" | grep '"speed_tg"' | tail -1 |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["speed_tg"])' 2>/dev/null)
      printf '%s\t64\t%s\tllama\t%s\t%s\n' "$p" "$t" "${v:-}" "$(mb)" >>"$pairs"
      v=$(timed "$BUILD/bench/bench_decode" --config "$CONFIG" --threads "$t" --only 64 --weights "$p" | grep '^BENCH ' |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split("BENCH ",1)[1])["value"])' 2>/dev/null)
      printf '%s\t64\t%s\tr1\t%s\t%s\n' "$p" "$t" "${v:-}" "$(mb)" >>"$pairs"
    done
  done
done
[ -n "${KEEP_PAIRS:-}" ] && cp "$pairs" "$KEEP_PAIRS"
python3 - "$THREADS" "$pairs" <<'PY'
import json, sys
from collections import defaultdict
threads, path = int(sys.argv[1]), sys.argv[2]
# runs[(prec, streams)][rep][(side, threads)] = (tokens/s, peak MB), reps in file order
runs, seen = defaultdict(list), defaultdict(int)
for line in open(path):
    p, s, t, side, v, m = line.rstrip("\n").split("\t")
    key = (p, int(s))
    k = seen[(key, side, int(t))]
    seen[(key, side, int(t))] += 1
    while len(runs[key]) <= k: runs[key].append({})
    try: runs[key][k][(side, int(t))] = (float(v), float(m or 0))
    except ValueError: print(f"bench_llamacpp.sh: {side} gave no result ({p}, {s} streams, {t} threads); see build/llama.cpp/*.err", file=sys.stderr)
ref = {1: "llama-bench tg128 at depth 16", 64: "llama-batched-bench 64x(16+128) S_TG"}
def emit(name, what, pr):
    if not pr: return
    pr.sort(key=lambda q: q[0][0] / q[1][0])
    (v, mv, tv), (r, mr, tr) = pr[len(pr) // 2]     # the median pair (the upper one of an even count)
    print(f"{name}: pair ratios " + " ".join(f"{a[0] / b[0]:.3f}" for a, b in pr), file=sys.stderr)
    print("BENCH " + json.dumps({"name": name, "value": round(v, 3), "unit": "tokens/s",
                                 "reference": what(tv, tr), "reference_value": round(r, 3),
                                 "ratio": round(v / r, 4), "pairs": len(pr),
                                 "peak_rss_mb": mv, "reference_peak_rss_mb": mr}))
for (p, s), reps in runs.items():
    eq, best = [], []
    for d in reps:
        if ("r1", threads) in d and ("llama", threads) in d:
            eq.append((d[("r1", threads)] + (threads,), d[("llama", threads)] + (threads,)))
        side = lambda who: max(((d[k][0], d[k][1], k[1]) for k in d if k[0] == who), default=None)
        if side("r1") and side("llama"): best.append((side("r1"), side("llama")))
    emit(f"decode{s}_vs_llamacpp_{p}", lambda tv, tr: f"{ref[s]}, {p} weights, {tr} threads", eq)
    emit(f"decode{s}_vs_llamacpp_{p}_best", lambda tv, tr: f"{ref[s]}, {p} weights, best threads: r1 {tv}, llama.cpp {tr}", best)
PY
