/**
 * Keeping up with drift. While detecting, the parsed records of recent lines that
 * did not alert are kept in a ring. Every so often a refresh:
 *   1. relearns the feature spec on the ring: routes with enough recent lines get
 *      fresh baselines (latency, size, error share, share of traffic), routes that
 *      became common join the vocabulary, the others keep what training learned;
 *   2. replays the ring through a FeatureExtractor with that spec (exactly as
 *      training does) and grows k fresh trees on those rows, which replace the k
 *      oldest trees of the forest;
 *   3. recalibrates severity on the ring's scores.
 * A lasting change of normal (a route twice as slow for good, a new route) becomes
 * most of the ring, so its baselines move and its lines read as ordinary again; an
 * incident of a few minutes is a small part of a ring of thousands of lines.
 *
 * A refresh takes tens of milliseconds, between two batches: scoring does not stop
 * for longer than that. The model file, when asked for, is replaced atomically
 * (temporary file, fsync, rename) with a generation number in its metadata.
 */
import { FeatureExtractor, routeKey, type FeatureSpec } from "./features.js";
import { IsolationForest } from "../../forest/forest.js";
import { decodeModel, encodeModel } from "../../forest/model-file.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { calibrate, type Calibration } from "../severity.js";
import { Columns, learnSpec, type PipelineMeta } from "./train.js";
import type { CompactTrees } from "../../wasm.js";

/** Options of retraining. */
export interface RetrainOptions {
  /** Refresh after this many scored lines. */
  everyLines: number;
  /** Or after this many minutes of wall-clock time, whichever comes first (0: lines only). */
  everyMinutes: number;
  /** Trees replaced per refresh. */
  trees: number;
  /** Recent lines kept to learn from. */
  sample: number;
  /** A route needs this many lines in the ring for its baseline to be relearned (or to join the vocabulary). */
  minRouteLines: number;
  /** Replace this model file after each refresh; none when absent. */
  save?: string;
}

export const RETRAIN_DEFAULTS: RetrainOptions = { everyLines: 5000, everyMinutes: 0, trees: 10, sample: 10_000, minRouteLines: 50 };

/** Validate retrain options; errors name the option, the range and the value. */
export function resolveRetrainOptions(o: Partial<RetrainOptions>, forest: IsolationForest): RetrainOptions {
  const r = { ...RETRAIN_DEFAULTS, ...o };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int("retrain every (lines)", r.everyLines, 100, 1e9);
  int("retrain trees", r.trees, 1, forest.trees);
  int("retrain sample", r.sample, Math.max(forest.sampleSize, 100), 10_000_000);
  int("retrain minRouteLines", r.minRouteLines, 1, r.sample);
  if (!(Number.isFinite(r.everyMinutes) && r.everyMinutes >= 0 && r.everyMinutes <= 10_080)) {
    throw new RangeError(`retrain every (minutes) must be a number in [0, 10080], got ${r.everyMinutes}`);
  }
  return r;
}

/** What one refresh did. */
export interface RefreshReport {
  generation: number;
  replaced: number;
  ringRows: number;
  /** Routes whose baseline was relearned, and routes added to the vocabulary. */
  relearned: number;
  added: string[];
  ms: number;
}

/** When refreshes are due: every `everyLines` scored lines or `everyMinutes` of wall-clock time. */
export class RefreshSchedule {
  private since = 0;
  private last = Date.now();

  constructor(private readonly opts: RetrainOptions) {}

  /** Count scored lines; true when a refresh is due and `ready` (the ring can feed one). */
  tick(lines: number, ready: boolean, now = Date.now()): boolean {
    this.since += lines;
    const byTime = this.opts.everyMinutes > 0 && now - this.last >= this.opts.everyMinutes * 60_000;
    return (this.since >= this.opts.everyLines || byTime) && ready;
  }

  /** A refresh starts: count afresh. */
  restart(): void {
    this.since = 0;
    this.last = Date.now();
  }
}

