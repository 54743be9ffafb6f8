/**
 * A NAB-style scorer for streaming anomaly detectors, written from the Numenta
 * Anomaly Benchmark's published description (Lavin & Ahmad 2015, "Evaluating
 * real-time anomaly detection algorithms"):
 *
 *   - each labelled anomaly gets a window centred on it, of length 10% of the series
 *     divided by the number of anomalies (clipped to the series);
 *   - the first detection inside a window earns A_TP x sigma(position): about 0.99 at
 *     the window's start, falling to about 0 at its end; later ones in that window
 *     count nothing;
 *   - a detection outside every window costs A_FP, scaled by the same sigmoid after
 *     a window (a detection just after one costs little, one far after costs the
 *     full A_FP), the full A_FP before the first window;
 *   - a window without a detection costs A_FN;
 *   - the first 15% of each series (at most 750 rows) is the probationary period:
 *     detections there are not counted, and a window wholly inside it is dropped;
 *   - the corpus total is normalised: a detector that never fires scores 0, one that
 *     fires exactly at the first countable row of every window scores 100;
 *   - detections are rows whose score reaches a threshold chosen ONCE for the whole
 *     corpus, the one that maximises the total (NAB optimises one per detector).
 */

/** Weights of one NAB profile (A_FP and A_FN given as positive costs). */
export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

/** NAB's standard profile. */
export const NAB_STANDARD: Readonly<NabProfile> = Object.freeze({ tp: 1, fp: 0.11, fn: 1 });

/** Share of a series that is probationary, and its cap in rows. */
export const PROBATION_SHARE = 0.15;
export const PROBATION_MAX = 750;

/** One scored series: a score per row and the row indices of its labelled anomalies. */
export interface NabSeries {
  name: string;
  scores: ArrayLike<number>;
  anomalies: readonly number[];
}

/** An inclusive window of row indices. */
export interface NabWindow {
  start: number;
  end: number;
}

/** The result of one series at one threshold. */
export interface NabSeriesResult {
  name: string;
  raw: number;
  tp: number;
  fp: number;
  fn: number;
  /** Raw score of a detector that never fires and of a perfect one, on this series. */
  nullScore: number;
  perfect: number;
}

/** The result of a corpus at one threshold. */
export interface NabCorpusResult {
  threshold: number;
  /** 100 (raw - null) / (perfect - null) over the corpus. */
  normalised: number;
  raw: number;
  tp: number;
  fp: number;
  fn: number;
  series: NabSeriesResult[];
}

/** 2 sigmoid(-5 x) - 1: +0.987 at x = -1 (a window's start), 0 at x = 0, -1 beyond x = 3. */
export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

/** Rows of the probationary period of a series of n rows. */
export function probationRows(n: number): number {
  return Math.min(Math.floor(PROBATION_SHARE * n), PROBATION_MAX);
}

/** Windows of a series of n rows with anomalies at the given rows (sorted, overlapping ones merged, probation dropped). */
export function nabWindows(n: number, anomalies: readonly number[]): NabWindow[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`series length must be an integer >= 1, got ${n}`);
  for (const a of anomalies) {
    if (!Number.isInteger(a) || a < 0 || a >= n) throw new RangeError(`anomaly rows must be integers in [0, ${n - 1}], got ${a}`);
  }
  if (anomalies.length === 0) return [];
  const half = Math.floor((0.1 * n) / anomalies.length / 2);
  const out: NabWindow[] = [];
  for (const a of [...anomalies].sort((x, y) => x - y)) {
    const w = { start: Math.max(0, a - half), end: Math.min(n - 1, a + half) };
    const last = out[out.length - 1];
    if (last !== undefined && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push(w);
  }
  const p = probationRows(n);
  return out.filter((w) => w.end >= p);
}

