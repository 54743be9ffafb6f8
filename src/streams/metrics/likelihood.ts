/**
 * The anomaly likelihood of a metric stream: how unlikely the latest raw forest
 * scores are under the stream's own longer-run distribution of them. The raw score
 * is not comparable across series (a noisy series scores higher all along); a tail
 * probability is, so one threshold fits every series.
 *
 *   "mean"   the mean of the last `short` raw scores against a Gaussian fitted to the
 *            last `long` such means (Numenta's anomaly likelihood for HTM)
 *   "peaks"  the raw score itself against the empirical distribution of the last
 *            `long` raw scores, with an exponential tail fitted to the exceedances
 *            over its 98th percentile beyond it (peaks over threshold)
 *   "both"   the smaller tail probability of the two, doubled
 *
 * With `training` (the default), the raw score is also judged against the training
 * scores (an exponential tail through the calibration's p99 and p99.9), and the
 * smaller tail probability counts: what training called normal stays the reference
 * for sudden outliers even when recent incidents have fattened the history's tail.
 * Until the value recurs: once `recur` of the last `long` rows scored as high (a daily
 * step the short training never saw, now a regular pattern), the training reference
 * no longer calls it rare, the row joins the history however unlikely it was, and the
 * history alone judges it; with `recurShare` (the default) it is at least as likely as
 * the share of the history's rows reaching it: beyond the tail's threshold the
 * exponential fitted to the exceedances put a step that comes back twice a day
 * (NAB's art_daily_no_noise) at p = 10^-2.8, where its share of the history is 10^-2.2.
 *
 * The score is the tail probability p on a log scale: -log10(p + 1e-10) / 10 in
 * [0, 1] (0.5 is p = 1e-5, 1 is p <= 1e-10; NAB's HTM detector reports the same),
 * so that thresholds near p = 1e-5 do not crowd against 1.0. Until `minHistory`
 * rows are known, the distribution comes from the training scores (the model's
 * calibration). Rows beyond doubt (p <= 1e-5) are kept out of the history (`exclude`),
 * so an anomaly does not widen the distribution it is judged by.
 *
 * One alert per anomaly: after a row reaches `alertScore`, rows report at most
 * HOLD_CAP x alertScore until `hold` rows have passed since the unbroken run of rows
 * at the alert level that started it (a lasting anomaly is one alert, however long).
 * A row reaching the alert level again after a quiet row does not start the hold over
 * (with `rearm` it does, as before): re-armed so, a false alert in a noisy stretch
 * kept the hold up for hundreds of rows and hid the real anomaly after it. A row that beats the score that started
 * the hold by `breakMargin` (0.1: ten times less likely) reports in full and starts
 * a new hold: a larger anomaly is not swallowed by a smaller one (1: never).
 */

import { Episodes } from "./episodes.js";

/** Options of the anomaly likelihood; see LIKELIHOOD_DEFAULTS. */
export interface LikelihoodOptions {
  /** How a row's tail probability is found (see the top of the file). */
  method: "mean" | "peaks" | "both";
  /** Raw scores averaged into the recent mean, an integer in [1, 1000]. */
  short: number;
  /** Rows the distribution is estimated on, an integer in [10, 1e6]. */
  long: number;
  /** Rows needed before the stream's own distribution replaces the training one, an integer in [10, long]. */
  minHistory: number;
  /** Rows held below the alert level after a row reaches it, an integer in [0, 1e6]. */
  hold: number;
  /** Any held row reaching the alert level starts the hold again, not only an unbroken run (it then ends after `hold` quiet rows in a row). */
  rearm: boolean;
  /** How far a held row must beat the score that started the hold to report in full, a number in [0, 1] (1: never). */
  breakMargin: number;
  /** Keep rows with p <= 1e-5 (EXCLUDE_FROM) out of the history. */
  exclude: boolean;
  /** Also judge the raw score against the training scores (the smaller tail probability counts). */
  training: boolean;
  /** Rows of the last `long` scoring at least as high after which a raw score is the stream's own pattern (no training reference, not excluded), an integer in [1, 1e6]. */
  recur: number;
  /** A recurred raw score is at least as likely as its share of the history's rows reaching it (beyond the tail's threshold too, where the exponential tail would extrapolate). */
  recurShare: boolean;
  /**
   * Raw score added per unit of ln(feature / its training maximum) of the feature reaching
   * furthest past it (features.ts' beyondReach; models with a `reach` only), a number in [0, 1] (0: none).
   */
  magnitude: number;
}

export const LIKELIHOOD_DEFAULTS: Readonly<LikelihoodOptions> = Object.freeze({
  method: "peaks", short: 10, long: 5000, minHistory: 100, hold: 75, rearm: false, breakMargin: 1, exclude: true, training: true, recur: 3, recurShare: true, magnitude: 0.1,
});

