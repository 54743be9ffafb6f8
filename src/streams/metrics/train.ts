/**
 * Telemetry training: options and defaults, the spec of the training rows, the
 * incremental trainer, and reading a telemetry model's metadata back.
 */
import { emptyTelemetryRow, parseTelemetryHeader, TelemetryParser, type TelemetryHeader, type TelemetryRow } from "./csv.js";
import { learnSeriesScales, seriesFeatureNames, SUMMARY_FEATURES, TelemetryExtractor, type SeriesScales, type TelemetrySpec } from "./features.js";
import { IsolationForest } from "../../forest/forest.js";
import type { ForestOptions } from "../../forest/options.js";
import { calibrate, isCalibration, type Calibration } from "../severity.js";

/** Options of telemetry training; see TELEMETRY_DEFAULTS. */
export interface TelemetryTrainOptions {
  /** Name of the timestamp column (default: the first named ts, time or timestamp). */
  timestamp?: string;
  /** Shingle length, an integer in [2, 64]. */
  k?: number;
  /** Rolling window in values, an integer in [k, 4096]. */
  window?: number;
  /** Values the longer-run level looks back over, an integer in [window, 4096], or 0 (none). */
  context?: number;
  /** Add the cross-series columns (features.ts' SUMMARY_FEATURES); default: when there are 2 series or more. */
  summary?: boolean;
  /** Forest options (trees, sampleSize, seed, ...). */
  forest?: ForestOptions;
}

/** Every telemetry default in one place. */
export const TELEMETRY_DEFAULTS = Object.freeze({
  k: 4,
  window: 16,
  context: 0,
  minSeverity: 50,
  cooldownSeconds: 30,
  // Deeper trees than the log pipeline's 256: a one-point spike stands out in only a few of
  // the row's columns, and measured on the simulator 1024 rows per tree catch clearly more.
  sampleSize: 1024,
});

/** Validated training options. */
function resolveTrainOptions(o: TelemetryTrainOptions): Required<Omit<TelemetryTrainOptions, "timestamp" | "forest" | "summary">> & Pick<TelemetryTrainOptions, "timestamp" | "forest" | "summary"> {
  if (typeof o !== "object" || o === null) throw new TypeError(`telemetry options must be an object, got ${String(o)}`);
  const k = o.k ?? TELEMETRY_DEFAULTS.k;
  if (!Number.isInteger(k) || k < 2 || k > 64) throw new RangeError(`k must be an integer in [2, 64], got ${String(k)}`);
  const window = o.window ?? Math.max(TELEMETRY_DEFAULTS.window, k);
  if (!Number.isInteger(window) || window < k || window > 4096) throw new RangeError(`window must be an integer in [${k}, 4096] (k to 4096), got ${String(window)}`);
  if (o.timestamp !== undefined && (typeof o.timestamp !== "string" || o.timestamp === "")) {
    throw new RangeError(`timestamp must be a non-empty column name, got ${JSON.stringify(o.timestamp)}`);
  }
  const context = o.context ?? TELEMETRY_DEFAULTS.context;
  if (!Number.isInteger(context) || (context !== 0 && (context < window || context > 4096))) {
    throw new RangeError(`context must be 0 or an integer in [${window}, 4096] (window to 4096), got ${String(context)}`);
  }
  if (o.summary !== undefined && typeof o.summary !== "boolean") throw new RangeError(`summary must be true or false, got ${String(o.summary)}`);
  return { k, window, context, timestamp: o.timestamp, forest: o.forest, summary: o.summary };
}

/** The spec of training rows (`values`: rows x series, row-major, in stream order). */
export function learnTelemetrySpec(
  values: Float64Array, rows: number, series: readonly string[], timestamp: string, opts: Pick<TelemetryTrainOptions, "k" | "window" | "summary" | "context"> = {},
): TelemetrySpec {
  const o = resolveTrainOptions(opts);
  const s = series.length;
  if (values.length < rows * s) throw new RangeError(`values holds ${values.length} numbers, fewer than ${rows} rows x ${s} series`);
  const summary = o.summary ?? s > 1;
  const scales: SeriesScales[] = [];
  const col = new Float64Array(rows);
  for (let j = 0; j < s; j++) {
    for (let i = 0; i < rows; i++) col[i] = values[i * s + j];
    scales.push(learnSeriesScales(col, o.k, o.window, o.context));
  }
  return {
    version: 1,
    timestamp,
    series: [...series],
    k: o.k,
    window: o.window,
    scales,
    features: [...series.flatMap((name) => seriesFeatureNames(name, o.k, o.context)), ...(summary ? SUMMARY_FEATURES : [])],
    lines: rows,
    ...(summary ? { summary } : {}),
    ...(o.context > 0 ? { context: o.context } : {}),
  };
}

// ---------------------------------------------------------------- training

/** What a telemetry model carries in forest.metadata.telemetry. */
export interface TelemetryMeta extends TelemetrySpec {
  calibration: Calibration;
}

