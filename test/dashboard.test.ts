// The live dashboard: aggregation bounds, the HTTP/SSE API without a browser, the
// CLI flag, and the page in a real headless Chromium as a user would open it.
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { get, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardPort } from "../src/dashboard/cli.js";
import { ALL_ROUTES, Aggregator, OTHER_ROUTE, binCentre, histogramQuantile, latencyBin, type DashboardRow } from "../src/dashboard/aggregate.js";
import { resolveDashboardOptions, startDashboard, type Dashboard, type DashboardDelta, type DashboardState } from "../src/dashboard/server.js";
import type { Alert, ScoredBatch } from "../src/streams/http/detect.js";
import { runDemo } from "../src/tools/demo.js";
import type { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import { detectFlat } from "./helpers.js";
import type { Detection } from "../src/runtime/detection.js";
import type { StreamAlert } from "../src/streams/stream.js";
import { simulate } from "../src/tools/simulate.js";
import { TelemetryDetector, trainTelemetry, type TelemetryAlert } from "../src/streams/metrics/telemetry.js";
import { simulateTelemetry } from "../src/tools/telemetry-sim.js";
import { trainFromLines } from "../src/streams/http/train.js";

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

/**
 * 100k lines over 2,000 seconds (100 batches of 1,000, 20 alerts each) into a window of
 * 120 seconds and a ring of 50 alerts, checking after each batch that no more is held
 * than the window's seconds, `keys` cells a second and the ring.
 */
function feedBounded(agg: Aggregator, rng: Rng, t0: number, batch: (rng: Rng, t0: number, n: number, perSecond: number) => ScoredBatch, alert: (i: number, second: number) => StreamAlert, keys: number): void {
  for (let k = 0; k < 100; k++) {
    agg.addBatch(batch(rng, t0 + k * 20, 1000, 50));
    for (let j = 0; j < 20; j++) agg.addAlert(alert(k * 20 + j, t0 + k * 20 + j));
    const size = agg.size();
    expect(size.seconds).toBeLessThanOrEqual(120);
    expect(size.cells).toBeLessThanOrEqual(120 * keys);
    expect(size.alerts).toBeLessThanOrEqual(50);
  }
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
    expect(Math.max(...all.map((r) => Number(r[6])))).toBeCloseTo(maxScore, 6);
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
    feedBounded(agg, new Rng(9), 1_700_000_000, syntheticBatch, syntheticAlert, ROUTES.length + 2);
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

const SERIES = ["cpu_pct", "latency_ms", "queue_depth"];

/** A seeded telemetry batch: `n` rows from second `t0` on, `perSecond` a second; values around 0 (negatives, zeros), one NaN. */
function telemetryBatch(rng: Rng, t0: number, n: number, perSecond: number): ScoredBatch & { values: Float64Array } {
  const s = SERIES.length;
  const b = {
    file: "metrics.csv", count: n, lineNo: new Int32Array(n), seconds: new Float64Array(n), route: new Int32Array(n).fill(-1),
    latencyMs: new Float64Array(n).fill(NaN), status: new Float64Array(n).fill(NaN), scores: new Float64Array(n), routeNames: [], skipped: [],
    values: new Float64Array(n * s), seriesNames: SERIES,
  };
  for (let i = 0; i < n; i++) {
    b.lineNo[i] = i + 2;
    b.seconds[i] = t0 + i / perSecond;
    b.scores[i] = 0.3 + 0.4 * rng.next();
    b.values[i * s] = 40 + 10 * rng.normal();
    b.values[i * s + 1] = 10 * rng.normal() - 5;
    b.values[i * s + 2] = Math.round(2 * rng.normal());
  }
  if (n > 5) b.values[5 * s + 1] = NaN;
  return b;
}

function telemetryAlert(i: number, second: number): TelemetryAlert {
  const ts = new Date(second * 1000).toISOString();
  return {
    line: i, file: "metrics.csv", ts, score: 0.6, severity: 70, rule: "telemetry",
    record: { ts, values: { cpu_pct: 97, latency_ms: -3, queue_depth: 0 } },
    reasons: [{ feature: "cpu_pct", share: 0.8, text: "cpu_pct 97: a step" }],
  };
}

describe("dashboard aggregation of telemetry rows", () => {
  it("buckets rows per series per second (mean, min and max of the values, scores, rows), all series together, and sends only what changed", () => {
    const agg = new Aggregator({ windowSeconds: 600, maxAlerts: 10 });
    const t0 = 1_795_716_000;
    const b = telemetryBatch(new Rng(4), t0, 40, 4); // 10 seconds of 4 rows
    agg.addBatch(b);
    const s = SERIES.length;
    expect(agg.routes()).toEqual([{ key: ALL_ROUTES, lines: 40 }, ...SERIES.map((key) => ({ key, lines: 40 }))]);
    const all = agg.rows(ALL_ROUTES);
    expect(all.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => t0 + i));
    SERIES.forEach((name, q) => {
      const rows = agg.rows(name);
      expect(rows.length).toBe(10);
      rows.forEach((r, j) => {
        const idx = [0, 1, 2, 3].map((k) => j * 4 + k);
        const scores = idx.map((i) => b.scores[i]);
        const values = idx.map((i) => b.values[i * s + q]).filter(Number.isFinite);
        expect(r.length).toBe(7);
        expect(r[1]).toBe(4);
        expect(r[2]).toBeCloseTo(scores.reduce((a, x) => a + x, 0) / 4, 6);
        expect(r[3]).toBeCloseTo(Math.max(...scores), 6);
        expect(r[4]).toBeCloseTo(values.reduce((a, x) => a + x, 0) / values.length, 6);
        expect(r[5]).toBe(Math.min(...values));
        expect(r[6]).toBe(Math.max(...values));
        // The all-series row carries the same scores and each series' mean.
        expect(all[j].length).toBe(4 + s);
        expect(all[j].slice(1, 4)).toEqual(r.slice(1, 4));
        expect(all[j][4 + q]).toBe(r[4]);
      });
    });
    // Zeros and negatives are values like any other (not "no latency").
    expect(Math.min(...agg.rows("latency_ms").map((r) => r[5] as number))).toBeLessThan(0);
    expect(agg.rows("queue_depth").some((r) => r[5] === 0 || r[6] === 0)).toBe(true);

    const stamp = agg.seal();
    for (const key of [ALL_ROUTES, ...SERIES]) expect(agg.rows(key, stamp)).toEqual([]);
    agg.addBatch(telemetryBatch(new Rng(5), t0 + 3, 2, 4)); // two more rows in second t0 + 3
    for (const key of [ALL_ROUTES, ...SERIES]) {
      const changed = agg.rows(key, stamp);
      expect(changed.map((r) => r[0])).toEqual([t0 + 3]);
      expect(changed[0][1]).toBe(6);
    }
    // Telemetry alerts are kept as they are.
    agg.addAlert(telemetryAlert(9, t0 + 3));
    expect(agg.alertsAfter(0)[0].alert).toEqual(telemetryAlert(9, t0 + 3));
  });

  it("stays bounded: 100k rows over 2,000 seconds keep only the window (widened or narrowed) and the newest alerts", () => {
    const agg = new Aggregator({ windowSeconds: 120, maxAlerts: 50 });
    feedBounded(agg, new Rng(11), 1_795_716_000, telemetryBatch, telemetryAlert, SERIES.length + 1);
    const rows = agg.rows("cpu_pct");
    const newest = rows[rows.length - 1][0];
    expect(rows.length).toBe(120);
    expect(rows[0][0]).toBe(newest - 119);
    expect(agg.routes()).toEqual([{ key: ALL_ROUTES, lines: 100_000 }, ...SERIES.map((key) => ({ key, lines: 100_000 }))]);
    agg.setWindow(30);
    expect(agg.size().seconds).toBe(30);
    expect(agg.size().cells).toBe(30 * (SERIES.length + 1));
    expect(agg.rows(ALL_ROUTES)[0][0]).toBe(newest - 29);
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
      const { summary } = await detectFlat({ model: forest, input: logFile, out: null, ...d.hooks });
      d.finish();
      const deltas = await events;
      const merged = new Map<number, DashboardRow>();
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
      expect(s.model?.kind).toBe("logs");
      expect(s.model?.telemetry).toBeUndefined();
      expect(s.window_seconds).toBe(86_400);
      expect(s.rows.every((r) => r.length === 7)).toBe(true);
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
      // Described once at the start (as a page open then would), so it must be described again.
      const first: Array<number | undefined> = [];
      const onStart = (x: Detection) => (d.hooks.onStart(x), first.push(d.state().model?.generation));
      const { summary } = await detectFlat({ model: forest, input: logFile, out: null, retrain: { everyLines: 5000 }, ...d.hooks, onStart });
      expect(first).toEqual([0]);
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

/** The lines of a simulated telemetry stream (the header first). */
function telemetryLines(opts: Parameters<typeof simulateTelemetry>[0]): string[] {
  return [...simulateTelemetry(opts)].map((l) => l.text);
}

describe("dashboard server on a telemetry stream", () => {
  let forest: IsolationForest;
  let csv: string;
  let lines: string[];
  beforeAll(() => {
    forest = trainTelemetry(telemetryLines({ count: 3000, seed: 1, incidents: "none" }), { forest: { seed: 1 } }).forest;
    // Four rows a second, so that a bucket holds several values; incidents of every kind.
    lines = telemetryLines({ count: 4000, seed: 7, stepMs: 250, start: "2026-11-26T00:00:00Z" });
    csv = join(dir, "metrics.csv");
    writeFileSync(csv, lines.join("\n") + "\n");
  });

  it("lists the series, charts their values and scores per second, and lists telemetry alerts with reasons, losslessly", async () => {
    const d = await startDashboard({ port: 0, pushMs: 50 });
    try {
      const before = JSON.parse((await fetchText(`${d.url}api/state`)).body) as DashboardState;
      const events = readEvents(`${d.url}api/events?since=${before.stamp}&alerts=0`, (x) => x.totals.status === "finished");
      await new Promise((r) => setTimeout(r, 100));
      let detector: Detection | null = null;
      const { summary } = await detectFlat({ model: forest, input: csv, out: null, ...d.hooks, onStart: (x) => ((detector = x), d.hooks.onStart(x)) });
      d.finish();
      expect((detector as Detection | null)?.get()).toBeInstanceOf(TelemetryDetector);
      const deltas = await events;

      const s = JSON.parse((await fetchText(`${d.url}api/state`)).body) as DashboardState;
      expect(s.window_seconds).toBe(21_600);
      expect(s.routes).toEqual([{ key: "all", lines: 4000 }, ...SERIES.map((key) => ({ key, lines: 4000 }))]);
      expect(s.totals).toMatchObject({ status: "finished", lines_read: 4001, lines_scored: 4000, skipped: { header: 1 }, alerts: summary.alerts });
      expect(s.totals.alerts_by_severity).toEqual(summary.alerts_by_severity);
      expect(s.model).toMatchObject({ kind: "telemetry", format: "csv", routes: 0, features: forest.featureNames, generation: 0 });
      expect(s.model?.telemetry?.series.map((x) => x.name)).toEqual(SERIES);
      expect(s.model?.telemetry?.k).toBe(4);
      // Every row in one second of "all": 1,000 seconds of 4 rows, each with the three series' means.
      expect(s.rows.length).toBe(1000);
      expect(s.rows.every((r) => r[1] === 4 && r.length === 4 + SERIES.length)).toBe(true);
      const merged = new Map<number, DashboardRow>();
      for (const x of deltas) for (const r of x.rows) merged.set(r[0], r);
      expect([...merged.values()].sort((a, b) => a[0] - b[0])).toEqual(s.rows);

      // One series: its values per second are the file's.
      const bySecond = new Map<number, number[]>();
      for (const line of lines.slice(1)) {
        const [ts, , latency] = line.split(",");
        const second = Math.floor(Date.parse(ts) / 1000);
        bySecond.set(second, [...(bySecond.get(second) ?? []), Number(latency)]);
      }
      const one = JSON.parse((await fetchText(`${d.url}api/state?route=latency_ms`)).body) as DashboardState;
      expect(one.route).toBe("latency_ms");
      expect(one.rows.length).toBe(1000);
      for (const r of one.rows) {
        const v = bySecond.get(r[0]) ?? [];
        expect([r[1], r[5], r[6]]).toEqual([v.length, Math.min(...v), Math.max(...v)]);
        expect(r[4]).toBeCloseTo(v.reduce((a, x) => a + x, 0) / v.length, 5);
        expect(r.slice(1, 4)).toEqual(s.rows.find((x) => x[0] === r[0])?.slice(1, 4));
      }

      // The alerts are the run's telemetry alerts, with their values and reasons.
      expect(summary.alerts).toBeGreaterThan(0);
      expect(s.alerts.length).toBe(Math.min(summary.alerts, s.max_alerts));
      for (const { alert } of s.alerts) {
        const a = alert as TelemetryAlert;
        expect(a.rule).toBe("telemetry");
        expect(Object.keys(a.record.values)).toEqual(SERIES);
        expect(a.reasons.length).toBeGreaterThan(0);
        for (const r of a.reasons) expect(SERIES).toContain(r.feature);
      }
      expect(deltas.flatMap((x) => x.alerts.map((a) => a.seq))).toEqual(s.alerts.map((a) => a.seq));
    } finally {
      await d.close();
    }
  }, 60_000);

  it("describes the telemetry model again when the detector retrains while running", async () => {
    const d = await startDashboard({ port: 0 });
    try {
      let detector: Detection | null = null;
      const first: Array<number | undefined> = [];
      const onStart = (x: Detection) => ((detector = x), d.hooks.onStart(x), first.push(d.state().model?.generation));
      const { summary } = await detectFlat({ model: forest, input: csv, out: null, retrain: { everyLines: 1000, sample: 2000 }, ...d.hooks, onStart });
      expect(first).toEqual([0]);
      expect(summary.retrain.generation).toBeGreaterThan(0);
      const t = (detector as Detection | null)?.get() as TelemetryDetector;
      expect(t.forest).not.toBe(forest);
      const m = d.state().model;
      expect(m?.generation).toBe(summary.retrain.generation);
      expect(m?.telemetry?.series.map((x) => [x.name, x.p01, x.median, x.p99])).toEqual(t.meta.series.map((name, q) => [name, t.meta.scales[q].p01, t.meta.scales[q].median, t.meta.scales[q].p99]));
      expect(m?.created_at).toBe(t.forest.createdAt);
    } finally {
      await d.close();
    }
  }, 60_000);
});

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;

/** `logforest detect --model M --input F --json --dashboard 0`, once the input is scored: the page, stderr, Ctrl-C (the exit code) and a last-resort kill. */
async function detectWithDashboard(model: string, input: string): Promise<{ url: string; err: string; interrupt: () => Promise<number | null>; kill: () => void }> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
  const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--input", input, "--json", "--dashboard", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.setEncoding("utf8");
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (c: string) => {
        err += c;
        const m = /the dashboard stays up at (http:\S+) until Ctrl-C/.exec(err);
        if (m) resolve(m[1]);
      });
      child.on("exit", () => reject(new Error(`detect exited early: ${err}`)));
    });
    return { url, err, interrupt: () => (child.kill("SIGINT"), exited), kill };
  } catch (e) {
    kill();
    throw e;
  }
}

