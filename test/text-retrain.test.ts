// Retraining a free-text model (`detect --retrain` with a text model): a lasting change of
// the log stops alerting after a few refreshes, an incident after it is still caught, and
// the refreshed model is saved with its generation and loads again.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TextDetector, type TextAlert } from "../src/streams/text/detect.js";
import { textModelFromJson, textModelToJson } from "../src/streams/text/model-file.js";
import { burstBound, withinFences } from "../src/streams/text/retrain.js";
import { trainText } from "../src/streams/text/train.js";
import { textForest, textModelOf } from "../src/streams/text/kind.js";
import { IsolationForest } from "../src/forest/forest.js";
import { simulateText } from "../src/tools/simulate-text.js";
import type { RefreshReport } from "../src/streams/retrain.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-text-retrain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (count: number, seed: number, start?: number): string[] =>
  [...(function* () {
    const g = simulateText({ count, seed, incidents: false, ...(start !== undefined ? { start } : {}) });
    for (let r = g.next(); r.done !== true; r = g.next()) yield r.value.text;
  })()];

const WINDOW_MS = 5000;
const train = lines(30_000, 3);
// The stream: another day of the same service. From line 15,000 on, for good: a new
// deployment logs a pool-resize warning every 40 lines, and cache misses come 6 at a time.
// At line 100,000: a new error template, 30 lines (the incident).
const CHANGE = 15_000;
const INCIDENT = 100_000;
const stream: string[] = [];
for (const [i, l] of lines(110_000, 11, Date.UTC(2026, 11, 6, 6, 0, 0)).entries()) {
  stream.push(l);
  if (i < CHANGE) continue;
  const head = l.slice(0, 23);
  if (i % 40 === 0) stream.push(`${head} WARN  [pool-resizer] com.acme.db.PoolResizer - Connection pool resized to ${20 + (i % 7)} connections after load check`);
  if (l.includes("Cache miss for product")) for (let k = 0; k < 5; k++) stream.push(l);
  if (i >= INCIDENT && i < INCIDENT + 30) stream.push(`${head} ERROR [http-nio-8080-exec-3] com.acme.orders.InvoiceWriter - Invoice rendering failed for order ${5_000_000 + i}: template engine timeout`);
}
const changeLine = stream.findIndex((l) => l.includes("PoolResizer")) + 1;
const incidentLine = stream.findIndex((l) => l.includes("InvoiceWriter")) + 1;

function run(retrain: boolean): { alerts: TextAlert[]; reports: RefreshReport[]; detector: TextDetector } {
  const model = trainText(train, { windowMs: WINDOW_MS });
  const reports: RefreshReport[] = [];
  const d = new TextDetector(model, retrain ? { retrain: { everyLines: 5000 }, onRefresh: (r) => reports.push(r) } : {});
  const alerts: TextAlert[] = [];
  for (let i = 0; i < stream.length; i += 4096) d.processBatch("app.log", stream.slice(i, i + 4096), i + 1, (a) => alerts.push(a));
  d.finish((a) => alerts.push(a));
  return { alerts, reports, detector: d };
}

