// r1 serve driven by the official `openai` npm client (build/node, tools/fetch_serve_clients.sh)
// and by raw HTTP where a client would not send such a request. Run by tests/serve_api.sh, which
// starts the servers; prints PASS/FAIL lines for tests/run.sh. One phase per server:
//   main     models list; non-streaming (reasoning_content and content apart, usage, max_tokens);
//            streaming equals non-streaming; 16 concurrent streams; the tokens of served requests
//            equal `r1 generate`'s; wrong or missing key 401; malformed JSON, bad fields, too long
//            a prompt 400; body too large 413; 404; 405; 20 streams aborted mid-way free their
//            slots and the server still answers
//   busy     (--max-batch 1 --queue 1) 429 when one request runs and one waits
//   limits   (--max-batch 1 --queue 1 --request-timeout 0.3 --idle-timeout 1) 504 when a request
//            runs out of time (a stream gets an error event), idle connections closed
//   sigterm  SIGTERM during a stream: the stream still ends properly (tests/serve_api.sh checks
//            the exit status)
// Env: R1_URL, R1_KEY, R1_BIN, R1_MODEL_DIR, R1_WORK, R1_SERVE_PID.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

const require = createRequire(new URL("../build/node/package.json", import.meta.url));
const { OpenAI } = require("openai");
const env = process.env;
const base = env.R1_URL;
const phase = process.argv[2];
let failed = 0;

function check(name, ok, why) {
  if (ok) console.log(`PASS ${name}`);
  else { console.log(`FAIL ${name}: ${why}`); failed++; }
}
async function test(name, fn) {
  try { await fn(); } catch (e) { check(name, false, `threw ${e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e}`); }
}
const client = (key = env.R1_KEY) => new OpenAI({ baseURL: base + "/v1", apiKey: key || "none", maxRetries: 0, timeout: 120000 });
const user = (text) => [{ role: "user", content: text }];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function raw(method, path, body, headers = {}) {
  const h = { ...headers };
  if (env.R1_KEY && !("Authorization" in h)) h.Authorization = "Bearer " + env.R1_KEY;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const r = await fetch(base + path, { method, headers: h, body });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, json, text };
}
const isErrorObject = (j) => j && j.error && typeof j.error.message === "string" && j.error.message.length > 0 &&
                             typeof j.error.type === "string" && "code" in j.error;

// Collects a stream: text parts in order, and what the last chunks said.
async function collect(stream) {
  const out = { reasoning: "", content: "", order: [], finish: null, usage: null, chunks: 0, roleFirst: false };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (out.chunks === 1) out.roleFirst = c.delta.role === "assistant";
    if (c.delta.reasoning_content) { out.reasoning += c.delta.reasoning_content; out.order.push("r"); }
    if (c.delta.content) { out.content += c.delta.content; out.order.push("c"); }
    if (c.finish_reason) out.finish = c.finish_reason;
  }
  return out;
}

// What `r1 generate` gives for one user prompt: its completion text and token count.
function generate(prompt, seed, maxTokens) {
  const out = `${env.R1_WORK}/gen_${seed}.jsonl`;
  execFileSync(env.R1_BIN, ["generate", "--model", env.R1_MODEL_DIR, "--prompt", prompt, "--seed", String(seed),
    "--temperature", "1", "--top-p", "0.9", "--max-tokens", String(maxTokens), "--out", out, "--quiet"]);
  const rec = JSON.parse(readFileSync(out, "utf8").trim());
  return { text: rec.completion, tokens: rec.completion_tokens };
}

// The served message as one text again: the thinking, and after "</think>" the answer.
const joined = (m) => m.reasoning_content + (m.content ? "</think>" + m.content : "");
// The same text from `r1 generate`'s completion, split and joined as the server does (newlines
// around the tag dropped). Its JSONL writer ends a completion at a NUL byte the model made, where
// the server writes U+FFFD: then the served text goes on from there with U+FFFD.
function sameAsGenerate(m, g) {
  const k = g.text.indexOf("</think>");
  const after = k < 0 ? "" : g.text.slice(k + 8).replace(/^\n+/, "");
  const want = k < 0 ? g.text : g.text.slice(0, k).replace(/\n+$/, "") + (after ? "</think>" + after : "");
  const got = joined(m);
  return got === want || (got.startsWith(want) && got[want.length] === "\uFFFD");
}

