/**
 * Training on a log: parse every line, learn the feature spec (route vocabulary and
 * baselines), replay the lines through the same FeatureExtractor detection uses,
 * fit the forest, and calibrate severity on the training scores. Everything the
 * detector needs travels inside the one model file (forest.metadata.pipeline).
 */
import { IsolationForest } from "../../forest/forest.js";
import { ALL_FEATURES, FeatureExtractor, finiteRow, type FeatureName, type FeatureSpec } from "./features.js";
import type { ForestOptions } from "../../forest/options.js";
import {
  createParser, detectFormat, FORMAT_NAMES, latencyEvidence, LATENCY_UNITS, type FieldName, type FormatName, type LatencyUnit, type LineParser,
} from "./parse.js";
import { emptyRecord } from "./record.js";
import { calibrate, isCalibration, type Calibration } from "../severity.js";
import { readLineBatches } from "../lines.js";
import { Columns } from "./columns.js";
import { learnSpec, setClock } from "./spec.js";
import { suspectClients, trainingWarnings } from "./warnings.js";

export { Columns } from "./columns.js";
export { learnSpec, MAX_ROUTES, setClock } from "./spec.js";
export { suspectClients, trainingWarnings } from "./warnings.js";

/** Options of training. */
export interface TrainOptions {
  /** Log format, or "auto" (default) to detect it from the first lines. */
  format?: FormatName | "auto";
  /** JSON field mapping, e.g. { latency: "responseTime" }. */
  fields?: Partial<Record<FieldName, string>>;
  /** Width of the sliding windows in seconds, in [1, 3600]. Default 30. */
  windowSeconds?: number;
  /** Templates seen fewer times than this in training are no route of their own (they fall under a prefix route). Default 10. */
  minRouteCount?: number;
  /** Features to use (default: all that the training lines support). */
  features?: readonly FeatureName[];
  /** Forest options (trees, sampleSize, seed, ...). */
  forest?: ForestOptions;
  /**
   * Unit of a latency written as a bare number ("ms", "s" or "us"). Default: JSON
   * fields are ms; a combined log's trailing number is guessed from the training
   * lines (guessLatencyUnit), and training stops with a RangeError asking for it
   * when it cannot be told.
   */
  latencyUnit?: LatencyUnit;
}

export const TRAIN_DEFAULTS = { format: "auto" as const, windowSeconds: 30, minRouteCount: 10 };

/** Lines training holds before it picks the parser (format detection, the latency unit's guess). */
const HOLD_LINES = 2000;

/** What detection reads back from a model trained on logs. */
export interface PipelineMeta {
  version: 1;
  format: FormatName;
  fields: Partial<Record<FieldName, string>>;
  spec: FeatureSpec;
  calibration: Calibration;
  /** The latency unit the parser used (given, or guessed at training); absent: the parser's default. */
  latencyUnit?: LatencyUnit;
}

/** Counts from a training run. */
export interface TrainSummary {
  lines: number;
  parsed: number;
  skipped: Record<string, number>;
  format: FormatName;
  features: FeatureName[];
  routes: number;
  /** Score at severity 50 (p99 of the training scores) and 75 (p99.9). */
  scoreP99: number;
  scoreP999: number;
  fitMs: number;
  totalMs: number;
  /** What the training data leaves undetectable or looks wrong in it, one sentence each. */
  warnings: string[];
  /** The latency unit used, and how it was decided ("given", "guessed"); null when not needed. */
  latencyUnit: { unit: LatencyUnit; how: "given" | "guessed" } | null;
}

/** Incremental trainer: feed line batches, then finish(). */
export class Trainer {
  private readonly opts: Required<Omit<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">> & Pick<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">;
  private latencyUnit: { unit: LatencyUnit; how: "given" | "guessed" } | null = null;
  private parser: LineParser | null = null;
  private pending: string[] = [];
  private readonly cols = new Columns();
  private readonly record = emptyRecord();
  private lines = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly started = performance.now();

