/**
 * Telemetry features: per series, a shingle of the last k values, their changes, the
 * step size against its rolling level and the flat run, scaled by what training
 * learned of that series (SeriesScales, in the TelemetrySpec the model carries).
 */

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
  /** 1.4826 MAD of (value - median of the previous `context` values): the unit of `level` (with a context only). */
  level?: number;
  /** 1.4826 MAD of (value - its seasonal slot's level) where defined in training: the unit of `season` (with a season only). */
  season?: number;
}

/** Seasonal slots of the `season` column: the hour of the day (24, UTC) or of the week (168). */
export type Season = "day" | "week";

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
  /** Feature names in column order: per series `name.lag0..lag{k-1}`, `.diff`, `.change`, `.vol`, `.flat`; then SUMMARY_FEATURES when `summary`. */
  features: string[];
  /**
   * Cross-series columns after the blocks: the largest lag0, diff, change and vol of any
   * series. Absent (false) in models made before them, which read as they always did.
   */
  summary?: boolean;
  /**
   * Values the longer-run level looks back over: each block ends with `level`, the
   * value's squared robust z against their median. Absent (0) in models made before it.
   */
  context?: number;
  /**
   * Seasonal slots: each block ends with `season`, the value's squared robust z against
   * its slot's level (see SeasonProfile). Absent (off) in models made before it.
   */
  season?: Season;
  /** Training rows. */
  lines: number;
  /**
   * Per feature column, its largest value over the training rows (reachOf): what the
   * forest's splits can tell apart. Absent in models made before it (no magnitude term).
   */
  reach?: number[];
}

/** The cross-series columns of a spec with `summary`, in order: each the largest of that feature over the series. */
export const SUMMARY_FEATURES: readonly string[] = ["any.lag0", "any.diff", "any.change", "any.vol"];

/** The features of one series, in block order (`.level` with a context, then `.season` with a season). */
export function seriesFeatureNames(name: string, k: number, context = 0, season?: Season): string[] {
  const out: string[] = [];
  for (let j = 0; j < k; j++) out.push(`${name}.lag${j}`);
  out.push(`${name}.diff`, `${name}.change`, `${name}.vol`, `${name}.flat`);
  if (context > 0) out.push(`${name}.level`);
  if (season !== undefined) out.push(`${name}.season`);
  return out;
}