async function phaseMain() {
  const c = client();
  await test("serve_models", async () => {
    const list = await c.models.list();
    const ids = list.data.map((m) => m.id);
    check("serve_models", ids.length === 1 && ids[0] === "m", JSON.stringify(ids));
  });
  let whole = null;
  const req = { model: "m", messages: user("what is two plus three"), max_tokens: 24, seed: 11, temperature: 0.8,
                thinking_budget: 6, ignore_eos: true };
  await test("serve_chat", async () => {
    const r = await c.chat.completions.create(req);
    whole = r;
    const m = r.choices[0].message, u = r.usage;
    const rt = u.completion_tokens_details && u.completion_tokens_details.reasoning_tokens;
    const why = JSON.stringify({ m, u, f: r.choices[0].finish_reason });
    check("serve_chat_parts", typeof m.reasoning_content === "string" && m.reasoning_content.length > 0 &&
          typeof m.content === "string" && m.content.length > 0 && m.role === "assistant" &&
          !m.reasoning_content.includes("</think>") && !m.content.startsWith("\n"), why);   // the split tag is in neither
    check("serve_chat_usage", u.completion_tokens === 24 && u.total_tokens === u.prompt_tokens + 24 &&
          u.prompt_tokens > 5 && rt >= 6 && rt < 24 && r.choices[0].finish_reason === "length" &&
          r.object === "chat.completion" && r.id.startsWith("chatcmpl-"), why);
    const r7 = await c.chat.completions.create({ ...req, max_tokens: 7, thinking_budget: undefined });
    check("serve_chat_max_tokens", r7.usage.completion_tokens === 7 && r7.choices[0].finish_reason === "length",
          JSON.stringify(r7.usage));
    const r3 = await c.chat.completions.create({ ...req, max_completion_tokens: 3, max_tokens: undefined });
    check("serve_chat_max_completion_tokens", r3.usage.completion_tokens === 3, JSON.stringify(r3.usage));
  });
  await test("serve_stream", async () => {
    const s = await collect(await c.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }));
    const m = whole.choices[0].message;
    const orderOk = s.order.indexOf("c") < 0 || s.order.lastIndexOf("r") < s.order.indexOf("c");
    check("serve_stream", s.roleFirst && orderOk && s.reasoning === m.reasoning_content && s.content === m.content &&
          s.finish === "length" && s.usage && s.usage.completion_tokens === 24 &&
          s.usage.completion_tokens_details.reasoning_tokens === whole.usage.completion_tokens_details.reasoning_tokens,
          JSON.stringify({ s, m }));
  });
  await test("serve_concurrent_streams", async () => {
    const runs = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      c.chat.completions.create({ messages: user("the water " + i), max_tokens: 20 + i, seed: 100 + i, temperature: 1,
                                  stream: true, stream_options: { include_usage: true } }).then(collect)));
    const bad = runs.map((s, i) => (s.finish && s.usage && s.usage.completion_tokens <= 20 + i &&
                                    (s.finish === "stop" || s.usage.completion_tokens === 20 + i) ? null : i)).filter((i) => i !== null);
    check("serve_concurrent_streams", bad.length === 0, `streams ${bad} did not complete right`);
    // each equals the same request alone, without streaming
    const again = await c.chat.completions.create({ messages: user("the water 5"), max_tokens: 25, seed: 105, temperature: 1 });
    check("serve_concurrent_equals_alone", again.choices[0].message.reasoning_content === runs[5].reasoning &&
          again.choices[0].message.content === runs[5].content, JSON.stringify([again.choices[0].message, runs[5]]));
  });
  await test("serve_equals_generate", async () => {
    const prompts = ["what is two plus three", "people know the answer", "five"];
    const served = await Promise.all(prompts.map((p, i) => c.chat.completions.create({ messages: user(p), seed: 7 + i,
      temperature: 1, top_p: 0.9, max_tokens: 40 })));
    prompts.forEach((p, i) => {
      const g = generate(p, 7 + i, 40), m = served[i].choices[0].message;
      check(`serve_equals_generate_${i}`, sameAsGenerate(m, g) && served[i].usage.completion_tokens === g.tokens,
            JSON.stringify({ served: m, tokens: served[i].usage.completion_tokens, generate: g }));
    });
  });
  await test("serve_wrong_key", async () => {
    let status = 0, code = null;
    try { await client("wrong-key").models.list(); } catch (e) { status = e.status; code = e.code; }
    let status2 = 0;
    try { await client("wrong-key").chat.completions.create(req); } catch (e) { status2 = e.status; }
    const none = await raw("POST", "/v1/chat/completions", JSON.stringify(req), { Authorization: "" });
    check("serve_wrong_key", status === 401 && code === "invalid_api_key" && status2 === 401 && none.status === 401 &&
          isErrorObject(none.json), `${status} ${code} ${status2} ${none.status} ${none.text}`);
  });
  await test("serve_bad_requests", async () => {
    const cases = [
      ["malformed JSON", "POST", "/v1/chat/completions", "{\"messages\": [", 400, "invalid_json"],
      ["not an object", "POST", "/v1/chat/completions", "[]", 400, "invalid_json"],
      ["no messages", "POST", "/v1/chat/completions", "{}", 400, "invalid_value"],
      ["bad field", "POST", "/v1/chat/completions", JSON.stringify({ messages: user("x"), temperature: 9 }), 400, "invalid_value"],
      ["too long a prompt", "POST", "/v1/chat/completions", JSON.stringify({ messages: user("water ".repeat(4100)) }), 400,
       "context_length_exceeded"],
      ["body too large", "POST", "/v1/chat/completions", JSON.stringify({ messages: user("x".repeat(70000)) }), 413, "body_too_large"],
      ["unknown path", "GET", "/v1/nothing", undefined, 404, "not_found"],
      ["wrong method", "GET", "/v1/chat/completions", undefined, 405, "method_not_allowed"],
    ];
    for (const [what, method, path, body, status, code] of cases) {
      const r = await raw(method, path, body);
      check(`serve_bad_request (${what})`, r.status === status && isErrorObject(r.json) && r.json.error.code === code,
            `${r.status} ${r.text.slice(0, 300)}`);
    }
    const h = await raw("GET", "/health", undefined, { Authorization: "" });
    check("serve_health", h.status === 200 && h.json.status === "ok", h.text);
  });
  await test("serve_aborted_streams", async () => {
    const before = (await raw("GET", "/health")).json;
    const long = { messages: user("the day"), max_tokens: 3000, ignore_eos: true, temperature: 1, stream: true };
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const s = await c.chat.completions.create({ ...long, seed: 200 + i });
      for await (const chunk of s) {
        if (chunk.choices[0] && chunk.choices[0].delta.reasoning_content) break;   // leaving the loop aborts the request
      }
    }));
    let h = null;
    for (let k = 0; k < 100; k++) {
      h = (await raw("GET", "/health")).json;
      if (h.running === 0 && h.queued === 0 && h.cancelled - before.cancelled >= 20) break;
      await sleep(50);
    }
    const tokens = h.completion_tokens - before.completion_tokens;
    check("serve_aborted_streams_free_slots", h.running === 0 && h.cancelled - before.cancelled === 20 && tokens < 20 * 3000 / 4,
          `health ${JSON.stringify(h)}: ${tokens} tokens made for the 20 aborted streams`);
    const r = await c.chat.completions.create({ messages: user("two"), max_tokens: 5 });
    check("serve_answers_after_aborts", r.choices[0].finish_reason !== undefined && r.usage.completion_tokens <= 5, JSON.stringify(r));
  });
}