  constructor(options: TrainOptions = {}) {
    const format = options.format ?? TRAIN_DEFAULTS.format;
    if (!["auto", ...FORMAT_NAMES].includes(format)) {
      throw new RangeError(`format must be one of ${["auto", ...FORMAT_NAMES].join(", ")}, got ${JSON.stringify(format)}`);
    }
    const windowSeconds = options.windowSeconds ?? TRAIN_DEFAULTS.windowSeconds;
    if (!(Number.isFinite(windowSeconds) && windowSeconds >= 1 && windowSeconds <= 3600)) {
      throw new RangeError(`windowSeconds must be a number in [1, 3600], got ${windowSeconds}`);
    }
    const minRouteCount = options.minRouteCount ?? TRAIN_DEFAULTS.minRouteCount;
    if (!(Number.isInteger(minRouteCount) && minRouteCount >= 1)) {
      throw new RangeError(`minRouteCount must be an integer >= 1, got ${minRouteCount}`);
    }
    if (options.features !== undefined) {
      const bad = options.features.find((f) => !ALL_FEATURES.includes(f));
      if (bad !== undefined || options.features.length === 0) {
        throw new RangeError(`features must be a non-empty list of ${ALL_FEATURES.join(", ")}; got ${JSON.stringify(bad ?? [])}`);
      }
    }
    if (options.latencyUnit !== undefined && !LATENCY_UNITS.includes(options.latencyUnit)) {
      throw new RangeError(`latencyUnit must be one of ${LATENCY_UNITS.join(", ")}, got ${JSON.stringify(options.latencyUnit)}`);
    }
    this.opts = {
      format, windowSeconds, minRouteCount, fields: options.fields, forest: options.forest, features: options.features, latencyUnit: options.latencyUnit,
    };
  }

  /** Add a batch of lines (in file order). */
  add(lines: readonly string[]): void {
    if (this.parser === null) {
      // Hold lines until there are enough to recognise the format.
      for (const l of lines) this.pending.push(l);
      // Enough lines to recognise the format and, for combined logs, the unit of a trailing latency.
      if ((this.opts.format === "auto" || this.opts.format === "combined") && this.pending.length < HOLD_LINES) return;
      this.parser = this.makeParser(this.pending);
      const held = this.pending;
      this.pending = [];
      this.parseAll(held);
      return;
    }
    this.parseAll(lines);
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.lines + this.pending.length;
  }