describe("logforest detect --dashboard", () => {
  it("serves while scoring a file, stays up after the end of input, and exits cleanly on Ctrl-C", async () => {
    const clean = [...simulate({ count: 5000, seed: 31, incidents: "none", start: "2026-11-20T00:00:00Z" })];
    const { forest } = trainFromLines(clean.map((l) => l.text), { forest: { seed: 31 } });
    const model = join(dir, "cli.lfm");
    forest.save(model);
    const input = join(dir, "cli.log");
    writeFileSync(input, [...simulate({ count: 3000, seed: 32, start: "2026-11-20T06:00:00Z" })].map((l) => l.text).join("\n") + "\n");
    const run = await detectWithDashboard(model, input);
    try {
      expect(run.err).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/$/m);
      const s = JSON.parse((await fetchText(`${run.url}api/state`)).body) as DashboardState;
      expect(s.totals).toMatchObject({ status: "finished", lines_read: 3000, lines_scored: 3000 });
      expect(await run.interrupt()).toBe(0);
    } finally {
      run.kill();
    }
  }, 60_000);

  it("on a telemetry model: shows the series, their rows and the telemetry alerts of a CSV stream", async () => {
    const model = join(dir, "metrics.model");
    trainTelemetry(telemetryLines({ count: 3000, seed: 1, incidents: "none" }), { forest: { seed: 1 } }).forest.save(model);
    const input = join(dir, "cli-metrics.csv");
    writeFileSync(input, telemetryLines({ count: 2000, seed: 101, start: "2026-11-26T00:00:00Z" }).join("\n") + "\n");
    const run = await detectWithDashboard(model, input);
    try {
      const summary = JSON.parse(run.err.split("\n").find((l) => l.startsWith("{")) ?? "{}") as { alerts: number };
      const s = JSON.parse((await fetchText(`${run.url}api/state`)).body) as DashboardState;
      expect(s.totals).toMatchObject({ status: "finished", lines_read: 2001, lines_scored: 2000, alerts: summary.alerts });
      expect(s.model?.kind).toBe("telemetry");
      expect(s.routes.map((r) => r.key)).toEqual(["all", ...SERIES]);
      expect(s.rows.reduce((n, r) => n + r[1], 0)).toBe(2000);
      expect(summary.alerts).toBeGreaterThan(0);
      expect(s.alerts.length).toBe(summary.alerts);
      expect((s.alerts[0].alert as TelemetryAlert).reasons.length).toBeGreaterThan(0);
      expect(await run.interrupt()).toBe(0);
    } finally {
      run.kill();
    }
  }, 60_000);
});

