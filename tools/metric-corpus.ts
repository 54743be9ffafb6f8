/**
 * A seeded corpus of labelled metric series in the style of public streaming
 * benchmarks, to measure `--format csv` with tools/nab-score.ts (test-only: not in the package). Every series is a
 * few thousand timestamped points of one family; its labels are the timestamps of
 * the anomalies (the start of a lasting one, the change point of a level shift: the
 * new level after it is normal). Every random choice draws from the series' own Rng.
 *
 *   seasonal     5-minute server metric: daily cycle, hourly ripple; spikes and dips
 *   weekly       hourly traffic with quiet weekends; a missing daily peak, a night surge
 *   drift        a slow random-walk trend; a spike, a burst of variance
 *   level_shift  permanent steps up or down (only the step is anomalous)
 *   spikes       stationary noise; short spikes and dips
 *   flatline     a sensor that sticks at one value for a while
 *   counts       Poisson counts, mostly zeros; a burst of events
 *   irregular    seasonal, sampled at jittered, gappy times; a spike, a step
 *   early        an anomaly inside the first 15% (no clean training stretch), one later
 */
import { Rng } from "../src/forest/random.js";

/** Families of series, in corpus order. */
export const CORPUS_FAMILIES = ["seasonal", "weekly", "drift", "level_shift", "spikes", "flatline", "counts", "irregular", "early"] as const;
export type CorpusFamily = (typeof CORPUS_FAMILIES)[number];

/** One labelled series. */
export interface CorpusSeries {
  name: string;
  family: CorpusFamily;
  /** Epoch milliseconds, increasing. */
  timestamps: Float64Array;
  values: Float64Array;
  /** Timestamps of the labelled anomalies. */
  anomalies: number[];
}

/** Options of metricCorpus; see CORPUS_DEFAULTS. */
export interface CorpusOptions {
  /** Seed of every random choice. */
  seed?: number;
  /** Series per family, an integer in [1, 8]. */
  perFamily?: number;
  /** Points per series, an integer in [500, 100000]. */
  points?: number;
}

export const CORPUS_DEFAULTS = { seed: 1, perFamily: 3, points: 4000 } as const;

const MIN5 = 300_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 5); // a Monday

/** A point generator and the anomalies it planted (as row indices). */
interface Draft {
  values: Float64Array;
  timestamps: Float64Array;
  rows: number[];
}

function daily(ts: number, peakHour = 15): number {
  const h = ((ts / HOUR) % 24 + 24) % 24;
  return 0.5 + 0.5 * Math.cos((2 * Math.PI * (h - peakHour)) / 24);
}

function evenTimes(n: number, step: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => START + i * step);
}

/** Rows at least `gap` apart in [from, to), `count` of them. */
function pickRows(rng: Rng, count: number, from: number, to: number, gap: number): number[] {
  const rows: number[] = [];
  for (let tries = 0; rows.length < count && tries < 1000; tries++) {
    const r = from + rng.int(to - from);
    if (rows.every((x) => Math.abs(x - r) >= gap)) rows.push(r);
  }
  return rows.sort((a, b) => a - b);
}

/**
 * Real metrics' texture, unlabelled: heavy tails (one innovation in 40 is four times
 * as large) and now and then a short benign burst (a cron job, a deploy).
 */
function rough(rng: Rng): () => number {
  let ar = 0;
  let burst = 0;
  let height = 0;
  return () => {
    ar = 0.7 * ar + 0.71 * rng.normal() * (rng.next() < 0.025 ? 4 : 1);
    if (burst === 0 && rng.next() < 0.002) {
      burst = 3 + rng.int(10);
      height = 2 + 2 * rng.next();
    }
    if (burst > 0) burst--;
    return ar + (burst > 0 ? height : 0);
  };
}