  /** Learn the spec, fit and calibrate. Throws when no line could be parsed. */
  finish(): { forest: IsolationForest; summary: TrainSummary } {
    if (this.parser === null) {
      this.parser = this.makeParser(this.pending);
      this.parseAll(this.pending);
      this.pending = [];
    }
    const c = this.cols;
    if (c.n === 0) {
      throw new RangeError(`no line of the training input could be parsed as ${this.parser.format} (${describeSkipped(this.skipped)})`);
    }
    const clock = setClock(c);
    const spec = learnSpec(c, this.opts.windowSeconds, this.opts.minRouteCount, this.opts.features);
    spec.clock = clock.clock;
    spec.linesPerSecond = clock.linesPerSecond;
    const X = new Float64Array(c.n * spec.features.length);
    const fx = new FeatureExtractor(spec);
    const r = emptyRecord();
    let rows = 0;
    for (let i = 0; i < c.n; i++) {
      c.fill(i, r);
      fx.extract(r, X, rows * fx.cols);
      // A row that is not finite would make fit refuse the whole table: it is skipped, counted.
      if (finiteRow(X, rows * fx.cols, fx.cols)) rows++;
      else this.skipped.non_finite_features = (this.skipped.non_finite_features ?? 0) + 1;
    }
    if (rows === 0) throw new RangeError(`no line of the training input gave finite features (${describeSkipped(this.skipped)})`);
    // Clients that look like an incident (a scanner, a brute force) set no bar for the client rules.
    const suspects = suspectClients(c);
    spec.clients = fx.clientPeaks(suspects);
    const warnings = trainingWarnings(c, spec, clock.untimed, this.opts.minRouteCount);
    if (suspects.size > 0) {
      const list = [...suspects].slice(0, 3).join(", ");
      warnings.push(
        `${suspects.size === 1 ? "1 client" : `${suspects.size} clients`} with 20+ failed requests, most of theirs failing (${list}${suspects.size > 3 ? ", ..." : ""}): ` +
          "a scanner or a brute force in the training data? Left out of the bars the client rules compare with",
      );
    }
    const t0 = performance.now();
    const forest = IsolationForest.fit({ data: X.subarray(0, rows * fx.cols), rows, cols: fx.cols }, { ...this.opts.forest, featureNames: spec.features });
    const fitMs = performance.now() - t0;
    const calibration = calibrate(forest.score({ data: X.subarray(0, rows * fx.cols), rows, cols: fx.cols }));
    const meta: PipelineMeta = { version: 1, format: this.parser.format, fields: this.opts.fields ?? {}, spec, calibration };
    if (this.latencyUnit) meta.latencyUnit = this.latencyUnit.unit;
    forest.metadata = { pipeline: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: rows,
        skipped: { ...this.skipped },
        format: this.parser.format,
        features: spec.features,
        routes: Object.keys(spec.routes).length,
        scoreP99: calibration.scores[2],
        scoreP999: calibration.scores[3],
        fitMs,
        totalMs: performance.now() - this.started,
        warnings,
        latencyUnit: this.latencyUnit,
      },
    };
  }

  private makeParser(sample: readonly string[]): LineParser {
    let format = this.opts.format;
    const lines = sample.filter((l) => l.trim() !== "");
    if (format === "auto") {
      const found = detectFormat(lines.slice(0, 50));
      if (found === null) {
        throw new RangeError("could not recognise the log format from the first lines (tried json, combined, seed); pass --format");
      }
      format = found;
    }
    let unit = this.opts.latencyUnit;
    if (unit !== undefined) {
      this.latencyUnit = { unit, how: "given" };
    } else if (format === "combined") {
      // A bare number after the combined fields: ms (morgan), s (nginx) or us (Apache %D)?
      const ev = latencyEvidence(lines);
      if (ev.bare > 0 && ev.unit === null) {
        throw new RangeError(
          `the number after the combined fields (median ${ev.median}, e.g. ${lines[0]?.slice(-40) ?? ""}) could be a latency in ms, s or us: ` +
            "pass --latency-unit ms|s|us (latencyUnit)",
        );
      }
      if (ev.unit !== null) {
        unit = ev.unit;
        this.latencyUnit = { unit, how: "guessed" };
      }
    }
    return createParser(format, { fields: this.opts.fields, ...(unit !== undefined ? { latencyUnit: unit } : {}) });
  }

  private parseAll(lines: readonly string[]): void {
    const parser = this.parser as LineParser;
    const r = this.record;
    for (const line of lines) {
      this.lines++;
      const reason = parser.parse(line, r);
      if (reason !== null) this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
      else this.cols.push(r);
    }
  }
}

/** Train on a file (or stream); `onProgress` gets the lines and (about) the bytes read so far, after each batch. */
export async function trainFromFile(
  source: Parameters<typeof readLineBatches>[0],
  options: TrainOptions = {},
  onProgress?: (lines: number, bytes: number) => void,
): Promise<{ forest: IsolationForest; summary: TrainSummary }> {
  const trainer = new Trainer(options);
  let chars = 0;
  await readLineBatches(source, (batch) => {
    trainer.add(batch);
    for (const line of batch) chars += line.length + 1;
    onProgress?.(trainer.lineCount, chars);
  });
  return trainer.finish();
}

/** Train on lines held in memory. */
export function trainFromLines(lines: readonly string[], options: TrainOptions = {}): { forest: IsolationForest; summary: TrainSummary } {
  const trainer = new Trainer(options);
  trainer.add(lines);
  return trainer.finish();
}

/** The pipeline metadata of a model, or a clear error when the model was not trained on logs. */
export function pipelineOf(forest: IsolationForest): PipelineMeta {
  const p = forest.metadata.pipeline as PipelineMeta | undefined;
  if (typeof p !== "object" || p === null || p.version !== 1 || typeof p.spec !== "object" || !isCalibration(p.calibration)) {
    throw new RangeError("this model was not trained on logs (no feature spec inside); train it with `logforest train`");
  }
  // The model file keeps JSON, where NaN ("no such values on this route") is written as null.
  for (const b of [...Object.values(p.spec.routes), p.spec.overall]) {
    const rec = b as unknown as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (rec[k] === null) rec[k] = NaN;
  }
  if (p.spec.features.length !== forest.cols) {
    throw new RangeError(`model is inconsistent: its feature spec has ${p.spec.features.length} features but the forest has ${forest.cols} columns`);
  }
  return p;
}

export function describeSkipped(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? `skipped ${parts.join(", ")}` : "nothing skipped";
}
