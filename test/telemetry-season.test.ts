/**
 * The seasonal column of metric streams (training option `season`, off by default):
 * it reads 0 until a slot has history, is the same whatever the batch size, leaves a
 * model without it unchanged, and flags a value normal at noon appearing at night.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import { calibrate } from "../src/streams/severity.js";
import {
  SeasonProfile, TelemetryDetector, TelemetryExtractor, learnTelemetrySpec, reachOf, telemetryOf, trainTelemetry, TELEMETRY_DEFAULTS,
} from "../src/streams/metrics/telemetry.js";

const START = Date.UTC(2026, 10, 2); // a midnight (UTC)
const MIN5 = 300_000;
const HOUR = 3_600_000;

/** A daily cycle (low at 03:00, high at 15:00) with seeded noise, a row every 5 minutes. */
function daily(rows: number, seed: number): { ts: number[]; values: number[] } {
  const rng = new Rng(seed);
  const ts = Array.from({ length: rows }, (_, i) => START + i * MIN5);
  const values = ts.map((t) => 50 - 30 * Math.cos((2 * Math.PI * ((t - START) / HOUR - 3)) / 24) + 2 * rng.normal());
  return { ts, values };
}

function csv(ts: number[], values: number[]): string[] {
  return ["ts,load", ...ts.map((t, i) => `${new Date(t).toISOString()},${values[i].toFixed(3)}`)];
}

/** Every row's likelihood score from a fresh detector, in batches of `batch` lines (`hold`: the detector's, default 50). */
function scoresOf(forest: IsolationForest, lines: string[], batch: number, hold?: number): number[] {
  const out: number[] = [];
  const det = new TelemetryDetector(forest, { ...(hold !== undefined ? { likelihood: { hold } } : {}), onScored: (b) => out.push(...b.scores.subarray(0, b.count)) });
  for (let i = 0; i < lines.length; i += batch) det.processBatch("s.csv", lines.slice(i, i + batch), i + 1, () => {});
  return out;
}

describe("seasonal column", () => {
  it("reads NaN (column 0) until its slot's past visits hold 2 values, and without a timestamp", () => {
    // Hourly rows: each visit is one value, so a slot is used from its third visit (day 3).
    const p = new SeasonProfile(24, 4);
    const got = Array.from({ length: 24 * 3 }, (_, i) => p.deviation(START + i * HOUR, 10 + (i % 24)));
    expect(got.slice(0, 48).every(Number.isNaN)).toBe(true);
    expect(got.slice(48).every((d) => Number.isFinite(d))).toBe(true);
    // The values repeat the day exactly: no departure from the usual shape.
    expect(got.slice(48).every((d) => d === 0)).toBe(true);
    expect(p.deviation(NaN, 99)).toBeNaN();
  });

  it("lays out one .season column per series, and reads 0 in the first day of 5-minute rows", () => {
    const { ts, values } = daily(3 * 288, 1);
    const spec = learnTelemetrySpec(Float64Array.from(values), values.length, ["load"], "ts", { season: "day" }, Float64Array.from(ts));
    expect(spec.season).toBe("day");
    expect(spec.features.at(-1)).toBe("load.season");
    const fx = new TelemetryExtractor(spec);
    const out = new Float64Array(fx.cols);
    const col = values.map((v, i) => {
      fx.extract(ts[i], Float64Array.of(v), out, 0);
      return out[fx.cols - 1];
    });
    expect(col.slice(0, 288).every((c) => c === 0)).toBe(true);
    expect(col.slice(288).filter((c) => c > 0).length).toBeGreaterThan(500);
    // Learned on the rows where it is defined: a typical row sits within a few units.
    const sorted = col.slice(288).sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(2);
  });

  it("gives the same scores whatever the batch size", () => {
    const { ts, values } = daily(6 * 288, 2);
    const lines = csv(ts, values);
    const { forest } = trainTelemetry(lines.slice(0, 1 + 3 * 288), { season: "day", forest: { seed: 3 } });
    expect(scoresOf(forest, lines, 97)).toEqual(scoresOf(forest, lines, 5000));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("leaves a model without it as it was: default and season off give the same bytes, timestamps or not", () => {
    // One clock for every model: its creation time is in its bytes.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(START);
    const { ts, values } = daily(2 * 288, 4);
    const lines = csv(ts, values);
    const a = trainTelemetry(lines, { forest: { seed: 5 } }).forest;
    const b = trainTelemetry(lines, { season: "off", forest: { seed: 5 } }).forest;
    expect(b.toBytes()).toEqual(a.toBytes());
    expect("season" in telemetryOf(a)).toBe(false);
    expect(telemetryOf(a).features).toHaveLength(TELEMETRY_DEFAULTS.k + 4);
    // The same model built by hand from the parsed values with no timestamps at all.
    const x = Float64Array.from(lines.slice(1).map((l) => Number(l.split(",")[1])));
    const spec = learnTelemetrySpec(x, x.length, ["load"], "ts");
    const fx = new TelemetryExtractor(spec);
    const X = new Float64Array(x.length * fx.cols);
    for (let i = 0; i < x.length; i++) fx.extract(NaN, x.subarray(i, i + 1), X, i * fx.cols);
    const m = { data: X, rows: x.length, cols: fx.cols };
    const hand = IsolationForest.fit(m, { sampleSize: TELEMETRY_DEFAULTS.sampleSize, seed: 5, featureNames: spec.features });
    hand.metadata = { telemetry: { ...spec, reach: reachOf(X, x.length, fx.cols), calibration: calibrate(hand.score(m)) } };
    expect(a.toBytes()).toEqual(hand.toBytes());
  });

  it("scores a noon-level value creeping in at night higher with the column than without", () => {
    const { ts, values } = daily(7 * 288, 6);
    // Day 6, 01:00-05:00: the load ramps up to its noon level over two hours and stays there.
    const from = 5 * 288 + 12;
    for (let i = 0; i < 48; i++) values[from + i] = Math.max(values[from + i], values[from] + (80 - values[from]) * Math.min(1, i / 24));
    const lines = csv(ts, values);
    const peak = (season: "day" | "off") => {
      const { forest } = trainTelemetry(lines.slice(0, 1 + 3 * 288), { season, forest: { seed: 7 } });
      // Without the hold, so that an earlier alert does not cap these rows.
      return Math.max(...scoresOf(forest, lines, 1000, 0).slice(from, from + 48));
    };
    expect(peak("day")).toBeGreaterThan(peak("off"));
  });

  it("keeps its seasonal column through a --retrain refresh (the refreshed spec has it, scoring goes on)", () => {
    const { ts, values } = daily(5 * 288, 7);
    const lines = csv(ts, values);
    const { forest } = trainTelemetry(lines.slice(0, 3 * 288 + 1), { season: "day", forest: { seed: 1 } });
    const det = new TelemetryDetector(forest, { retrain: { everyLines: 300, sample: 900, trees: 10 } });
    for (let i = 0; i < lines.length; i += 200) det.processBatch("s.csv", lines.slice(i, i + 200), i + 1, () => {});
    expect(det.summary().retrain?.refreshes ?? 0).toBeGreaterThan(0);
    expect(telemetryOf(det.forest).season).toBe("day");
    expect(det.summary().lines_scored).toBe(lines.length - 1);
  });

  it("refuses a bad season, naming the option, the choices and the value", () => {
    expect(() => trainTelemetry(["ts,a", "1,2"], { season: "month" as unknown as "day" })).toThrow(/season must be "day", "week" or "off", got "month"/);
  });
});
