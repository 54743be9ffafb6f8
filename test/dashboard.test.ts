// The live dashboard: aggregation bounds, the HTTP/SSE API without a browser, the
// CLI flag, and the page in a real headless Chromium as a user would open it.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { get, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardPort } from "../src/dashboard/cli.js";
import { ALL_ROUTES, Aggregator, OTHER_ROUTE, binCentre, histogramQuantile, latencyBin, type BucketRow } from "../src/dashboard/aggregate.js";
import { resolveDashboardOptions, startDashboard, type Dashboard, type DashboardDelta, type DashboardState } from "../src/dashboard/server.js";
import type { Alert, ScoredBatch } from "../src/detect.js";
import { runDemo } from "../src/demo.js";
import type { IsolationForest } from "../src/forest.js";
import { Rng } from "../src/random.js";
import { runDetect } from "../src/run-detect.js";
import { simulate } from "../src/simulate.js";
import { trainFromLines } from "../src/train.js";

const dir = mkdtempSync(join(tmpdir(), "logforest-dashboard-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROUTES = Array.from({ length: 20 }, (_, i) => `GET /r${i}`);

/** A seeded batch of `n` scored lines from second `t0` on, `perSecond` lines a second. */
function syntheticBatch(rng: Rng, t0: number, n: number, perSecond: number): ScoredBatch {
  const b = {
    file: "synthetic.log", count: n, lineNo: new Int32Array(n), seconds: new Float64Array(n), route: new Int32Array(n),
    latencyMs: new Float64Array(n), status: new Float64Array(n), scores: new Float64Array(n), routeNames: ROUTES, skipped: [],
  };
  for (let i = 0; i < n; i++) {
    b.lineNo[i] = i + 1;
    b.seconds[i] = t0 + i / perSecond + rng.next() * 0.01;
    b.route[i] = rng.int(ROUTES.length + 1) - 1; // -1: an untrained route
    b.latencyMs[i] = Math.exp(3 + rng.normal());
    b.status[i] = rng.next() < 0.05 ? 503 : 200;
    b.scores[i] = 0.35 + 0.3 * rng.next();
  }
  return b;
}

function syntheticAlert(i: number, second: number): Alert {
  const ts = new Date(second * 1000).toISOString();
  return {
    line: i, file: "synthetic.log", ts, score: 0.7, severity: 80, rule: "slow",
    record: { ts, method: "GET", route: "/r1", status: 200, latency_ms: 900, bytes: 10, ip: "10.0.0.1", user_agent: "<script>x</script>" },
  };
}

describe("dashboard aggregation", () => {
  it("latency quantiles from the log-space histogram land within one bin of the exact ones", () => {
    const h = new Uint32Array(84);
    const values = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000 ms: p50 = 500, p99 = 990
    for (const v of values) h[latencyBin(v)]++;
    const ratio = 10 ** (1 / 12);
    for (const [q, exact] of [[0.5, 500], [0.99, 990]]) {
      const got = histogramQuantile(h, values.length, q);
      expect(got).toBeGreaterThan(exact / ratio);
      expect(got).toBeLessThan(exact * ratio);
    }
    expect(histogramQuantile(h, 0, 0.5)).toBeNaN();
    expect(latencyBin(0)).toBe(0);
    expect(latencyBin(1e12)).toBe(83);
    expect(binCentre(latencyBin(42))).toBeGreaterThan(42 / ratio);
  });

  it("buckets lines by their own second, per route and for all routes, and sends only what changed", () => {
    const agg = new Aggregator({ windowSeconds: 600, maxAlerts: 10 });
    const rng = new Rng(3);
    const b = syntheticBatch(rng, 1_000_000, 500, 50);
    agg.addBatch(b);
    const all = agg.rows(ALL_ROUTES);
    expect(all.length).toBe(10);
    expect(all.reduce((s, r) => s + r[1], 0)).toBe(500);
    // Every route's rows add up to the all-routes rows, second by second.
    const perSecond = new Map<number, number>();
    let errors = 0;
    for (const { key } of agg.routes()) {
      if (key === ALL_ROUTES) continue;
      for (const r of agg.rows(key)) perSecond.set(r[0], (perSecond.get(r[0]) ?? 0) + r[1]);
    }
    for (const r of all) expect(perSecond.get(r[0])).toBe(r[1]);
    for (let i = 0; i < b.count; i++) if (b.status[i] >= 500) errors++;
    expect(all.reduce((s, r) => s + r[2], 0)).toBe(errors);
    const maxScore = Math.max(...b.scores);
    expect(Math.max(...all.map((r) => r[6]))).toBeCloseTo(maxScore, 6);
    expect(agg.routes()[0]).toEqual({ key: ALL_ROUTES, lines: 500 });
    expect(agg.routes().some((r) => r.key === OTHER_ROUTE)).toBe(true);

    const stamp = agg.seal();
    expect(agg.rows(ALL_ROUTES, stamp)).toEqual([]);
    const later = syntheticBatch(rng, 1_000_009, 20, 50); // touches second 1_000_009 only
    agg.addBatch(later);
    const changed = agg.rows(ALL_ROUTES, stamp);
    expect(changed.map((r) => r[0])).toEqual([1_000_009]);
    expect(changed[0][1]).toBe(all[9][1] + 20);
  });

  it("stays bounded: 100k lines over 2,000 seconds keep only the window and the newest alerts", () => {
    const agg = new Aggregator({ windowSeconds: 120, maxAlerts: 50 });
    const rng = new Rng(9);
    const t0 = 1_700_000_000;
    for (let k = 0; k < 100; k++) {
      agg.addBatch(syntheticBatch(rng, t0 + k * 20, 1000, 50));
      for (let j = 0; j < 20; j++) agg.addAlert(syntheticAlert(k * 20 + j, t0 + k * 20 + j));
      const size = agg.size();
      expect(size.seconds).toBeLessThanOrEqual(120);
      expect(size.cells).toBeLessThanOrEqual(120 * (ROUTES.length + 2));
      expect(size.alerts).toBeLessThanOrEqual(50);
    }
    const rows = agg.rows(ALL_ROUTES);
    const newest = rows[rows.length - 1][0];
    expect(rows.length).toBeLessThanOrEqual(120);
    expect(rows[0][0]).toBeGreaterThan(newest - 120);
    expect(agg.span()).toEqual([rows[0][0], newest]);
    const alerts = agg.alertsAfter(0);
    expect(alerts.length).toBe(50);
    expect(alerts[49].seq).toBe(2000);
    expect(agg.alertsAfter(1990).map((a) => a.seq)).toEqual([1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999, 2000]);
  });

  it("does not chart lines without a time or older than the window", () => {
    const agg = new Aggregator({ windowSeconds: 60, maxAlerts: 5 });
    const b = syntheticBatch(new Rng(1), 5000, 10, 10);
    b.seconds[0] = 0;
    b.seconds[9] = 4000; // far before the others
    agg.addBatch(b);
    expect(agg.untimed).toBe(1);
    expect(agg.late).toBe(1);
    expect(agg.rows(ALL_ROUTES).reduce((s, r) => s + r[1], 0)).toBe(8);
  });
});

describe("dashboard options", () => {
  it("refuses bad options by name, range and value", () => {
    expect(() => resolveDashboardOptions({ port: 70000 })).toThrow(/port must be an integer in \[0, 65535\], got 70000/);
    expect(() => resolveDashboardOptions({ windowSeconds: 1 })).toThrow(/windowSeconds must be an integer in \[10, 86400\], got 1/);
    expect(() => resolveDashboardOptions({ maxAlerts: 0 })).toThrow(/maxAlerts must be an integer in \[1, 100000\], got 0/);
    expect(() => resolveDashboardOptions({ host: " " })).toThrow(/host must be a non-empty address/);
    expect(resolveDashboardOptions().host).toBe("127.0.0.1");
  });

  it("reads --dashboard [PORT]: bare is the default port", () => {
    expect(dashboardPort(undefined)).toBeUndefined();
    expect(dashboardPort(true)).toBe(8377);
    expect(dashboardPort(0)).toBe(0);
    expect(dashboardPort("9000")).toBe(9000);
    expect(() => dashboardPort("x")).toThrow(/--dashboard must be a port, an integer in \[0, 65535\] \(0: any free port\), got x/);
    expect(() => dashboardPort(-1)).toThrow(RangeError);
  });
});

/** GET a path; resolves with status, headers and body. */
function fetchText(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Follow /api/events, calling `onDelta` with each delta until it returns true; resolves with the deltas. */
function readEvents(url: string, onDelta: (d: DashboardDelta) => boolean): Promise<DashboardDelta[]> {
  return new Promise((resolve, reject) => {
    const deltas: DashboardDelta[] = [];
    const req = get(url, (res) => {
      expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = event.split("\n").find((l) => l.startsWith("data: "));
          if (!event.startsWith("event: delta") || data === undefined) continue;
          const d = JSON.parse(data.slice(6)) as DashboardDelta;
          deltas.push(d);
          if (onDelta(d)) {
            req.destroy();
            resolve(deltas);
            return;
          }
        }
      });
    });
    req.on("error", (e) => (deltas.length > 0 ? undefined : reject(e)));
  });
}