describe("free-text retraining", () => {
  const before = run(false);
  const after = run(true);
  const late = (a: TextAlert) => a.line > changeLine + 30_000 && a.line < incidentLine;

  it("without it, the lasting change alerts to the end", () => {
    expect(changeLine).toBeGreaterThan(CHANGE);
    const lateAlerts = before.alerts.filter(late);
    expect(lateAlerts.length).toBeGreaterThanOrEqual(5);
    expect(lateAlerts.some((a) => a.template?.text.includes("PoolResizer") || a.rule === "level_burst")).toBe(true);
  });

  it("with it, the change becomes normal within 30,000 lines and the incident after it is still caught", () => {
    expect(after.reports.length).toBeGreaterThanOrEqual(10);
    expect(after.alerts.filter(late)).toEqual([]);
    // The new template joined the profiles once it was a steady part of the log.
    expect(after.reports.some((r) => r.added.length > 0)).toBe(true);
    const caught = after.alerts.filter((a) => a.line >= incidentLine && a.rule === "new_template" && a.template?.text.includes("Invoice rendering failed"));
    expect(caught.length).toBe(1);
    expect(caught[0]?.template?.level).toBe("ERROR");
    // The window forest got fresh trees once enough calm windows were kept.
    expect(after.reports.some((r) => r.replaced > 0)).toBe(true);
    expect(after.detector.model.generation).toBe(after.reports.length);
  });

  it("the refreshed model round-trips through the model file with its generation", () => {
    const m = after.detector.model;
    const back = textModelFromJson(textModelToJson(m));
    expect(back.generation).toBe(m.generation);
    expect(back.oldestTree).toBe(m.oldestTree);
    const viaForest = textModelOf(textForest(m));
    expect(viaForest.generation).toBe(m.generation);
    expect(Object.keys(viaForest.profiles).length).toBeGreaterThan(Object.keys(trainText(train, { windowMs: WINDOW_MS }).profiles).length);
    // A damaged generation field is refused by name.
    const bad = JSON.parse(textModelToJson(m)) as Record<string, unknown>;
    bad.oldestTree = 10_000;
    expect(() => textModelFromJson(JSON.stringify(bad))).toThrow(/oldestTree must be below the forest's \d+ trees, got 10000/);
    bad.oldestTree = 0;
    bad.generation = -1;
    expect(() => textModelFromJson(JSON.stringify(bad))).toThrow(/generation must be a whole number >= 0 when present, got -1/);
  });

  it("keeps bursts out of what it learns", () => {
    // 250 calm windows of about 5 lines and 6 windows of a burst: the burst is above the bound.
    const xs = [...Array.from({ length: 250 }, (_, i) => 3 + (i % 5)), 60, 70, 80, 60, 70, 80];
    const bound = burstBound(xs);
    expect(bound).toBeGreaterThan(7);
    expect(bound).toBeLessThan(60);
    // Once the new level is most of the ring, it is the new normal.
    expect(burstBound([...Array.from({ length: 100 }, () => 5), ...Array.from({ length: 156 }, () => 30)])).toBeGreaterThanOrEqual(30);
    expect(withinFences([...Array.from({ length: 100 }, (_, i) => 30 + (i % 10)), 1400])).not.toContain(1400);
  });

  it("the CLI retrains a text model and saves it where --retrain-save says", () => {
    const trainPath = join(dir, "train.log");
    const streamPath = join(dir, "stream.log");
    writeFileSync(trainPath, `${train.join("\n")}\n`);
    writeFileSync(streamPath, `${stream.join("\n")}\n`);
    const model = join(dir, "m.json");
    const saved = join(dir, "m2.json");
    const t = spawnSync(process.execPath, [BIN, "train", "--input", trainPath, "--model", model], { encoding: "utf8", timeout: 300_000 });
    expect(t.status, t.stderr).toBe(0);
    const d = spawnSync(process.execPath, [BIN, "detect", "--input", streamPath, "--model", model, "--retrain", "--retrain-save", saved, "--json"], { encoding: "utf8", timeout: 300_000 });
    expect(d.status, d.stderr).toBe(0);
    // With --json the alerts are stdout's lines, the summary stderr's last.
    expect(d.stdout.split("\n").some((l) => l.includes("Invoice rendering failed"))).toBe(true);
    const summary = JSON.parse(d.stderr.trim().split("\n").at(-1) ?? "{}") as { retrain?: { refreshes: number; generation: number } };
    expect(summary.retrain?.refreshes).toBeGreaterThanOrEqual(1);
    const reloaded = textModelOf(IsolationForest.load(saved));
    expect(reloaded.generation).toBe(summary.retrain?.generation);
    expect(textModelOf(IsolationForest.load(model)).generation).toBeUndefined();
    // Options are checked as for the other kinds.
    const bad = spawnSync(process.execPath, [BIN, "detect", "--input", streamPath, "--model", model, "--retrain", "--retrain-every", "5"], { encoding: "utf8", timeout: 300_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("retrain every (lines) must be an integer in [100, 1000000000], got 5");
  });
});
