/**
 * The Numenta Anomaly Benchmark's scorer, written from its published description
 * (Lavin & Ahmad 2015) and the behaviour of NAB's own scorer (numenta/NAB: the
 * sweeper, the corpus-wide threshold optimisation, the normalisation), so that NAB's
 * figures can be reproduced from a detector's per-row scores. Test-only: not shipped.
 *
 *   - each series has windows (NAB's window file, or nabWindows from the labels: 10%
 *     of the series over the number of anomalies, centred on each, merged);
 *   - the probationary period is the first min(floor(15% n), 750) rows: its rows are
 *     not scored, and a window with no row after it costs nothing;
 *   - a row inside a window is worth tp x sigma(-(end - i + 1) / width) / sigma(-1)
 *     (tp at the window's first row, falling towards 0 at its end); a window counts
 *     its best (earliest) detection, or -fn when it has none;
 *   - a row outside every window costs fp, each: the full fp before the first window,
 *     fp x |sigma(|i - prevEnd| / (prevWidth - 1))| after one (little just after it);
 *     sigma(x) = 2 / (1 + e^(5x)) - 1, and -1 from x >= 3;
 *   - a detection is a row whose score reaches the threshold; ONE threshold for the
 *     whole corpus, the one that maximises its total (ties: the higher one), per profile;
 *   - normalised: 100 (raw - null) / (perfect - null), perfect = tp per scored window,
 *     null = -fn per window of the corpus NAB's null detector was scored on: NAB's
 *     normaliser reads the null baseline from the null detector's results file, and the
 *     one NAB ships covers the whole benchmark (NAB_FULL_WINDOWS). Figures quoted for a
 *     part of NAB ("HTM 82.39 on these 28 series") use that baseline: pass
 *     `{ nullWindows: NAB_FULL_WINDOWS }`; by default the corpus' own windows count.
 */

/** Weights of one NAB profile (A_FP and A_FN given as positive costs). */
export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

/** NAB's three application profiles (its config/profiles.json). */
export const NAB_PROFILES: Readonly<Record<"standard" | "reward_low_FP_rate" | "reward_low_FN_rate", Readonly<NabProfile>>> = Object.freeze({
  standard: Object.freeze({ tp: 1, fp: 0.11, fn: 1 }),
  reward_low_FP_rate: Object.freeze({ tp: 1, fp: 0.22, fn: 1 }),
  reward_low_FN_rate: Object.freeze({ tp: 1, fp: 0.11, fn: 2 }),
});

/** NAB's standard profile. */
export const NAB_STANDARD: Readonly<NabProfile> = NAB_PROFILES.standard;

/** Windows of the whole NAB corpus (58 series), what its shipped null detector's results are scored on. */
export const NAB_FULL_WINDOWS = 116;

/** How the total is normalised: `nullWindows`, the windows the null baseline counts (default: the corpus' own). */
export interface NabNormalisation {
  nullWindows?: number;
}

/** Share of a series that is probationary, and its cap in rows. */
export const PROBATION_SHARE = 0.15;
export const PROBATION_MAX = 750;

/** An inclusive window of row indices. */
export interface NabWindow {
  start: number;
  end: number;
}

