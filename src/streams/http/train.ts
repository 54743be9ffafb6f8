/**
 * Training on a log: parse every line, learn the feature spec (route vocabulary and
 * baselines), replay the lines through the same FeatureExtractor detection uses,
 * fit the forest, and calibrate severity on the training scores. Everything the
 * detector needs travels inside the one model file (forest.metadata.pipeline).
 *
 * Memory is bounded by maxLines: past it, the held lines are a seeded sample, the
 * whole stream's counts live in a Tally, and the lines are fed a second time
 * (startReplay) so every line goes through the extractor while a reservoir keeps
 * maxLines feature rows. Up to maxLines, the model is the one of holding them all.
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
import { Rng } from "../../forest/random.js";
import { Columns } from "./columns.js";
import { checkPipelineMeta, type PipelineMeta } from "./model-check.js";
import { clockOf, learnSpec, setClock } from "./spec.js";
import { Tally, type KeyTally } from "./tally.js";
import { LatencyUnitCheck, suspectClients, trainingWarnings } from "./warnings.js";
import { formatRefusal } from "./refusal.js";
import { RowSampler } from "./row-sampler.js";

export { Columns } from "./columns.js";
export { learnSpec, MAX_ROUTES, setClock } from "./spec.js";
export { suspectClients, trainingWarnings } from "./warnings.js";
export { formatRefusal } from "./refusal.js";

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
  /**
   * Parsed lines held to learn the spec, and feature rows kept for the forest, an integer
   * in [100, 100000000]. A longer input is sampled (seeded reservoirs) and read twice: the
   * counts, the vocabulary and the windows still see every line. Default 250,000 (a 3M-line log then peaks under 300 MB).
   */
  maxLines?: number;
}

export const TRAIN_DEFAULTS = { format: "auto" as const, windowSeconds: 30, minRouteCount: 10, maxLines: 250_000 };
const MAX_LINES_RANGE = [100, 100_000_000] as const;
/** Lines of each route key a sampling trainer keeps however rare the key (see parseAll). */
const KEY_FLOOR = 1;

/** Lines training holds before it picks the parser (format detection, the latency unit's guess). */
const HOLD_LINES = 2000;

/** What detection reads back from a model trained on logs. */
export type { PipelineMeta } from "./model-check.js";

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
  /** Feature rows the forest and the calibration saw, when the input had more than maxLines lines (a sample of `parsed`). */
  sampled?: number;
}

/** Incremental trainer: feed line batches, then finish(). */
export class Trainer {
  private readonly opts: Required<Omit<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">> & Pick<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">;
  private latencyUnit: { unit: LatencyUnit; how: "given" | "guessed" } | null = null;
  private parser: LineParser | null = null;
  private pending: string[] = [];
  private cols = new Columns();
  private readonly tally = new Tally();
  /** The route key of each held line (see parseAll). */
  private slotKey: KeyTally[] = [];
  private readonly rng: Rng;
  private sampler: RowSampler | null = null;
  private parserOptions: Parameters<typeof createParser>[1] = {};
  private readonly record = emptyRecord();
  private readonly units = new LatencyUnitCheck();
  private lines = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly started = performance.now();

  /** `name`: the input's name (a file's path) for the messages about its contents. */
  constructor(options: TrainOptions = {}, private readonly name?: string) {
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
    const maxLines = options.maxLines ?? TRAIN_DEFAULTS.maxLines;
    if (!(Number.isInteger(maxLines) && maxLines >= MAX_LINES_RANGE[0] && maxLines <= MAX_LINES_RANGE[1])) {
      throw new RangeError(`maxLines must be an integer in [${MAX_LINES_RANGE.join(", ")}], got ${maxLines}`);
    }
    this.opts = {
      format, windowSeconds, minRouteCount, maxLines, fields: options.fields, forest: options.forest, features: options.features, latencyUnit: options.latencyUnit,
    };
    // The reservoirs draw from the forest's seed (its own stream of it).
    this.rng = new Rng(options.forest?.seed ?? 0);
  }

