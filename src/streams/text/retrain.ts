/**
 * Retraining for free-text models (`detect --retrain` with a text model): what is normal
 * now is learned from what the detector saw lately, so that a lasting change (a new
 * deployment's new template, a template logged six times as often for good, completion
 * times that doubled) stops alerting, while an incident does not become normal.
 *
 * What is normal is judged against the recent past itself, not against the old model:
 * a lasting change soon makes most of what is kept, an incident stays a small part of
 * it, and robust statistics keep the small part out. Two rings are kept: the last
 * `sample` lines (each line's template, level, time and message) and the last 256
 * closed windows (each window's template and level counts). A refresh, every
 * `everyLines` scored lines or `everyMinutes` minutes, once 8 windows are kept:
 *   1. rates: each template with `minRouteLines` lines or more in the kept windows gets
 *      its mean, variance and peak per window from them, leaving out the windows where
 *      its count is far above the kept windows' median (an incident's burst): above
 *      median + 6 x max(1.4826 MAD, sqrt(median), 1). The warn/error count likewise;
 *   2. templates: one met in detection (no profile) joins the profiles, so it is no
 *      longer new, once it has `minRouteLines` lines in the kept windows and appears
 *      in at least a quarter of them (a steady part of the log, not a burst); its gaps,
 *      parameter ranges and level come from its lines in the line ring. A known
 *      template's parameter ranges widen to take in its values in the line ring
 *      (positions with 20 values or more), leaving out values beyond 3 interquartile
 *      ranges of the quartiles; they never narrow (a ring holds fewer values than
 *      training, so its extremes would be too tight a range); its gaps and span stay as trained (a heartbeat's gaps need a longer
 *      view than a ring of recent lines);
 *   3. the window forest: `trees` fresh trees replace the oldest, grown on the kept
 *      windows in which no column is far above its median (as in 1), once there are as
 *      many as the forest's sample size (so its depth normalisation holds). The
 *      calibration stays as trained (as for metric streams, streams/metrics/retrain.ts);
 *   4. the miner's templates are the live ones (those learned in detection are kept).
 * Sessions stay as trained. The model file, when asked for, is replaced atomically
 * with a generation number (`generation` in the text model).
 */
import { IsolationForest } from "../../forest/forest.js";
import { decodeModel, encodeModel } from "../../forest/model-file.js";
import { RefreshSchedule, replaceTrees, resolveRetrainOptions, type RefreshReport, type RetrainOptions } from "../retrain.js";
import { rootOf, type Template, type TemplateMiner } from "./miner.js";
import { ProfileBuilder, worseLevel, type ParamRange, type TemplateProfile } from "./profile.js";
import type { Level } from "./record.js";
import { windowRow, type TextModel } from "./train.js";

/** Closed windows kept. */
export const TEXT_RETRAIN_WINDOWS = 256;
/** Windows needed before a refresh. */
export const TEXT_RETRAIN_MIN_WINDOWS = 8;

/** Check retrain options against a text model's window forest (null when it has none). */
export function resolveTextRetrainOptions(o: Partial<RetrainOptions>, windowForest: IsolationForest | null): RetrainOptions {
  return resolveRetrainOptions(o, windowForest ?? { trees: Number.MAX_SAFE_INTEGER, sampleSize: 1 });
}

/** The highest count not taken for a burst among `counts` (see the file comment). */
export function burstBound(counts: readonly number[]): number {
  const s = counts.slice().sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const mad = quantile(s.map((c) => Math.abs(c - median)).sort((a, b) => a - b), 0.5);
  return median + 6 * Math.max(1.4826 * mad, Math.sqrt(median), 1);
}

/** Values within 3 interquartile ranges of the quartiles (of `values`, sorted here). */
export function withinFences(values: readonly number[]): number[] {
  const s = values.slice().sort((a, b) => a - b);
  const q1 = quantile(s, 0.25);
  const q3 = quantile(s, 0.75);
  const iqr = q3 - q1;
  return s.filter((v) => v >= q1 - 3 * iqr && v <= q3 + 3 * iqr);
}