describe("dashboard server", () => {
  let forest: IsolationForest;
  let logFile: string;
  beforeAll(() => {
    const clean = [...simulate({ count: 20_000, seed: 21, incidents: "none", start: "2026-11-20T00:00:00Z" })];
    forest = trainFromLines(clean.map((l) => l.text), { forest: { seed: 21 } }).forest;
    logFile = join(dir, "live.log");
    const live = [...simulate({ count: 20_000, seed: 22, incidents: "default", start: "2026-11-20T06:00:00Z" })];
    writeFileSync(logFile, live.map((l) => l.text).join("\n") + "\nnot a log line\n");
  });

  it("serves the state and a lossless event stream while detection runs", async () => {
    const d = await startDashboard({ port: 0, windowSeconds: 86_400, pushMs: 50 });
    try {
      expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const before = JSON.parse((await fetchText(`${d.url}api/state`)).body) as DashboardState;
      expect(before.totals.status).toBe("waiting");
      expect(before.rows).toEqual([]);
      expect(before.model).toBeNull();

      // Follow the stream from that state while the file is scored; merge as the page does.
      const events = readEvents(`${d.url}api/events?since=${before.stamp}&alerts=0`, (x) => x.totals.status === "finished");
      await new Promise((r) => setTimeout(r, 100));
      const { summary } = await runDetect({ model: forest, input: logFile, out: null, ...d.hooks });
      d.finish();
      const deltas = await events;
      const merged = new Map<number, BucketRow>();
      const alertSeqs: number[] = [];
      for (const x of deltas) {
        for (const r of x.rows) merged.set(r[0], r);
        alertSeqs.push(...x.alerts.map((a) => a.seq));
      }

      const res = await fetchText(`${d.url}api/state?route=all`);
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^application\/json/);
      const s = JSON.parse(res.body) as DashboardState;
      expect(Object.keys(s).sort()).toEqual(["alerts", "max_alerts", "model", "route", "routes", "rows", "span", "stamp", "totals", "window_seconds"]);
      expect(s.totals).toMatchObject({ status: "finished", lines_read: summary.lines_read, lines_scored: summary.lines_scored, alerts: summary.alerts, skipped: summary.skipped });
      expect(s.totals.skipped).toEqual({ [Object.keys(summary.skipped)[0]]: 1 });
      expect(s.totals.alerts_by_severity).toEqual(summary.alerts_by_severity);
      // Every scored line is in exactly one second of the all-routes series.
      expect(s.rows.reduce((n, r) => n + r[1], 0)).toBe(summary.lines_scored);
      expect(s.rows.every((r, i) => i === 0 || r[0] > s.rows[i - 1][0])).toBe(true);
      expect(s.alerts.length).toBe(Math.min(summary.alerts, s.max_alerts));
      expect(s.alerts.length).toBeGreaterThan(0);
      expect(s.model?.features).toEqual(forest.featureNames);
      expect(s.model?.created_at).toBe(forest.createdAt);
      expect(s.model?.threshold).toBe(forest.threshold);
      expect(s.model?.generation).toBe(0);
      expect(s.routes[0]).toEqual({ key: "all", lines: summary.lines_scored });
      // The deltas rebuild exactly the state the page would load.
      expect([...merged.values()].sort((a, b) => a[0] - b[0])).toEqual(s.rows);
      expect(alertSeqs).toEqual(s.alerts.map((a) => a.seq));

      // One route: its own series, adding up to its line count.
      const route = s.routes[1];
      const one = JSON.parse((await fetchText(`${d.url}api/state?route=${encodeURIComponent(route.key)}`)).body) as DashboardState;
      expect(one.route).toBe(route.key);
      expect(one.rows.reduce((n, r) => n + r[1], 0)).toBe(route.lines);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("describes the model again when the detector retrains while running", async () => {
    const d = await startDashboard({ port: 0 });
    try {
      const { summary } = await runDetect({ model: forest, input: logFile, out: null, retrain: { everyLines: 5000 }, ...d.hooks });
      expect(summary.retrain.generation).toBeGreaterThan(0);
      const s = d.state();
      expect(s.model?.generation).toBe(summary.retrain.generation);
      expect(d.state().model?.generation).toBe(summary.retrain.generation);
    } finally {
      await d.close();
    }
  }, 60_000);

  it("serves the page and its assets, and refuses what it does not serve", async () => {
    const d = await startDashboard({ port: 0 });
    try {
      const page = await fetchText(d.url);
      expect(page.status).toBe(200);
      expect(page.type).toMatch(/^text\/html/);
      expect(page.body).toContain('<script src="/uplot.js"></script>');
      for (const [path, type] of [["page.js", "text/javascript"], ["page.css", "text/css"], ["uplot.js", "text/javascript"], ["uplot.css", "text/css"]]) {
        const r = await fetchText(`${d.url}${path}`);
        expect([path, r.status, r.type.split(";")[0]]).toEqual([path, 200, type]);
        expect(r.body.length).toBeGreaterThan(100);
      }
      expect((await fetchText(`${d.url}uplot.js`)).body).toContain("uPlot");
      expect((await fetchText(`${d.url}nope`)).status).toBe(404);
      expect((await fetchText(`${d.url}api/state`, {}, "POST")).status).toBe(405);
      // A page on another site reaching 127.0.0.1 through DNS rebinding names its own host.
      expect((await fetchText(`${d.url}api/state`, { host: "attacker.example" })).status).toBe(421);
      expect((await fetchText(`${d.url}api/state`, { host: `localhost:${d.port}` })).status).toBe(200);
      // The port is taken now: a second dashboard on it says so.
      await expect(startDashboard({ port: d.port })).rejects.toThrow(`dashboard: port ${d.port} on 127.0.0.1 is in use`);
    } finally {
      await d.close();
    }
  });

  it("keeps its memory bounded under 100k lines pushed through the hooks, with a client connected", async () => {
    const d = await startDashboard({ port: 0, windowSeconds: 60, maxAlerts: 100, pushMs: 20 });
    try {
      let ticks = 0;
      const events = readEvents(`${d.url}api/events`, () => ++ticks >= 3);
      await new Promise((r) => setTimeout(r, 50));
      const rng = new Rng(5);
      for (let k = 0; k < 100; k++) {
        d.hooks.onScored(syntheticBatch(rng, 1_800_000_000 + k * 10, 1000, 100));
        d.hooks.onAlert(syntheticAlert(k, 1_800_000_000 + k * 10));
        d.hooks.onAlert(syntheticAlert(k, 1_800_000_000 + k * 10 + 5));
        d.hooks.onAlert(syntheticAlert(k, 1_800_000_000 + k * 10 + 9));
        const size = d.size();
        expect(size.seconds).toBeLessThanOrEqual(60);
        expect(size.cells).toBeLessThanOrEqual(60 * (ROUTES.length + 2));
        expect(size.alerts).toBeLessThanOrEqual(100);
      }
      const deltas = await events;
      expect(deltas.length).toBeGreaterThanOrEqual(3);
      const s = d.state();
      expect(s.rows.length).toBeLessThanOrEqual(60);
      expect(s.alerts.length).toBe(100);
      expect(s.alerts[99].seq).toBe(300);
    } finally {
      await d.close();
    }
    expect(d.size().clients).toBe(0);
  });
});

describe("logforest detect --dashboard", () => {
  const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;

  it("serves while scoring a file, stays up after the end of input, and exits cleanly on Ctrl-C", async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
    const clean = [...simulate({ count: 5000, seed: 31, incidents: "none", start: "2026-11-20T00:00:00Z" })];
    const { forest } = trainFromLines(clean.map((l) => l.text), { forest: { seed: 31 } });
    const model = join(dir, "cli.lfm");
    forest.save(model);
    const input = join(dir, "cli.log");
    writeFileSync(input, [...simulate({ count: 3000, seed: 32, start: "2026-11-20T06:00:00Z" })].map((l) => l.text).join("\n") + "\n");
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--input", input, "--json", "--dashboard", "0"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8");
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const finished = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", (c: string) => {
          err += c;
          const m = /the dashboard stays up at (http:\S+) until Ctrl-C/.exec(err);
          if (m) resolve(m[1]);
        });
        child.on("exit", () => reject(new Error(`detect exited early: ${err}`)));
      });
      expect(err).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/m);
      const s = JSON.parse((await fetchText(`${finished}api/state`)).body) as DashboardState;
      expect(s.totals).toMatchObject({ status: "finished", lines_read: 3000, lines_scored: 3000 });
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("logforest demo --dashboard", () => {
  it("refuses a bad port by name, range and value", async () => {
    const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
    const child = spawn(process.execPath, [BIN, "demo", "--dashboard", "http"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toContain("--dashboard must be a port, an integer in [0, 65535] (0: any free port), got http");
  });
});

describe("dashboard in a browser", () => {
  const chromiumPath = "/usr/bin/chromium";

  it("shows incidents arriving live: alerts in the table, data in the charts, a record on click, the same after reload", async () => {
    if (!existsSync(chromiumPath)) {
      if (process.env.LOGFOREST_BROWSER_TESTS === "0") return; // explicitly turned off
      throw new Error(`${chromiumPath} is missing: install it (apt-get install -y chromium; .ci/run does) or set LOGFOREST_BROWSER_TESTS=0 to skip the browser test`);
    }
    const { chromium } = await import("playwright-core");
    const shots = mkdtempSync(join(tmpdir(), "logforest-dashboard-shot-"));
    const d = await startDashboard({ port: 0 });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const demo = runDemo({ rate: 5000, liveLines: 20_000, print: () => undefined, dashboard: d.hooks });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(d.url);
      const rows = page.locator("#alerts tbody tr");
      const alertSeqs = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-seq")));
      await rows.nth(2).waitFor({ timeout: 60_000 });
      await page.waitForFunction(`Number(document.getElementById("chart-rate").dataset.points) > 10`);
      expect(Number(await page.locator("#chart-score").getAttribute("data-lines"))).toBeGreaterThan(0);
      // A live count shows in the totals.
      expect(Number((await page.locator("#scored").textContent())?.replace(/,/g, ""))).toBeGreaterThan(0);

      // Click an alert: its whole record shows.
      // By its sequence number: newer alerts keep arriving on top while we look.
      const seq = await rows.nth(1).getAttribute("data-seq");
      const row = page.locator(`#alerts tbody tr[data-seq="${seq}"]`);
      const route = await row.locator("td.route").textContent();
      await row.click();
      const detail = JSON.parse((await page.locator("#detail").textContent()) ?? "") as Alert;
      expect(`${detail.record.method} ${detail.record.route}`).toBe(route);
      expect(detail.rule).toBe(await row.locator("td").nth(6).textContent());
      expect(await row.getAttribute("class")).toContain("selected");

      const result = await demo;
      d.finish(); // as the CLI does when the demo ends
      await page.locator("#status", { hasText: "finished" }).waitFor();
      await page.waitForFunction(`document.querySelectorAll("#alerts tbody tr").length === ${Math.min(result.alerts.length, 500)}`);
      const seqs = await alertSeqs();
      const times = await page.locator("#alerts tbody tr td:first-child").allTextContents();

      // Reload: the page asks for the recent window and shows the same alerts.
      await page.reload();
      await page.locator("#status", { hasText: "finished" }).waitFor();
      await page.waitForFunction(`document.querySelectorAll("#alerts tbody tr").length === ${seqs.length}`);
      expect(await alertSeqs()).toEqual(seqs);
      expect(await page.locator("#alerts tbody tr td:first-child").allTextContents()).toEqual(times);
      expect(Number(await page.locator("#chart-rate").getAttribute("data-points"))).toBeGreaterThan(10);
      // Newest first.
      const numbers = seqs.map(Number);
      expect(numbers).toEqual([...numbers].sort((a, b) => b - a));

      // Pick one route: the charts show its own series.
      const option = await page.locator("#route option").nth(1).getAttribute("value");
      await page.selectOption("#route", option ?? "");
      await page.waitForFunction(`new URL(location.href).searchParams.get("route") === ${JSON.stringify(option)}`);
      await page.waitForFunction(`Number(document.getElementById("chart-rate").dataset.points) > 0`);

      const shot = join(shots, "dashboard.png");
      await page.screenshot({ path: shot });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await d.close();
      rmSync(shots, { recursive: true, force: true });
    }
  }, 120_000);
});
