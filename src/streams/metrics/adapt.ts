/**
 * Continuous adaptation of a telemetry model: the feature rows of recent rows that
 * were not anomalous (their likelihood below the alert level) are kept in a sliding
 * reservoir, and every `every` rows one tree grown on it replaces the oldest tree.
 * A lasting change (a new level, a new texture) fills the reservoir and, a tree at a
 * time, becomes what the forest calls normal within trees x every rows; the rows that
 * alerted are never in it, so an anomaly does not teach the forest itself.
 *
 * Unlike `--retrain` (streams/metrics/retrain.ts) the scales are not relearned and no
 * rows are replayed: a replacement costs one small fit and the model's re-encoding.
 */
import type { IsolationForest } from "../../forest/forest.js";
import { growGeneration, nextGeneration, RETRAIN_DEFAULTS } from "../retrain.js";
import type { TelemetryMeta } from "./train.js";

/** Options of continuous adaptation; see ADAPT_DEFAULTS. */
export interface AdaptOptions {
  /** Rows between two tree replacements, an integer in [10, 1e6]. */
  every: number;
  /** Recent normal rows kept to grow trees on, an integer in [100, 1e6] (at least the forest's sampleSize). */
  reservoir: number;
}

export const ADAPT_DEFAULTS: Readonly<AdaptOptions> = Object.freeze({ every: 50, reservoir: 2000 });

/** Validate options; each error names the option, the range and the value. */
export function resolveAdaptOptions(o: Partial<AdaptOptions>, forest: IsolationForest): AdaptOptions {
  if (typeof o !== "object" || o === null) throw new RangeError(`adapt options must be an object, got ${String(o)}`);
  const r = { ...ADAPT_DEFAULTS, ...o };
  if (!Number.isInteger(r.every) || r.every < 10 || r.every > 1_000_000) throw new RangeError(`adapt.every must be an integer in [10, 1000000], got ${String(r.every)}`);
  const lo = Math.max(100, forest.sampleSize);
  if (!Number.isInteger(r.reservoir) || r.reservoir < lo || r.reservoir > 1_000_000) {
    throw new RangeError(`adapt.reservoir must be an integer in [${lo}, 1000000], got ${String(r.reservoir)}`);
  }
  return r;
}

/** The reservoir of recent normal feature rows and the replacement schedule. */
export class TreeAdapter {
  private readonly rows: Float64Array;
  private count = 0;
  private head = 0;
  private since = 0;
  /** Trees replaced so far. */
  replaced = 0;

  constructor(readonly opts: AdaptOptions, private readonly cols: number) {
    this.rows = new Float64Array(opts.reservoir * cols);
  }

  /** Count a scored row; keep a copy of its features when it was normal. */
  offer(features: Float64Array, normal: boolean): void {
    this.since++;
    if (!normal) return;
    this.rows.set(features.subarray(0, this.cols), this.head * this.cols);
    this.head = (this.head + 1) % this.opts.reservoir;
    if (this.count < this.opts.reservoir) this.count++;
  }

  /** Whether a replacement is due and the reservoir can feed a tree of the forest's sampleSize. */
  due(forest: IsolationForest): boolean {
    return this.since >= this.opts.every && this.count >= forest.sampleSize;
  }

  /** The model with its oldest tree replaced by one grown on the reservoir. */
  replace(forest: IsolationForest): IsolationForest {
    this.since = 0;
    this.replaced++;
    const g = nextGeneration<TelemetryMeta>(forest, "telemetry");
    const data = { data: this.rows.subarray(0, this.count * this.cols), rows: this.count, cols: this.cols };
    return growGeneration(g, "telemetry", forest, data, { ...RETRAIN_DEFAULTS, trees: 1 }, g.block, false);
  }
}