/** The q-quantile of sorted values (the lower one of two). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.floor(q * (sorted.length - 1))] ?? 0);
}

/** Mean, variance and peak of counts. */
function rateOf(counts: readonly number[]): { mean: number; variance: number; peak: number } {
  let sum = 0;
  let sq = 0;
  let peak = 0;
  for (const c of counts) {
    sum += c;
    sq += c * c;
    if (c > peak) peak = c;
  }
  const n = Math.max(1, counts.length);
  const mean = sum / n;
  return { mean, variance: Math.max(0, sq / n - mean * mean), peak };
}

/** The rings of recent lines and windows, and the refresh schedule; see the file comment. */
export class TextRetrainer {
  readonly opts: RetrainOptions;
  private readonly schedule: RefreshSchedule;
  private readonly templates: (Template | undefined)[];
  private readonly messages: string[];
  private readonly levels: Level[];
  private readonly ats: Float64Array;
  private rows = 0;
  private next = 0;
  private readonly windows: { counts: Map<number, number>; levels: number[] }[] = [];

  constructor(opts: Partial<RetrainOptions>, windowForest: IsolationForest | null) {
    this.opts = resolveTextRetrainOptions(opts, windowForest);
    this.schedule = new RefreshSchedule(this.opts);
    const n = this.opts.sample;
    this.templates = new Array<Template | undefined>(n);
    this.messages = new Array<string>(n).fill("");
    this.levels = new Array<Level>(n).fill("");
    this.ats = new Float64Array(n);
  }

  /** Keep one line: its template, level, time and (first-line) message. */
  offerLine(t: Template, level: Level, at: number, message: string): void {
    const i = this.next;
    this.templates[i] = t;
    this.levels[i] = level;
    this.ats[i] = at;
    this.messages[i] = message;
    this.next = (i + 1) % this.opts.sample;
    if (this.rows < this.opts.sample) this.rows++;
  }

  /** Keep one closed window's template and level counts (copied). */
  offerWindow(counts: ReadonlyMap<number, number>, levels: readonly number[]): void {
    if (this.windows.length === TEXT_RETRAIN_WINDOWS) this.windows.shift();
    this.windows.push({ counts: new Map(counts), levels: levels.slice() });
  }

  /** Count scored lines; true when a refresh is due and enough windows are kept. */
  tick(lines: number, now = Date.now()): boolean {
    return this.schedule.tick(lines, this.windows.length >= TEXT_RETRAIN_MIN_WINDOWS, now);
  }