/** A seasonal server metric on `times`; `base` and `swing` in its units. */
function seasonal(rng: Rng, times: Float64Array, base: number, swing: number, noise: number): Float64Array {
  const peak = 10 + rng.int(8);
  const r = rough(rng);
  return times.map((t) => {
    const ripple = 0.05 * swing * Math.sin((2 * Math.PI * (t % HOUR)) / HOUR);
    return base + swing * daily(t, peak) + ripple + noise * r();
  });
}

function spikeAt(v: Float64Array, row: number, size: number, length = 1): void {
  for (let i = row; i < Math.min(v.length, row + length); i++) v[i] += size;
}

function generate(family: CorpusFamily, rng: Rng, n: number): Draft {
  const times = evenTimes(n, MIN5);
  const late = Math.floor(0.2 * n);
  switch (family) {
    case "seasonal": {
      const v = seasonal(rng, times, 20 + 20 * rng.next(), 30 + 20 * rng.next(), 1.5 + rng.next());
      const rows = pickRows(rng, 2 + rng.int(2), late, n - 50, n / 6);
      rows.forEach((r, i) => spikeAt(v, r, (i % 2 === 0 ? 1 : -1) * (8 + 8 * rng.next()), 1 + rng.int(4)));
      return { values: v.map((x) => Math.max(0, x)), timestamps: times, rows };
    }
    case "weekly": {
      const hourly = evenTimes(n, HOUR / 4);
      const r = rough(rng);
      const v = hourly.map((t) => {
        const day = Math.floor((t - START) / (24 * HOUR)) % 7;
        const weekend = day >= 5 ? 0.3 : 1;
        return 200 + 800 * weekend * daily(t, 14) + 25 * r();
      });
      const rows = pickRows(rng, 2, late, n - 200, n / 4).map((r) => r - (r % 96) + 56); // 14:00 of that day
      // The first: the day's peak does not come (an outage); the second: a surge at night.
      for (let i = rows[0]; i < rows[0] + 16 && i < n; i++) v[i] = 200 + 25 * rng.normal();
      if (rows.length > 1) for (let i = rows[1] + 40; i < rows[1] + 52 && i < n; i++) v[i] += 600;
      if (rows.length > 1) rows[1] += 40;
      return { values: v, timestamps: hourly, rows };
    }
    case "drift": {
      let level = 50;
      let slope = 0;
      const v = new Float64Array(n);
      const r = rough(rng);
      for (let i = 0; i < n; i++) {
        slope = 0.995 * slope + 0.02 * rng.normal();
        level += slope;
        v[i] = level + 2 * r();
      }
      const rows = pickRows(rng, 2, late, n - 100, n / 4);
      spikeAt(v, rows[0], 25 + 10 * rng.next());
      if (rows.length > 1) for (let i = rows[1]; i < rows[1] + 60 && i < n; i++) v[i] += 10 * rng.normal();
      return { values: v, timestamps: times, rows };
    }
    case "level_shift": {
      const rows = pickRows(rng, 1 + rng.int(2), late, n - 300, n / 4);
      let level = 100 + 50 * rng.next();
      const noise = 3 + 2 * rng.next();
      const v = new Float64Array(n);
      const rn = rough(rng);
      for (let i = 0, next = 0; i < n; i++) {
        if (next < rows.length && i === rows[next]) {
          level += (rng.next() < 0.5 ? 1 : -1) * (8 + 6 * rng.next()) * noise;
          next++;
        }
        v[i] = level + noise * rn();
      }
      return { values: v, timestamps: times, rows };
    }
    case "spikes": {
      const r = rough(rng);
      const v = new Float64Array(n).map(() => 10 + r());
      const rows = pickRows(rng, 3, late, n - 10, n / 5);
      rows.forEach((r) => spikeAt(v, r, (rng.next() < 0.7 ? 1 : -1) * (5 + 4 * rng.next()), 1 + rng.int(2)));
      return { values: v, timestamps: times, rows };
    }
    case "flatline": {
      const v = seasonal(rng, times, 40, 25, 2);
      const rows = pickRows(rng, 1 + rng.int(2), late, n - 200, n / 3);
      for (const r of rows) for (let i = r; i < r + 60 + rng.int(100) && i < n; i++) v[i] = v[r - 1];
      return { values: v.map((x) => Math.round(x * 10) / 10), timestamps: times, rows };
    }
    case "counts": {
      const rate = 0.2 + 0.3 * rng.next();
      const poisson = (lambda: number) => {
        let k = 0;
        for (let p = rng.next(); p > Math.exp(-lambda); p *= rng.next()) k++;
        return k;
      };
      const v = new Float64Array(n).map(() => poisson(rate));
      const rows = pickRows(rng, 2, late, n - 50, n / 4);
      for (const r of rows) for (let i = r; i < r + 6 + rng.int(10) && i < n; i++) v[i] = poisson(rate * 15);
      return { values: v, timestamps: times, rows };
    }
    case "irregular": {
      const t = new Float64Array(n);
      for (let i = 1; i < n; i++) t[i] = t[i - 1] + (rng.next() < 0.03 ? MIN5 * (5 + rng.int(30)) : MIN5 * (0.5 + rng.next()));
      const ts = t.map((x) => START + Math.round(x));
      const v = seasonal(rng, ts, 30, 20, 1.5);
      const rows = pickRows(rng, 2, late, n - 100, n / 4);
      spikeAt(v, rows[0], 20 + 10 * rng.next(), 2);
      if (rows.length > 1) for (let i = rows[1]; i < n; i++) v[i] += 25;
      return { values: v, timestamps: ts, rows };
    }
    case "early": {
      const v = seasonal(rng, times, 30, 20, 1.5);
      const first = Math.floor(n * (0.04 + 0.08 * rng.next()));
      const later = pickRows(rng, 1, Math.floor(0.4 * n), n - 50, 1)[0];
      spikeAt(v, first, 25 + 10 * rng.next(), 3 + rng.int(5));
      spikeAt(v, later, -(15 + 5 * rng.next()), 3);
      return { values: v, timestamps: times, rows: [first, later] };
    }
  }
}

