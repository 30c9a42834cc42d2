// The web chat of r1 serve in headless Chromium (Debian's), driven over the DevTools protocol
// with the `ws` npm package (build/node): the page loads with no console errors or warnings, the test
// types settings and a question with real key events, the thinking and the answer stream into
// the page apart (watched by a MutationObserver: several updates each), the thinking folds away
// once the answer starts, a second turn carries the first answer, and a screenshot is taken.
// Run by tests/serve_page.sh; prints PASS/FAIL lines.
//   node tests/serve_page.mjs URL CHROMIUM WORKDIR PNG
import { createRequire } from "node:module";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const require = createRequire(new URL("../build/node/package.json", import.meta.url));
const WebSocket = require("ws");
const [url, chromium, work, png] = process.argv.slice(2);
let failed = 0;
const check = (name, ok, why) => {
  if (ok) console.log(`PASS ${name}`);
  else { console.log(`FAIL ${name}: ${why}`); failed++; }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
  "--remote-debugging-port=0", `--user-data-dir=${work}/profile`, "--window-size=1100,900", "about:blank"],
  { stdio: ["ignore", "ignore", "pipe"] });
browser.stderr.on("data", () => {});
const killer = setTimeout(() => { console.log("FAIL serve_page: timed out"); browser.kill("SIGKILL"); process.exit(1); }, 90000);

let port = null;
for (let k = 0; k < 300 && !port; k++) {
  const f = `${work}/profile/DevToolsActivePort`;
  if (existsSync(f)) port = readFileSync(f, "utf8").split("\n")[0];
  if (!port) await sleep(100);
}
if (!port) { console.log("FAIL serve_page: Chromium did not open its DevTools port"); browser.kill("SIGKILL"); process.exit(1); }
const version = await (await fetch(`http://127.0.0.1:${port}/json/version`)).json();
const ws = new WebSocket(version.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.on("open", resolve); ws.on("error", reject); });

