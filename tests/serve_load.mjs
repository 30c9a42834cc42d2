// A bounded load test of r1 serve on loopback: C concurrent clients (the openai npm client), each
// sending streaming requests back to back for a warm-up, then for a fixed time. Passes when no
// request failed and the server's RSS at the end is at most 1.1 × its RSS after the warm-up;
// prints p50/p99 latency and generated tokens/s (figures only: the machine may be shared).
//   node tests/serve_load.mjs URL PID CLIENTS WARMUP_S SECONDS
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../build/node/package.json", import.meta.url));
const { OpenAI } = require("openai");
const [url, pid, clients, warmup, seconds] = process.argv.slice(2);
const client = new OpenAI({ baseURL: url + "/v1", apiKey: "none", maxRetries: 0, timeout: 60000 });
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

let phase = "warmup", errors = [], lat = [], tokens = 0, seed = 0;
async function worker(i) {
  while (phase !== "stop") {
    const p = phase, t0 = performance.now();
    try {
      const s = await client.chat.completions.create({ messages: [{ role: "user", content: `the water ${i}` }],
        max_tokens: 16 + (seed % 48), seed: seed++, temperature: 1, stream: true, stream_options: { include_usage: true } });
      let usage = null, finish = null;
      for await (const c of s) {
        if (c.usage) usage = c.usage;
        if (c.choices[0] && c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
      }
      if (!usage || !finish) throw new Error("stream ended without finish_reason or usage");
      if (p === "measure" && phase === "measure") { lat.push(performance.now() - t0); tokens += usage.completion_tokens; }
    } catch (e) {
      errors.push(String(e.message || e));
    }
  }
}
const all = Array.from({ length: Number(clients) }, (_, i) => worker(i));
await new Promise((r) => setTimeout(r, 1000 * Number(warmup)));
const rssWarm = rss();
phase = "measure";
const t0 = performance.now();
await new Promise((r) => setTimeout(r, 1000 * Number(seconds)));
const elapsed = (performance.now() - t0) / 1000;
phase = "stop";
await Promise.all(all);
const rssEnd = rss();
lat.sort((a, b) => a - b);
const q = (f) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] : NaN);
console.log(`  load: ${clients} clients, ${lat.length} requests in ${elapsed.toFixed(1)} s: latency p50 ${q(0.5).toFixed(0)} ms, ` +
            `p99 ${q(0.99).toFixed(0)} ms; ${(tokens / elapsed).toFixed(0)} generated tokens/s; RSS ${rssWarm} -> ${rssEnd} kB`);
const ok = (name, cond, why) => console.log(cond ? `PASS ${name}` : `FAIL ${name}: ${why}`);
ok("serve_load_no_errors", errors.length === 0 && lat.length > 0, `${errors.length} errors (${errors.slice(0, 3).join(" | ")}), ${lat.length} requests`);
ok("serve_load_rss", rssEnd <= 1.1 * rssWarm, `RSS ${rssWarm} kB after warm-up, ${rssEnd} kB at the end`);
process.exit(errors.length === 0 && lat.length > 0 && rssEnd <= 1.1 * rssWarm ? 0 : 1);
