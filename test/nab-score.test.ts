import { describe, expect, it } from "vitest";
import {
  NAB_STANDARD, nabWindows, normalisedOf, optimiseThreshold, probationRows, rowsOfTimestamps, scaledSigmoid, scoreCorpus, scoreDetections,
  type NabSeries,
} from "../src/tools/nab-score.js";
import { CORPUS_FAMILIES, corpusCsv, metricCorpus } from "../src/tools/metric-corpus.js";

/** A series of n rows with anomalies at `rows`, scoring 1 at the `fire` rows and 0 elsewhere. */
function series(n: number, rows: number[], fire: number[]): NabSeries {
  const scores = new Float64Array(n);
  for (const f of fire) scores[f] = 1;
  return { name: "s", scores, anomalies: rows };
}

describe("NAB windows", () => {
  it("are 10% of the series over the anomalies, centred, merged when they overlap, probation dropped", () => {
    // n = 2000, 2 anomalies: width 100, half 50.
    expect(nabWindows(2000, [1000, 1500])).toEqual([{ start: 950, end: 1050 }, { start: 1450, end: 1550 }]);
    expect(nabWindows(2000, [1000, 1060])).toEqual([{ start: 950, end: 1110 }]);
    expect(nabWindows(2000, [1990])).toEqual([{ start: 1890, end: 1999 }]);
    expect(probationRows(2000)).toBe(300);
    expect(nabWindows(2000, [100, 1000])).toEqual([{ start: 950, end: 1050 }]);
    expect(probationRows(100_000)).toBe(750);
    expect(() => nabWindows(100, [100])).toThrow(/anomaly rows must be integers in \[0, 99\], got 100/);
  });
});

describe("NAB scoring", () => {
  const n = 2000;
  const rows = [1000, 1500];

  it("gives 100 to a detector that fires at each window's start and 0 to one that never fires", () => {
    expect(scoreCorpus([series(n, rows, [950, 1450])], 0.5).normalised).toBeCloseTo(100, 12);
    expect(scoreCorpus([series(n, rows, [])], 0.5).normalised).toBe(0);
  });

  it("rewards the first detection in a window by the scaled sigmoid of its position, earlier more", () => {
    const at = (row: number) => scoreDetections((i) => i === row, n, nabWindows(n, [1000]));
    // Window [900, 1100], 201 rows: at the start the position is -1.
    expect(at(900).raw).toBeCloseTo(2 / (1 + Math.exp(-5)) - 1, 12);
    expect(at(1000).raw).toBeCloseTo(scaledSigmoid(-101 / 201), 12);
    expect(at(900).raw).toBeGreaterThan(at(1000).raw);
    expect(at(1000).raw).toBeGreaterThan(at(1100).raw);
    // Later detections in the same window count nothing.
    const twice = scoreDetections((i) => i === 900 || i === 950, n, nabWindows(n, [1000]));
    expect(twice).toEqual({ ...at(900), tp: 1 });
  });

  it("charges A_FP for a detection outside every window, less just after a window, and A_FN for a missed window", () => {
    const w = nabWindows(n, [1000]);
    const one = scoreDetections((i) => i === 400, n, w);
    expect(one).toEqual({ raw: -NAB_STANDARD.fp - NAB_STANDARD.fn, tp: 0, fp: 1, fn: 1 });
    const r = scoreCorpus([series(n, [1000], [400, 900])], 0.5);
    const perfect = r.series[0].perfect;
    // One FP costs 0.11 of the raw score: 100 x 0.11 / (perfect - null) normalised points.
    expect(r.normalised).toBeCloseTo(100 - (100 * NAB_STANDARD.fp) / (perfect + NAB_STANDARD.fn), 12);
    const near = scoreDetections((i) => i === 900 || i === 1105, n, w).raw;
    const far = scoreDetections((i) => i === 900 || i === 1900, n, w).raw;
    expect(near).toBeGreaterThan(far);
    expect(far).toBeCloseTo(at900(w) - NAB_STANDARD.fp * 1, 3);
    // Detections in the probationary period are not counted.
    expect(scoreDetections((i) => i < 300, n, w)).toEqual({ raw: -1, tp: 0, fp: 0, fn: 1 });
  });

  it("chooses one threshold for the whole corpus, the one with the best total", () => {
    const a = series(n, rows, []);
    const b = series(n, [1200], []);
    const sa = a.scores as Float64Array;
    const sb = b.scores as Float64Array;
    sa.fill(0.2);
    sb.fill(0.4); // b's normal rows score higher than a's anomalies would under a per-series view
    sa[960] = 0.5;
    sa[1460] = 0.5;
    sb[1150] = 0.9;
    const best = optimiseThreshold([a, b]);
    expect(best.threshold).toBe(0.5);
    expect(best.tp).toBe(3);
    expect(best.fp).toBe(0);
    expect(best.series.map(normalisedOf).every((x) => x > 80)).toBe(true);
    // Any lower threshold fires on b's normal rows and scores worse.
    expect(scoreCorpus([a, b], 0.4).raw).toBeLessThan(best.raw);
  });

  it("maps anomaly timestamps to the first row at or after them", () => {
    const ts = Float64Array.of(0, 10, 20, 35, 40);
    expect(rowsOfTimestamps(ts, [0, 20, 30, 40])).toEqual([0, 2, 3, 4]);
  });
});

function at900(w: ReturnType<typeof nabWindows>): number {
  return scoreDetections((i) => i === 900, 2000, w).raw;
}

describe("metric corpus", () => {
  it("is the same for the same seed, every family present, labels on real timestamps", () => {
    const a = metricCorpus({ seed: 3, perFamily: 1, points: 1000 });
    expect(a.map((s) => s.family)).toEqual([...CORPUS_FAMILIES]);
    expect(metricCorpus({ seed: 3, perFamily: 1, points: 1000 })).toEqual(a);
    expect(metricCorpus({ seed: 4, perFamily: 1, points: 1000 })[0].values).not.toEqual(a[0].values);
    for (const s of a) {
      expect(s.anomalies.length, s.name).toBeGreaterThan(0);
      for (const t of s.anomalies) expect(s.timestamps.includes(t), s.name).toBe(true);
      for (let i = 1; i < s.timestamps.length; i++) expect(s.timestamps[i]).toBeGreaterThan(s.timestamps[i - 1]);
      expect(s.values.every(Number.isFinite)).toBe(true);
    }
    const early = a.find((s) => s.family === "early");
    expect(early && rowsOfTimestamps(early.timestamps, early.anomalies)[0]).toBeLessThan(0.15 * (early?.values.length ?? 0));
    const lines = corpusCsv(a[0]);
    expect(lines[0]).toBe("timestamp,value");
    expect(lines).toHaveLength(a[0].values.length + 1);
  });
  it("refuses bad options", () => {
    expect(() => metricCorpus({ perFamily: 0 })).toThrow(/perFamily must be an integer in \[1, 8\], got 0/);
    expect(() => metricCorpus({ points: 10 })).toThrow(/points must be an integer in \[500, 100000\], got 10/);
  });
});