/** What a refresh works on: the model's trees and metadata, and where its generations stand. */
export interface Generation<M> {
  trees: CompactTrees;
  meta: ReturnType<typeof decodeModel>["meta"];
  /** metadata[key] of the model: the pipeline or telemetry block. */
  block: M & { generation?: number; oldestTree?: number };
  /** The generation the refresh makes, and the first tree it replaces. */
  generation: number;
  oldest: number;
  /** Seed for this generation's fresh trees. */
  seed: number;
}

/** Open a model for its next generation; `key` names the metadata block that carries the generation. */
export function nextGeneration<M>(forest: IsolationForest, key: "pipeline" | "telemetry"): Generation<M> {
  const { trees, meta } = decodeModel(forest.toBytes());
  const m = meta as { metadata: Record<string, M & { generation?: number; oldestTree?: number }>; options: { seed: number } };
  const block = m.metadata[key];
  const generation = (block.generation ?? 0) + 1;
  return { trees, meta, block, generation, oldest: block.oldestTree ?? 0, seed: (m.options.seed + generation * 7919) % Number.MAX_SAFE_INTEGER };
}

/**
 * Grow `opts.trees` fresh trees on rows in place of the oldest, with `block` as the
 * model's metadata[key] (generation stamped on), its severity recalibrated on the
 * rows' scores when `recalibrate`; the new model, saved atomically when opts.save is set.
 */
export function growGeneration<M extends { calibration: Calibration }>(
  g: Generation<M>, key: "pipeline" | "telemetry", forest: IsolationForest, rows: { data: Float64Array; rows: number; cols: number },
  opts: RetrainOptions, block: M, recalibrate: boolean,
): IsolationForest {
  const fresh = IsolationForest.fit(rows, { trees: opts.trees, sampleSize: forest.sampleSize, seed: g.seed }).compactTrees;
  const merged = replaceTrees(g.trees, fresh, g.oldest);
  const next = { ...block, generation: g.generation, oldestTree: (g.oldest + opts.trees) % g.trees.trees };
  (g.meta as { metadata: Record<string, unknown> }).metadata[key] = next;
  if (recalibrate) next.calibration = calibrate(IsolationForest.fromBytes(encodeModel(merged, g.meta)).score(rows));
  const model = IsolationForest.fromBytes(encodeModel(merged, g.meta));
  if (opts.save) model.save(opts.save);
  return model;
}

/** The ring of recent normal records and the refresh schedule. */
export class Retrainer {
  readonly opts: RetrainOptions;
  private readonly ring: LogRecord[];
  private rows = 0;
  private next = 0;
  private readonly schedule: RefreshSchedule;

  constructor(forest: IsolationForest, opts: Partial<RetrainOptions>) {
    this.opts = resolveRetrainOptions(opts, forest);
    this.ring = Array.from({ length: this.opts.sample }, emptyRecord);
    this.schedule = new RefreshSchedule(this.opts);
  }

  /** Keep a copy of one record of a line that did not alert. */
  offer(r: LogRecord): void {
    Object.assign(this.ring[this.next], r);
    this.next = (this.next + 1) % this.opts.sample;
    if (this.rows < this.opts.sample) this.rows++;
  }

  /** Count scored lines; true when a refresh is due (by lines or by minutes) and the ring can feed one. */
  tick(lines: number, sampleSize: number, now = Date.now()): boolean {
    return this.schedule.tick(lines, this.rows >= Math.max(sampleSize, 100), now);
  }

  /** Relearn the spec, grow fresh trees on the ring, swap out the oldest, recalibrate. */
  refresh(forest: IsolationForest): { forest: IsolationForest; report: RefreshReport } {
    const t0 = performance.now();
    this.schedule.restart();
    const g = nextGeneration<PipelineMeta>(forest, "pipeline");

    // The ring in stream order, as columns.
    const cols = new Columns();
    for (let k = 0; k < this.rows; k++) cols.push(this.ring[(this.next - this.rows + k + this.opts.sample) % this.opts.sample]);
    const { spec, relearned, added } = refreshSpec(g.block.spec, cols, this.opts.minRouteLines);

    const fx = new FeatureExtractor(spec);
    const X = new Float64Array(cols.n * fx.cols);
    const r = emptyRecord();
    for (let i = 0; i < cols.n; i++) {
      cols.fill(i, r);
      fx.extract(r, X, i * fx.cols);
    }
    const rows = { data: X, rows: cols.n, cols: fx.cols };
    const next = growGeneration(g, "pipeline", forest, rows, this.opts, { ...g.block, spec }, true);
    return {
      forest: next,
      report: { generation: g.generation, replaced: this.opts.trees, ringRows: this.rows, relearned, added, ms: performance.now() - t0 },
    };
  }
}

