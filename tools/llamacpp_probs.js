#!/usr/bin/env node
// Runs a GGUF file in llama.cpp (the prebuilt CPU binary of npm node-llama-cpp@3.21.1, installed
// in build/node) and prints, as one JSON line, a greedy continuation of the given prompt and the
// full next-token distribution before each generated token:
//   {"tokens": [t1, ..., tN], "probs": [[p_0 .. p_V-1] before t1, ..., before tN], "n_vocab": V}
// probs[k] is llama.cpp's softmax of the raw logits (temperature 0 = the greedy sampler, which
// leaves the logits untouched). K/V cache in F32 and flash attention off, so the f32 comparison
// with `r1 logits` sees llama.cpp's arithmetic and not a cache rounded to f16.
//
//   node tools/llamacpp_probs.js MODEL.gguf 3,17,5 NEW_TOKENS [THREADS]
//   node tools/llamacpp_probs.js --tokenize MODEL.gguf TEXTS.json
//   node tools/llamacpp_probs.js --generate MODEL.gguf PROMPT.txt NEW_TOKENS
// The second form prints llama.cpp's token ids of each text of a JSON array of strings, as an array
// of arrays (no BOS; added tokens inside a text are matched, as r1 and Hugging Face do). The third
// tokenizes the prompt text the same way (a BOS, if wanted, is part of the text), continues it
// greedily until an end-of-generation token or NEW_TOKENS tokens, and prints
//   {"tokens": [...], "text": detokenized without special tokens, "finish": "eos"|"length"}
"use strict";
const path = require("path");

async function load(modelPath) {
    const lib = path.join(__dirname, "..", "build", "node", "node_modules", "node-llama-cpp");
    const {getLlama, LlamaLogLevel} = await import(path.join(lib, "dist", "index.js"));
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false});
    return {llama, model: await llama.loadModel({modelPath, gpuLayers: 0})};
}

async function tokenize(modelPath, textPath) {
    const {llama, model} = await load(modelPath);
    const texts = JSON.parse(require("fs").readFileSync(textPath, "utf8"));
    process.stdout.write(JSON.stringify(texts.map((t) => Array.from(model.tokenize(t, true)))) + "\n");
    await model.dispose();
    await llama.dispose();
}

function f32Context(model, size, threads) {
    return model.createContext({
        contextSize: Math.max(32, size), batchSize: Math.max(32, size), threads,
        flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
}

async function generate(modelPath, promptPath, n) {
    const {llama, model} = await load(modelPath);
    const prompt = model.tokenize(require("fs").readFileSync(promptPath, "utf8"), true);
    const ctx = await f32Context(model, prompt.length + n + 8, 1);
    const out = {tokens: [], text: "", finish: "length"};
    for await (const tok of ctx.getSequence().evaluate(prompt, {temperature: 0, yieldEogToken: true})) {
        if (model.isEogToken(tok)) { out.finish = "eos"; break; }
        out.tokens.push(tok);
        if (out.tokens.length >= n) break;
    }
    out.text = model.detokenize(out.tokens, false);
    process.stdout.write(JSON.stringify(out) + "\n");
    await ctx.dispose();
    await model.dispose();
    await llama.dispose();
}

async function main() {
    if (process.argv[2] === "--tokenize") return tokenize(process.argv[3], process.argv[4]);
    if (process.argv[2] === "--generate") return generate(process.argv[3], process.argv[4], Number(process.argv[5]));
    const [modelPath, promptArg, nArg, threadsArg] = process.argv.slice(2);
    if (!modelPath || !promptArg || !nArg) {
        console.error("usage: node tools/llamacpp_probs.js MODEL.gguf 3,17,5 NEW_TOKENS [THREADS]");
        process.exit(2);
    }
    const prompt = promptArg.split(",").map(Number);
    const n = Number(nArg), threads = Number(threadsArg || 1);
    const {llama, model} = await load(modelPath);
    const ctx = await f32Context(model, prompt.length + n + 8, threads);
    const seq = ctx.getSequence();
    const V = model.tokens.vocabSize ?? model.fileInsights?.vocabSize;
    const out = {tokens: [], probs: [], n_vocab: V};
    const it = seq.evaluateWithMetadata(prompt, {probabilities: true}, {temperature: 0, yieldEogToken: true});
    for await (const step of it) {
        const p = new Array(V).fill(0);
        for (const [tok, prob] of step.probabilities) p[tok] = prob;
        out.tokens.push(step.token);
        out.probs.push(p);
        if (out.tokens.length >= n) break;
    }
    process.stdout.write(JSON.stringify(out) + "\n");
    await ctx.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((err) => { console.error("llamacpp_probs: " + (err && err.message ? err.message : err)); process.exit(1); });
