/**
 * Keeping up with drift on HTTP logs: the ring of recent normal records and the
 * spec relearned on it (the refresh itself, its options and schedule: ../retrain.ts).
 */
import { FeatureExtractor, routeKey, type FeatureSpec } from "./features.js";
import { IsolationForest } from "../../forest/forest.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { Columns, learnSpec, type PipelineMeta } from "./train.js";
import {
  growGeneration, nextGeneration, RefreshSchedule, resolveRetrainOptions, type RefreshReport, type RetrainOptions, type StreamRetrainer,
} from "../retrain.js";

export {
  growGeneration, inParts, nextGeneration, RefreshSchedule, replaceTrees, resolveRetrainOptions, RETRAIN_DEFAULTS,
  type Generation, type RefreshReport, type RetrainOptions,
} from "../retrain.js";

/** The ring of recent normal records and the refresh schedule. */
export class Retrainer implements StreamRetrainer {
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