let nextId = 1;
const pending = new Map(), console_ = [], waiters = [];
ws.on("message", (data) => {
  const m = JSON.parse(data.toString());
  if (m.id && pending.has(m.id)) {
    const { resolve, reject } = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) reject(new Error(JSON.stringify(m.error)));
    else resolve(m.result);
    return;
  }
  if (m.method === "Runtime.consoleAPICalled") console_.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value).join(" ")}`);
  if (m.method === "Runtime.exceptionThrown") console_.push(`exception: ${m.params.exceptionDetails.text} ${JSON.stringify(m.params.exceptionDetails.exception || {})}`);
  if (m.method === "Log.entryAdded" && !["verbose", "info"].includes(m.params.entry.level)) console_.push(`log ${m.params.entry.level}: ${m.params.entry.text}`);
  for (const w of waiters.splice(0)) w(m);
});
let session = null;
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, { resolve, reject });
  ws.send(JSON.stringify(session ? { id, method, params, sessionId: session } : { id, method, params }));
});
const event = (name) => new Promise((resolve) => {
  const wait = (m) => (m.method === name ? resolve(m) : waiters.push(wait));
  waiters.push(wait);
});
const evaluate = async (expr) => {
  const r = await send("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
  if (r.exceptionDetails) throw new Error(r.exceptionDetails.text);
  return r.result.value;
};
async function typeInto(id, text) {
  await evaluate(`document.getElementById(${JSON.stringify(id)}).focus(), document.getElementById(${JSON.stringify(id)}).select && document.getElementById(${JSON.stringify(id)}).select()`);
  await send("Input.insertText", { text });
}
async function pressEnter() {
  const key = { key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13 };
  await send("Input.dispatchKeyEvent", { type: "keyDown", ...key, text: "\r" });
  await send("Input.dispatchKeyEvent", { type: "keyUp", ...key });
}
async function waitDone(n) {
  for (let k = 0; k < 600; k++) {
    const st = await evaluate(`[...document.querySelectorAll(".msg.assistant")].map((m) => m.dataset.state)`);
    if (st.length >= n && st[n - 1] !== "streaming") return st[n - 1];
    await sleep(50);
  }
  return "timeout";
}

try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  ({ sessionId: session } = await send("Target.attachToTarget", { targetId, flatten: true }));
  await send("Page.enable");
  await send("Runtime.enable");
  await send("Log.enable");
  const loaded = event("Page.loadEventFired");
  await send("Page.navigate", { url: url + "/" });
  await loaded;
  await sleep(300);       // the model list arrives
  check("serve_page_loads", (await evaluate("document.title")) === "r1 chat" &&
        /model: m/.test(await evaluate(`document.getElementById("model").textContent`)), "title or model name missing");
  // watch the conversation for text updates
  await evaluate(`window.__updates = {reasoning: 0, answer: 0};
    new MutationObserver((ms) => { for (const m of ms) { const t = m.target.nodeType === 3 ? m.target.parentNode : m.target;
      if (t.classList && t.classList.contains("reasoning")) window.__updates.reasoning++;
      if (t.classList && t.classList.contains("answer")) window.__updates.answer++; } })
      .observe(document.getElementById("log"), {subtree: true, childList: true, characterData: true})`);
  await typeInto("temperature", "0");
  await typeInto("max_tokens", "320");   // long enough phases to arrive in several reads on a fast machine
  await typeInto("budget", "200");
  await typeInto("prompt", "what is two plus three");
  await pressEnter();
  const state = await waitDone(1);
  const view = await evaluate(`(() => { const m = document.querySelector(".msg.assistant");
    const d = m.querySelector("details.think");
    return {reasoning: d ? d.querySelector(".reasoning").textContent : null, open: d ? d.open : null,
            summary: d ? d.querySelector("summary").textContent : null, answer: m.querySelector(".answer").textContent,
            stats: m.querySelector(".stats").textContent, user: document.querySelector(".msg.user").textContent,
            updates: window.__updates}; })()`);
  check("serve_page_streams", state === "done" && view.reasoning && view.reasoning.length > 0 && view.answer.length > 0 &&
        view.updates.reasoning >= 2 && view.updates.answer >= 2, JSON.stringify({ state, view }));
  check("serve_page_thinking_apart", view.open === false && view.summary === "Thought" && !view.answer.includes("</think>") &&
        !view.reasoning.includes("</think>") && /finish: length/.test(view.stats) && /thinking/.test(view.stats) &&
        /what is two plus three/.test(view.user), JSON.stringify(view));
  // a second turn: the conversation so far goes with it
  await typeInto("prompt", "and five");
  await pressEnter();
  const state2 = await waitDone(2);
  const turns = await evaluate(`JSON.stringify(turns)`);
  const t = JSON.parse(turns);
  check("serve_page_multi_turn", state2 === "done" && t.length === 4 && t[0].content === "what is two plus three" &&
        t[1].role === "assistant" && t[1].content === view.answer && t[2].content === "and five", turns);
  await evaluate(`document.querySelector("details.think").open = true`);   // the thinking, unfolded, in the picture
  const shot = await send("Page.captureScreenshot", { format: "png" });
  const buf = Buffer.from(shot.data, "base64");
  writeFileSync(png, buf);
  const w = buf.readUInt32BE(16), h = buf.readUInt32BE(20);
  check("serve_page_screenshot", buf.subarray(1, 4).toString() === "PNG" && w >= 800 && h >= 600 && buf.length > 20000,
        `${w}x${h}, ${buf.length} bytes`);
  check("serve_page_console", console_.length === 0, console_.slice(0, 5).join(" | "));
} catch (e) {
  check("serve_page", false, String(e && e.stack));
}
clearTimeout(killer);
// close the browser and wait for it (its helpers write into the profile until they are gone)
const exited = new Promise((r) => browser.on("exit", r));
session = null;
send("Browser.close").catch(() => {});
if (await Promise.race([exited.then(() => true), sleep(10000).then(() => false)]) === false) browser.kill("SIGKILL");
ws.close();
process.exit(failed ? 1 : 0);
