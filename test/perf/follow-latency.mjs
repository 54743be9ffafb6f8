// How long from a line being appended to a followed file until it is scored (and,
// were it anomalous, alerted: alerts are emitted in the same batch).
// A child process appends simulated lines at RATE lines/s, each stamped with the
// wall-clock time of its write; `detect` following the file here measures now - stamp for
// every scored line. With "durable" (the default), it runs as a service would: --positions,
// --alerts and --scores, so each batch's rows are written before its position is saved
// (fsynced at every save, at most every 100 ms); "plain" writes nothing. Usage (after npm run build):
//   node test/perf/follow-latency.mjs [rate=5000] [seconds=20] [durable|plain]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detect, simulate, trainFromLines } from "../../dist/src/index.js";

const rate = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 20);
const mode = process.argv[4] ?? "durable";
if (mode !== "durable" && mode !== "plain") throw new RangeError(`mode must be "durable" or "plain", got ${mode}`);
const dir = mkdtempSync(join(tmpdir(), "logforest-latency-"));
const log = join(dir, "app.log");
writeFileSync(log, "");
const { forest } = trainFromLines([...simulate({ count: 30000, seed: 1, incidents: "none" })].map((l) => l.text), { forest: { seed: 1 } });

// The writer: every 2 ms, append the lines due by now, each with its write time as ts.
const source = join(dir, "source.jsonl");
writeFileSync(source, [...simulate({ count: 20000, seed: 2, incidents: "default" })].map((l) => l.text).join("\n"));
const writer = `
const { appendFileSync, readFileSync } = require("node:fs");
const base = readFileSync(${JSON.stringify(source)}, "utf8").split("\\n");
const rate = ${rate}, end = Date.now() + ${seconds} * 1000, t0 = Date.now();
let sent = 0;
const tick = () => {
  const due = Math.floor((Date.now() - t0) / 1000 * rate);
  let chunk = "";
  for (; sent < due; sent++) {
    const o = JSON.parse(base[sent % base.length]);
    o.ts = new Date().toISOString();
    chunk += JSON.stringify(o) + "\\n";
  }
  if (chunk) appendFileSync(${JSON.stringify(log)}, chunk);
  if (Date.now() < end) setTimeout(tick, 2);
};
tick();`;
const child = spawn(process.execPath, ["-e", writer], { stdio: "inherit" });

const lat = [];
const stop = new AbortController();
child.on("exit", () => setTimeout(() => stop.abort(), 500));
await detect({
  input: { follow: [log], start: "beginning", ...(mode === "durable" ? { positions: join(dir, "positions.json") } : {}) },
  model: { model: forest },
  signal: stop.signal,
  outputs: {
    out: null,
    ...(mode === "durable" ? { alerts: join(dir, "alerts.jsonl"), scores: join(dir, "scores.csv") } : {}),
    onScored: (b) => {
      const now = Date.now();
      for (let i = 0; i < b.count; i++) lat.push(now - b.seconds[i] * 1000);
    },
  },
});
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
console.log(JSON.stringify({ rate, seconds, mode, lines: lat.length, p50_ms: +q(0.5), p90_ms: +q(0.9), p99_ms: +q(0.99), max_ms: +q(1) }));
rmSync(dir, { recursive: true, force: true });
