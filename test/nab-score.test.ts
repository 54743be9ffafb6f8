import { describe, expect, it } from "vitest";
import {
  NAB_FULL_WINDOWS, NAB_PROFILES, NAB_STANDARD, nabWindows, normalisedOf, optimiseThreshold, probationRows, rowsOfTimestamps, scaledSigmoid, scoreCorpus,
  type NabSeries,
} from "../tools/nab-score.js";
import { loadNabCorpus, loadNabResults } from "../tools/nab-data.js";
import { CORPUS_FAMILIES, corpusCsv, metricCorpus } from "../tools/metric-corpus.js";
import { DATA_DIR, dataFile } from "./data.js";

/** A series of n rows with anomalies at `rows`, scoring 1 at the `fire` rows and 0 elsewhere. */
function series(n: number, rows: number[], fire: number[]): NabSeries {
  const scores = new Float64Array(n);
  for (const f of fire) scores[f] = 1;
  return { name: "s", scores, anomalies: rows };
}

describe("NAB windows", () => {
  it("are 10% of the series over the anomalies, centred, merged when they overlap", () => {
    // n = 2000, 2 anomalies: width 100, half 50.
    expect(nabWindows(2000, [1000, 1500])).toEqual([{ start: 950, end: 1050 }, { start: 1450, end: 1550 }]);
    expect(nabWindows(2000, [1000, 1060])).toEqual([{ start: 950, end: 1110 }]);
    expect(nabWindows(2000, [1990])).toEqual([{ start: 1890, end: 1999 }]);
    expect(probationRows(2000)).toBe(300);
    expect(nabWindows(2000, [100, 1000])).toEqual([{ start: 50, end: 150 }, { start: 950, end: 1050 }]);
    expect(probationRows(100_000)).toBe(750);
    expect(() => nabWindows(100, [100])).toThrow(/anomaly rows must be integers in \[0, 99\], got 100/);
  });
});

/** Raw score of one series of n rows with anomalies at `rows`, detected exactly at `fire`. */
function rawOf(n: number, rows: number[], fire: number[], profile = NAB_STANDARD): { raw: number; tp: number; fp: number; fn: number } {
  const { raw, tp, fp, fn } = scoreCorpus([series(n, rows, fire)], 0.5, profile).series[0];
  return { raw, tp, fp, fn };
}

describe("NAB scoring", () => {
  const n = 2000;
  const rows = [1000, 1500];

  it("gives 100 to a detector that fires at each window's start and 0 to one that never fires", () => {
    expect(scoreCorpus([series(n, rows, [950, 1450])], 0.5).normalised).toBeCloseTo(100, 12);
    expect(scoreCorpus([series(n, rows, [])], 0.5).normalised).toBe(0);
  });

  it("rewards the first detection in a window by the scaled sigmoid of its position over its value at the start, earlier more", () => {
    const at = (row: number) => rawOf(n, [1000], [row]);
    // Window [900, 1100], 201 rows: at the start the position is -1 and the reward the full A_TP.
    expect(at(900).raw).toBeCloseTo(1, 12);
    expect(at(1000).raw).toBeCloseTo(scaledSigmoid(-101 / 201) / scaledSigmoid(-1), 12);
    expect(at(900).raw).toBeGreaterThan(at(1000).raw);
    expect(at(1000).raw).toBeGreaterThan(at(1100).raw);
    expect(at(1100).raw).toBeGreaterThan(0);
    // Later detections in the same window count nothing.
    expect(rawOf(n, [1000], [900, 950])).toEqual({ ...at(900), tp: 1 });
  });

  it("charges A_FP for each detection outside every window, less just after a window, and A_FN for a missed window", () => {
    expect(rawOf(n, [1000], [400])).toEqual({ raw: -NAB_STANDARD.fp - NAB_STANDARD.fn, tp: 0, fp: 1, fn: 1 });
    expect(rawOf(n, [1000], [400, 401]).raw).toBeCloseTo(-2 * NAB_STANDARD.fp - NAB_STANDARD.fn, 12);
    const r = scoreCorpus([series(n, [1000], [400, 900])], 0.5);
    // One FP costs 0.11 of the raw score: 100 x 0.11 / (perfect - null) normalised points.
    expect(r.normalised).toBeCloseTo(100 - (100 * NAB_STANDARD.fp) / 2, 12);
    // After window [900, 1100]: the cost is fp x the sigmoid of the distance over 200 rows.
    expect(rawOf(n, [1000], [900, 1105]).raw).toBeCloseTo(1 + NAB_STANDARD.fp * scaledSigmoid(5 / 200), 12);
    expect(rawOf(n, [1000], [900, 1900]).raw).toBeCloseTo(1 - NAB_STANDARD.fp, 12);
    // The profiles weigh the same detections differently.
    expect(rawOf(n, [1000], [400], NAB_PROFILES.reward_low_FP_rate).raw).toBeCloseTo(-0.22 - 1, 12);
    expect(rawOf(n, [1000], [400], NAB_PROFILES.reward_low_FN_rate).raw).toBeCloseTo(-0.11 - 2, 12);
    // Detections in the probationary period (300 rows) are not counted, and a window there costs nothing.
    expect(rawOf(n, [1000], [0, 100, 299])).toEqual({ raw: -1, tp: 0, fp: 0, fn: 1 });
    expect(rawOf(n, [100, 1000], [])).toEqual({ raw: -1, tp: 0, fp: 0, fn: 1 });
  });

  it("normalises against the null baseline it is told of (NAB's shipped one covers the whole benchmark)", () => {
    const s = [series(n, [1000], [900])];
    expect(scoreCorpus(s, 0.5).normalised).toBeCloseTo(100, 12);
    expect(scoreCorpus([series(n, [1000], [])], 0.5, NAB_STANDARD, { nullWindows: 3 }).normalised).toBeCloseTo((100 * 2) / 4, 12);
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

// NAB's own figures for HTM and RCF on the 28 shared series (data/nab/README.md), from their shipped results.
describe.runIf(DATA_DIR !== null)("NAB's figures from the shared result files", () => {
  const REFERENCE = {
    numenta: { standard: 82.39, reward_low_FP_rate: 79.19, reward_low_FN_rate: 86.75 },
    randomCutForest: { standard: 70.12, reward_low_FP_rate: 63.49, reward_low_FN_rate: 77.61 },
  };
  it("are reproduced within 0.5 for every profile, with one threshold per detector and profile", () => {
    const dir = dataFile("nab").replace(/\/$/, "");
    const corpus = loadNabCorpus(dir);
    expect(corpus).toHaveLength(28);
    expect(corpus.reduce((a, s) => a + s.windows.length, 0)).toBe(53);
    for (const [detector, figures] of Object.entries(REFERENCE)) {
      const scored = corpus.map((s) => ({ name: s.name, windows: s.windows, scores: loadNabResults(dir, detector, s.name) }));
      for (const [profile, figure] of Object.entries(figures)) {
        const r = optimiseThreshold(scored, NAB_PROFILES[profile as keyof typeof NAB_PROFILES], { nullWindows: NAB_FULL_WINDOWS });
        expect(Math.abs(r.normalised - figure), `${detector} ${profile}: ${r.normalised}`).toBeLessThan(0.5);
        // The threshold is the best: a step either side scores no higher.
        for (const t of [r.threshold * 0.99, r.threshold * 1.01]) expect(scoreCorpus(scored, t, NAB_PROFILES[profile as keyof typeof NAB_PROFILES]).raw).toBeLessThanOrEqual(r.raw + 1e-9);
      }
    }
  });
});

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
