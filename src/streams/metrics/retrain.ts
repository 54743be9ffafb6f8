/**
 * Retraining for telemetry streams (`detect --retrain` with a telemetry model): the
 * values of recent rows are kept in a ring, each marked normal or not (it alerted, or
 * would have but for warm-up or cooldown). A refresh relearns each series' scales on
 * the ring (robust statistics: median, quantiles, MADs), replays the whole ring through
 * a fresh extractor (as training does, so the history has no holes), grows k trees on
 * the normal rows only, which replace the k oldest. The schedule and options are
 * those of streams/retrain.ts.
 *
 * Severity keeps the training calibration. Scores are on the forest's normalised
 * scale, and what drift moves is the features, which the relearned scales and fresh
 * trees absorb. Recalibrating on the ring was measured to go wrong both ways (8,640
 * simulated rows with 28 incidents): on the normal rows only, the alerted tail is
 * missing, thresholds drop, more rows alert and leave the ring (precision 0.72 ->
 * 0.57); on every row, the incidents raise the tail (28/28 -> 14/28 caught).
 */
import type { IsolationForest } from "../../forest/forest.js";
import {
  growGeneration, nextGeneration, RefreshSchedule, resolveRetrainOptions, type RefreshReport, type RetrainOptions, type StreamRetrainer,
} from "../retrain.js";
import { reachOf, TelemetryExtractor } from "./features.js";
import { learnTelemetrySpec, type TelemetryMeta } from "./train.js";

/** The ring of recent normal rows of a telemetry stream and its refresh schedule. */
export class TelemetryRetrainer implements StreamRetrainer {
  readonly opts: RetrainOptions;
  private readonly series: number;
  private readonly values: Float64Array;
  private readonly ts: Float64Array;
  private readonly normal: Uint8Array;
  private rows = 0;
  private normalRows = 0;
  private next = 0;
  private readonly schedule: RefreshSchedule;

  constructor(forest: IsolationForest, series: number, opts: Partial<RetrainOptions>) {
    this.opts = resolveRetrainOptions(opts, forest);
    this.series = series;
    this.values = new Float64Array(this.opts.sample * series);
    this.ts = new Float64Array(this.opts.sample);
    this.normal = new Uint8Array(this.opts.sample);
    this.schedule = new RefreshSchedule(this.opts);
  }

  /** Keep one scored row (time and values, copied); `normal` when its severity was below the alert threshold. */
  offer(ts: number, values: Float64Array, normal: boolean): void {
    this.values.set(values.subarray(0, this.series), this.next * this.series);
    this.ts[this.next] = ts;
    if (this.rows === this.opts.sample) this.normalRows -= this.normal[this.next];
    this.normal[this.next] = normal ? 1 : 0;
    this.normalRows += this.normal[this.next];
    this.next = (this.next + 1) % this.opts.sample;
    if (this.rows < this.opts.sample) this.rows++;
  }

  /** Count scored rows; true when a refresh is due (by rows or minutes) and the ring can feed one. */
  tick(rows: number, sampleSize: number, now = Date.now()): boolean {
    return this.schedule.tick(rows, this.normalRows >= Math.max(sampleSize, 100), now);
  }

  /** Relearn the scales, grow fresh trees on the ring's normal rows, swap out the oldest. */
  refresh(forest: IsolationForest): { forest: IsolationForest; report: RefreshReport } {
    const t0 = performance.now();
    this.schedule.restart();
    const g = nextGeneration<TelemetryMeta>(forest, "telemetry");
    const old = g.block;

    // The ring in stream order.
    const s = this.series;
    const n = this.rows;
    const values = new Float64Array(n * s);
    const ts = new Float64Array(n);
    const normal = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      const at = (this.next - n + k + this.opts.sample) % this.opts.sample;
      values.set(this.values.subarray(at * s, at * s + s), k * s);
      ts[k] = this.ts[at];
      normal[k] = this.normal[at];
    }
    const spec = learnTelemetrySpec(values, n, old.series, old.timestamp, { k: old.k, window: old.window, summary: old.summary === true, context: old.context ?? 0, season: old.season ?? "off" }, ts);
    const fx = new TelemetryExtractor(spec);
    const c = fx.cols;
    const X = new Float64Array(n * c);
    let kept = 0;
    for (let k = 0; k < n; k++) {
      // Every row feeds the history; only normal ones are kept as training rows.
      fx.extract(ts[k], values.subarray(k * s, k * s + s), X, kept * c);
      kept += normal[k];
    }
    const rows = { data: X.subarray(0, kept * c), rows: kept, cols: c };
    // The calibration is kept: see the note at the top.
    // The new trees split the relearned features: a model with a reach gets theirs.
    const reach = old.reach !== undefined ? { reach: reachOf(rows.data, kept, c) } : {};
    const refreshed = growGeneration(g, "telemetry", forest, rows, this.opts, { ...spec, ...reach, calibration: old.calibration }, false);
    return { forest: refreshed, report: { generation: g.generation, replaced: this.opts.trees, ringRows: kept, relearned: s, added: [], ms: performance.now() - t0 } };
  }
}