/** Columns of one series' block: k lags, diff, change, vol, flat, level with a context, season with a season. */
export function blockWidthOf(spec: Pick<TelemetrySpec, "k" | "context" | "season">): number {
  return spec.k + 4 + ((spec.context ?? 0) > 0 ? 1 : 0) + (spec.season !== undefined ? 1 : 0);
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

const HOUR_MS = 3_600_000;
/** Weight of a slot's newest visit in its level: about the last 3 days (or weeks) count. */
const SEASON_RATE = 0.3;

/**
 * Online per-slot level of one series: hour of day (24 slots) or hour of week (168),
 * from the row's UTC timestamp. A visit is the run of rows within one clock hour; when
 * it ends, its mean moves the slot's level (the first visit sets it, later ones by
 * SEASON_RATE). A row is compared only with completed visits (not with its own hour,
 * which the shingle already sees), and only once they hold >= 2 values; before that,
 * or without a timestamp, the deviation is NaN (the column reads 0). The deviation is
 * then taken against the median of the last `window` deviations: what is left is the
 * value's departure from the usual shape of the period at the current level, so a
 * drift or a level shift since the slot's last visit does not read as seasonal.
 * Training learns its scale with the same code, so training and detection rows follow
 * the same rule. Slots come from the clock: irregular or gappy sampling needs no special case.
 */
export class SeasonProfile {
  private readonly level: Float64Array;
  private readonly seen: Float64Array;
  private readonly recent: RollingMedian;
  private started = false;
  private hour = NaN;
  private sum = 0;
  private n = 0;

  constructor(readonly slots: number, window: number) {
    this.level = new Float64Array(slots);
    this.seen = new Float64Array(slots);
    this.recent = new RollingMedian(window);
  }

  /** v's departure from its slot's level, less the recent such departures' median (NaN without history or ts); then v joins the current visit. */
  deviation(ts: number, v: number): number {
    if (!Number.isFinite(ts)) return NaN;
    const hour = Math.floor(ts / HOUR_MS);
    if (hour !== this.hour) {
      this.close();
      this.hour = hour;
    }
    const slot = this.slotOf(hour);
    let out = NaN;
    if (this.seen[slot] >= 2) {
      const d = v - this.level[slot];
      if (!this.started) this.recent.fill(d);
      this.started = true;
      out = d - this.recent.median();
      this.recent.push(d);
    }
    this.sum += v;
    this.n++;
    return out;
  }

  private slotOf(hour: number): number {
    return ((hour % this.slots) + this.slots) % this.slots;
  }

  /** End the current visit: its mean moves its slot's level. */
  private close(): void {
    if (this.n === 0) return;
    const slot = this.slotOf(this.hour);
    const mean = this.sum / this.n;
    this.level[slot] = this.seen[slot] === 0 ? mean : this.level[slot] + SEASON_RATE * (mean - this.level[slot]);
    this.seen[slot] += this.n;
    this.sum = 0;
    this.n = 0;
  }
}

/** Slots of a season. */
export function seasonSlots(season: Season): number {
  return season === "day" ? 24 : 168;
}

// Bounds that keep features finite when a training scale is (nearly) zero.
const Z_MAX = 1e6;
// vol = ln((recent median step + EPS) / (typical step + EPS)), EPS a small share of the typical
// step, so a flat line reads about ln(0.01) instead of -infinity.
export const VOL_EPS = 0.01;

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
  /** Per series, the last `context` values (none without a context). */
  private readonly longs: RollingMedian[];
  /** Per series, its seasonal profile (none without a season). */
  private seasons: SeasonProfile[];
  private readonly runs: Float64Array;
  private seen = 0;
  /** Per series, the signed ln(recent median step / typical step) of the last row (its vol feature is the square). */
  readonly lastVol: Float64Array;
  /** Timestamp (epoch ms) of the last row extracted; features depend on order, not on time. */
  lastTs = NaN;

  constructor(spec: TelemetrySpec) {
    this.spec = spec;
    const s = spec.series.length;
    this.block = blockWidthOf(spec);
    this.cols = s * this.block + (spec.summary === true ? SUMMARY_FEATURES.length : 0);
    if (this.cols !== spec.features.length) {
      throw new RangeError(`telemetry spec is inconsistent: ${s} series x ${this.block} features${spec.summary === true ? " + 4 summary columns" : ""} is not ${spec.features.length} feature names`);
    }
    this.lags = new Float64Array(s * spec.k);
    this.heads = new Int32Array(s);
    this.recent = spec.series.map(() => new RollingMedian(spec.window));
    this.steps = spec.series.map(() => new RollingMedian(spec.window));
    this.longs = (spec.context ?? 0) > 0 ? spec.series.map(() => new RollingMedian(spec.context ?? 0)) : [];
    this.seasons = this.freshSeasons();
    this.runs = new Float64Array(s);
    this.lastVol = new Float64Array(s);
  }

  private freshSeasons(): SeasonProfile[] {
    const season = this.spec.season;
    return season === undefined ? [] : this.spec.series.map(() => new SeasonProfile(seasonSlots(season), this.spec.window));
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
      && (spec.summary === true) === (this.spec.summary === true) && (spec.context ?? 0) === (this.spec.context ?? 0) && spec.season === this.spec.season
      && spec.series.every((name, i) => name === this.spec.series[i]);
    if (!same) throw new RangeError("rescale: the new telemetry spec must have the same series, k, window, summary, context and season");
    this.spec = spec;
  }

  /** Start over, as for a new stream. */
  reset(): void {
    this.seen = 0;
    this.lastTs = NaN;
    this.seasons = this.freshSeasons();
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
        this.longs[s]?.fill(v);
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
      const long = this.longs[s];
      if (long !== undefined) {
        out[o++] = sq((v - long.median()) / (sc.level ?? sc.residual));
        long.push(v);
      }
      const season = this.seasons[s];
      if (season !== undefined) {
        const d = season.deviation(ts, v);
        out[o++] = Number.isNaN(d) ? 0 : sq(d / (sc.season ?? sc.residual));
      }
      recent.push(v);
    }
    if (this.spec.summary === true) {
      // lag0, diff, change and vol: block offsets 0, k, k + 1 and k + 2.
      const w = this.block;
      for (const c of [0, k, k + 1, k + 2]) {
        let top = 0;
        for (let s = 0; s < this.spec.series.length; s++) top = Math.max(top, out[offset + s * w + c]);
        out[o++] = top;
      }
    }
    this.seen++;
    this.lastTs = ts;
  }
}

/** Per column of `rows` feature rows (row-major in X), the largest value: a spec's `reach`. */
export function reachOf(X: Float64Array, rows: number, cols: number): number[] {
  const reach = new Array<number>(cols).fill(0);
  for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) reach[c] = Math.max(reach[c], X[i * cols + c]);
  return reach;
}

