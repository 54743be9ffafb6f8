// Prometheus metrics of detect (issue 13): scraped over HTTP from a running `detect --follow
// --metrics`, parsed, and held against the lines written, the alerts raised and the summary.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { detectFlat } from "./helpers.js";
import { DetectMetrics } from "../src/runtime/metrics.js";
import type { IsolationForest } from "../src/forest/forest.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
let dir = "";
let model = "";
let forest: IsolationForest;
let lines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "logforest-metrics-"));
  model = join(dir, "m.lfm");
  const normal = [...simulate({ count: 8000, seed: 3, incidents: "none" })].map((l) => l.text);
  forest = trainFromLines(normal, { forest: { seed: 3, trees: 50 } }).forest;
  forest.save(model);
  lines = [...simulate({ count: 10_000, seed: 4, incidents: "default" })].map((l) => l.text);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One sample of the exposition text: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse Prometheus' text format (the sample lines; comments skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `match`. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/** GET over HTTP: status, headers and body. */
function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Start `detect` in the background; resolves with the address it printed matching `pattern`. */
function start(args: string[], pattern: RegExp): { url: Promise<string>; stderr: () => string; exited: Promise<number | null>; kill: (s: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--json", ...args], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  let found: (u: string) => void = () => undefined;
  const url = new Promise<string>((resolve, reject) => {
    found = resolve;
    setTimeout(() => reject(new Error(`no address printed: ${err}`)), 30_000).unref();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    const m = pattern.exec(err);
    if (m) found(m[1]);
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { url, stderr: () => err, exited, kill: (s) => child.kill(s) };
}

type Alert = { rule: string; severity: number };
const band = (s: number) => (s >= 90 ? "90-100" : s >= 75 ? "75-89" : s >= 50 ? "50-74" : "0-49");

describe("detect --metrics", () => {
  it("serves counters that match the lines appended and the alerts raised, follow lag 0 once read, and the summary at the end", async () => {
    const log = join(dir, "app.log");
    const alerts = join(dir, "alerts.jsonl");
    writeFileSync(log, "");
    const run = start(["--follow", log, "--from-start", "--alerts", alerts, "--metrics", "0", "--max-line-bytes", "4096"], /metrics: (http:\/\/\S+)/);
    try {
      const url = await run.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // Appended in pieces, with two lines that are not JSON and one too long to score.
      const written = [...lines.slice(0, 3000), "garbage line here", '{"broken json', ...lines.slice(3000, 6000), "x".repeat(5000), ...lines.slice(6000)];
      for (let i = 0; i < written.length; i += 2500) appendFileSync(log, written.slice(i, i + 2500).join("\n") + "\n");
      let samples: Sample[] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        samples = parse((await get(url)).body);
        if (total(samples, "logforest_lines_read_total") === written.length && total(samples, "logforest_follow_lag_bytes") === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(total(samples, "logforest_lines_read_total")).toBe(written.length);
      expect(total(samples, "logforest_lines_skipped_total", { reason: "not_json" })).toBe(2);
      expect(total(samples, "logforest_lines_skipped_total", { reason: "too_long" })).toBe(1);
      expect(total(samples, "logforest_lines_scored_total")).toBe(lines.length);
      expect(total(samples, "logforest_follow_lag_bytes", { file: log })).toBe(0);
      expect(samples.some((s) => s.name === "logforest_follow_lag_bytes" && s.labels.file === log)).toBe(true);
      expect(total(samples, "logforest_model_generation")).toBe(0);
      // Every batch was timed; batches are at most 4096 lines, and there were at least 4 appends.
      const batches = total(samples, "logforest_scoring_batch_seconds_count");
      expect(batches).toBeGreaterThanOrEqual(Math.ceil(written.length / 4096));
      expect(total(samples, "logforest_scoring_batch_seconds_sum")).toBeGreaterThan(0);
      expect(total(samples, "logforest_scoring_batch_seconds_bucket", { le: "+Inf" })).toBe(batches);
      // Alerts by rule and severity band, as in the alerts file.
      const raised = readFileSync(alerts, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Alert);
      expect(raised.length).toBeGreaterThan(0);
      expect(total(samples, "logforest_alerts_total")).toBe(raised.length);
      const want = new Map<string, number>();
      for (const a of raised) want.set(`${a.rule}|${band(a.severity)}`, (want.get(`${a.rule}|${band(a.severity)}`) ?? 0) + 1);
      const got = new Map(samples.filter((s) => s.name === "logforest_alerts_total").map((s) => [`${s.labels.rule}|${s.labels.severity}`, s.value]));
      expect(got).toEqual(want);
      // Counters of the run's own registry only, plus Node's process metrics.
      expect(samples.some((s) => s.name === "process_cpu_seconds_total")).toBe(true);
      run.kill("SIGTERM");
      expect(await run.exited).toBe(0);
      const summary = JSON.parse(run.stderr().trim().split("\n").at(-1) ?? "") as { lines_read: number; lines_scored: number; alerts: number; suppressed: Record<string, number> };
      expect(summary.lines_read).toBe(written.length);
      expect(summary.alerts).toBe(raised.length);
      expect(total(samples, "logforest_alerts_suppressed_total", { reason: "cooldown" })).toBe(summary.suppressed.cooldown);
    } finally {
      run.kill("SIGKILL");
    }
  });

  it("refuses what the dashboard refuses: a foreign Host, other methods, other paths; a bad --metrics by name, range and value", async () => {
    const log = join(dir, "quiet.log");
    writeFileSync(log, "");
    const run = start(["--follow", log, "--metrics", "0"], /metrics: (http:\/\/\S+)/);
    try {
      const url = await run.url;
      const ok = await get(url);
      expect(ok.status).toBe(200);
      expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect((await get(url, { host: "attacker.example:80" })).status).toBe(421);
      expect((await get(url, {}, "DELETE")).status).toBe(405);
      expect((await get(url.replace("/metrics", "/"))).status).toBe(404);
      const head = await get(url, {}, "HEAD");
      expect([head.status, head.body]).toEqual([200, ""]);
    } finally {
      run.kill("SIGTERM");
      await run.exited;
    }
    const bad = start(["--follow", log, "--metrics", "70000"], /(never)/);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain("--metrics must be a port, an integer in [0, 65535] (0: any free port), got 70000");
  });

  it("with --dashboard: /metrics on the dashboard's port, the same counts as the summary, the sink's included", async () => {
    const log = join(dir, "dash.log");
    writeFileSync(log, lines.join("\n") + "\n");
    const run = start(["--input", log, "--alerts", join(dir, "dash.jsonl"), "--dashboard", "0", "--exec", "cat > /dev/null"], /dashboard: (http:\/\/\S+)/);
    try {
      const page = await run.url;
      const deadline = Date.now() + 30_000;
      while (!run.stderr().includes("detection finished") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const summary = JSON.parse(run.stderr().split("\n").find((l) => l.startsWith("{")) ?? "") as { lines_read: number; lines_scored: number; alerts: number; sinks: { exec: { sent: number } } };
      const samples = parse((await get(`${page}metrics`)).body);
      expect(total(samples, "logforest_lines_read_total")).toBe(summary.lines_read);
      expect(total(samples, "logforest_lines_scored_total")).toBe(summary.lines_scored);
      expect(total(samples, "logforest_alerts_total")).toBe(summary.alerts);
      expect(summary.sinks.exec.sent).toBe(summary.alerts);
      expect(total(samples, "logforest_sink_alerts_total", { sink: "exec", outcome: "sent" })).toBe(summary.alerts);
      expect(samples.find((x) => x.name === "logforest_sink_alerts_total" && x.labels.outcome === "dropped")?.value).toBe(0);
      expect(total(samples, "logforest_sink_pending", { sink: "exec" })).toBe(0);
    } finally {
      run.kill("SIGINT");
      await run.exited;
    }
  });

  it("keeps each run's metrics to itself (a private registry per run); the model generation follows retraining", async () => {
    const a = new DetectMetrics();
    const b = new DetectMetrics();
    const fileA = join(dir, "a.log");
    const fileB = join(dir, "b.log");
    writeFileSync(fileA, lines.slice(0, 1000).join("\n") + "\n");
    writeFileSync(fileB, lines.slice(0, 2500).join("\n") + "\n");
    await detectFlat({ model: forest, input: fileA, out: null, metrics: a });
    // The second retrains: its generation moves, the first's stays at 0.
    const second = await detectFlat({ model, input: fileB, out: null, metrics: b, retrain: { everyLines: 500, sample: 1000, trees: 5 } });
    expect(total(parse(await a.text()), "logforest_lines_read_total")).toBe(1000);
    expect(total(parse(await b.text()), "logforest_lines_read_total")).toBe(2500);
    expect(second.summary.retrain.generation).toBeGreaterThan(0);
    expect(total(parse(await b.text()), "logforest_model_generation")).toBe(second.summary.retrain.generation);
    expect(total(parse(await b.text()), "logforest_retrain_refreshes_total")).toBe(second.summary.retrain.refreshes);
    expect(total(parse(await a.text()), "logforest_model_generation")).toBe(0);
  });
});