/** Share of alertScore that held rows report at most. */
export const HOLD_CAP = 0.6;
// The Gaussian's sd and the tail's scale are at least this (raw scores live in [0, 1]):
// a flat score history would otherwise make any wobble certain.
const SD_FLOOR = 0.005;
const P_FLOOR = 1e-10;
/**
 * Rows scoring this much (p <= 1e-5) stay out of the history with `exclude`. Not the
 * alert level: leaving out every row above a lower one thins the tail the next fit
 * sees, so more rows score high and are left out (measured: at p = 0.003 the alerts
 * of the corpus went from 153 to 723 false ones).
 */
export const EXCLUDE_FROM = 0.5;
// Peaks over threshold: the tail starts at this quantile; its fit (a sort of the history) is
// redone every REFIT rows, or every (history rows) / REFIT_SHARE when that is more: a long
// history costs no more per row than 2,000 rows did.
const TAIL_QUANTILE = 0.98;
const REFIT = 100;
const REFIT_SHARE = 20;
const METHODS = ["mean", "peaks", "both"] as const;

/** Validate options; each error names the option, the range and the value. */
export function resolveLikelihoodOptions(o: Partial<LikelihoodOptions> = {}): LikelihoodOptions {
  if (typeof o !== "object" || o === null) throw new RangeError(`likelihood options must be an object, got ${String(o)}`);
  const r = { ...LIKELIHOOD_DEFAULTS, ...o };
  if (!METHODS.includes(r.method)) throw new RangeError(`likelihood.method must be one of ${METHODS.join(", ")}; got ${JSON.stringify(r.method)}`);
  const int = (name: "short" | "long" | "minHistory" | "hold" | "recur", lo: number, hi: number) => {
    const v = r[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`likelihood.${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  };
  int("short", 1, 1000);
  int("long", 10, 1_000_000);
  int("minHistory", 10, r.long);
  int("hold", 0, 1_000_000);
  int("recur", 1, 1_000_000);
  for (const name of ["breakMargin", "magnitude"] as const) {
    const v = r[name];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new RangeError(`likelihood.${name} must be a number in [0, 1], got ${String(v)}`);
  }
  for (const b of ["exclude", "training", "rearm", "recurShare"] as const) {
    if (typeof r[b] !== "boolean") throw new RangeError(`likelihood.${b} must be true or false, got ${String(r[b])}`);
  }
  return r;
}

/** Upper tail of the standard normal, Q(z) = erfc(z / sqrt 2) / 2 (the Chebyshev fit of Numerical Recipes' erfc, relative error < 1.2e-7). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const e = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return z >= 0 ? e / 2 : 1 - e / 2;
}

/** The score of a tail probability: -log10(p + 1e-10) / 10, in [0, 1]. */
export function scoreOfTail(p: number): number {
  return Math.min(1, Math.max(0, -Math.log10(p + P_FLOOR) / 10));
}

/** A ring of the last `size` values with their running sum and sum of squares. */
class Window {
  readonly values: Float64Array;
  count = 0;
  private head = 0;
  private sum = 0;
  private sumSq = 0;

  constructor(size: number) {
    this.values = new Float64Array(size);
  }

  push(x: number): void {
    const size = this.values.length;
    if (this.count === size) {
      const old = this.values[this.head];
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.count++;
    this.values[this.head] = x;
    this.sum += x;
    this.sumSq += x * x;
    this.head = (this.head + 1) % size;
    // Summing afresh once a lap keeps rounding from piling up.
    if (this.head === 0) {
      this.sum = this.values.reduce((a, b) => a + b, 0);
      this.sumSq = this.values.reduce((a, b) => a + b * b, 0);
    }
  }

  mean(): number {
    return this.sum / this.count;
  }

  sd(): number {
    const m = this.mean();
    return Math.sqrt(Math.max(0, this.sumSq / this.count - m * m));
  }

  clear(): void {
    this.count = this.head = this.sum = this.sumSq = 0;
  }
}

/** The training distribution of raw scores, from a calibration's anchors (min, median, p99, p99.9, ...). */
export interface ScorePrior {
  mean: number;
  sd: number;
  /** The exponential tail: P(score > p99) = 0.01, scale (p99.9 - p99) / ln 10. */
  p99: number;
  tailScale: number;
}

/** The training prior from a calibration's score anchors. */
export function priorOf(anchors: readonly number[]): ScorePrior {
  return {
    mean: anchors[1],
    sd: Math.max(SD_FLOOR, (anchors[2] - anchors[1]) / 2.326),
    p99: anchors[2],
    tailScale: Math.max(SD_FLOOR, (anchors[3] - anchors[2]) / Math.LN10),
  };
}

/** One stream's likelihood state. */
export class AnomalyLikelihood {
  private readonly recent: Window;
  /** Recent means ("mean") and raw scores ("peaks") of rows that joined the history. */
  private readonly means: Window;
  private readonly raws: Window;
  /** What `recur` counts: the episodes of the last `long` rows (excluded ones too) reaching a raw score. */
  private readonly episodes: Episodes;
  /** Peaks over threshold, refitted every REFIT rows or more (see REFIT_SHARE): the sorted history, the threshold, its exceedance rate and scale. */
  private sorted = new Float64Array(0);
  private threshold = NaN;
  private rate = 0;
  private scale = 0;
  private sinceFit = 0;
  private held = 0;
  private peak = 0;
  /** Whether the previous row reached the alert level (an unbroken run keeps the hold up). */
  private wasHigh = false;
  /** The last row's likelihood score before the hold. */
  last = 0;

  /** `prior`: the training distribution of raw scores, used until the history is long enough. */
  constructor(readonly opts: LikelihoodOptions, private readonly prior: ScorePrior) {
    this.recent = new Window(opts.short);
    this.means = new Window(opts.method === "peaks" ? 1 : opts.long);
    this.raws = new Window(opts.method === "mean" ? 1 : opts.long);
    this.episodes = new Episodes(opts.long, Math.max(1, opts.hold));
  }

  /** Start over, as for a new stream. */
  reset(): void {
    this.recent.clear();
    this.means.clear();
    this.raws.clear();
    this.episodes.clear();
    this.threshold = NaN;
    this.sinceFit = this.held = this.peak = 0;
    this.wasHigh = false;
  }

  /** The reported score of the next row's raw score (see the top of the file). */
  next(raw: number, alertScore: number): number {
    const o = this.opts;
    this.recent.push(raw);
    const m = this.recent.mean();
    // A raw score reached by `recur` separate episodes of the last `long` rows is a pattern of the stream's own.
    const recurred = this.episodes.reaching(raw) >= o.recur;
    let p = 1;
    if (o.method !== "peaks") p = this.meanTail(m);
    if (o.method !== "mean") {
      const peaks = this.peaksTail(raw, recurred && o.recurShare);
      p = o.method === "both" ? Math.min(1, 2 * Math.min(p, peaks)) : peaks;
    }
    if (o.training && !recurred) p = Math.min(p, this.trainingTail(raw));
    const s = scoreOfTail(p);
    this.last = s;
    this.episodes.push(raw);
    if (!o.exclude || s < EXCLUDE_FROM || recurred) {
      if (o.method !== "peaks") this.means.push(m);
      if (o.method !== "mean") this.raws.push(raw);
    }
    const high = s >= alertScore;
    const run = this.wasHigh;
    this.wasHigh = high;
    if (this.held > 0 && s < this.peak + o.breakMargin) {
      this.held = high && (o.rearm || run) ? o.hold : this.held - 1;
      return Math.min(s, HOLD_CAP * alertScore);
    }
    if (s >= alertScore) {
      this.held = o.hold;
      this.peak = s;
    }
    return s;
  }

  /** Upper tail of the recent mean m under the Gaussian of the history's means (or the prior). */
  private meanTail(m: number): number {
    const own = this.means.count >= this.opts.minHistory;
    const mean = own ? this.means.mean() : this.prior.mean;
    const sd = own ? this.means.sd() : this.prior.sd;
    return normalTail((m - mean) / Math.max(sd, SD_FLOOR));
  }

  /** Upper tail of a raw score under the training distribution: 1 up to its p99, the exponential tail through p99 and p99.9 beyond. */
  private trainingTail(x: number): number {
    const pr = this.prior;
    return x <= pr.p99 ? 1 : 0.01 * Math.exp(-(x - pr.p99) / pr.tailScale);
  }

  /** Upper tail of a raw score: empirical below the tail's threshold, exponential beyond it (at least the empirical share with `share`). */
  private peaksTail(x: number, share: boolean): number {
    const w = this.raws;
    if (w.count < this.opts.minHistory) {
      const pr = this.prior;
      return x <= pr.p99 ? Math.max(0.01, normalTail((x - pr.mean) / pr.sd)) : 0.01 * Math.exp(-(x - pr.p99) / pr.tailScale);
    }
    if (Number.isNaN(this.threshold) || ++this.sinceFit >= Math.max(REFIT, this.raws.count / REFIT_SHARE)) this.fit();
    // Share of the history at or above x.
    const a = this.sorted;
    const empirical = (a.length - lowerBound(a, x) + 1) / (a.length + 1);
    if (x <= this.threshold) return empirical;
    const tail = this.rate * Math.exp(-(x - this.threshold) / this.scale);
    return share ? Math.max(tail, empirical) : tail;
  }

  /** Refit the tail on the history: threshold at TAIL_QUANTILE, scale the mean exceedance. */
  private fit(): void {
    const w = this.raws;
    this.sorted = Float64Array.from(w.values.subarray(0, w.count)).sort();
    const a = this.sorted;
    const at = Math.min(a.length - 1, Math.floor(TAIL_QUANTILE * a.length));
    this.threshold = a[at];
    this.sinceFit = 0;
    let excess = 0;
    let k = 0;
    for (let i = at + 1; i < a.length; i++) {
      if (a[i] > this.threshold) {
        excess += a[i] - this.threshold;
        k++;
      }
    }
    this.rate = Math.max(1, k) / (a.length + 1);
    this.scale = Math.max(SD_FLOOR, k > 0 ? excess / k : 0);
  }
}

/** Index of the first value of sorted `a` that is >= x (a.length when none is). */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