  /** Add a batch of lines (in file order); after startReplay(), the same lines once more. */
  add(lines: readonly string[]): void {
    if (this.sampler !== null) {
      this.sampler.add(lines, this.skipped);
      return;
    }
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

  private get input(): string {
    return this.name ?? "the training input";
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.lines + this.pending.length;
  }

  /**
   * Whether more lines were parsed than maxLines: the held lines are then a sample, and
   * the feature rows need every line once more, in order: call startReplay(), add() the
   * same lines again, then finish().
   */
  get needsReplay(): boolean {
    return this.sampler === null && this.tally.n > this.opts.maxLines;
  }

  /** Learn the spec from the sample and the whole stream's counts, and get ready for the lines again. */
  startReplay(): void {
    if (!this.needsReplay) throw new RangeError(`startReplay: only after more than maxLines (${this.opts.maxLines}) parsed lines`);
    const clock = clockOf(this.tally);
    const spec = this.learn(clock);
    this.cols = new Columns(); // the sample has given its baselines: let it go
    this.slotKey = [];
    const parser = createParser((this.parser as LineParser).format, this.parserOptions);
    this.sampler = new RowSampler(spec, new FeatureExtractor(spec), parser, this.opts.maxLines, clock.clock === "lines", this.rng);
  }

  /** Learn the spec, fit and calibrate. Throws when no line could be parsed. */
  finish(): { forest: IsolationForest; summary: TrainSummary } {
    if (this.parser === null) {
      this.parser = this.makeParser(this.pending);
      this.parseAll(this.pending);
      this.pending = [];
    }
    if (this.needsReplay) throw new RangeError(`finish: the input had more than maxLines (${this.opts.maxLines}) lines; call startReplay() and add the lines again first`);
    if (this.sampler !== null) {
      const s = this.sampler;
      if (s.rows === 0) throw new RangeError(`no line of ${this.input} gave finite features (${describeSkipped(this.skipped)})`);
      return this.complete(s.spec, s.fx, s.X, s.rows, s.seen);
    }
    const c = this.cols;
    if (c.n === 0) {
      throw new RangeError(`no line of ${this.input} could be parsed as ${this.parser.format} (${describeSkipped(this.skipped)})`);
    }
    const spec = this.learn(setClock(c, this.tally));
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
    if (rows === 0) throw new RangeError(`no line of ${this.input} gave finite features (${describeSkipped(this.skipped)})`);
    return this.complete(spec, fx, X, rows, rows);
  }

  /** The spec of the held lines and the whole stream's counts, on the given clock. */
  private learn(clock: ReturnType<typeof clockOf>): FeatureSpec {
    const spec = learnSpec(this.cols, this.opts.windowSeconds, this.opts.minRouteCount, this.opts.features, this.tally);
    spec.clock = clock.clock;
    spec.linesPerSecond = clock.linesPerSecond;
    return spec;
  }

  /** Client bars and warnings, then fit on the first `rows` rows of X and calibrate; `seen`: finite rows in all. */
  private complete(spec: FeatureSpec, fx: FeatureExtractor, X: Float64Array, rows: number, seen: number): { forest: IsolationForest; summary: TrainSummary } {
    const parser = this.parser as LineParser;
    // Clients that look like an incident (a scanner, a brute force) set no bar for the client rules.
    const suspects = suspectClients(this.tally);
    spec.clients = fx.clientPeaks(suspects);
    const warnings = trainingWarnings(this.tally, spec, clockOf(this.tally).untimed, this.opts.minRouteCount);
    const unit = this.units.warning();
    if (unit !== null) warnings.push(unit);
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
    const meta: PipelineMeta = { version: 1, format: parser.format, fields: this.opts.fields ?? {}, spec, calibration };
    if (this.latencyUnit) meta.latencyUnit = this.latencyUnit.unit;
    forest.metadata = { pipeline: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: seen,
        skipped: { ...this.skipped },
        format: parser.format,
        features: spec.features,
        routes: Object.keys(spec.routes).length,
        scoreP99: calibration.scores[2],
        scoreP999: calibration.scores[3],
        fitMs,
        totalMs: performance.now() - this.started,
        warnings,
        latencyUnit: this.latencyUnit,
        ...(this.sampler !== null ? { sampled: rows } : {}),
      },
    };
  }