/**
 * How far a feature row reaches beyond the training rows: the largest ln(feature / its
 * training maximum) over the columns that pass it, 0 when none does. The forest isolates
 * any value past the training range in the same few splits however far past it lies
 * (on NAB's tweets a burst of 6 and one of 50 had the same raw score); this tells them apart.
 */
export function beyondReach(row: Float64Array, offset: number, reach: readonly number[]): number {
  let out = 0;
  for (let c = 0; c < reach.length; c++) {
    const f = row[offset + c];
    if (reach[c] > 0 && f > reach[c]) out = Math.max(out, Math.log(f / reach[c]));
  }
  return out;
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

/**
 * 1.4826 MAD (the standard deviation, for normal data), at least `floor`. When more than
 * half the values sit at the median (a sparse count, mostly 0) the MAD is 0 and every
 * departure would read as a million sd: the mean absolute deviation x 1.2533 (also the
 * sd, for normal data) stands in, as the mean step does for `step`.
 */
function madOf(values: Float64Array, floor: number): number {
  if (values.length === 0) return floor;
  const mid = medianOf(values);
  const dev = values.map((v) => Math.abs(v - mid));
  const mad = 1.4826 * medianOf(dev);
  if (mad > floor) return mad;
  return Math.max(floor, (1.2533 * dev.reduce((a, b) => a + b, 0)) / dev.length);
}

function signedSteps(x: Float64Array): Float64Array {
  const d = new Float64Array(x.length - 1);
  for (let i = 1; i < x.length; i++) d[i - 1] = x[i] - x[i - 1];
  return d;
}

/** 1.4826 MAD of each value's difference from the median of the `window` values before it (the first value fills it). */
function residualScale(x: Float64Array, window: number, floor: number): number {
  const n = x.length;
  const residuals = new Float64Array(Math.max(0, n - 1));
  if (n > 0) {
    const r = new RollingMedian(window);
    r.fill(x[0]);
    for (let i = 1; i < n; i++) {
      residuals[i - 1] = x[i] - r.median();
      r.push(x[i]);
    }
  }
  return madOf(residuals, floor);
}

/** 1.4826 MAD of each value's deviation from its seasonal slot's level, where defined (SeasonProfile); `fallback` when none is. */
function seasonScale(x: Float64Array, ts: Float64Array, season: Season, window: number, floor: number, fallback: number): number {
  const profile = new SeasonProfile(seasonSlots(season), window);
  const devs: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const d = profile.deviation(ts[i], x[i]);
    if (!Number.isNaN(d)) devs.push(d);
  }
  return devs.length > 0 ? madOf(Float64Array.from(devs), floor) : fallback;
}

/**
 * Scales of one series from its training values in stream order (`level` only with a
 * context; `season` only with a season, from the rows' timestamps `ts`, epoch ms).
 */
export function learnSeriesScales(x: Float64Array, k: number, window: number, context = 0, seasonal?: { season: Season; ts: Float64Array }): SeriesScales {
  const n = x.length;
  const sorted = Float64Array.from(x).sort();
  const median = quantileOf(sorted, 0.5);
  // A series constant in training still needs units: a millionth of its size (or 1e-9).
  const floor = Math.max(1e-9, 1e-6 * Math.abs(median));
  const steps = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) steps[i - 1] = Math.abs(x[i] - x[i - 1]);
  const changes = new Float64Array(Math.max(0, n - (k - 1)));
  for (let i = k - 1; i < n; i++) changes[i - (k - 1)] = x[i] - x[i - (k - 1)];
  // Integer series can have a median step of 0; the mean step keeps vol meaningful then.
  let step = steps.length > 0 ? medianOf(steps) : 0;
  if (step <= floor && steps.length > 0) step = steps.reduce((a, b) => a + b, 0) / steps.length;
  const residual = residualScale(x, window, floor);
  return {
    median,
    p01: quantileOf(sorted, 0.01),
    p99: quantileOf(sorted, 0.99),
    step: Math.max(floor, step),
    diff: madOf(steps.length > 0 ? signedSteps(x) : steps, Math.max(floor, step)),
    change: madOf(changes, floor),
    residual,
    ...(context > 0 ? { level: residualScale(x, context, floor) } : {}),
    ...(seasonal !== undefined ? { season: seasonScale(x, seasonal.ts, seasonal.season, window, floor, residual) } : {}),
  };
}
