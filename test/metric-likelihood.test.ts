import { describe, expect, it } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import {
  AnomalyLikelihood, HOLD_CAP, LIKELIHOOD_DEFAULTS, normalTail, priorOf, resolveLikelihoodOptions, scoreOfTail, type LikelihoodOptions,
} from "../src/streams/metrics/likelihood.js";
import { simulateTelemetry } from "../src/tools/telemetry-sim.js";
import {
  TelemetryDetector, TelemetryExtractor, TelemetryParser, emptyTelemetryRow, parseTelemetryHeader, telemetryOf, trainTelemetry,
} from "../src/streams/metrics/telemetry.js";

const START = Date.UTC(2026, 10, 25, 6);

describe("tail probabilities", () => {
  it("match the normal distribution's closed forms", () => {
    expect(normalTail(0)).toBeCloseTo(0.5, 7);
    expect(normalTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalTail(-1.959964)).toBeCloseTo(0.975, 6);
    for (const z of [0.3, 1, 2.5, 4]) expect(normalTail(z) + normalTail(-z)).toBeCloseTo(1, 7);
    expect(normalTail(5)).toBeGreaterThan(normalTail(6));
  });
  it("map to a score on a log scale: 0.5 at p = 1e-5, 1 at p = 0", () => {
    expect(scoreOfTail(1)).toBe(0);
    expect(scoreOfTail(1e-5)).toBeCloseTo(0.5, 4);
    expect(scoreOfTail(0)).toBe(1);
  });
});

/** Scores of a stream of raw scores: iid noise around 0.4 with `outliers` at given rows. */
function stream(opts: Partial<LikelihoodOptions>, n: number, outliers: Map<number, number>, seed = 3): number[] {
  const rng = new Rng(seed);
  const lk = new AnomalyLikelihood(resolveLikelihoodOptions(opts), priorOf([0.3, 0.4, 0.45, 0.47, 0.5, 1]));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(lk.next(outliers.get(i) ?? 0.4 + 0.02 * rng.normal(), 0.25));
  return out;
}