/** Raw NAB score of detections (a flag per row) against windows, with probation rows ignored. */
export function scoreDetections(detected: (row: number) => boolean, n: number, windows: readonly NabWindow[], profile: NabProfile = NAB_STANDARD): { raw: number; tp: number; fp: number; fn: number } {
  const p = probationRows(n);
  let raw = 0;
  let tp = 0;
  let fp = 0;
  let w = 0; // the first window not wholly before the row
  let prev: NabWindow | null = null;
  let hit = false;
  const close = () => {
    if (!hit) raw -= profile.fn;
  };
  for (let i = p; i < n; i++) {
    while (w < windows.length && windows[w].end < i) {
      close();
      prev = windows[w++];
      hit = false;
    }
    if (!detected(i)) continue;
    const win = w < windows.length && windows[w].start <= i ? windows[w] : null;
    if (win !== null) {
      if (hit) continue;
      hit = true;
      tp++;
      const width = win.end - win.start + 1;
      raw += profile.tp * scaledSigmoid(-(win.end - i + 1) / width);
    } else {
      fp++;
      const cost = prev === null ? -1 : scaledSigmoid(Math.abs(prev.end - i) / Math.max(1, prev.end - prev.start));
      raw += profile.fp * cost;
    }
  }
  for (; w < windows.length; w++) {
    close();
    hit = false;
  }
  return { raw, tp, fp, fn: windows.length - tp };
}

/** Score every series at one threshold (detection: score >= threshold; NaN never detects). */
export function scoreCorpus(series: readonly NabSeries[], threshold: number, profile: NabProfile = NAB_STANDARD): NabCorpusResult {
  const results: NabSeriesResult[] = series.map((s) => {
    const n = s.scores.length;
    const windows = nabWindows(n, s.anomalies);
    const r = scoreDetections((i) => s.scores[i] >= threshold, n, windows, profile);
    const p = probationRows(n);
    const perfect = windows.reduce((sum, w) => {
      const first = Math.max(w.start, p);
      return sum + profile.tp * scaledSigmoid(-(w.end - first + 1) / (w.end - w.start + 1));
    }, 0);
    return { name: s.name, ...r, nullScore: -profile.fn * windows.length, perfect };
  });
  const sum = (f: (r: NabSeriesResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const raw = sum((r) => r.raw);
  const nul = sum((r) => r.nullScore);
  const perfect = sum((r) => r.perfect);
  return {
    threshold,
    normalised: perfect === nul ? 0 : (100 * (raw - nul)) / (perfect - nul),
    raw,
    tp: sum((r) => r.tp),
    fp: sum((r) => r.fp),
    fn: sum((r) => r.fn),
    series: results,
  };
}

/** Normalised score of one series on its own (100 (raw - null) / (perfect - null); 0 when it has no window). */
export function normalisedOf(r: NabSeriesResult): number {
  return r.perfect === r.nullScore ? 0 : (100 * (r.raw - r.nullScore)) / (r.perfect - r.nullScore);
}

/**
 * The threshold that maximises the corpus total, tried at every distinct score among
 * the highest `top` countable scores and at `grid` quantiles below them (and at
 * +Infinity: never fire). Ties go to the higher threshold.
 */
export function optimiseThreshold(series: readonly NabSeries[], profile: NabProfile = NAB_STANDARD, top = 1500, grid = 200): NabCorpusResult {
  const all: number[] = [];
  for (const s of series) {
    for (let i = probationRows(s.scores.length); i < s.scores.length; i++) if (Number.isFinite(s.scores[i])) all.push(s.scores[i]);
  }
  all.sort((a, b) => b - a);
  const candidates = new Set<number>([Infinity]);
  for (let i = 0; i < Math.min(top, all.length); i++) candidates.add(all[i]);
  for (let g = 0; g < grid && all.length > top; g++) candidates.add(all[top + Math.floor(((all.length - top - 1) * g) / grid)]);
  let best: NabCorpusResult | null = null;
  for (const t of [...candidates].sort((a, b) => b - a)) {
    const r = scoreCorpus(series, t, profile);
    if (best === null || r.raw > best.raw + 1e-12) best = r;
  }
  return best ?? scoreCorpus(series, Infinity, profile);
}

/** Row indices of anomaly timestamps (epoch ms): for each, the first row at or after it. */
export function rowsOfTimestamps(timestamps: ArrayLike<number>, anomalies: readonly number[]): number[] {
  return anomalies.map((t) => {
    let lo = 0;
    let hi = timestamps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (timestamps[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}
