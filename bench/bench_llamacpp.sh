#!/usr/bin/env bash
# Decode speed against llama.cpp itself on the same model: the bench config
# (/work/shared/bench/bench_config.json, else the b_bench fixture's copy) initialised as
# bench_decode does (`r1 init --seed 1`: the same weights) and exported with `r1 export gguf`,
# f32 weights on both sides (r1 decodes in f32), the same threads; llama.cpp keeps its default
# f16 K/V cache (llama-bench accepts no f32 cache; r1's latent cache is f32):
#   decode1_vs_llamacpp    bench_decode --only 1  (one stream, 16 prompt tokens, 128 new) vs
#                          llama-bench -p 0 -n 128 -d 16 (tg128 after a 16-token context)
#   decode64_vs_llamacpp   bench_decode --only 64 (64 streams × 16 prompt tokens, 128 new) vs
#                          llama-batched-bench -npp 16 -ntg 128 -npl 64 (S_TG: decode tokens/s)
# llama-bench and llama-batched-bench are built here, natively (-DGGML_NATIVE=ON), from the
# llama.cpp source npm node-llama-cpp@3.21.1 ships as a git bundle (tools/fetch_v3_tokenizer.sh
# installs it), into $BUILD/llama.cpp; nothing of it enters the repository. Skipped with a note
# when cmake, git or the package is missing. r1's MTP module is not used by either side.
set -u
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
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

# the bench model, as bench_decode builds it, exported f32
model=$BUILD/bench-model
gguf=$BUILD/bench-model.gguf
if [ ! -f "$gguf" ] || [ "$CONFIG" -nt "$gguf" ] || [ "$BUILD/r1" -nt "$gguf" ]; then
  "$BUILD/r1" init --config "$CONFIG" --seed 1 --out "$model" >&2 &&
    "$BUILD/r1" export gguf --model "$model" --out "$gguf" --type f32 >&2 || { echo "bench_llamacpp.sh: export failed" >&2; exit 1; }
fi

bin=$out/bin
# REPS pairs in turn (default 3), llama.cpp then r1 for each figure; each figure is the median pair's
pairs=$(mktemp)
trap 'rm -f "$pairs"' EXIT
for rep in $(seq "${REPS:-3}"); do
  # one stream: llama-bench's tg128 after a 16-token context, 3 repetitions (its average)
  l1=$("$bin/llama-bench" -m "$gguf" -p 0 -n 128 -d 16 -t "$THREADS" -r 3 -o jsonl 2>"$BUILD/llama.cpp/bench.err" | tail -1)
  o1=$("$BUILD/bench/bench_decode" --config "$CONFIG" --threads "$THREADS" --only 1 | grep '^BENCH ')
  # 64 streams: 64 prompts of 16 tokens, 128 new tokens each; its decode tokens/s (S_TG)
  l64=$("$bin/llama-batched-bench" -m "$gguf" -c $((64 * 160)) -b 2048 -ub 512 -npp 16 -ntg 128 -npl 64 \
          -t "$THREADS" --output-format jsonl 2>"$BUILD/llama.cpp/batched.err" | grep '"speed_tg"' | tail -1)
  o64=$("$BUILD/bench/bench_decode" --config "$CONFIG" --threads "$THREADS" --only 64 | grep '^BENCH ')
  printf '%s\t%s\t%s\t%s\n' "$l1" "$o1" "$l64" "$o64" >>"$pairs"
done
python3 - "$THREADS" "$pairs" <<'PY'
import json, sys
threads, path = sys.argv[1], sys.argv[2]
def ours(s): return json.loads(s.split("BENCH ", 1)[1])["value"]
got = {"decode1_vs_llamacpp": [], "decode64_vs_llamacpp": []}
for line in open(path):
    l1, o1, l64, o64 = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]
    try: got["decode1_vs_llamacpp"].append((ours(o1), json.loads(l1)["avg_ts"]))
    except Exception as e: print(f"bench_llamacpp.sh: a one-stream pair gave no result ({e}); see build/llama.cpp/bench.err", file=sys.stderr)
    try: got["decode64_vs_llamacpp"].append((ours(o64), json.loads(l64)["speed_tg"]))
    except Exception as e: print(f"bench_llamacpp.sh: a 64-stream pair gave no result ({e}); see build/llama.cpp/batched.err", file=sys.stderr)
what = {"decode1_vs_llamacpp": f"llama-bench tg128 at depth 16, f32 weights, {threads} threads",
        "decode64_vs_llamacpp": f"llama-batched-bench 64x(16+128) S_TG, f32 weights, {threads} threads"}
for name, pr in got.items():
    if not pr: continue
    pr.sort(key=lambda p: p[0] / p[1])
    v, ref = pr[len(pr) // 2]            # the median pair (the upper one of an even count)
    print(f"{name}: pair ratios " + " ".join(f"{a / b:.3f}" for a, b in pr), file=sys.stderr)
    print("BENCH " + json.dumps({"name": name, "value": round(v, 3), "unit": "tokens/s", "reference": what[name],
                                 "reference_value": round(ref, 3), "ratio": round(v / ref, 4), "pairs": len(pr)}))
PY
