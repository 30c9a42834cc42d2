#!/usr/bin/env bash
# serve_vs_engine: generated tokens/s of r1 serve with 64 concurrent streaming clients (the openai
# npm client, bench/serve_clients.mjs) against `r1 generate` at batch 64, on the same model (the
# bench config with a 320-token tokenizer, random init), greedy, 64 prompts, same threads.
# Each side's rate is a difference of two runs, 128 and 1 new tokens per prompt:
#   (tokens(128) − tokens(1)) / (seconds(128) − seconds(1))
# so what is left is the generation itself: the load, tokenizing, prefill and process start of
# `r1 generate`, and the connections and prefill of the server, drop out alike. Pairs run in turn
# (generate, then serve) REPS times (default 5); the figure is the median pair's. Skipped with a note
# when node or the openai package is missing.
set -u
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
REPS=${REPS:-5}
R1=$BUILD/r1
CONFIG=/work/shared/bench/bench_config.json
[ -f "$CONFIG" ] || CONFIG=tests/fixtures/model/b_bench/config.json
if ! command -v node > /dev/null 2>&1 || [ ! -f build/node/node_modules/openai/package.json ]; then
  echo "bench_serve.sh: node or the npm package openai missing (tools/fetch_serve_clients.sh); serve_vs_engine skipped" >&2
  exit 0
fi
. tests/serve_common.sh
work=$(mktemp -d /tmp/r1_bench_serve_XXXXXX)
SERVE_PID=""
trap '[ -n "$SERVE_PID" ] && kill -KILL $SERVE_PID 2>/dev/null; rm -rf "$work"' EXIT
serve_make_model "$work" 1024 "$CONFIG" keep > "$work/make.log" 2>&1 || { echo "bench_serve.sh: could not make the model" >&2; cat "$work/make.log" >&2; exit 1; }
python3 -c '
import json
w = "the water of day number sound people know think answer two plus three is five what".split()
for i in range(64): print(json.dumps({"prompt": " ".join(w[(i * 7 + k) % 16] for k in range(3 + i % 5))}))' > "$work/prompts.jsonl"
serve_start "$work/serve.log" --model "$work/m" --max-batch 64 --queue 64 --threads "$THREADS" --quiet ||
  { echo "bench_serve.sh: the server did not start" >&2; exit 1; }
generate_run() {   # max_tokens -> {"tokens", "seconds"}
  python3 - "$R1" "$work" "$1" "$THREADS" <<'PY'
import json, subprocess, sys, time
r1, work, n, threads = sys.argv[1:5]
t0 = time.perf_counter()
subprocess.run([r1, "generate", "--model", f"{work}/m", "--prompts", f"{work}/prompts.jsonl", "--batch", "64",
                "--max-tokens", n, "--temperature", "0", "--threads", threads, "--out", f"{work}/g.jsonl", "--quiet"],
               check=True)
dt = time.perf_counter() - t0
tokens = sum(json.loads(l)["completion_tokens"] for l in open(f"{work}/g.jsonl"))
print(json.dumps({"tokens": tokens, "seconds": dt}))
PY
}
serve_run() { node bench/serve_clients.mjs "$SERVE_URL" "$work/prompts.jsonl" "$1"; }
serve_run 8 > /dev/null                       # warm-up
: > "$work/runs.jsonl"
for rep in $(seq "$REPS"); do
  g1=$(generate_run 1); g128=$(generate_run 128); s1=$(serve_run 1); s128=$(serve_run 128)
  echo "{\"g1\": $g1, \"g128\": $g128, \"s1\": $s1, \"s128\": $s128}" | tee -a "$work/runs.jsonl" >&2
done
serve_stop > /dev/null
SERVE_PID=""
python3 - "$work/runs.jsonl" "$THREADS" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def rate(a, b): return (b["tokens"] - a["tokens"]) / max(b["seconds"] - a["seconds"], 1e-9)
pairs = sorted(((rate(r["s1"], r["s128"]), rate(r["g1"], r["g128"])) for r in runs), key=lambda p: p[0] / p[1])
srv, gen = pairs[len(pairs) // 2]        # the median pair (the upper one of an even count)
print("serve_vs_engine: pair ratios " + " ".join(f"{a / b:.3f}" for a, b in pairs), file=sys.stderr)
print("BENCH " + json.dumps({"name": "serve_vs_engine", "value": round(srv, 3), "unit": "tokens/s",
      "reference": f"r1 generate --batch 64, {sys.argv[2]} threads", "reference_value": round(gen, 3),
      "ratio": round(srv / gen, 4), "pairs": len(pairs)}))
PY
