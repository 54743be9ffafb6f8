import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { Detector, type Alert } from "../src/streams/http/detect.js";
import { evaluate, type TruthLine } from "../src/tools/evaluate.js";
import { INCIDENT_KINDS, simulate } from "../src/tools/simulate.js";
import { pipelineOf, Trainer, trainFromFile, trainFromLines } from "../src/streams/http/train.js";
import { HEADER } from "../src/forest/model-file.js";
import { metaOf } from "./model-bytes.js";

const START = Date.UTC(2026, 10, 25, 6);
const dir = mkdtempSync(join(tmpdir(), "logforest-train-memory-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stream(count: number, seed: number, incidents: "none" | "default") {
  const lines = [...simulate({ count, seed, incidents, start: START })];
  const truth: TruthLine[] = [];
  lines.forEach((l, i) => l.kind && l.incident !== null && truth.push({ line: i + 1, kind: l.kind, incident: l.incident }));
  return { text: lines.map((l) => l.text), truth };
}

/** A model's bytes without its creation time (the only field that differs between two runs) and the checksum over it. */
function bytesOf(forest: { toBytes(): Uint8Array }): string {
  const bytes = forest.toBytes();
  const m = metaOf(bytes);
  delete m.createdAt;
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(16, true);
  return createHash("sha256").update(JSON.stringify(m)).update(bytes.subarray(HEADER + metaLength, -4)).digest("hex");
}

const clean = stream(30_000, 11, "none");
const full = trainFromLines(clean.text, { forest: { seed: 1 } });
// A third of the lines held: the spec from a sample and every line's counts, the forest from a sample of the rows.
const sampled = trainFromLines(clean.text, { forest: { seed: 1 }, maxLines: 10_000 });

describe("train with more lines than maxLines", () => {
  it("keeps the whole stream's route vocabulary, counts and shares", () => {
    const a = pipelineOf(full.forest).spec;
    const b = pipelineOf(sampled.forest).spec;
    expect(Object.keys(b.routes).sort()).toEqual(Object.keys(a.routes).sort());
    for (const [key, r] of Object.entries(a.routes)) {
      expect(b.routes[key].count, key).toBe(r.count);
      expect(b.routes[key].share, key).toBe(r.share);
      expect(b.routes[key].errorRate, key).toBe(r.errorRate);
    }
    expect(b.methodRarity).toEqual(a.methodRarity);
    expect(b.lines).toBe(a.lines);
    expect(b.clock).toBe(a.clock);
    expect(b.linesPerSecond).toBe(a.linesPerSecond);
    // The client bars come from every line's windows, not from the sample's.
    expect(b.clients).toEqual(a.clients);
    expect(sampled.summary.parsed).toBe(full.summary.parsed);
    expect(sampled.summary.sampled).toBe(10_000);
    expect(full.summary.sampled).toBeUndefined();
  });

  it("learns latency baselines close to the whole's on the busy routes (medians from the sample)", () => {
    const a = pipelineOf(full.forest).spec;
    const b = pipelineOf(sampled.forest).spec;
    const busy = Object.entries(a.routes).filter(([, r]) => r.count >= 1000);
    expect(busy.length).toBeGreaterThan(3);
    // ln(1 + ms): 0.1 is a 10% change. (Sizes can be bimodal, e.g. icons and sprites under
    // GET /*.svg, where a median sits in the gap and a sample may land on either side.)
    for (const [key, r] of busy) expect(Math.abs(b.routes[key].latencyMid - r.latencyMid), key).toBeLessThan(0.1);
  });

  it("catches the same incidents as training on every line", () => {
    const test = stream(100_000, 22, "default");
    const caught = (forest: typeof full.forest) => {
      const det = new Detector(forest);
      const alerts: Alert[] = [];
      for (let i = 0; i < test.text.length; i += 4096) det.processBatch("t", test.text.slice(i, i + 4096), i + 1, (a) => alerts.push(a));
      return evaluate(alerts, test.truth);
    };
    const a = caught(full.forest);
    const b = caught(sampled.forest);
    expect(Object.keys(b.by_kind).sort()).toEqual([...INCIDENT_KINDS].sort());
    for (const [kind, k] of Object.entries(a.by_kind)) expect(b.by_kind[kind].caught, kind).toBe(k.caught);
    expect(b.precision).toBeGreaterThanOrEqual(0.8);
  }, 60_000);

  it("keeps the whole's clock and client bars on a log without timestamps, and the latency unit of a combined log", () => {
    const untimed = clean.text.map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      delete o.ts;
      return JSON.stringify(o);
    });
    const a = trainFromLines(untimed, { forest: { seed: 1 } });
    const b = trainFromLines(untimed, { forest: { seed: 1 }, maxLines: 10_000 });
    expect(pipelineOf(b.forest).spec.clock).toBe("lines");
    expect(pipelineOf(b.forest).spec.clients).toEqual(pipelineOf(a.forest).spec.clients);
    expect(b.summary.warnings).toEqual(a.summary.warnings);
    const combined = [...simulate({ count: 20_000, seed: 12, incidents: "none", start: START, format: "combined" })].map((l) => l.text);
    const c = trainFromLines(combined, { forest: { seed: 1 } });
    const d = trainFromLines(combined, { forest: { seed: 1 }, maxLines: 5000 });
    expect(d.summary.latencyUnit).toEqual(c.summary.latencyUnit);
    expect(d.summary.features).toEqual(c.summary.features);
    expect(pipelineOf(d.forest).spec.clients).toEqual(pipelineOf(c.forest).spec.clients);
    expect(Object.keys(pipelineOf(d.forest).spec.routes).sort()).toEqual(Object.keys(pipelineOf(c.forest).spec.routes).sort());
  });

  it("is seeded: the same seed gives the same model, another seed another sample", () => {
    expect(bytesOf(trainFromLines(clean.text, { forest: { seed: 1 }, maxLines: 10_000 }).forest)).toBe(bytesOf(sampled.forest));
    expect(bytesOf(trainFromLines(clean.text, { forest: { seed: 2 }, maxLines: 10_000 }).forest)).not.toBe(bytesOf(sampled.forest));
  });

  it("gives the unsampled model when the input fits in maxLines", () => {
    expect(bytesOf(trainFromLines(clean.text, { forest: { seed: 1 }, maxLines: 30_000 }).forest)).toBe(bytesOf(full.forest));
    expect(trainFromLines(clean.text, { forest: { seed: 1 }, maxLines: 30_000 }).summary.sampled).toBeUndefined();
  });

  it("reads a file twice, with the same model as from the lines in memory", async () => {
    const file = join(dir, "clean.log");
    writeFileSync(file, clean.text.join("\n") + "\n");
    const passes = new Set<number>();
    const r = await trainFromFile(file, { forest: { seed: 1 }, maxLines: 10_000 }, (_l, _b, pass) => passes.add(pass));
    expect([...passes]).toEqual([1, 2]);
    expect(bytesOf(r.forest)).toBe(bytesOf(sampled.forest));
  });

  it("refuses a stream longer than maxLines (it cannot be read twice), naming the option", async () => {
    const source = Readable.from([clean.text.slice(0, 2000).join("\n") + "\n"]);
    await expect(trainFromFile(source, { maxLines: 1000 })).rejects.toThrow(/maxLines: the stream has more than 1000 lines/);
  });

  it("refuses a bad maxLines by name, range and value", () => {
    expect(() => new Trainer({ maxLines: 50 })).toThrow(/maxLines must be an integer in \[100, 100000000\], got 50/);
    expect(() => new Trainer({ maxLines: 1.5e3 + 0.5 })).toThrow(RangeError);
  });

  it("needs the lines again before finishing when it sampled", () => {
    const t = new Trainer({ maxLines: 1000 });
    t.add(clean.text.slice(0, 3000));
    expect(t.needsReplay).toBe(true);
    expect(() => t.finish()).toThrow(/call startReplay\(\) and add the lines again first/);
  });
});