describe("logforest demo --dashboard", () => {
  it("refuses a bad port by name, range and value", async () => {
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
      // Waits poll from the test (expect.poll), not page.waitForFunction: that polls with eval
      // inside the page, which the page's Content Security Policy refuses once it has to retry.
      await expect.poll(async () => Number(await page.locator("#chart-rate").getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(10);
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
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(Math.min(result.alerts.length, 500));
      const seqs = await alertSeqs();
      const times = await page.locator("#alerts tbody tr td:first-child").allTextContents();

      // Reload: the page asks for the recent window and shows the same alerts.
      await page.reload();
      await page.locator("#status", { hasText: "finished" }).waitFor();
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(seqs.length);
      expect(await alertSeqs()).toEqual(seqs);
      expect(await page.locator("#alerts tbody tr td:first-child").allTextContents()).toEqual(times);
      expect(Number(await page.locator("#chart-rate").getAttribute("data-points"))).toBeGreaterThan(10);
      // Newest first.
      const numbers = seqs.map(Number);
      expect(numbers).toEqual([...numbers].sort((a, b) => b - a));

      // Pick one route: the charts show its own series.
      const option = await page.locator("#route option").nth(1).getAttribute("value");
      await page.selectOption("#route", option ?? "");
      await expect.poll(() => new URL(page.url()).searchParams.get("route"), { timeout: 30_000 }).toBe(option);
      await expect.poll(async () => Number(await page.locator("#chart-rate").getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(0);

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
  it("shows a telemetry stream: series to pick, values and scores in the charts, alerts with their series and values, a record on click", async () => {
    if (!existsSync(chromiumPath)) {
      if (process.env.LOGFOREST_BROWSER_TESTS === "0") return; // explicitly turned off
      throw new Error(`${chromiumPath} is missing: install it (apt-get install -y chromium; .ci/run does) or set LOGFOREST_BROWSER_TESTS=0 to skip the browser test`);
    }
    const { chromium } = await import("playwright-core");
    // As `simulate --kind telemetry --count 3000 --seed 1 --incidents none | train --format csv`, then
    // `simulate --kind telemetry --count 8640 --seed 101 --start 2026-11-26T00:00:00Z | detect --dashboard`.
    const forest = trainTelemetry(telemetryLines({ count: 3000, seed: 1, incidents: "none" }), { forest: { seed: 1 } }).forest;
    const lines = telemetryLines({ count: 8640, seed: 101, start: "2026-11-26T00:00:00Z" });
    const shots = mkdtempSync(join(tmpdir(), "logforest-dashboard-shot-"));
    const d = await startDashboard({ port: 0, pushMs: 100 });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(d.url);
      await page.locator("#status", { hasText: "waiting" }).waitFor();
      expect(await page.evaluate("document.body.className")).toBe("mode-logs");

      // The stream arrives in chunks on stdin while the page is open.
      async function* chunks(): AsyncGenerator<string> {
        for (let i = 0; i < lines.length; i += 500) {
          yield lines.slice(i, i + 500).join("\n") + "\n";
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const detection = detectFlat({ model: forest, stdin: Readable.from(chunks(), { objectMode: false }), out: null, ...d.hooks });
      const rows = page.locator("#alerts tbody tr");
      await rows.nth(2).waitFor({ timeout: 60_000 });
      await expect.poll(async () => Number(await page.locator("#chart-value").getAttribute("data-points")), { timeout: 30_000 }).toBeGreaterThan(10);
      expect(await page.evaluate("document.body.className")).toBe("mode-telemetry");
      expect(await page.locator("label.route span").textContent()).toBe("series");
      expect(await page.locator("#chart-latency").isVisible()).toBe(false);
      expect(await page.locator("#value-title").textContent()).toBe("all series");
      expect(Number(await page.locator("#chart-score").getAttribute("data-lines"))).toBeGreaterThan(0);
      expect(await page.locator("#route option").allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^all series \(/), expect.stringMatching(/^cpu_pct \(/)]));
      // All series: one line per series, each on its typical range.
      const allData = (await page.evaluate(`window.logforestDashboard.data("value")`)) as Array<Array<number | null>>;
      expect(allData.length).toBe(1 + SERIES.length);
      expect(allData[2].filter((v) => v !== null && v > -1 && v < 2).length).toBeGreaterThan(allData[0].length * 0.9);

      // Click an alert (by sequence number: newer ones arrive on top): its whole record shows.
      const seq = await rows.nth(1).getAttribute("data-seq");
      const row = page.locator(`#alerts tbody tr[data-seq="${seq}"]`);
      const cells = await row.locator("td").allTextContents();
      await row.click();
      const detail = JSON.parse((await page.locator("#detail").textContent()) ?? "") as TelemetryAlert;
      expect(detail.rule).toBe("telemetry");
      expect(Object.keys(detail.record.values)).toEqual(SERIES);
      expect(cells[2]).toBe(detail.reasons.map((r) => r.feature).join(", "));
      expect(cells[3]).toBe(detail.reasons.map((r) => String(Number(detail.record.values[r.feature].toPrecision(4)))).join(", "));
      expect(cells[4]).toBe(detail.score.toFixed(3));
      expect(await row.getAttribute("class")).toContain("selected");

      const { summary } = await detection;
      d.finish();
      await page.locator("#status", { hasText: "finished" }).waitFor();
      const shown = Math.min(summary.alerts, 500);
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(shown);
      expect(await page.locator("#scored").textContent()).toBe("8,640");
      expect(await page.locator("#alerts-total").textContent()).toBe(summary.alerts.toLocaleString("en-US"));
      const seqs = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-seq")));
      // All series: each line is the file's values on that series' typical range (0 = p1, 1 = p99).
      const scales = (JSON.parse((await fetchText(`${d.url}api/state`)).body) as DashboardState).model?.telemetry?.series ?? [];
      const all = (await page.evaluate(`window.logforestDashboard.data("value")`)) as [number[], ...Array<Array<number | null>>];
      expect(all[0].length).toBe(2160);
      expect(scales.map((x) => x.name)).toEqual(SERIES);
      const fileValues = new Map(lines.slice(1).map((l) => [Date.parse(l.split(",")[0]) / 1000, l.split(",").slice(1).map(Number)]));
      scales.forEach((x, q) => {
        const off = all[0].map((t, i) => Math.abs((all[q + 1][i] ?? NaN) - ((fileValues.get(t)?.[q] ?? NaN) - x.p01) / (x.p99 - x.p01)));
        expect(Math.max(...off)).toBeLessThan(1e-6);
      });

      // Pick one series: the charts show its own values, which are the file's.
      await page.selectOption("#route", "latency_ms");
      await expect.poll(() => page.evaluate("window.logforestDashboard.layout()"), { timeout: 30_000 }).toBe("telemetry:latency_ms");
      await expect.poll(async () => Number(await page.locator("#chart-value").getAttribute("data-points")), { timeout: 30_000 }).toBe(2160);
      expect(await page.locator("#value-title").textContent()).toBe("latency_ms");
      expect(new URL(page.url()).searchParams.get("route")).toBe("latency_ms");
      const data = (await page.evaluate(`window.logforestDashboard.data("value")`)) as [number[], ...Array<Array<number | null>>];
      expect(data.length).toBe(4); // seconds, mean, min, max
      expect(data[0].length).toBe(2160); // the last 6 hours of 10 s rows
      const off = data[0].map((x, i) => Math.abs((data[1][i] ?? NaN) - (fileValues.get(x)?.[1] ?? NaN)));
      expect(Math.max(...off)).toBeLessThan(1e-6);

      // Reload: the same alerts, the same series.
      await page.reload();
      await page.locator("#status", { hasText: "finished" }).waitFor();
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(shown);
      expect(await page.evaluate("window.logforestDashboard.layout()")).toBe("telemetry:latency_ms");
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-seq")))).toEqual(seqs);

      // Open an alert naming the series for the picture.
      await page.locator("#alerts tbody tr", { hasText: "latency_ms" }).first().click();
      expect((JSON.parse((await page.locator("#detail").textContent()) ?? "") as TelemetryAlert).reasons.map((r) => r.feature)).toContain("latency_ms");
      const shot = join(shots, "dashboard-telemetry.png");
      await page.screenshot({ path: shot });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      // LOGFOREST_UPDATE_SCREENSHOTS=1 refreshes the README's picture.
      if (process.env.LOGFOREST_UPDATE_SCREENSHOTS === "1") copyFileSync(shot, new URL("fixtures/dashboard-telemetry.png", import.meta.url));
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await d.close();
      rmSync(shots, { recursive: true, force: true });
    }
  }, 120_000);
});