/**
 * The spec with the ring's evidence folded in: routes with at least `minLines`
 * recent lines take the ring's baseline (new ones join the vocabulary); the rest
 * keep their trained baseline. Shares are renormalised over the union.
 */
export function refreshSpec(old: FeatureSpec, ring: Columns, minLines: number): { spec: FeatureSpec; relearned: number; added: string[] } {
  const recent = learnSpec(ring, old.windowSeconds, minLines, old.features);
  const routes: FeatureSpec["routes"] = {};
  const added: string[] = [];
  let relearned = 0;
  // The ring's share of each relearned route, and the trained share for the rest, renormalised.
  const ringCount = new Map<string, number>();
  for (let i = 0; i < ring.n; i++) {
    const key = routeKey(ring.method[i], ring.route[i]);
    ringCount.set(key, (ringCount.get(key) ?? 0) + 1);
  }
  for (const [key, b] of Object.entries(old.routes)) routes[key] = { ...b };
  for (const [key, b] of Object.entries(recent.routes)) {
    if (!(key in routes)) added.push(key);
    else relearned++;
    routes[key] = { ...b };
  }
  let total = 0;
  for (const [key, b] of Object.entries(routes)) {
    const inRing = ringCount.get(key) ?? 0;
    b.share = key in recent.routes ? inRing / ring.n : b.share;
    total += b.share;
  }
  for (const b of Object.values(routes)) b.share /= total || 1;
  const methodRarity = { ...old.methodRarity, ...recent.methodRarity };
  // Route order must stay stable for known routes (ids index the vocabulary); new ones go last.
  return {
    spec: { ...old, routes, overall: recent.overall, methodRarity },
    relearned,
    added,
  };
}

/** Trees of `old` with those at [start, start + k) (mod count) replaced by the k trees of `fresh`. */
export function replaceTrees(old: CompactTrees, fresh: CompactTrees, start: number): CompactTrees {
  const T = old.trees;
  const k = fresh.trees;
  const pick = (t: number): [CompactTrees, number] => {
    const offset = (t - start + T) % T;
    return offset < k ? [fresh, offset] : [old, t];
  };
  let total = 0;
  for (let t = 0; t < T; t++) {
    const [src, i] = pick(t);
    total += src.treeStart[i + 1] - src.treeStart[i];
  }
  const out: CompactTrees = {
    trees: T,
    treeStart: new Uint32Array(T + 1),
    feature: new Int32Array(total),
    split: new Float32Array(total),
    leafSize: new Uint32Array(total),
    right: new Uint32Array(total),
  };
  for (let t = 0; t < T; t++) {
    const [src, i] = pick(t);
    const from = src.treeStart[i];
    const to = src.treeStart[i + 1];
    const at = out.treeStart[t];
    out.feature.set(src.feature.subarray(from, to), at);
    out.split.set(src.split.subarray(from, to), at);
    out.leafSize.set(src.leafSize.subarray(from, to), at);
    out.right.set(src.right.subarray(from, to), at); // right links are relative to their tree
    out.treeStart[t + 1] = at + (to - from);
  }
  return out;
}

/**
 * With retraining, a refresh happens between batches; a batch longer than `every`
 * lines is taken in parts of `every` so refreshes come every `every` lines even when a
 * whole file arrives in one batch. Returns false when the batch needs no splitting.
 */
export function inParts(
  lines: readonly string[], lineNo: number | ArrayLike<number>, every: number,
  part: (lines: readonly string[], lineNo: number | ArrayLike<number>) => void,
): boolean {
  if (lines.length <= every) return false;
  for (let i = 0; i < lines.length; i += every) {
    const m = Math.min(every, lines.length - i);
    part(lines.slice(i, i + m), typeof lineNo === "number" ? lineNo + i : Array.from({ length: m }, (_, j) => lineNo[i + j]));
  }
  return true;
}