describe("anomaly likelihood", () => {
  it("scores an outlier far above the noise, for each method", () => {
    for (const method of ["mean", "peaks", "both"] as const) {
      const s = stream({ method, hold: 0, training: false }, 1500, new Map([[1200, 0.75]]));
      // "mean" averages the last 10 raw scores: the outlier is in the next 9 rows' means too.
      const others = s.filter((_, i) => (i < 1200 || i >= 1210) && i > 200);
      expect(Math.max(...s.slice(1200, 1210)), method).toBeGreaterThan(Math.max(...others));
    }
  });
  it("alerts once per lasting anomaly: the hold caps the rest of it", () => {
    const shifted = new Map<number, number>();
    for (let i = 1000; i < 1300; i++) shifted.set(i, 0.8);
    const s = stream({ hold: 50 }, 1500, shifted);
    const high = s.map((x, i) => [x, i]).filter(([x]) => x >= 0.25).map(([, i]) => i);
    expect(high.filter((i) => i >= 1000)[0]).toBe(1000);
    expect(high.filter((i) => i >= 1000)).toHaveLength(1);
    for (let i = 1001; i < 1300; i++) expect(s[i]).toBeLessThanOrEqual(HOLD_CAP * 0.25);
    // Without the hold, every row of it stays high.
    const unheld = stream({ hold: 0 }, 1500, shifted);
    expect(unheld.slice(1000, 1300).filter((x) => x >= 0.25).length).toBeGreaterThan(100);
  });
  it("reports a second anomaly after the hold has run out", () => {
    const s = stream({ hold: 50 }, 1500, new Map([[1000, 0.8], [1100, 0.8]]));
    expect(s[1000]).toBeGreaterThanOrEqual(0.25);
    expect(s[1100]).toBeGreaterThanOrEqual(0.25);
    const within = stream({ hold: 200 }, 1500, new Map([[1000, 0.8], [1100, 0.8]]));
    expect(within[1100]).toBeLessThan(0.25);
  });
  it("is not started over by a quiet stretch's re-crossings, so an anomaly after a false alert still reports", () => {
    // A false alert at 1000, isolated crossings every 30 rows, a real anomaly at 1110.
    const rows = new Map([[1000, 0.8], [1030, 0.8], [1060, 0.8], [1090, 0.8], [1110, 0.8]]);
    const s = stream({ hold: 100 }, 1500, rows);
    expect(s[1000]).toBeGreaterThanOrEqual(0.25);
    for (const i of [1030, 1060, 1090]) expect(s[i]).toBeLessThan(0.25);
    expect(s[1110]).toBeGreaterThanOrEqual(0.25);
    // Re-armed by every crossing (`rearm`), the hold hides it.
    const rearmed = stream({ hold: 100, rearm: true }, 1500, rows);
    expect(rearmed[1110]).toBeLessThan(0.25);
  });
  it("stops calling a raw score rare against training once the stream's own history holds it `recur` times", () => {
    // A pattern the training never saw (raw 0.6, beyond its p99.9) comes back every 200 rows, 5 rows each time.
    const rows = new Map<number, number>();
    for (let start = 300; start < 3000; start += 200) for (let j = 0; j < 5; j++) rows.set(start + j, 0.6);
    const firstOf = (s: number[]) => Array.from({ length: 13 }, (_, q) => Math.max(...s.slice(300 + 200 * q, 305 + 200 * q)));
    // The training reference alone: every return reaches the alert level and each is one alert again.
    const always = firstOf(stream({ hold: 50, recur: 1_000_000 }, 3000, rows));
    expect(always.every((x) => x >= 0.25)).toBe(true);
    // Judged by the history once it holds it 3 times: the pattern stops alerting.
    const recurred = firstOf(stream({ hold: 50, recur: 3 }, 3000, rows));
    expect(recurred[0]).toBeGreaterThanOrEqual(0.25);
    expect(recurred.slice(-5).every((x) => x < 0.25)).toBe(true);
  });
  it("judges a recurred raw score by its share of the history, not by the tail's extrapolation beyond it (`recurShare`)", () => {
    // One row at raw 0.6 every 100 rows: beyond the tail's threshold, its share of the history is about 1 in 100.
    const rows = new Map<number, number>();
    for (let start = 300; start < 4000; start += 100) rows.set(start, 0.6);
    const late = (s: number[]) => Array.from({ length: 10 }, (_, q) => s[3000 + 100 * q]);
    expect(late(stream({ hold: 50 }, 4000, rows)).every((x) => x < 0.25)).toBe(true);
    // The exponential tail alone keeps calling it rare.
    expect(late(stream({ hold: 50, recurShare: false }, 4000, rows)).every((x) => x >= 0.25)).toBe(true);
  });
  it("refuses bad options, naming the option, the range and the value", () => {
    expect(() => resolveLikelihoodOptions({ short: 0 })).toThrow(/likelihood.short must be an integer in \[1, 1000\], got 0/);
    expect(() => resolveLikelihoodOptions({ long: 20, minHistory: 50 })).toThrow(/likelihood.minHistory must be an integer in \[10, 20\], got 50/);
    expect(() => resolveLikelihoodOptions({ breakMargin: 2 })).toThrow(/likelihood.breakMargin must be a number in \[0, 1\], got 2/);
    expect(() => resolveLikelihoodOptions({ recur: 0 })).toThrow(/likelihood.recur must be an integer in \[1, 1000000\], got 0/);
    expect(() => resolveLikelihoodOptions({ rearm: 1 as unknown as boolean })).toThrow(/likelihood.rearm must be true or false, got 1/);
    expect(() => resolveLikelihoodOptions({ recurShare: "yes" as unknown as boolean })).toThrow(/likelihood.recurShare must be true or false, got yes/);
    expect(() => resolveLikelihoodOptions({ magnitude: -0.1 })).toThrow(/likelihood.magnitude must be a number in \[0, 1\], got -0.1/);
    expect(() => resolveLikelihoodOptions({ method: "max" as "mean" })).toThrow(/likelihood.method must be one of mean, peaks, both; got "max"/);
    expect(resolveLikelihoodOptions({})).toEqual(LIKELIHOOD_DEFAULTS);
  });
});

