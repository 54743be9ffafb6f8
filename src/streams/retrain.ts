/**
 * Keeping up with drift, whichever the stream kind: the options, the refresh
 * schedule and the generations of a model (k oldest trees replaced by k fresh ones).
 * streams/http/retrain.ts and streams/metrics/retrain.ts keep the rings and the specs.
 *
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
import { IsolationForest } from "../forest/forest.js";
import { decodeModel, encodeModel } from "../forest/model-file.js";
import { calibrate, type Calibration } from "./severity.js";
import type { CompactTrees } from "../wasm.js";

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
export function resolveRetrainOptions(o: Partial<RetrainOptions>, forest: Pick<IsolationForest, "trees" | "sampleSize">): RetrainOptions {
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

/**
 * One retrainer shape for both stream kinds: a ring fed with recent normal lines
 * (its `offer` takes the kind's record), the schedule (`tick`), and a refresh that
 * returns the next generation of the model.
 */
export interface StreamRetrainer {
  readonly opts: RetrainOptions;
  /** Count scored lines; true when a refresh is due. */
  tick(lines: number, sampleSize: number, now?: number): boolean;
  /** Grow fresh trees on the ring in place of the oldest. */
  refresh(forest: IsolationForest): { forest: IsolationForest; report: RefreshReport };
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