/** One scored series: a score per row and either its windows or the rows of its labelled anomalies. */
export interface NabSeries {
  name: string;
  scores: ArrayLike<number>;
  anomalies?: readonly number[];
  windows?: readonly NabWindow[];
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

/** 2 sigmoid(-5 x) - 1: +0.987 at x = -1 (a window's start), 0 at x = 0, -1 from x = 3 on. */
export function scaledSigmoid(x: number): number {
  if (x >= 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** Rows of the probationary period of a series of n rows. */
export function probationRows(n: number): number {
  return Math.min(Math.floor(PROBATION_SHARE * n), PROBATION_MAX);
}

/** Windows of a series of n rows with anomalies at the given rows: 10% of n over their number, centred, overlapping ones merged. */
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
  return out;
}

/** The windows of a series: given, or from its anomalies. */
function windowsOf(s: NabSeries): readonly NabWindow[] {
  if (s.windows !== undefined) return s.windows;
  return nabWindows(s.scores.length, s.anomalies ?? []);
}

/**
 * What each row of a series of n rows is worth when detected (NAB's sweep): `weight` (a
 * reward inside a window, a cost outside), `window` (the window's index, -1 outside,
 * -2 in the probationary period), and `scored`, the windows with a row after probation.
 */
export function sweepRows(n: number, windows: readonly NabWindow[], profile: NabProfile = NAB_STANDARD): { weight: Float64Array; window: Int32Array; scored: number } {
  const p = probationRows(n);
  const weight = new Float64Array(n);
  const window = new Int32Array(n);
  let w = 0;
  let prev: NabWindow | null = null;
  for (let i = 0; i < n; i++) {
    while (w < windows.length && windows[w].end < i) prev = windows[w++];
    const win = w < windows.length && windows[w].start <= i ? windows[w] : null;
    if (win !== null) {
      weight[i] = (profile.tp * scaledSigmoid(-(win.end - i + 1) / (win.end - win.start + 1))) / MAX_TP;
      window[i] = w;
    } else {
      weight[i] = profile.fp * (prev === null ? -1 : scaledSigmoid(Math.abs(i - prev.end) / Math.max(1, prev.end - prev.start)));
      window[i] = -1;
    }
    if (i < p) window[i] = -2;
  }
  return { weight, window, scored: windows.filter((x) => x.end >= p).length };
}

/** Score one series at one threshold (detection: score >= threshold; NaN never detects). */
function scoreSeries(s: NabSeries, threshold: number, profile: NabProfile): NabSeriesResult {
  const n = s.scores.length;
  const { weight, window, scored } = sweepRows(n, windowsOf(s), profile);
  const best = new Map<number, number>();
  let raw = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    if (!(s.scores[i] >= threshold) || window[i] === -2) continue;
    if (window[i] === -1) {
      raw += weight[i];
      fp++;
    } else if (!best.has(window[i])) best.set(window[i], weight[i]);
  }
  for (const v of best.values()) raw += v;
  raw -= profile.fn * (scored - best.size);
  return { name: s.name, raw, tp: best.size, fp, fn: scored - best.size, nullScore: -profile.fn * scored, perfect: profile.tp * scored };
}

/** Score every series at one threshold. */
export function scoreCorpus(series: readonly NabSeries[], threshold: number, profile: NabProfile = NAB_STANDARD, norm: NabNormalisation = {}): NabCorpusResult {
  const results = series.map((s) => scoreSeries(s, threshold, profile));
  const sum = (f: (r: NabSeriesResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const raw = sum((r) => r.raw);
  const nul = norm.nullWindows === undefined ? sum((r) => r.nullScore) : -profile.fn * norm.nullWindows;
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

/** Normalised score of one series on its own (0 when it has no window). */
export function normalisedOf(r: NabSeriesResult): number {
  return r.perfect === r.nullScore ? 0 : (100 * (r.raw - r.nullScore)) / (r.perfect - r.nullScore);
}

/**
 * The threshold that maximises the corpus total, as NAB finds it: every countable row
 * of every series sorted by score, highest first; the total after each distinct score
 * is that threshold's (a window keeps its best detection); the best total wins, ties to
 * the higher threshold (+Infinity: never fire).
 */
export function optimiseThreshold(series: readonly NabSeries[], profile: NabProfile = NAB_STANDARD, norm: NabNormalisation = {}): NabCorpusResult {
  const scores: number[] = [];
  const weights: number[] = [];
  const windows: number[] = [];
  let nWindows = 0;
  let total = 0;
  for (const s of series) {
    const { weight, window, scored } = sweepRows(s.scores.length, windowsOf(s), profile);
    total -= profile.fn * scored;
    for (let i = 0; i < s.scores.length; i++) {
      if (window[i] === -2 || !Number.isFinite(s.scores[i])) continue;
      scores.push(s.scores[i]);
      weights.push(weight[i]);
      windows.push(window[i] < 0 ? -1 : nWindows + window[i]);
    }
    nWindows += windowsOf(s).length;
  }
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]);
  const best = new Float64Array(nWindows).fill(-profile.fn);
  let bestTotal = total;
  let bestThreshold = Infinity;
  for (let j = 0; j < order.length; j++) {
    const r = order[j];
    const w = windows[r];
    if (w < 0) total += weights[r];
    else if (weights[r] > best[w]) {
      total += weights[r] - best[w];
      best[w] = weights[r];
    }
    const last = j + 1 === order.length || scores[order[j + 1]] !== scores[r];
    if (last && total > bestTotal + 1e-12) {
      bestTotal = total;
      bestThreshold = scores[r];
    }
  }
  return scoreCorpus(series, bestThreshold, profile, norm);
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