/** Counts from a telemetry training run. */
export interface TelemetryTrainSummary {
  lines: number;
  parsed: number;
  skipped: Record<string, number>;
  format: "csv";
  series: string[];
  features: string[];
  k: number;
  window: number;
  /** Score at severity 50 (p99 of the training scores) and 75 (p99.9). */
  scoreP99: number;
  scoreP999: number;
  fitMs: number;
  totalMs: number;
}

/** Incremental telemetry trainer: feed line batches (the header first), then finish(). */
export class TelemetryTrainer {
  private readonly opts: ReturnType<typeof resolveTrainOptions>;
  private header: TelemetryHeader | null = null;
  private parser: TelemetryParser | null = null;
  private row: TelemetryRow = emptyTelemetryRow(0);
  private values = new Float64Array(0);
  private rows = 0;
  private lines = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly started = performance.now();

  constructor(options: TelemetryTrainOptions = {}) {
    this.opts = resolveTrainOptions(options);
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.lines;
  }

  /** Add a batch of lines in file order; the first non-blank line must be the header (else a RangeError). */
  add(lines: readonly string[]): void {
    for (const line of lines) {
      this.lines++;
      if (this.parser === null) {
        if (line.trim() === "") {
          this.skip("empty");
          continue;
        }
        this.header = parseTelemetryHeader(line, this.opts.timestamp);
        this.parser = new TelemetryParser(this.header);
        this.row = emptyTelemetryRow(this.header.series.length);
        continue;
      }
      const reason = this.parser.parse(line, this.row);
      if (reason === null) this.push(this.row.values);
      else this.skip(this.isHeader(line) ? "header" : reason);
    }
  }

  /** Learn the spec, replay the rows through the extractor, fit and calibrate. */
  finish(): { forest: IsolationForest; summary: TelemetryTrainSummary } {
    const header = this.header;
    if (header === null) throw new RangeError("telemetry training input is empty: it needs a CSV header line and data lines");
    if (this.rows === 0) {
      const parts = Object.entries(this.skipped).map(([k, v]) => `${k}: ${v}`);
      throw new RangeError(`no data line of the telemetry training input could be parsed (${parts.length ? `skipped ${parts.join(", ")}` : "none after the header"})`);
    }
    const n = this.rows;
    const spec = learnTelemetrySpec(this.values, n, header.series, header.columns[header.timestamp], this.opts);
    const fx = new TelemetryExtractor(spec);
    const X = new Float64Array(n * fx.cols);
    const s = spec.series.length;
    for (let i = 0; i < n; i++) fx.extract(NaN, this.values.subarray(i * s, (i + 1) * s), X, i * fx.cols);
    const t0 = performance.now();
    const forest = IsolationForest.fit(
      { data: X, rows: n, cols: fx.cols },
      { sampleSize: TELEMETRY_DEFAULTS.sampleSize, ...this.opts.forest, featureNames: spec.features },
    );
    const fitMs = performance.now() - t0;
    const calibration = calibrate(forest.score({ data: X, rows: n, cols: fx.cols }));
    const meta: TelemetryMeta = { ...spec, calibration };
    forest.metadata = { telemetry: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: n,
        skipped: { ...this.skipped },
        format: "csv",
        series: spec.series,
        features: spec.features,
        k: spec.k,
        window: spec.window,
        scoreP99: calibration.scores[2],
        scoreP999: calibration.scores[3],
        fitMs,
        totalMs: performance.now() - this.started,
      },
    };
  }

  private isHeader(line: string): boolean {
    try {
      const h = parseTelemetryHeader(line, this.opts.timestamp);
      return this.header !== null && h.columns.join(",") === this.header.columns.join(",");
    } catch {
      return false;
    }
  }

  private push(v: Float64Array): void {
    const s = v.length;
    if ((this.rows + 1) * s > this.values.length) {
      const grown = new Float64Array(Math.max(1024, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values.set(v, this.rows * s);
    this.rows++;
  }

  private skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }
}

/** Train a telemetry model on CSV lines held in memory (header first). */
export function trainTelemetry(lines: readonly string[], options: TelemetryTrainOptions = {}): { forest: IsolationForest; summary: TelemetryTrainSummary } {
  const t = new TelemetryTrainer(options);
  t.add(lines);
  return t.finish();
}

/** Whether a model was trained on telemetry (forest.metadata.telemetry is present). */
export function isTelemetryModel(forest: IsolationForest): boolean {
  return typeof forest.metadata.telemetry === "object" && forest.metadata.telemetry !== null;
}

/** The telemetry metadata of a model, or a clear error when it was not trained on telemetry. */
export function telemetryOf(forest: IsolationForest): TelemetryMeta {
  const t = forest.metadata.telemetry as TelemetryMeta | undefined;
  if (typeof t !== "object" || t === null || t.version !== 1 || !Array.isArray(t.series) || !Array.isArray(t.scales) || !isCalibration(t.calibration)) {
    throw new RangeError("this model was not trained on telemetry (no telemetry spec inside); train it with `logforest train --format csv`");
  }
  if (t.features.length !== forest.cols || t.scales.length !== t.series.length) {
    throw new RangeError(`model is inconsistent: its telemetry spec has ${t.features.length} features for ${t.series.length} series but the forest has ${forest.cols} columns`);
  }
  return t;
}
