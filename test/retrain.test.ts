import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Detector, type Alert } from "../src/streams/http/detect.js";
import { IsolationForest } from "../src/forest/forest.js";
import { Retrainer, replaceTrees, resolveRetrainOptions, type RefreshReport } from "../src/streams/http/retrain.js";
import { simulate } from "../src/tools/simulate.js";
import { pipelineOf, trainFromLines } from "../src/streams/http/train.js";
import { uniformTable } from "./helpers.js";

const START = Date.UTC(2026, 10, 25, 6);
const CHANGE = 15_000;
const clean = [...simulate({ count: 30_000, seed: 11, incidents: "none", start: START - 86_400_000, profile: "classic" })].map((l) => l.text);
const { forest } = trainFromLines(clean, { forest: { seed: 1 } });
const dir = mkdtempSync(join(tmpdir(), "logforest-retrain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Tag = "drift_latency" | "drift_route" | "spike" | "burst" | null;

/** Clean traffic where, from CHANGE on, POST /checkout is 3x slower for good and a new route takes 5% of product lines. */
function drifted(count: number, events: { spikeAt?: number; burstFrom?: number; burstLength?: number }) {
  return [...simulate({ count, seed: 5, incidents: "none", start: START, profile: "classic" })].map((l, i) => {
    if (i < CHANGE) return { text: l.text, tag: null as Tag };
    const o = JSON.parse(l.text) as { method: string; route: string; latency_ms: number; status: number; bytes: number };
    let tag: Tag = null;
    if (o.method === "POST" && o.route === "/checkout") {
      o.latency_ms = Math.round(o.latency_ms * 30) / 10;
      tag = "drift_latency";
    } else if (o.route.startsWith("/api/products") && i % 20 === 0) {
      o.route = "/api/v2/recommendations";
      tag = "drift_route";
    }
    if (events.spikeAt !== undefined && i >= events.spikeAt && i < events.spikeAt + 2000 && o.route.startsWith("/api/search")) {
      o.latency_ms = Math.round(o.latency_ms * 100) / 10;
      tag = "spike";
    }
    const b = events.burstFrom;
    if (b !== undefined && i >= b && i < b + (events.burstLength ?? 0) && o.method === "GET" && o.route === "/api/cart") {
      o.status = 503;
      o.bytes = 180;
      tag = "burst";
    }
    return { text: JSON.stringify(o), tag };
  });
}

function run(lines: Array<{ text: string; tag: Tag }>, retrain: boolean, save?: string) {
  const refreshes: RefreshReport[] = [];
  const det = new Detector(forest, {
    retrain: retrain ? { everyLines: 5000, trees: 10, sample: 10_000, save } : undefined,
    onRefresh: (r) => refreshes.push(r),
  });
  const alerts: Alert[] = [];
  const text = lines.map((l) => l.text);
  for (let i = 0; i < text.length; i += 2000) det.processBatch("t", text.slice(i, i + 2000), i + 1, (a) => alerts.push(a));
  const last = (tag: Tag) => Math.max(0, ...alerts.filter((a) => lines[a.line - 1].tag === tag).map((a) => a.line));
  const count = (tag: Tag) => alerts.filter((a) => lines[a.line - 1].tag === tag).length;
  return { det, alerts, refreshes, last, count };
}

describe("retraining keeps up with a lasting change of normal", () => {
  const lines = drifted(60_000, { spikeAt: 40_000 });
  const without = run(lines, false);
  const save = join(dir, "live.lfm");
  const withRetrain = run(lines, true, save);

  it("without retraining, the changed route alerts to the end; a new route with healthy answers never alerts", () => {
    expect(without.last("drift_latency")).toBeGreaterThan(55_000);
    // A path training never saw is not an incident by itself (rare pages are normal).
    expect(without.count("drift_route")).toBe(0);
  });

  it("with retraining, their alerts stop within 10,000 lines of the change", () => {
    expect(withRetrain.count("drift_latency")).toBeGreaterThan(0); // it was news at first
    expect(withRetrain.last("drift_latency")).toBeLessThan(CHANGE + 10_000);
    expect(withRetrain.last("drift_route")).toBeLessThan(CHANGE + 10_000);
    expect(withRetrain.refreshes.flatMap((r) => r.added)).toContain("GET /api/v2/recommendations");
  });

  it("still catches an incident that starts after the change", () => {
    expect(withRetrain.count("spike")).toBeGreaterThan(0);
  });

  it("replaces the model file atomically, with a growing generation", () => {
    const gens = withRetrain.refreshes.map((r) => r.generation);
    expect(gens).toEqual(gens.map((_, i) => i + 1));
    const saved = IsolationForest.load(save);
    const meta = pipelineOf(saved) as ReturnType<typeof pipelineOf> & { generation: number };
    expect(meta.generation).toBe(gens.at(-1));
    expect(Object.keys(meta.spec.routes)).toContain("GET /api/v2/recommendations");
    expect(withRetrain.det.summary().retrain.refreshes).toBe(gens.length);
  });
});

describe("retraining does not learn a long incident as normal", () => {
  it("a 5xx burst on one route keeps alerting for its first 15,000 lines", () => {
    const lines = drifted(45_000, { burstFrom: 25_000, burstLength: 15_000 });
    const r = run(lines, true);
    const burst = r.alerts.filter((a) => lines[a.line - 1].tag === "burst").map((a) => a.line);
    expect(burst.length).toBeGreaterThan(10);
    expect(Math.max(...burst)).toBeGreaterThan(25_000 + 14_000);
  }, 60_000);
});

describe("replaceTrees and options", () => {
  it("swaps exactly the k trees from start (wrapping) and keeps the others byte for byte", () => {
    const X = uniformTable(1, 500, 3);
    const a = IsolationForest.fit(X, { trees: 6, seed: 1 }).compactTrees;
    const b = IsolationForest.fit(X, { trees: 2, seed: 2 }).compactTrees;
    const m = replaceTrees(a, b, 5); // trees 5 and 0 replaced
    const tree = (t: typeof a, i: number) => Array.from(t.feature.subarray(t.treeStart[i], t.treeStart[i + 1])).join();
    expect(tree(m, 5)).toBe(tree(b, 0));
    expect(tree(m, 0)).toBe(tree(b, 1));
    for (const i of [1, 2, 3, 4]) expect(tree(m, i)).toBe(tree(a, i));
  });

  it("refreshes every N lines even when a whole file arrives in one batch", () => {
    const lines = drifted(24_000, {}).map((l) => l.text);
    const go = (batch: number) => {
      const det = new Detector(forest, { retrain: { everyLines: 5000, trees: 10, sample: 10_000 } });
      const alerts: number[] = [];
      for (let i = 0; i < lines.length; i += batch) det.processBatch("t", lines.slice(i, i + batch), i + 1, (a) => alerts.push(a.line));
      return { alerts, refreshes: det.summary().retrain.refreshes };
    };
    const whole = go(lines.length);
    const parts = go(5000);
    expect(whole.refreshes).toBe(4);
    expect(whole).toEqual(parts);
  });

  it("refreshes by minutes as well as by lines", () => {
    const r = new Retrainer(forest, { everyLines: 1e9, everyMinutes: 5 });
    const rec = { ts: 0, method: "GET", route: "/", status: 200, latencyMs: 5, bytes: 10, ip: "a", userAgent: "" };
    for (let i = 0; i < 300; i++) r.offer(rec);
    const now = Date.now();
    expect(r.tick(10, 256, now + 60_000)).toBe(false);
    expect(r.tick(10, 256, now + 5 * 60_000 + 1)).toBe(true);
    expect(new Retrainer(forest, { everyLines: 1e9 }).tick(10, 256, now + 1e9)).toBe(false); // lines only
  });

  it("refuses bad options by name", () => {
    expect(() => resolveRetrainOptions({ trees: 0 }, forest)).toThrow(/retrain trees must be an integer in \[1, 100\], got 0/);
    expect(() => resolveRetrainOptions({ everyLines: 5 }, forest)).toThrow(/retrain every \(lines\) must be an integer in \[100, 1000000000\], got 5/);
    expect(() => resolveRetrainOptions({ everyMinutes: -1 }, forest)).toThrow(/retrain every \(minutes\) must be a number in \[0, 10080\], got -1/);
  });
});
