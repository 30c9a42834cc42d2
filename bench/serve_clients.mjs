// The client side of bench/bench_serve.sh: one streaming request per line of a prompts JSONL
// file, all at once, through the openai npm client (build/node); prints
// {"tokens": completion tokens in all, "seconds": from the first request sent to the last [DONE]}.
//   node bench/serve_clients.mjs URL PROMPTS.jsonl MAX_TOKENS
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../build/node/package.json", import.meta.url));
const { OpenAI } = require("openai");
const [url, file, maxTokens] = process.argv.slice(2);
const prompts = readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).prompt);
const client = new OpenAI({ baseURL: url + "/v1", apiKey: "none", maxRetries: 0, timeout: 600000 });
const t0 = performance.now();
const tokens = await Promise.all(prompts.map(async (p) => {
  const s = await client.chat.completions.create({ messages: [{ role: "user", content: p }], temperature: 0,
    max_tokens: Number(maxTokens), stream: true, stream_options: { include_usage: true } });
  let n = 0;
  for await (const c of s) if (c.usage) n = c.usage.completion_tokens;
  return n;
}));
console.log(JSON.stringify({ tokens: tokens.reduce((a, b) => a + b, 0), seconds: (performance.now() - t0) / 1000 }));