  /**
   * The next generation of `model`: rates, templates and forest relearned as the file
   * comment says, the miner's state from `miner`; `forest` is the window forest in use
   * (null when the model has none).
   */
  refresh(model: TextModel, forest: IsolationForest | null, miner: TemplateMiner): { model: TextModel; report: RefreshReport } {
    const t0 = performance.now();
    this.schedule.restart();
    const generation = (model.generation ?? 0) + 1;
    const W = this.windows.length;

    // Per window, counts by template as it stands now (merges in detection fold in).
    const perWindow = this.windows.map((w) => {
      const m = new Map<number, number>();
      for (const [id, c] of w.counts) {
        const r = miner.resolve(id)?.id ?? id;
        m.set(r, (m.get(r) ?? 0) + c);
      }
      return m;
    });
    const series = new Map<number, number[]>();
    perWindow.forEach((m, k) => {
      for (const [id, c] of m) {
        let xs = series.get(id);
        if (xs === undefined) {
          xs = new Array<number>(W).fill(0);
          series.set(id, xs);
        }
        xs[k] = c;
      }
    });

    // The line ring's lines, per template: gaps, parameter values, level.
    const builders = new Map<number, ProfileBuilder>();
    for (let k = 0; k < this.rows; k++) {
      const i = (this.next - this.rows + k + this.opts.sample) % this.opts.sample;
      const t = this.templates[i];
      if (t === undefined) continue;
      const root = rootOf(t);
      let b = builders.get(root.id);
      if (b === undefined) {
        b = new ProfileBuilder();
        builders.set(root.id, b);
      }
      // One window per line: only gaps, parameters and level are taken from the builder.
      b.add(this.levels[i] ?? "", this.ats[i] ?? 0, k, (this.messages[i] ?? "").trim().split(/\s+/), root.tokens);
    }

    const profiles: Record<string, TemplateProfile> = { ...model.profiles };
    let relearned = 0;
    const added: string[] = [];
    for (const [id, xs] of series) {
      let total = 0;
      let present = 0;
      for (const c of xs) {
        total += c;
        if (c > 0) present++;
      }
      if (total < this.opts.minRouteLines) continue;
      const bound = burstBound(xs);
      const rates = rateOf(xs.filter((c) => c <= bound));
      const old = profiles[String(id)];
      const ring = builders.get(id);
      if (old === undefined) {
        if (present < W / 4 || ring === undefined) continue;
        profiles[String(id)] = { ...ring.finish(1), ...rates, params: ring.ranges(withinFences) };
        added.push(`E${id}`);
      } else {
        const params: Record<string, ParamRange> = { ...old.params };
        if (ring !== undefined) {
          for (const [pos, r] of Object.entries(ring.ranges(withinFences))) {
            const was = params[pos];
            params[pos] = was === undefined ? r : { lo: Math.min(was.lo, r.lo), hi: Math.max(was.hi, r.hi), n: was.n + r.n };
          }
        }
        profiles[String(id)] = { ...old, ...rates, level: worseLevel(old.level, ring?.level ?? old.level), params };
        relearned++;
      }
    }

    // Warn/error lines per window.
    const warnCounts = this.windows.map((w) => (w.levels[1] ?? 0) + (w.levels[2] ?? 0));
    const warnBound = burstBound(warnCounts);
    const warn = rateOf(warnCounts.filter((c) => c <= warnBound));

    // Fresh trees on the windows with no column far above its median.
    let windowForest = model.forest;
    let replaced = 0;
    let oldestTree = model.oldestTree ?? 0;
    let forestRows = 0;
    if (forest !== null && model.forest !== null) {
      const f = model.forest;
      const rows = perWindow.map((m, k) => {
        let fresh = 0;
        for (const [id, c] of m) if (profiles[String(id)] === undefined) fresh += c;
        return windowRow(f.templateIds, m, fresh, this.windows[k]?.levels ?? []);
      });
      const cols = rows[0]?.length ?? 0;
      const bounds = Array.from({ length: cols }, (_, j) => burstBound(rows.map((r) => r[j] ?? 0)));
      const calm = rows.filter((r) => r.every((v, j) => v <= (bounds[j] ?? Infinity)));
      forestRows = calm.length;
      if (calm.length >= forest.sampleSize) {
        const data = new Float64Array(calm.length * cols);
        calm.forEach((r, k) => data.set(r, k * cols));
        const { trees: old, meta } = decodeModel(forest.toBytes());
        const seed = ((meta as { options: { seed: number } }).options.seed + generation * 7919) % Number.MAX_SAFE_INTEGER;
        const fresh = IsolationForest.fit({ data, rows: calm.length, cols }, { trees: this.opts.trees, sampleSize: forest.sampleSize, seed });
        windowForest = { ...f, bytes: encodeModel(replaceTrees(old, fresh.compactTrees, oldestTree), meta) };
        fresh.close();
        replaced = this.opts.trees;
        oldestTree = (oldestTree + replaced) % forest.trees;
      }
    }

    const next: TextModel = { ...model, profiles, warn, forest: windowForest, miner: miner.toState(), generation, oldestTree };
    return { model: next, report: { generation, replaced, ringRows: forestRows, relearned, added, ms: performance.now() - t0 } };
  }
}
