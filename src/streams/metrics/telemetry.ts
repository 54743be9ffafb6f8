/**
 * Telemetry: numeric metric streams as CSV (a header line, one timestamp column,
 * one or more value columns), scored with the same forest, severity and alert
 * shape as the log pipeline.
 *
 *   line -> TelemetryParser (ts + values into a reused Float64Array)
 *        -> TelemetryExtractor (per series: shingle, changes, step size, flat run)
 *        -> WASM scorer -> severity -> rules -> alert (reasons summed per series)
 *
 * Everything detection needs (series, k, window, per-series scales, feature
 * names, calibration) travels in the model: forest.metadata.telemetry.
 */
import { inParts, type RefreshReport, type RetrainOptions } from "../http/retrain.js";
import { TelemetryRetrainer } from "./retrain.js";
import { explainShares } from "../../forest/explain.js";
import { countAlert, countSkipped, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch } from "../http/detect.js";
import { IsolationForest, type BatchScorer } from "../../forest/forest.js";
import { parseIsoAt, scaledDecimal, timestampInRange, type Cursor } from "../scan.js";
import type { ForestOptions } from "../../forest/options.js";
import { calibrate, isCalibration, severityOf, type Calibration } from "../severity.js";

// ---------------------------------------------------------------- parsing

/** The columns of a telemetry CSV, from its header line. */
export interface TelemetryHeader {
  /** Every column name, in file order. */
  columns: string[];
  /** Index of the timestamp column. */
  timestamp: number;
  /** Names of the value columns (every column but the timestamp), in file order. */
  series: string[];
}

/** Column names taken as the timestamp when none is given (case-insensitive, first match wins). */
export const TIMESTAMP_NAMES: readonly string[] = ["ts", "time", "timestamp"];

/** Every reason TelemetryParser.parse returns, plus the detector's header reasons. */
export const TELEMETRY_FAILURE_REASONS: readonly string[] = [
  "empty", "wrong_field_count", "bad_timestamp", "not_a_number", "missing_value", "header", "header_mismatch",
  "timestamp_out_of_range",
];