describe("the detector's calibrated score", () => {
  const lines = (o: Parameters<typeof simulateTelemetry>[0]) => [...simulateTelemetry(o)].map((l) => l.text);
  const clean = lines({ count: 2000, seed: 1, incidents: "none", start: START });
  const test = lines({ count: 1500, seed: 33, start: START });

  it("is a likelihood score in [0, 1] with severity 200 x it (at most 100), and alerts follow it", () => {
    const { forest } = trainTelemetry(clean, { forest: { seed: 2 } });
    const scores: number[] = [];
    const det = new TelemetryDetector(forest, { onScored: (b) => scores.push(...b.scores) });
    const alerted: number[] = [];
    det.processBatch("m.csv", test, 1, (a) => alerted.push(a.line));
    expect(scores).toHaveLength(1500);
    for (const s of scores) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(det.severity(0.25)).toBe(50);
    expect(det.severity(0.9)).toBe(100);
    expect(alerted.length).toBeGreaterThan(0);
    for (const line of alerted) expect(det.severity(scores[line - 2])).toBeGreaterThanOrEqual(50);
    // The raw output gives the forest's scores, severity from the training calibration.
    const raw: number[] = [];
    const r = new TelemetryDetector(forest, { output: "raw", onScored: (b) => raw.push(...b.scores) });
    r.processBatch("m.csv", test, 1, () => {});
    expect(raw).toEqual([...forest.score({ data: rowsOf(forest, test), rows: 1500, cols: forest.cols })]);
    expect(() => new TelemetryDetector(forest, { output: "max" as "raw" })).toThrow(/output must be "likelihood" or "raw", got "max"/);
  });

  it("ranks an outlier far past the training range above one just past it (`magnitude`); a model without a reach scores as before", () => {
    // One noisy series; in detection a spike of 8 sd at row 1500 and one of 80 sd at row 2500 (the hold long over).
    const rng = new Rng(7);
    const csvOf = (n: number, spikes: Map<number, number>) => ["ts,v", ...Array.from({ length: n }, (_, i) => `${START / 1000 + 60 * i},${spikes.get(i) ?? 100 + rng.normal()}`)];
    const train = csvOf(1000, new Map());
    const { forest } = trainTelemetry(train, { forest: { seed: 4 } });
    const spec = telemetryOf(forest);
    // The reach is each column's largest value over the training rows.
    const X = rowsOf(forest, train);
    for (let c = 0; c < forest.cols; c++) expect(spec.reach?.[c]).toBe(Math.max(...Array.from({ length: 1000 }, (_, i) => X[i * forest.cols + c])));
    const test = csvOf(3000, new Map([[1500, 108], [2500, 180]]));
    const scoresOf = (f: typeof forest, magnitude?: number) => {
      const out: number[] = [];
      new TelemetryDetector(f, { likelihood: magnitude === undefined ? {} : { magnitude }, onScored: (b) => out.push(...b.scores) }).processBatch("m.csv", test, 1, () => {});
      return out;
    };
    const withMagnitude = scoresOf(forest);
    expect(withMagnitude[2500]).toBeGreaterThan(withMagnitude[1500]);
    expect(withMagnitude[2500]).toBeGreaterThan(scoresOf(forest, 0)[2500]);
    // Without a reach (a model made before it) the term has nothing to measure against.
    const old = IsolationForest.fromBytes(forest.toBytes());
    delete (old.metadata.telemetry as { reach?: number[] }).reach;
    expect(scoresOf(old)).toEqual(scoresOf(forest, 0));
  });

  it("keeps models without the cross-series columns working (made before them)", () => {
    const { forest } = trainTelemetry(clean, { summary: false, forest: { seed: 2 } });
    expect(telemetryOf(forest).summary).toBeUndefined();
    expect(forest.cols).toBe(3 * 8);
    const scores: number[] = [];
    new TelemetryDetector(forest, { onScored: (b) => scores.push(...b.scores) }).processBatch("m.csv", test, 1, () => {});
    expect(scores).toHaveLength(1500);
    expect(() => trainTelemetry(clean, { summary: 1 as unknown as boolean })).toThrow(/summary must be true or false, got 1/);
  });
});

