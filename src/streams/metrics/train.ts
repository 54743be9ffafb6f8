/**
 * Telemetry training: options and defaults, the spec of the training rows, the
 * incremental trainer, and reading a telemetry model's metadata back.
 */
import { emptyTelemetryRow, parseTelemetryHeader, TelemetryParser, type TelemetryHeader, type TelemetryRow } from "./csv.js";
import { learnSeriesScales, reachOf, seriesFeatureNames, SUMMARY_FEATURES, TelemetryExtractor, type Season, type SeriesScales, type TelemetrySpec } from "./features.js";
import { IsolationForest } from "../../forest/forest.js";
import { Rng } from "../../forest/random.js";
import type { ForestOptions } from "../../forest/options.js";
import { calibrate, type Calibration } from "../severity.js";
import { checkTelemetryMeta, type TelemetryMeta } from "./model-check.js";

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
  /**
   * A seasonal column per series: "day" (hour of day) or "week" (hour of week), the value
   * against its slot's level (features.ts' SeasonProfile); "off" (default): none.
   */
  season?: Season | "off";
  /** Add the cross-series columns (features.ts' SUMMARY_FEATURES); default: when there are 2 series or more. */
  summary?: boolean;
  /** Forest options (trees, sampleSize, seed, ...). */
  forest?: ForestOptions;
  /**
   * Feature rows held for the forest and the calibration, an integer in [100, 1e8] (default
   * 250,000). Past it every row still goes through the extractor (its rolling state is
   * the whole stream's) and a seeded reservoir (the forest's seed) keeps this many; up to
   * it the model is the one of holding them all. The raw values (8 bytes per series per
   * row) are kept for the spec.
   */
  maxRows?: number;
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
  maxRows: 250_000,
});

/** Rows per chunk of a trainer's stored values. */
const CHUNK_ROWS = 65_536;

/** Validated training options. */
function resolveTrainOptions(o: TelemetryTrainOptions): Required<Omit<TelemetryTrainOptions, "timestamp" | "forest" | "summary">> & Pick<TelemetryTrainOptions, "timestamp" | "forest" | "summary"> {
  const season = o?.season ?? "off";
  if (season !== "off" && season !== "day" && season !== "week") throw new RangeError(`season must be "day", "week" or "off", got ${JSON.stringify(season)}`);
  const maxRows = o?.maxRows ?? TELEMETRY_DEFAULTS.maxRows;
  if (!Number.isSafeInteger(maxRows) || maxRows < 100 || maxRows > 100_000_000) throw new RangeError(`maxRows must be an integer in [100, 100000000], got ${String(maxRows)}`);
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
  return { k, window, context, season, timestamp: o.timestamp, forest: o.forest, summary: o.summary, maxRows };
}

type SpecOptions = Pick<TelemetryTrainOptions, "k" | "window" | "summary" | "context" | "season">;

/**
 * The spec of training rows (`values`: rows x series, row-major, in stream order; `ts`:
 * their timestamps in epoch ms, which a season needs; without them its column reads 0).
 */
export function learnTelemetrySpec(
  values: Float64Array, rows: number, series: readonly string[], timestamp: string, opts: SpecOptions = {}, ts?: Float64Array,
): TelemetrySpec {
  const s = series.length;
  if (values.length < rows * s) throw new RangeError(`values holds ${values.length} numbers, fewer than ${rows} rows x ${s} series`);
  return specOfRows((i, j) => values[i * s + j], (i) => ts?.[i] ?? NaN, rows, series, timestamp, opts);
}

/** learnTelemetrySpec over rows read one value at a time (`valueAt(i, j)`: series j of row i, `tsAt(i)` its timestamp). */
function specOfRows(
  valueAt: (i: number, j: number) => number, tsAt: (i: number) => number, rows: number, series: readonly string[], timestamp: string, opts: SpecOptions,
): TelemetrySpec {
  const o = resolveTrainOptions(opts);
  const s = series.length;
  const summary = o.summary ?? s > 1;
  const season = o.season === "off" ? undefined : o.season;
  const ts = season === undefined ? undefined : Float64Array.from({ length: rows }, (_, i) => tsAt(i));
  const scales: SeriesScales[] = [];
  const col = new Float64Array(rows);
  for (let j = 0; j < s; j++) {
    for (let i = 0; i < rows; i++) col[i] = valueAt(i, j);
    scales.push(learnSeriesScales(col, o.k, o.window, o.context, season !== undefined && ts !== undefined ? { season, ts } : undefined));
  }
  return {
    version: 1,
    timestamp,
    series: [...series],
    k: o.k,
    window: o.window,
    scales,
    features: [...series.flatMap((name) => seriesFeatureNames(name, o.k, o.context, season)), ...(summary ? SUMMARY_FEATURES : [])],
    lines: rows,
    ...(summary ? { summary } : {}),
    ...(o.context > 0 ? { context: o.context } : {}),
    ...(season !== undefined ? { season } : {}),
  };
}