async function phaseBusy() {
  const c = client();
  await test("serve_queue_full", async () => {
    // A runs (a long stream), B waits in the queue, C finds the server full
    const ctl = new AbortController();
    const a = await c.chat.completions.create({ messages: user("the day"), max_tokens: 3900, ignore_eos: true, stream: true },
                                              { signal: ctl.signal });
    const it = a[Symbol.asyncIterator]();
    await it.next();
    const b = fetch(base + "/v1/chat/completions", { method: "POST", signal: ctl.signal,
      body: JSON.stringify({ messages: user("two"), max_tokens: 3900, ignore_eos: true }) }).catch(() => null);
    let status = 0, code = null, h = null;
    for (let k = 0; k < 200 && !(h && h.queued === 1); k++) { h = (await raw("GET", "/health")).json; if (h.queued !== 1) await sleep(5); }
    try { await c.chat.completions.create({ messages: user("five"), max_tokens: 5 }); } catch (e) { status = e.status; code = e.code; }
    check("serve_queue_full_429", status === 429 && code === "queue_full" && h.running === 1 && h.queued === 1,
          `${status} ${code} with ${JSON.stringify(h)}`);
    ctl.abort();
    await b;
  });
}

async function phaseLimits() {
  const c = client();
  await test("serve_limits", async () => {
    // A runs (a long stream), B waits in the queue; neither can make 3900 tokens in 0.3 s
    const a = await c.chat.completions.create({ messages: user("the day"), max_tokens: 3900, ignore_eos: true, stream: true });
    const it = a[Symbol.asyncIterator]();
    await it.next();
    const b = raw("POST", "/v1/chat/completions", JSON.stringify({ messages: user("two"), max_tokens: 3900, ignore_eos: true }));
    const rb = await b;
    check("serve_timeout_504", rb.status === 504 && isErrorObject(rb.json) && rb.json.error.code === "timeout",
          `${rb.status} ${rb.text.slice(0, 200)}`);
    // A's stream ran out of time too: it ends with an error event, which the client raises
    let streamError = null;
    try { for (let r = await it.next(); !r.done; r = await it.next()) {} } catch (e) { streamError = e; }
    check("serve_stream_timeout_event", streamError && /out of time/.test(String(streamError.message)), String(streamError));
  });
  await test("serve_idle_timeout", async () => {
    const url = new URL(base);
    const closed = await new Promise((resolve) => {
      const t0 = Date.now();
      const s = net.connect(Number(url.port), url.hostname);
      s.on("close", () => resolve(Date.now() - t0));
      s.on("error", () => {});
      setTimeout(() => { s.destroy(); resolve(-1); }, 8000);
    });
    check("serve_idle_timeout", closed >= 500 && closed < 8000, `an idle connection closed after ${closed} ms (--idle-timeout 1)`);
  });
}

async function phaseSigterm() {
  const c = client();
  await test("serve_sigterm_stream", async () => {
    const s = await c.chat.completions.create({ messages: user("the day"), max_tokens: 1500, ignore_eos: true, stream: true });
    let sent = false, finish = null, error = null, n = 0;
    try {
      for await (const chunk of s) {
        n++;
        if (!sent) { process.kill(Number(env.R1_SERVE_PID), "SIGTERM"); sent = true; }
        if (chunk.choices[0] && chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
      }
    } catch (e) { error = e; }
    // within --shutdown-timeout it finishes; past it, it gets an error event: either way it ends
    check("serve_sigterm_stream", sent && (finish === "length" || (error && /shut down/.test(String(error.message)))),
          `finish ${finish}, error ${error}, ${n} chunks`);
    await sleep(300);
    let refused = false;
    try { await fetch(base + "/health"); } catch (e) { refused = true; }
    check("serve_sigterm_refuses", refused, "a new connection was accepted after SIGTERM");
  });
}

const phases = { main: phaseMain, busy: phaseBusy, limits: phaseLimits, sigterm: phaseSigterm };
await phases[phase]();
process.exit(failed ? 1 : 0);