/** Validate the options: RangeError naming the option, its range and the value. */
function resolve(o: CorpusOptions): Required<CorpusOptions> {
  const r = { ...CORPUS_DEFAULTS, ...o };
  if (!Number.isSafeInteger(r.seed)) throw new RangeError(`seed must be a safe integer, got ${String(r.seed)}`);
  if (!Number.isInteger(r.perFamily) || r.perFamily < 1 || r.perFamily > 8) throw new RangeError(`perFamily must be an integer in [1, 8], got ${String(r.perFamily)}`);
  if (!Number.isInteger(r.points) || r.points < 500 || r.points > 100_000) throw new RangeError(`points must be an integer in [500, 100000], got ${String(r.points)}`);
  return r;
}

/** The corpus: perFamily series of every family, in family order, the same for the same options. */
export function metricCorpus(options: CorpusOptions = {}): CorpusSeries[] {
  const o = resolve(options);
  const out: CorpusSeries[] = [];
  CORPUS_FAMILIES.forEach((family, f) => {
    for (let j = 0; j < o.perFamily; j++) {
      const rng = new Rng(o.seed * 1000 + f * 16 + j);
      const n = o.points - 300 + rng.int(600);
      const d = generate(family, rng, n);
      const values = d.values.map((x) => Math.round(x * 1000) / 1000);
      out.push({ name: `${family}_${j + 1}`, family, timestamps: d.timestamps, values, anomalies: d.rows.map((r) => d.timestamps[r]) });
    }
  });
  return out;
}

/** A series as CSV lines for `--format csv`: the header `timestamp,value`, then one ISO-timestamped row per point. */
export function corpusCsv(s: CorpusSeries): string[] {
  const lines = ["timestamp,value"];
  for (let i = 0; i < s.values.length; i++) lines.push(`${new Date(s.timestamps[i]).toISOString()},${s.values[i]}`);
  return lines;
}