// ---------------------------------------------------------------- training

export type { TelemetryMeta } from "./model-check.js";

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
  /** Feature rows the forest and the calibration saw, when there were more than maxRows (a sample of `parsed`). */
  sampled?: number;
}

/** Incremental telemetry trainer: feed line batches (the header first), then finish(). */
export class TelemetryTrainer {
  private readonly opts: ReturnType<typeof resolveTrainOptions>;
  private header: TelemetryHeader | null = null;
  private parser: TelemetryParser | null = null;
  private row: TelemetryRow = emptyTelemetryRow(0);
  // The parsed rows' values, in chunks of CHUNK_ROWS rows (no copy of everything when it grows).
  private readonly chunks: Float64Array[] = [];
  // Their timestamps (epoch ms, NaN when missing), in chunks of CHUNK_ROWS likewise.
  private readonly tsChunks: Float64Array[] = [];
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
      if (reason === null) this.push(this.row.values, this.row.ts);
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
    const spec = specOfRows((i, j) => this.valueAt(i, j), (i) => this.tsAt(i), this.rows, header.series, header.columns[header.timestamp], this.opts);
    const fx = new TelemetryExtractor(spec);
    const { X, rows: n } = this.extractRows(fx);
    const t0 = performance.now();
    const forest = IsolationForest.fit(
      { data: X, rows: n, cols: fx.cols },
      { sampleSize: TELEMETRY_DEFAULTS.sampleSize, ...this.opts.forest, featureNames: spec.features },
    );
    const fitMs = performance.now() - t0;
    const calibration = calibrate(forest.score({ data: X, rows: n, cols: fx.cols }));
    const meta: TelemetryMeta = { ...spec, reach: reachOf(X, n, fx.cols), calibration };
    forest.metadata = { telemetry: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: this.rows,
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
        ...(n < this.rows ? { sampled: n } : {}),
      },
    };
  }

  /** Every row through the extractor in stream order; all of them, or a seeded reservoir of maxRows. */
  private extractRows(fx: TelemetryExtractor): { X: Float64Array; rows: number } {
    const total = this.rows;
    const cap = Math.min(total, this.opts.maxRows);
    const X = new Float64Array(cap * fx.cols);
    if (cap === total) {
      for (let i = 0; i < total; i++) fx.extract(this.tsAt(i), this.rowAt(i), X, i * fx.cols);
      return { X, rows: total };
    }
    const rng = new Rng(this.opts.forest?.seed ?? 0);
    const row = new Float64Array(fx.cols);
    for (let i = 0; i < total; i++) {
      fx.extract(this.tsAt(i), this.rowAt(i), row, 0);
      const slot = i < cap ? i : rng.int(i + 1);
      if (slot < cap) X.set(row, slot * fx.cols);
    }
    return { X, rows: cap };
  }

  private isHeader(line: string): boolean {
    try {
      const h = parseTelemetryHeader(line, this.opts.timestamp);
      return this.header !== null && h.columns.join(",") === this.header.columns.join(",");
    } catch {
      return false;
    }
  }

  private push(v: Float64Array, ts: number): void {
    const s = v.length;
    const at = this.rows % CHUNK_ROWS;
    if (at === 0) {
      this.chunks.push(new Float64Array(CHUNK_ROWS * s));
      this.tsChunks.push(new Float64Array(CHUNK_ROWS));
    }
    this.chunks[this.chunks.length - 1].set(v, at * s);
    this.tsChunks[this.tsChunks.length - 1][at] = ts;
    this.rows++;
  }

  /** Series j of parsed row i. */
  private valueAt(i: number, j: number): number {
    const at = i % CHUNK_ROWS;
    return this.chunks[(i - at) / CHUNK_ROWS][at * this.row.values.length + j];
  }

  /** The values of parsed row i (a view). */
  private rowAt(i: number): Float64Array {
    const s = this.row.values.length;
    const at = i % CHUNK_ROWS;
    return this.chunks[(i - at) / CHUNK_ROWS].subarray(at * s, (at + 1) * s);
  }

  /** The timestamp of parsed row i (epoch ms; NaN when it had none). */
  private tsAt(i: number): number {
    const at = i % CHUNK_ROWS;
    return this.tsChunks[(i - at) / CHUNK_ROWS][at];
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

/** The telemetry metadata of a model, checked (ModelFileError naming a bad field), or a clear error when it was not trained on telemetry. */
export function telemetryOf(forest: IsolationForest): TelemetryMeta {
  if (!isTelemetryModel(forest)) {
    throw new RangeError("this model was not trained on telemetry (no telemetry spec inside); train it with `logforest train --format csv`");
  }
  return checkTelemetryMeta(forest.metadata.telemetry, forest.cols);
}