/** The feature rows of `lines` (header first), built as the detector builds them. */
function rowsOf(forest: Parameters<typeof telemetryOf>[0], lines: string[]): Float64Array {
  const spec = telemetryOf(forest);
  const fx = new TelemetryExtractor(spec);
  const p = new TelemetryParser(parseTelemetryHeader(lines[0]), spec.series);
  const row = emptyTelemetryRow(spec.series.length);
  const out = new Float64Array((lines.length - 1) * fx.cols);
  lines.slice(1).forEach((l, i) => {
    p.parse(l, row);
    fx.extract(row.ts, row.values, out, i * fx.cols);
  });
  return out;
}

describe("continuous adaptation and the longer context", () => {
  const lines = (o: Parameters<typeof simulateTelemetry>[0]) => [...simulateTelemetry(o)].map((l) => l.text);
  const clean = lines({ count: 1200, seed: 4, incidents: "none", start: START });
  const test = lines({ count: 1500, seed: 34, start: START });

  it("replaces one tree every `every` rows once the reservoir holds a tree's sample", () => {
    const { forest } = trainTelemetry(clean, { forest: { seed: 2, trees: 20 } });
    const det = new TelemetryDetector(forest, { adapt: { every: 100, reservoir: 1500 } });
    for (let i = 0; i < test.length; i += 100) det.processBatch("m.csv", test.slice(i, i + 100), i + 1, () => {});
    const meta = det.meta as { generation?: number; oldestTree?: number };
    // sampleSize is 1,024 (of 1,200 rows): replacements start once that many normal rows are kept.
    expect(meta.generation).toBeGreaterThanOrEqual(3);
    expect(meta.generation).toBeLessThanOrEqual(5);
    expect(meta.oldestTree).toBe((meta.generation ?? 0) % 20);
    expect(det.forest.trees).toBe(20);
    // The calibration and scales stay those of training.
    expect(det.meta.calibration).toEqual(telemetryOf(forest).calibration);
    expect(det.meta.scales).toEqual(telemetryOf(forest).scales);
    expect(() => new TelemetryDetector(forest, { adapt: { every: 5 } })).toThrow(/adapt.every must be an integer in \[10, 1000000\], got 5/);
    expect(() => new TelemetryDetector(forest, { adapt: { reservoir: 50 } })).toThrow(/adapt.reservoir must be an integer in \[1024, 1000000\], got 50/);
  });

  it("adds a level column per series: the squared robust z against the median of the last `context` values", () => {
    const { forest } = trainTelemetry(clean, { context: 64, forest: { seed: 2 } });
    const spec = telemetryOf(forest);
    expect(spec.context).toBe(64);
    expect(spec.features.filter((f) => f.endsWith(".level"))).toEqual(["cpu_pct.level", "latency_ms.level", "queue_depth.level"]);
    const fx = new TelemetryExtractor(spec);
    const out = new Float64Array(fx.cols);
    const values = Float64Array.of(10, 10, 10);
    for (let i = 0; i < 100; i++) fx.extract(i, values, out, 0);
    const at = spec.features.indexOf("latency_ms.level");
    expect(out[at]).toBe(0);
    fx.extract(100, Float64Array.of(10, 10 + 3 * (spec.scales[1].level ?? NaN), 10), out, 0);
    expect(out[at]).toBeCloseTo(9, 9);
    expect(() => trainTelemetry(clean, { context: 8 })).toThrow(/context must be 0 or an integer in \[16, 4096\] \(window to 4096\), got 8/);
  });
});