  private makeParser(sample: readonly string[]): LineParser {
    let format = this.opts.format;
    const lines = sample.filter((l) => l.trim() !== "");
    if (format === "auto") {
      const found = detectFormat(lines.slice(0, 50));
      if (found === null) throw formatRefusal(sample.slice(0, 50), FORMAT_NAMES, this.name);
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
    this.parserOptions = { fields: this.opts.fields, ...(unit !== undefined ? { latencyUnit: unit } : {}) };
    return createParser(format, this.parserOptions);
  }

  private parseAll(lines: readonly string[]): void {
    const parser = this.parser as LineParser;
    const r = this.record;
    const max = this.opts.maxLines;
    for (const line of lines) {
      this.lines++;
      const reason = parser.parse(line, r);
      if (reason !== null) {
        this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
        continue;
      }
      const seen = this.tally.n;
      this.units.add(r.latencyMs);
      const key = this.tally.add(r);
      if (seen < max) {
        this.cols.push(r);
        this.slotKey.push(key);
        key.held++;
        continue;
      }
      // Past maxLines the held lines are a reservoir: each line so far is held with about the
      // same chance, except that a route key with fewer than KEY_FLOOR held lines takes the
      // place of a line of a key with more (16 random tries), so a key seen after the
      // reservoir filled is still held and the vocabulary is the whole stream's.
      let slot = -1;
      if (key.held < KEY_FLOOR) {
        for (let tries = 0; tries < 16 && slot < 0; tries++) {
          const j = this.rng.int(max);
          if (this.slotKey[j].held > KEY_FLOOR) slot = j;
        }
      } else {
        const j = this.rng.int(seen + 1);
        if (j < max && this.slotKey[j].held > KEY_FLOOR) slot = j;
      }
      if (slot < 0) continue;
      this.slotKey[slot].held--;
      this.slotKey[slot] = key;
      key.held++;
      this.cols.set(slot, r);
    }
  }
}

/**
 * Train on a file (or stream); `onProgress` gets the lines and (about) the bytes read so
 * far in this pass, after each batch, and the pass (2: the second reading of a file
 * longer than maxLines). A stream longer than maxLines cannot be read twice: RangeError.
 * Errors about the file's contents name the file.
 */
export async function trainFromFile(
  source: Parameters<typeof readLineBatches>[0],
  options: TrainOptions = {},
  onProgress?: (lines: number, bytes: number, pass: 1 | 2) => void,
): Promise<{ forest: IsolationForest; summary: TrainSummary }> {
  const trainer = new Trainer(options, typeof source === "string" ? source : undefined);
  let chars = 0;
  let lines = 0;
  let pass: 1 | 2 = 1;
  const feed = (batch: string[]) => {
    trainer.add(batch);
    for (const line of batch) chars += line.length + 1;
    lines += batch.length;
    onProgress?.(lines, chars, pass);
  };
  await readLineBatches(source, feed);
  if (trainer.needsReplay) {
    if (typeof source !== "string") {
      throw new RangeError(`maxLines: the stream has more than ${options.maxLines ?? TRAIN_DEFAULTS.maxLines} lines and a sample is read twice: pass a file path or raise maxLines`);
    }
    trainer.startReplay();
    chars = 0;
    lines = 0;
    pass = 2;
    await readLineBatches(source, feed);
  }
  return trainer.finish();
}

/** Train on lines held in memory (past maxLines, a sample of them: see TrainOptions.maxLines). */
export function trainFromLines(lines: readonly string[], options: TrainOptions = {}): { forest: IsolationForest; summary: TrainSummary } {
  const trainer = new Trainer(options);
  trainer.add(lines);
  if (trainer.needsReplay) {
    trainer.startReplay();
    trainer.add(lines);
  }
  return trainer.finish();
}

/** The pipeline metadata of a model, checked (ModelFileError naming a bad field), or a clear error when the model was not trained on logs. */
export function pipelineOf(forest: IsolationForest): PipelineMeta {
  const p = forest.metadata.pipeline;
  if (typeof p !== "object" || p === null) {
    throw new RangeError("this model was not trained on logs (no feature spec inside); train it with `logforest train`");
  }
  // With NaN where the file's JSON holds null, as detection reads it; in the model's own key order,
  // so that a model saved again (a retraining refresh) is the same bytes where nothing changed.
  const checked = inOrderOf(p, checkPipelineMeta(p, forest.cols));
  forest.metadata.pipeline = checked;
  return checked;
}

/** `value` with the keys of its plain objects in `model`'s order (keys `model` lacks last), at every depth. */
function inOrderOf<T>(model: unknown, value: T): T {
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!plain(model) || !plain(value)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(model)) if (k in value) out[k] = inOrderOf(model[k], value[k]);
  for (const k of Object.keys(value)) if (!(k in out)) out[k] = value[k];
  return out as T;
}

export function describeSkipped(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? `skipped ${parts.join(", ")}` : "nothing skipped";
}