/** [start, end) of a CSV field with blanks and one pair of surrounding double quotes removed. */
function fieldBounds(s: string, i: number, end: number, out: Int32Array): void {
  while (i < end && isBlank(s.charCodeAt(i))) i++;
  while (end > i && isBlank(s.charCodeAt(end - 1))) end--;
  if (end - i >= 2 && s.charCodeAt(i) === 34 && s.charCodeAt(end - 1) === 34) {
    i++;
    end--;
  }
  out[0] = i;
  out[1] = end;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/**
 * Parse a header line. `timestamp` names the timestamp column; by default the first
 * column named ts, time or timestamp. Throws a RangeError saying what is wrong.
 */
export function parseTelemetryHeader(line: string, timestamp?: string): TelemetryHeader {
  if (typeof line !== "string" || line.trim() === "") throw new RangeError("CSV header is empty; the first line must name the columns");
  const b = new Int32Array(2);
  const columns: string[] = [];
  let from = 0;
  for (;;) {
    const comma = line.indexOf(",", from);
    const to = comma < 0 ? line.length : comma;
    fieldBounds(line, from, to, b);
    columns.push(line.slice(b[0], b[1]));
    if (comma < 0) break;
    from = comma + 1;
  }
  const shown = JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}...` : line);
  columns.forEach((c, i) => {
    if (c === "") throw new RangeError(`CSV header ${shown}: column ${i + 1} has no name`);
    if (Number.isFinite(Number(c))) throw new RangeError(`CSV header ${shown}: column ${i + 1} is named ${JSON.stringify(c)}, a number: is this a data line?`);
    if (columns.indexOf(c) !== i) throw new RangeError(`CSV header ${shown}: column name ${JSON.stringify(c)} appears twice`);
  });
  let ts: number;
  if (timestamp !== undefined) {
    ts = columns.indexOf(timestamp);
    if (ts < 0) throw new RangeError(`CSV header ${shown} has no timestamp column ${JSON.stringify(timestamp)}; columns: ${columns.join(", ")}`);
  } else {
    ts = columns.findIndex((c) => TIMESTAMP_NAMES.includes(c.toLowerCase()));
    if (ts < 0) throw new RangeError(`CSV header ${shown} has no timestamp column (named ${TIMESTAMP_NAMES.join(", ")}, or give its name)`);
  }
  if (columns.length < 2) throw new RangeError(`CSV header ${shown} has no value column besides the timestamp`);
  return { columns, timestamp: ts, series: columns.filter((_, i) => i !== ts) };
}

/** One parsed data line: caller-owned and reused. */
export interface TelemetryRow {
  /** Epoch milliseconds. */
  ts: number;
  /** One value per series, in the parser's series order. */
  values: Float64Array;
}

/** A row for `series` values (NaN until filled). */
export function emptyTelemetryRow(series: number): TelemetryRow {
  return { ts: NaN, values: new Float64Array(series).fill(NaN) };
}

/**
 * Optionally signed decimal with an optional exponent spanning exactly [i, end):
 * `-12.5`, `3e-4`; NaN when anything else (nan, inf, hex, blanks inside).
 */
function numberAt(s: string, i: number, end: number): number {
  const start = i;
  let sign = 1;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 || c0 === 43) {
    if (c0 === 45) sign = -1;
    i++;
  }
  let m = i;
  while (m < end && (s.charCodeAt(m) | 32) !== 101 /* e */) m++;
  let exp = 0;
  if (m < end) {
    let p = m + 1;
    let esign = 1;
    const c = s.charCodeAt(p);
    if (c === 45 || c === 43) {
      if (c === 45) esign = -1;
      p++;
    }
    if (p >= end || end - p > 4) return NaN;
    for (; p < end; p++) {
      const d = s.charCodeAt(p) - 48;
      if (d < 0 || d > 9) return NaN;
      exp = exp * 10 + d;
    }
    exp *= esign;
  }
  let digits = 0;
  let frac = 0;
  for (let p = i, dot = false; p < m; p++) {
    if (s.charCodeAt(p) === 46) dot = true;
    else {
      digits++;
      if (dot) frac++;
    }
  }
  // Past 15 digits or 10^±22 one rounding step is not exact: let Number() parse the
  // token (the mantissa is checked first, so it cannot accept "Infinity" or hex).
  if (digits > 15 || Math.abs(exp - frac) > 22) return Number.isNaN(scaledDecimal(s, i, m, 0)) ? NaN : Number(s.slice(start, end));
  return sign * scaledDecimal(s, i, m, exp);
}

/**
 * Epoch seconds or milliseconds (a plain number: below 1e11 it is seconds, which
 * covers dates up to the year 5138; otherwise milliseconds) or an ISO 8601 date
 * (no zone means UTC); NaN when neither.
 */
function timestampAt(s: string, i: number, end: number, cur: Cursor): number {
  if (i >= end) return NaN;
  const n = numberAt(s, i, end);
  if (Number.isFinite(n)) return Math.abs(n) < 1e11 ? n * 1000 : n;
  const ms = parseIsoAt(s, i, end, cur, false);
  return cur.pos === end ? ms : NaN;
}

/** Parses data lines of one CSV layout into a reused TelemetryRow; never throws on a line. */
export class TelemetryParser {
  /** Series filled into row.values, in order. */
  readonly series: readonly string[];
  private readonly fields: number;
  private readonly tsField: number;
  /** For each field, the slot of row.values it fills, or -1 (timestamp, or a column not wanted). */
  private readonly slot: Int32Array;
  private readonly b = new Int32Array(2);
  private readonly cur: Cursor = { pos: 0 };

  /** A parser for lines laid out as `header`, filling `series` (default: all of the header's, in its order). */
  constructor(header: TelemetryHeader, series: readonly string[] = header.series) {
    const missing = series.filter((s) => !header.series.includes(s));
    if (missing.length > 0) throw new RangeError(`CSV header has no column ${missing.join(", ")}; its value columns are ${header.series.join(", ")}`);
    this.series = [...series];
    this.fields = header.columns.length;
    this.tsField = header.timestamp;
    this.slot = new Int32Array(this.fields).fill(-1);
    series.forEach((name, k) => (this.slot[header.columns.indexOf(name)] = k));
  }

  /** Fill `out` from `line`: null on success, else a snake_case reason; out is unspecified after a failure. */
  parse(line: string, out: TelemetryRow): string | null {
    let end = line.length;
    while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
    if (end === 0) return "empty";
    let commas = 0;
    for (let p = line.indexOf(","); p >= 0 && p < end; p = line.indexOf(",", p + 1)) commas++;
    if (commas + 1 !== this.fields) return "wrong_field_count";
    const b = this.b;
    let from = 0;
    for (let f = 0; f < this.fields; f++) {
      const comma = f + 1 < this.fields ? line.indexOf(",", from) : end;
      const k = this.slot[f];
      if (f === this.tsField || k >= 0) {
        fieldBounds(line, from, comma, b);
        if (f === this.tsField) {
          out.ts = timestampAt(line, b[0], b[1], this.cur);
          if (!Number.isFinite(out.ts)) return "bad_timestamp";
          // Within Date's range and the log's: [1970, 2200) (src/formats/common.ts).
          if (!timestampInRange(out.ts)) return "timestamp_out_of_range";
        } else {
          if (b[0] === b[1]) return "missing_value";
          const v = numberAt(line, b[0], b[1]);
          if (!Number.isFinite(v)) return "not_a_number";
          out.values[k] = v;
        }
      }
      from = comma + 1;
    }
    return null;
  }
}

// ---------------------------------------------------------------- features

/** Scales of one series learned from training (robust: medians and MADs). */
export interface SeriesScales {
  /** Median value and its 1st and 99th percentiles. */
  median: number;
  p01: number;
  p99: number;
  /** Median |one-step change|: what `vol` compares the recent step size with. */
  step: number;
  /** 1.4826 MAD of the one-step change: the unit of `diff`. */
  diff: number;
  /** 1.4826 MAD of the change over k - 1 steps: the unit of `change`. */
  change: number;
  /** 1.4826 MAD of (value - median of the previous `window` values): the unit of the lags. */
  residual: number;
}

/** What detection needs to extract the same features as training; stored in the model. */
export interface TelemetrySpec {
  version: 1;
  /** Name of the timestamp column in training. */
  timestamp: string;
  /** Series (value columns), in the order features are laid out. */
  series: string[];
  /** Shingle length: the last k values of each series, the current one included. */
  k: number;
  /** Values (for the lags' baseline) and steps (for vol) the rolling medians look back over. */
  window: number;
  /** Per-series scales, in series order. */
  scales: SeriesScales[];
  /** Feature names in column order: per series `name.lag0..lag{k-1}`, `.diff`, `.change`, `.vol`, `.flat`. */
  features: string[];
  /** Training rows. */
  lines: number;
}

/** The features of one series, in block order. */
export function seriesFeatureNames(name: string, k: number): string[] {
  const out: string[] = [];
  for (let j = 0; j < k; j++) out.push(`${name}.lag${j}`);
  out.push(`${name}.diff`, `${name}.change`, `${name}.vol`, `${name}.flat`);
  return out;
}

/**
 * Median of the last `size` values pushed, in O(size) per push without allocating:
 * a ring in arrival order beside the same values kept sorted.
 */
class RollingMedian {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }

  /** Forget everything: the window holds `size` copies of v. */
  fill(v: number): void {
    this.ring.fill(v);
    this.sorted.fill(v);
    this.head = 0;
  }

  /** Replace the oldest value with v. */
  push(v: number): void {
    const old = this.ring[this.head];
    this.ring[this.head] = v;
    this.head = (this.head + 1) % this.size;
    const a = this.sorted;
    // Find old (any copy of it), overwrite it with v, and slide v into place.
    let lo = 0;
    let hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] < old) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    while (i > 0 && a[i - 1] > v) {
      a[i] = a[i - 1];
      i--;
    }
    while (i < a.length - 1 && a[i + 1] < v) {
      a[i] = a[i + 1];
      i++;
    }
    a[i] = v;
  }

  median(): number {
    const n = this.size;
    return n % 2 === 1 ? this.sorted[(n - 1) >> 1] : (this.sorted[n / 2 - 1] + this.sorted[n / 2]) / 2;
  }
}

// Bounds that keep features finite when a training scale is (nearly) zero.
const Z_MAX = 1e6;
// vol = ln((recent median step + EPS) / (typical step + EPS)), EPS a small share of the typical
// step, so a flat line reads about ln(0.01) instead of -infinity.
const VOL_EPS = 0.01;

/**
 * Stateful extractor: feed rows in stream order, get one feature row each. Per series:
 *
 *   lag0..lag{k-1}  the shingle: each of the last k values as its squared robust z
 *                   against the median of the `window` values before the current one
 *                   (lag0 is the rolling robust z of the current value)
 *   diff            squared (value - previous) / diff scale
 *   change          squared (value - value k-1 steps back) / change scale
 *   vol             squared ln(median |step| over the last `window` / typical step):
 *                   a flat line and a noise burst both read large
 *   flat            ln(1 + points the value has not changed for)
 *
 * Squares, because the forest splits uniformly between a node's min and max: on a
 * one-sided scale where normal rows crowd near 0, a far value is cut off in few
 * splits, while on a two-sided one about half the rows stay with it (measured on the
 * simulator: peak severities of spikes rose from about 40-80 to about 50-90). Levels
 * themselves are not features: a series that drifts slowly to a new level is not
 * flagged. A value is described using only the values before it and itself; the
 * history updates after the row is written. Until k values have been seen the missing lags are the
 * first value (so diff and change read 0), the rolling value window starts as
 * copies of the first value, and the step window as copies of the typical step
 * (neutral vol).
 */
export class TelemetryExtractor {
  /** Columns per row. */
  readonly cols: number;
  /** Width of one series' block of columns. */
  readonly block: number;
  private spec: TelemetrySpec;
  private readonly lags: Float64Array; // series x k, lag j of series s at s*k + (head_s + j) % k
  private readonly heads: Int32Array;
  private readonly recent: RollingMedian[];
  private readonly steps: RollingMedian[];
  private readonly runs: Float64Array;
  private seen = 0;
  /** Per series, the signed ln(recent median step / typical step) of the last row (its vol feature is the square). */
  readonly lastVol: Float64Array;
  /** Timestamp (epoch ms) of the last row extracted; features depend on order, not on time. */
  lastTs = NaN;

  constructor(spec: TelemetrySpec) {
    this.spec = spec;
    const s = spec.series.length;
    this.block = spec.k + 4;
    this.cols = s * this.block;
    if (this.cols !== spec.features.length) {
      throw new RangeError(`telemetry spec is inconsistent: ${s} series x ${this.block} features is not ${spec.features.length} feature names`);
    }
    this.lags = new Float64Array(s * spec.k);
    this.heads = new Int32Array(s);
    this.recent = spec.series.map(() => new RollingMedian(spec.window));
    this.steps = spec.series.map(() => new RollingMedian(spec.window));
    this.runs = new Float64Array(s);
    this.lastVol = new Float64Array(s);
  }

  /** Rows extracted so far. */
  get count(): number {
    return this.seen;
  }

  /**
   * Read on with new scales (a retrained model's): the history is kept, as it holds
   * raw values. The spec must have the same series, k and window.
   */
  rescale(spec: TelemetrySpec): void {
    const same = spec.k === this.spec.k && spec.window === this.spec.window && spec.series.length === this.spec.series.length
      && spec.series.every((name, i) => name === this.spec.series[i]);
    if (!same) throw new RangeError("rescale: the new telemetry spec must have the same series, k and window");
    this.spec = spec;
  }

  /** Start over, as for a new stream. */
  reset(): void {
    this.seen = 0;
    this.lastTs = NaN;
  }

  /** Write the features of the row (ts, values in spec.series order) to out[offset ..], then remember it. */
  extract(ts: number, values: Float64Array, out: Float64Array, offset: number): void {
    const k = this.spec.k;
    const first = this.seen === 0;
    let o = offset;
    for (let s = 0; s < this.spec.series.length; s++) {
      const v = values[s];
      const sc = this.spec.scales[s];
      const base = s * k;
      const recent = this.recent[s];
      const steps = this.steps[s];
      if (first) {
        this.lags.fill(v, base, base + k);
        this.heads[s] = 0;
        recent.fill(v);
        steps.fill(sc.step);
      }
      const med = recent.median();
      // The ring's head is lag0; moving it back one slot makes room for v.
      const head = (this.heads[s] + k - 1) % k;
      const prev = this.lags[base + this.heads[s]];
      const diff = v - prev;
      if (!first) steps.push(Math.abs(diff));
      this.runs[s] = !first && diff === 0 ? this.runs[s] + 1 : 0;
      this.lags[base + head] = v;
      this.heads[s] = head;
      for (let j = 0; j < k; j++) out[o++] = sq((this.lags[base + ((head + j) % k)] - med) / sc.residual);
      out[o++] = sq(diff / sc.diff);
      out[o++] = sq((v - this.lags[base + ((head + k - 1) % k)]) / sc.change);
      const eps = VOL_EPS * sc.step;
      const vol = Math.log((steps.median() + eps) / (sc.step + eps));
      this.lastVol[s] = vol;
      out[o++] = sq(vol);
      out[o++] = Math.log1p(this.runs[s]);
      recent.push(v);
    }
    this.seen++;
    this.lastTs = ts;
  }
}

/** x squared, capped: one-sided and concentrated near 0 for normal rows (see TelemetryExtractor). */
function sq(x: number): number {
  const y = x * x;
  return y < Z_MAX ? y : Z_MAX;
}

function quantileOf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function medianOf(values: Float64Array): number {
  return quantileOf(Float64Array.from(values).sort(), 0.5);
}

/** 1.4826 MAD (the standard deviation, for normal data), at least `floor`. */
function madOf(values: Float64Array, floor: number): number {
  if (values.length === 0) return floor;
  const mid = medianOf(values);
  return Math.max(floor, 1.4826 * medianOf(values.map((v) => Math.abs(v - mid))));
}

function signedSteps(x: Float64Array): Float64Array {
  const d = new Float64Array(x.length - 1);
  for (let i = 1; i < x.length; i++) d[i - 1] = x[i] - x[i - 1];
  return d;
}

/** Scales of one series from its training values in stream order. */
export function learnSeriesScales(x: Float64Array, k: number, window: number): SeriesScales {
  const n = x.length;
  const sorted = Float64Array.from(x).sort();
  const median = quantileOf(sorted, 0.5);
  // A series constant in training still needs units: a millionth of its size (or 1e-9).
  const floor = Math.max(1e-9, 1e-6 * Math.abs(median));
  const steps = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) steps[i - 1] = Math.abs(x[i] - x[i - 1]);
  const changes = new Float64Array(Math.max(0, n - (k - 1)));
  for (let i = k - 1; i < n; i++) changes[i - (k - 1)] = x[i] - x[i - (k - 1)];
  const residuals = new Float64Array(Math.max(0, n - 1));
  if (n > 0) {
    const r = new RollingMedian(window);
    r.fill(x[0]);
    for (let i = 1; i < n; i++) {
      residuals[i - 1] = x[i] - r.median();
      r.push(x[i]);
    }
  }
  // Integer series can have a median step of 0; the mean step keeps vol meaningful then.
  let step = steps.length > 0 ? medianOf(steps) : 0;
  if (step <= floor && steps.length > 0) step = steps.reduce((a, b) => a + b, 0) / steps.length;
  return {
    median,
    p01: quantileOf(sorted, 0.01),
    p99: quantileOf(sorted, 0.99),
    step: Math.max(floor, step),
    diff: madOf(steps.length > 0 ? signedSteps(x) : steps, Math.max(floor, step)),
    change: madOf(changes, floor),
    residual: madOf(residuals, floor),
  };
}

/** Options of telemetry training; see TELEMETRY_DEFAULTS. */
export interface TelemetryTrainOptions {
  /** Name of the timestamp column (default: the first named ts, time or timestamp). */
  timestamp?: string;
  /** Shingle length, an integer in [2, 64]. */
  k?: number;
  /** Rolling window in values, an integer in [k, 4096]. */
  window?: number;
  /** Forest options (trees, sampleSize, seed, ...). */
  forest?: ForestOptions;
}

/** Every telemetry default in one place. */
export const TELEMETRY_DEFAULTS = Object.freeze({
  k: 4,
  window: 16,
  minSeverity: 50,
  cooldownSeconds: 30,
  // Deeper trees than the log pipeline's 256: a one-point spike stands out in only a few of
  // the row's columns, and measured on the simulator 1024 rows per tree catch clearly more.
  sampleSize: 1024,
});

/** Validated training options. */
function resolveTrainOptions(o: TelemetryTrainOptions): Required<Omit<TelemetryTrainOptions, "timestamp" | "forest">> & Pick<TelemetryTrainOptions, "timestamp" | "forest"> {
  if (typeof o !== "object" || o === null) throw new TypeError(`telemetry options must be an object, got ${String(o)}`);
  const k = o.k ?? TELEMETRY_DEFAULTS.k;
  if (!Number.isInteger(k) || k < 2 || k > 64) throw new RangeError(`k must be an integer in [2, 64], got ${String(k)}`);
  const window = o.window ?? Math.max(TELEMETRY_DEFAULTS.window, k);
  if (!Number.isInteger(window) || window < k || window > 4096) throw new RangeError(`window must be an integer in [${k}, 4096] (k to 4096), got ${String(window)}`);
  if (o.timestamp !== undefined && (typeof o.timestamp !== "string" || o.timestamp === "")) {
    throw new RangeError(`timestamp must be a non-empty column name, got ${JSON.stringify(o.timestamp)}`);
  }
  return { k, window, timestamp: o.timestamp, forest: o.forest };
}

/** The spec of training rows (`values`: rows x series, row-major, in stream order). */
export function learnTelemetrySpec(
  values: Float64Array, rows: number, series: readonly string[], timestamp: string, opts: Pick<TelemetryTrainOptions, "k" | "window"> = {},
): TelemetrySpec {
  const o = resolveTrainOptions(opts);
  const s = series.length;
  if (values.length < rows * s) throw new RangeError(`values holds ${values.length} numbers, fewer than ${rows} rows x ${s} series`);
  const scales: SeriesScales[] = [];
  const col = new Float64Array(rows);
  for (let j = 0; j < s; j++) {
    for (let i = 0; i < rows; i++) col[i] = values[i * s + j];
    scales.push(learnSeriesScales(col, o.k, o.window));
  }
  return {
    version: 1,
    timestamp,
    series: [...series],
    k: o.k,
    window: o.window,
    scales,
    features: series.flatMap((name) => seriesFeatureNames(name, o.k)),
    lines: rows,
  };
}

// ---------------------------------------------------------------- training

/** What a telemetry model carries in forest.metadata.telemetry. */
export interface TelemetryMeta extends TelemetrySpec {
  calibration: Calibration;
}

/** Counts from a telemetry training run. */
export interface TelemetryTrainSummary {
  lines: number;
  parsed: number;
  skipped: Record<string, number>;
  format: "csv";
  series: string[];
  features: string[];
  k: number;
  window: number;
  /** Score at severity 50 (p99 of the training scores) and 75 (p99.9). */
  scoreP99: number;
  scoreP999: number;
  fitMs: number;
  totalMs: number;
}

/** Incremental telemetry trainer: feed line batches (the header first), then finish(). */
export class TelemetryTrainer {
  private readonly opts: ReturnType<typeof resolveTrainOptions>;
  private header: TelemetryHeader | null = null;
  private parser: TelemetryParser | null = null;
  private row: TelemetryRow = emptyTelemetryRow(0);
  private values = new Float64Array(0);
  private rows = 0;
  private lines = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly started = performance.now();

  constructor(options: TelemetryTrainOptions = {}) {
    this.opts = resolveTrainOptions(options);
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.lines;
  }

  /** Add a batch of lines in file order; the first non-blank line must be the header (else a RangeError). */
  add(lines: readonly string[]): void {
    for (const line of lines) {
      this.lines++;
      if (this.parser === null) {
        if (line.trim() === "") {
          this.skip("empty");
          continue;
        }
        this.header = parseTelemetryHeader(line, this.opts.timestamp);
        this.parser = new TelemetryParser(this.header);
        this.row = emptyTelemetryRow(this.header.series.length);
        continue;
      }
      const reason = this.parser.parse(line, this.row);
      if (reason === null) this.push(this.row.values);
      else this.skip(this.isHeader(line) ? "header" : reason);
    }
  }

  /** Learn the spec, replay the rows through the extractor, fit and calibrate. */
  finish(): { forest: IsolationForest; summary: TelemetryTrainSummary } {
    const header = this.header;
    if (header === null) throw new RangeError("telemetry training input is empty: it needs a CSV header line and data lines");
    if (this.rows === 0) {
      const parts = Object.entries(this.skipped).map(([k, v]) => `${k}: ${v}`);
      throw new RangeError(`no data line of the telemetry training input could be parsed (${parts.length ? `skipped ${parts.join(", ")}` : "none after the header"})`);
    }
    const n = this.rows;
    const spec = learnTelemetrySpec(this.values, n, header.series, header.columns[header.timestamp], this.opts);
    const fx = new TelemetryExtractor(spec);
    const X = new Float64Array(n * fx.cols);
    const s = spec.series.length;
    for (let i = 0; i < n; i++) fx.extract(NaN, this.values.subarray(i * s, (i + 1) * s), X, i * fx.cols);
    const t0 = performance.now();
    const forest = IsolationForest.fit(
      { data: X, rows: n, cols: fx.cols },
      { sampleSize: TELEMETRY_DEFAULTS.sampleSize, ...this.opts.forest, featureNames: spec.features },
    );
    const fitMs = performance.now() - t0;
    const calibration = calibrate(forest.score({ data: X, rows: n, cols: fx.cols }));
    const meta: TelemetryMeta = { ...spec, calibration };
    forest.metadata = { telemetry: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: n,
        skipped: { ...this.skipped },
        format: "csv",
        series: spec.series,
        features: spec.features,
        k: spec.k,
        window: spec.window,
        scoreP99: calibration.scores[2],
        scoreP999: calibration.scores[3],
        fitMs,
        totalMs: performance.now() - this.started,
      },
    };
  }

  private isHeader(line: string): boolean {
    try {
      const h = parseTelemetryHeader(line, this.opts.timestamp);
      return this.header !== null && h.columns.join(",") === this.header.columns.join(",");
    } catch {
      return false;
    }
  }

  private push(v: Float64Array): void {
    const s = v.length;
    if ((this.rows + 1) * s > this.values.length) {
      const grown = new Float64Array(Math.max(1024, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values.set(v, this.rows * s);
    this.rows++;
  }

  private skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }
}

/** Train a telemetry model on CSV lines held in memory (header first). */
export function trainTelemetry(lines: readonly string[], options: TelemetryTrainOptions = {}): { forest: IsolationForest; summary: TelemetryTrainSummary } {
  const t = new TelemetryTrainer(options);
  t.add(lines);
  return t.finish();
}

/** Whether a model was trained on telemetry (forest.metadata.telemetry is present). */
export function isTelemetryModel(forest: IsolationForest): boolean {
  return typeof forest.metadata.telemetry === "object" && forest.metadata.telemetry !== null;
}

/** The telemetry metadata of a model, or a clear error when it was not trained on telemetry. */
export function telemetryOf(forest: IsolationForest): TelemetryMeta {
  const t = forest.metadata.telemetry as TelemetryMeta | undefined;
  if (typeof t !== "object" || t === null || t.version !== 1 || !Array.isArray(t.series) || !Array.isArray(t.scales) || !isCalibration(t.calibration)) {
    throw new RangeError("this model was not trained on telemetry (no telemetry spec inside); train it with `logforest train --format csv`");
  }
  if (t.features.length !== forest.cols || t.scales.length !== t.series.length) {
    throw new RangeError(`model is inconsistent: its telemetry spec has ${t.features.length} features for ${t.series.length} series but the forest has ${forest.cols} columns`);
  }
  return t;
}

// ---------------------------------------------------------------- detection

/** Options of a TelemetryDetector. */
export interface TelemetryDetectorOptions {
  /** Alert from this severity on, a number in [0, 100]. Default 50. */
  minSeverity?: number;
  /** Rows per file scored but never alerted at the start, an integer >= 0. Default: the model's k. */
  warmup?: number;
  /** Seconds after an alert on a series during which that series does not alert again, in [0, 86400]. Default 30. */
  cooldownSeconds?: number;
  /** Called after each batch with every scored row and its values (route -1, latency and status NaN: there are none). */
  onScored?: (batch: ScoredBatch) => void;
  /** Keep learning from recent rows that did not alert (see src/telemetry-retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** Called after each retraining refresh. */
  onRefresh?: (r: RefreshReport) => void;
}

/** A telemetry alert: src/detect.ts's Alert with the row's values for a record and reasons per series. */
export interface TelemetryAlert {
  /** 1-based line number in its file (the header is line 1). */
  line: number;
  file: string;
  /** ISO 8601. */
  ts: string | null;
  score: number;
  severity: number;
  /** Always "telemetry". */
  rule: string;
  record: { ts: string | null; values: Record<string, number> };
  /** The series whose features drove the isolation (share summed over the series' features), largest first. */
  reasons: AlertReason[];
}

/** Counts of a telemetry detection run (DetectSummary's fields that apply). */
export interface TelemetryDetectSummary extends RunCounts {
  formats: Record<string, "csv">;
}

/** Per-file state: a stream of its own (layout, history, warm-up, cooldowns). */
interface FileState {
  /** null after a header that lacks the model's series: the file's lines are skipped. */
  parser: TelemetryParser | null;
  extractor: TelemetryExtractor;
  /** Per series: seconds and row (extractor count) of its last alert. */
  lastAlert: Float64Array;
  lastAlertRow: Float64Array;
}

const RULE = "telemetry";
// Reasons list the series holding at least this share (the top one always).
const REASON_SHARE = 0.1;

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Scores CSV metric lines and raises alerts; each file is its own stream. */
export class TelemetryDetector {
  private model: IsolationForest;
  private spec: TelemetryMeta;
  private readonly retrainer: TelemetryRetrainer | null;
  private readonly onRefresh: ((r: RefreshReport) => void) | null;
  private readonly minSeverity: number;
  private readonly warmup: number;
  private readonly cooldownSeconds: number;
  private readonly onScored: ((batch: ScoredBatch) => void) | null;
  private scorer: BatchScorer;
  private readonly files = new Map<string, FileState>();
  private readonly defaultHeader: TelemetryHeader;
  private readonly row: TelemetryRow;
  private readonly seriesOf: Int32Array;
  private readonly perSeries: Float64Array;
  private readonly blockWidth: number;
  private rowWarm = new Uint8Array(0);
  private rowIndex = new Float64Array(0);
  private rowLineNo = new Int32Array(0);
  private rowSeconds = new Float64Array(0);
  private rowValues = new Float64Array(0);
  private rowVol = new Float64Array(0);
  private batchSkipped: Array<{ line: number; reason: string }> = [];
  private readonly stats: TelemetryDetectSummary = { ...zeroCounts(), formats: {} };

  constructor(forest: IsolationForest, opts: TelemetryDetectorOptions = {}) {
    this.model = forest;
    this.spec = telemetryOf(forest);
    const minSeverity = opts.minSeverity ?? TELEMETRY_DEFAULTS.minSeverity;
    if (typeof minSeverity !== "number" || !(minSeverity >= 0 && minSeverity <= 100)) {
      throw new RangeError(`minSeverity must be a number in [0, 100], got ${show(minSeverity)}`);
    }
    const warmup = opts.warmup ?? this.meta.k;
    if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be an integer >= 0 (rows), got ${show(warmup)}`);
    const cooldownSeconds = opts.cooldownSeconds ?? TELEMETRY_DEFAULTS.cooldownSeconds;
    if (typeof cooldownSeconds !== "number" || !(cooldownSeconds >= 0 && cooldownSeconds <= 86400)) {
      throw new RangeError(`cooldownSeconds must be a number in [0, 86400], got ${show(cooldownSeconds)}`);
    }
    this.minSeverity = minSeverity;
    this.warmup = warmup;
    this.cooldownSeconds = cooldownSeconds;
    this.onScored = opts.onScored ?? null;
    this.scorer = forest.batchScorer();
    const s = this.meta.series.length;
    this.defaultHeader = { columns: [this.meta.timestamp, ...this.meta.series], timestamp: 0, series: [...this.meta.series] };
    this.row = emptyTelemetryRow(s);
    this.blockWidth = this.meta.features.length / s;
    this.seriesOf = new Int32Array(this.meta.features.length);
    for (let c = 0; c < this.seriesOf.length; c++) this.seriesOf[c] = Math.floor(c / this.blockWidth);
    this.perSeries = new Float64Array(s);
    this.retrainer = opts.retrain ? new TelemetryRetrainer(forest, s, opts.retrain) : null;
    this.onRefresh = opts.onRefresh ?? null;
  }

  /** The model in use (a new one after each retraining refresh). */
  get forest(): IsolationForest {
    return this.model;
  }

  /** The model's telemetry spec and calibration. */
  get meta(): TelemetryMeta {
    return this.spec;
  }

  /** The features the model reads, in column order. */
  get featureNames(): string[] {
    return this.meta.features;
  }

  /** Severity (0-100) of a score under this model's calibration. */
  severity(score: number): number {
    return severityOf(this.meta.calibration, score);
  }

  /** A summary of everything processed so far. */
  summary(): TelemetryDetectSummary {
    return structuredClone(this.stats);
  }

  /**
   * Score a batch of lines of `file` and call `emit` for each alert, in line order.
   * `lineNo` is the 1-based number of the first line, or each line's own number.
   * A file's lines may start with a header (any column order; extra columns are
   * ignored); without one they are read as the training layout.
   */
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: TelemetryAlert) => void): void {
    const n = lines.length;
    if (n === 0) return;
    const every = this.retrainer?.opts.everyLines ?? Infinity;
    if (inParts(lines, lineNo, every, (part, no) => this.processBatch(file, part, no, emit))) return;
    const st = this.fileState(file);
    this.grow(n);
    const s = this.meta.series.length;
    const cols = this.scorer.cols;
    const input = this.scorer.input(n);
    const row = this.row;
    if (this.onScored) this.batchSkipped = [];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const no = typeof lineNo === "number" ? lineNo + i : lineNo[i];
      let reason = st.parser === null ? "header_mismatch" : st.parser.parse(lines[i], row);
      if (reason !== null) {
        reason = this.headerLine(st, lines[i]) ?? reason;
        this.skip(file, no, reason);
        if (this.onScored) this.batchSkipped.push({ line: no, reason });
        continue;
      }
      this.rowIndex[k] = st.extractor.count;
      this.rowWarm[k] = st.extractor.count < this.warmup ? 1 : 0;
      st.extractor.extract(row.ts, row.values, input, k * cols);
      this.rowLineNo[k] = no;
      this.rowSeconds[k] = row.ts / 1000;
      this.rowValues.set(row.values, k * s);
      this.rowVol.set(st.extractor.lastVol, k * s);
      k++;
    }
    this.stats.lines_read += n;
    this.stats.lines_scored += k;
    const scores = k > 0 ? this.scorer.run(k) : new Float64Array(0);
    if (this.onScored) {
      this.onScored({
        file,
        count: k,
        lineNo: this.rowLineNo.subarray(0, k),
        seconds: this.rowSeconds.subarray(0, k),
        route: new Int32Array(k).fill(-1),
        latencyMs: new Float64Array(k).fill(NaN),
        status: new Float64Array(k).fill(NaN),
        scores,
        routeNames: [],
        skipped: this.batchSkipped,
        values: this.rowValues.subarray(0, k * s),
        seriesNames: this.meta.series,
      });
    }
    for (let j = 0; j < k; j++) {
      const severity = this.severity(scores[j]);
      this.retrainer?.offer(this.rowSeconds[j] * 1000, this.rowValues.subarray(j * s, (j + 1) * s), severity < this.minSeverity);
      if (severity < this.minSeverity) continue;
      if (this.rowWarm[j] === 1) {
        this.stats.suppressed.warmup++;
        continue;
      }
      const features = input.slice(j * cols, (j + 1) * cols);
      const shares = explainShares(this.forest, { data: features, rows: 1, cols });
      const per = this.perSeries.fill(0);
      for (let c = 0; c < cols; c++) per[this.seriesOf[c]] += shares[c];
      let top = 0;
      for (let q = 1; q < s; q++) if (per[q] > per[top]) top = q;
      const seconds = this.rowSeconds[j];
      const last = st.lastAlert[top];
      // The next k - 1 rows still hold the alerted value in their shingle: echoes, not news.
      const echo = this.rowIndex[j] - st.lastAlertRow[top] < this.meta.k;
      if (echo || (seconds - last < this.cooldownSeconds && seconds >= last)) {
        this.stats.suppressed.cooldown++;
        continue;
      }
      st.lastAlert[top] = seconds;
      st.lastAlertRow[top] = this.rowIndex[j];
      emit(this.makeAlert(file, j, scores[j], severity, features, shares));
    }
    this.refreshIfDue(k);
  }

  private refreshIfDue(rows: number): void {
    const r = this.retrainer;
    if (!r || !r.tick(rows, this.model.sampleSize)) return;
    const { forest, report } = r.refresh(this.model);
    this.model = forest;
    this.spec = telemetryOf(forest);
    this.scorer = forest.batchScorer();
    // New scales; each file's history (raw values) carries on.
    for (const st of this.files.values()) st.extractor.rescale(this.spec);
    this.stats.retrain.refreshes++;
    this.stats.retrain.generation = report.generation;
    this.onRefresh?.(report);
  }

  private fileState(file: string): FileState {
    let st = this.files.get(file);
    if (st === undefined) {
      st = {
        parser: new TelemetryParser(this.defaultHeader),
        extractor: new TelemetryExtractor(this.meta),
        lastAlert: new Float64Array(this.meta.series.length).fill(-Infinity),
        lastAlertRow: new Float64Array(this.meta.series.length).fill(-Infinity),
      };
      this.files.set(file, st);
      this.stats.formats[file] = "csv";
    }
    return st;
  }

  /** When `line` is a header: switch the file to its layout and return the skip reason; else null. */
  private headerLine(st: FileState, line: string): string | null {
    let h: TelemetryHeader;
    try {
      h = parseTelemetryHeader(line, this.meta.timestamp);
    } catch {
      return null;
    }
    // A new header means a new stream (a rotated or restarted file): history starts over.
    st.extractor.reset();
    st.lastAlert.fill(-Infinity);
    st.lastAlertRow.fill(-Infinity);
    if (!this.meta.series.every((name) => h.series.includes(name))) {
      st.parser = null;
      return "header_mismatch";
    }
    st.parser = new TelemetryParser(h, this.meta.series);
    return "header";
  }

  private makeAlert(file: string, j: number, score: number, severity: number, features: Float64Array, shares: Float64Array): TelemetryAlert {
    const s = this.meta.series.length;
    const ts = Number.isFinite(this.rowSeconds[j]) ? new Date(this.rowSeconds[j] * 1000).toISOString() : null;
    const values: Record<string, number> = {};
    this.meta.series.forEach((name, q) => (values[name] = this.rowValues[j * s + q]));
    const order = Array.from({ length: s }, (_, q) => q).sort((a, b) => this.perSeries[b] - this.perSeries[a]);
    const reasons: AlertReason[] = [];
    for (const q of order) {
      if (reasons.length > 0 && (this.perSeries[q] < REASON_SHARE || reasons.length >= 3)) break;
      reasons.push({ feature: this.meta.series[q], share: Math.round(this.perSeries[q] * 1000) / 1000, text: this.describe(q, values[this.meta.series[q]], this.rowVol[j * s + q], features, shares) });
    }
    countAlert(this.stats, RULE, severity);
    return {
      line: this.rowLineNo[j],
      file,
      ts,
      score: Math.round(score * 1e6) / 1e6,
      severity,
      rule: RULE,
      record: { ts, values },
      reasons,
    };
  }

  /** A sentence on series q (values[q] is its current value), from the feature of its block with the largest share. */
  private describe(q: number, value: number, vol: number, row: Float64Array, shares: Float64Array): string {
    const { k, window, scales, series } = this.meta;
    const w = this.blockWidth;
    const base = q * w;
    let best = 0;
    for (let c = 1; c < w; c++) if (shares[base + c] > shares[base + best]) best = c;
    const name = series[q];
    const sc = scales[q];
    const typical = `typical ${fmt(sc.p01)}-${fmt(sc.p99)}`;
    const sd = (c: number) => fmt(Math.sqrt(row[base + c]));
    if (best === k + 3) return `${name} flat at ${fmt(value)}: unchanged for ${Math.round(Math.expm1(row[base + best]))} points`;
    if (best === k + 2) {
      const eps = VOL_EPS * sc.step;
      const step = Math.max(0, Math.exp(vol) * (sc.step + eps) - eps);
      return `${name} ${fmt(value)}: median step ${fmt(step)} over the last ${window}, typical ${fmt(sc.step)}`;
    }
    if (best === k + 1) return `${name} ${fmt(value)}: moved ${sd(best)} sd over ${k - 1} steps (${typical})`;
    if (best === k) return `${name} ${fmt(value)}: a step of ${sd(best)} sd from the previous value (${typical})`;
    if (best > 0) return `${name} was ${sd(best)} sd from its recent median ${best} point${best > 1 ? "s" : ""} ago (${typical})`;
    return `${name} ${fmt(value)}: ${sd(0)} sd from its recent median (${typical})`;
  }

  private skip(file: string, line: number, reason: string): void {
    countSkipped(this.stats, file, line, reason);
  }

  private grow(n: number): void {
    if (this.rowLineNo.length >= n) return;
    this.rowWarm = new Uint8Array(n);
    this.rowIndex = new Float64Array(n);
    this.rowLineNo = new Int32Array(n);
    this.rowSeconds = new Float64Array(n);
    this.rowValues = new Float64Array(n * this.meta.series.length);
    this.rowVol = new Float64Array(n * this.meta.series.length);
  }
}

/** A number for people: up to 4 significant digits, no exponent for everyday sizes. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
