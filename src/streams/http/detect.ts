/**
 * The detector: line -> parsed record -> feature row (written straight into WASM
 * memory) -> score -> severity -> rules -> alert. Lines go through in batches so
 * the scorer runs once per batch; nothing per line is allocated except for
 * alerts and skipped-line examples.
 */
import { FeatureExtractor, finiteRow, LINE_CLOCK_RATE, type ClientWindow, type ClientPeaks, type FeatureName } from "./features.js";
import type { BatchScorer, IsolationForest } from "../../forest/forest.js";
import { explainShares } from "../../forest/explain.js";
import { reasonsFor } from "./reasons.js";
import { formatRefusal, modelOrRefuse } from "./refusal.js";
import { LatencyUnitCheck } from "./warnings.js";
import { createParser, detectFormat, FORMAT_NAMES, pairsLines, type FieldName, type FormatName, type LatencyUnit, type LineParser, type ParserOptions } from "./parse.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { DEFAULT_RULES, severityFloor, type Rules } from "./rules.js";
import { severityOf } from "../severity.js";
import { countAlert, countSkipped, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch } from "../counts.js";
import { inParts, Retrainer, type RefreshReport, type RetrainOptions } from "./retrain.js";
import { pipelineOf, type PipelineMeta } from "./train.js";
import type { Alert, DetectSummary } from "./alert.js";
import { BatchRows } from "./rows.js";
import { fillRow } from "./batch-row.js";
import { RuleJudge } from "./judge.js";
import { recordAt, StringTable, type PreparedChunk, type PreparedLines } from "./prepare.js";
import type { ModelDescription, PipelinedDetector, PreparedChunkBase, StreamDetector } from "../stream.js";

export { countAlert, countSkipped, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch, type SkippedExample } from "../counts.js";
export type { Alert, AlertRecord, DetectSummary } from "./alert.js";

/** Options of a Detector. */
export interface DetectorOptions {
  /** Log format of every file, or "auto" (default): detected per file, else the model's. */
  format?: FormatName | "auto";
  /** JSON field mapping; default: the one the model was trained with. */
  fields?: Partial<Record<FieldName, string>>;
  rules?: Rules;
  /** Called after each batch is scored, with every scored line (see ScoredBatch). */
  onScored?: (batch: ScoredBatch) => void;
  /** Unit of a latency written as a bare number; default: the one the model was trained with. */
  latencyUnit?: LatencyUnit;
  /** Keep learning: refresh the forest from recent normal lines (see streams/retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** Called after each retraining refresh. */
  onRefresh?: (r: RefreshReport) => void;
  /** Attach reasons (why the line is anomalous) to every alert. Default true. */
  explain?: boolean;
  /**
   * The clock for lines without a usable timestamp, when the model was trained on
   * timestamps: "arrival" (the time the line was read: following a live file) or
   * "lines" (line order at the training's mean rate: a whole file). Default "lines".
   * A model trained without timestamps always counts line order.
   */
  untimedClock?: "arrival" | "lines";
}

/** Scores lines and raises alerts; one per detection run (it keeps the stream's windows). */
export class Detector implements StreamDetector<Alert, DetectSummary> {
  private pipe: PipelineMeta;
  readonly rules: Rules;
  private readonly floor: number;
  private readonly onScored: ((batch: ScoredBatch) => void) | null;
  private readonly explain: boolean;
  private routeNames: readonly string[];
  private scorer: BatchScorer;
  private model: IsolationForest;
  private readonly retrainer: Retrainer | null;
  private readonly onRefresh: ((r: RefreshReport) => void) | null;
  private features: FeatureExtractor;
  private readonly featureIndex: Record<string, number> = {};
  private readonly parsers = new Map<string, LineParser>();
  /** Latencies that contradict their unit (a warning in the summary). */
  private readonly units = new LatencyUnitCheck();
  // Files whose first lines no format fits (read with the model's parser): their first lines.
  private readonly unrecognised = new Map<string, string[]>();
  private readonly format: FormatName | "auto";
  private readonly fields: Partial<Record<FieldName, string>>;
  private readonly record: LogRecord = emptyRecord();
  private readonly alertRecord: LogRecord = emptyRecord();
  private lastSeconds = 0;
  private batchSkipped: Array<{ line: number; reason: string }> = [];
  // Per-row scratch for one batch, grown as needed.
  private readonly rows = new BatchRows();
  private readonly ruleJudge: RuleJudge;
  private readonly untimedClock: "arrival" | "lines";
  private readonly latencyUnit: LatencyUnit | undefined;
  // Line clock: lines scored so far, and the time of the first one.
  private clockLines = 0;
  private clockBase = NaN;
  private sawTimestamp = false;
  readonly stats: DetectSummary = { ...zeroCounts(), above_min_severity_without_rule: 0, formats: {}, lines_without_timestamp: 0, warnings: [] };

  constructor(
    forest: IsolationForest,
    opts: DetectorOptions = {},
  ) {
    this.model = forest;
    this.pipe = pipelineOf(forest);
    this.rules = opts.rules ?? DEFAULT_RULES;
    this.floor = severityFloor(this.rules);
    this.format = opts.format ?? "auto";
    this.fields = opts.fields ?? this.pipeline.fields;
    this.features = new FeatureExtractor(this.pipeline.spec);
    this.pipeline.spec.features.forEach((f, i) => (this.featureIndex[f] = i));
    this.scorer = forest.batchScorer();
    this.retrainer = opts.retrain ? new Retrainer(forest, opts.retrain) : null;
    this.onRefresh = opts.onRefresh ?? null;
    this.onScored = opts.onScored ?? null;
    this.explain = opts.explain ?? true;
    this.untimedClock = opts.untimedClock ?? "lines";
    this.latencyUnit = opts.latencyUnit;
    this.routeNames = Object.keys(this.pipeline.spec.routes);
    // The judge reads the model in use: after a retraining refresh, the new one.
    const self = this;
    this.ruleJudge = new RuleJudge(this.rules, this.stats, this.rows, {
      get features() { return self.features; },
      get peaks() { return self.peaks; },
      get windowSeconds() { return self.pipeline.spec.windowSeconds; },
      featureIndex: this.featureIndex,
    });
  }

  /** The model's client peaks (zeros for a model from before they were learned). */
  private get peaks(): ClientPeaks {
    return this.pipeline.spec.clients ?? { requests: 0, knownFailures: 0, novelFailures: 0, distinct: 0 };
  }

  /**
   * Give r a time when it has none (or when the model counts line order): line order
   * at the training rate, or the arrival time; counted for the summary's warning.
   */
  private clock(r: LogRecord): void {
    const spec = this.pipeline.spec;
    const lineClock = spec.clock === "lines";
    if (Number.isFinite(r.ts) && !lineClock) {
      this.sawTimestamp = true;
      return;
    }
    if (!Number.isFinite(r.ts)) this.stats.lines_without_timestamp++;
    // A stream that had timestamps: a line without one takes the time of the line before.
    if (this.sawTimestamp) return;
    if (!lineClock && this.untimedClock === "arrival") {
      r.ts = Date.now();
      return;
    }
    if (Number.isNaN(this.clockBase)) this.clockBase = Number.isFinite(r.ts) ? r.ts : Date.now();
    const rate = lineClock ? LINE_CLOCK_RATE : spec.linesPerSecond && spec.linesPerSecond > 0 ? spec.linesPerSecond : LINE_CLOCK_RATE;
    r.ts = this.clockBase + (this.clockLines++ * 1000) / rate;
  }

  /** The model in use (a new one after each retraining refresh). */
  get forest(): IsolationForest {
    return this.model;
  }

  /** The model's log pipeline metadata: feature spec, calibration, format. */
  get pipeline(): PipelineMeta {
    return this.pipe;
  }

  /** The features the model reads, in column order. */
  get featureNames(): FeatureName[] {
    return this.pipeline.spec.features;
  }

  /**
   * Score a batch of lines of `file` and call `emit` for each alert, in line order.
   * `lineNo` is the 1-based number of the first line (the rest follow it), or each
   * line's own number.
   */
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: Alert) => void): void {
    const n = lines.length;
    if (n === 0) return;
    const every = this.retrainer?.opts.everyLines ?? Infinity;
    if (inParts(lines, lineNo, every, (part, no) => this.processBatch(file, part, no, emit))) return;
    const parser = this.parserFor(file, lines);
    const input = this.begin(n);
    const r = this.record;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const reason = parser.parse(lines[i], r);
      const no = typeof lineNo === "number" ? lineNo + i : lineNo[i];
      if (this.take(file, reason, i, no, input, k)) k++;
    }
    this.finish(file, n, k, input, (i) => lines[i], parser, emit);
  }

  /**
   * processBatch for lines parsed elsewhere (runtime/pipeline.ts: on worker threads): lines [from, to) of p, numbered
   * from lineNo; text(i) is line i, read again for an alert only. Not with retraining (it learns from line texts).
   */
  consume(file: string, p: PreparedLines, from: number, to: number, lineNo: number, text: (i: number) => string, emit: (a: Alert) => void): void {
    const n = to - from;
    if (n <= 0) return;
    if (this.retrainer) throw new Error("Detector.consume does not retrain: use processBatch");
    const parser = this.parsers.get(file);
    if (parser === undefined) throw new Error(`Detector.consume: no parser chosen for ${file} (call parserSettings first)`);
    const input = this.begin(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const at = from + i;
      const code = p.skip[at];
      if (code === 0) recordAt(p, at, this.record);
      if (this.take(file, code === 0 ? null : p.reasons[code - 1], i, lineNo + i, input, k)) k++;
    }
    this.finish(file, n, k, input, (i) => text(from + i), parser, emit);
  }

  /** Scratch for a batch of n lines: the scorer's input. */
  private begin(n: number): Float64Array {
    this.rows.grow(n);
    if (this.onScored) this.batchSkipped = [];
    return this.scorer.input(n);
  }

  /** Line i (number `no`) of a batch, parsed into this.record unless `reason`: its features as row k; false when skipped. */
  private take(file: string, reason: string | null, i: number, no: number, input: Float64Array, k: number): boolean {
    if (reason !== null) {
      this.skip(file, no, reason);
      return false;
    }
    const r = this.record;
    const fx = this.features;
    const cols = this.scorer.cols;
    this.units.add(r.latencyMs);
    this.clock(r);
    fx.extract(r, input, k * cols);
    // Nothing a line holds may reach the scorer as NaN or Infinity: such a row is a skip.
    if (!finiteRow(input, k * cols, cols)) {
      this.skip(file, no, "non_finite_features");
      return false;
    }
    const seconds = Number.isFinite(r.ts) ? r.ts / 1000 : this.lastSeconds;
    this.lastSeconds = Math.max(this.lastSeconds, seconds);
    fillRow(this.rows, k, i, no, r, fx, seconds);
    return true;
  }

  /** Score the batch's k rows (of n lines), report them, judge them and emit the alerts; `text(i)` is line i. */
  private finish(file: string, n: number, k: number, input: Float64Array, text: (i: number) => string, parser: LineParser, emit: (a: Alert) => void): void {
    const cols = this.scorer.cols;
    this.stats.lines_read += n;
    this.stats.lines_scored += k;
    const scores = k > 0 ? this.scorer.run(k) : new Float64Array(0);
    if (this.onScored) {
      this.onScored({
        file,
        count: k,
        lineNo: this.rows.lineNo.subarray(0, k),
        seconds: this.rows.seconds.subarray(0, k),
        route: this.rows.route.subarray(0, k),
        latencyMs: this.rows.latency.subarray(0, k),
        status: this.rows.status.subarray(0, k),
        scores,
        routeNames: this.routeNames,
        skipped: this.batchSkipped,
      });
    }
    const cal = this.pipeline.calibration;
    const floor = this.floor;
    for (let j = 0; j < k; j++) {
      const severity = severityOf(cal, scores[j]);
      const alertRule = severity < floor ? null : this.ruleJudge.judge(j, severity, input, cols);
      if (alertRule === null) {
        // Retraining learns from every line that did not alert (lines held back by a
        // cooldown included: a lasting change is mostly such lines).
        if (this.retrainer) this.retrainRecord(text(this.rows.line[j]), parser);
        continue;
      }
      const i = this.rows.line[j];
      const alert = this.makeAlert(file, text(i), this.rows.lineNo[j], parser, scores[j], severity, alertRule);
      if (this.explain) alert.reasons = this.reasons(input.subarray(j * cols, (j + 1) * cols), j);
      emit(alert);
    }
    if (this.retrainer && this.retrainer.tick(k, this.model.sampleSize)) this.refresh(this.retrainer);
  }

  /** Hand the retrainer the record of a line that did not alert (parsed again: this is rarer than scoring). */
  private retrainRecord(text: string, parser: LineParser): void {
    if (parser.parse(text, this.alertRecord) === null) this.retrainer?.offer(this.alertRecord);
  }

  private refresh(r: Retrainer): void {
    const { forest, report } = r.refresh(this.model);
    this.model = forest;
    this.pipe = pipelineOf(forest);
    this.scorer = forest.batchScorer();
    // The spec may have new baselines and routes: a new extractor (its windows refill within one window).
    this.features = new FeatureExtractor(this.pipe.spec);
    this.routeNames = Object.keys(this.pipe.spec.routes);
    this.stats.retrain.refreshes++;
    this.stats.retrain.generation = report.generation;
    this.onRefresh?.(report);
  }

  /** Severity (0-100) of a score under this model's calibration. */
  severity(score: number): number {
    return severityOf(this.pipeline.calibration, score);
  }

  /** The live counts (read, never change). */
  counts(): RunCounts {
    return this.stats;
  }

  /** The model as the dashboard shows it. */
  describe(): ModelDescription {
    const p = this.pipeline;
    const cal = p.calibration.scores;
    return { kind: "logs", format: p.format, severityScores: { "50": cal[2], "75": cal[3], "90": cal[4] }, routes: Object.keys(p.spec.routes).length };
  }

  /** Scoring lines parsed on worker threads (runtime/pipeline.ts; streams/http/prepare.ts parses them). */
  readonly pipelined: PipelinedDetector<Alert> = {
    workerSettings: (file, sample) => {
      const settings = this.parserSettings(file, sample);
      // A request over two lines (fastify) needs its lines in order on one parser: the detecting thread.
      return pairsLines(settings.format) ? null : settings;
    },
    receiver: () => {
      const table = new StringTable();
      return (p: PreparedChunkBase) => {
        const c = p as PreparedChunk;
        table.apply(c);
        return { ...c, strings: table.strings };
      };
    },
    consume: (file, p, from, to, lineNo, text, emit) => this.consume(file, p as PreparedChunkBase & PreparedLines, from, to, lineNo, text, emit),
  };

  /** Cooldowns and condition runs the rules keep now (bounded by pruning; for tests and diagnostics). */
  get trackedRuleKeys(): number {
    return this.ruleJudge.tracked;
  }

  /** A summary of everything processed so far. */
  summary(): DetectSummary {
    const s = structuredClone(this.stats);
    // Nothing scored and a file no format fits: the same refusal as train's.
    if (s.lines_scored === 0) for (const [file, lines] of this.unrecognised) s.warnings.push(formatRefusal(lines, FORMAT_NAMES, file).message);
    const unit = this.units.warning();
    if (unit !== null) s.warnings.push(unit);
    const untimed = s.lines_without_timestamp;
    const spec = this.pipeline.spec;
    if (spec.clock === "lines") {
      s.warnings.push(`the model was trained without timestamps: windows count line order (${LINE_CLOCK_RATE} lines as 1 s)`);
    } else if (untimed > 0) {
      s.warnings.push(
        `${untimed.toLocaleString("en-US")} lines had no usable timestamp: ` +
          (this.sawTimestamp ? "each took the time of the line before" : this.untimedClock === "arrival" ? "windows used the time each line was read" : "windows used line order at the training rate"),
      );
    }
    return s;
  }

  private parserFor(file: string, lines: readonly string[]): LineParser {
    const { format, options } = this.parserSettings(file, lines);
    return this.parsers.get(file) ?? createParser(format, options);
  }

  /**
   * The format and parser options `file` is read with, chosen from its first lines when first
   * asked (as processBatch does with its first batch) and remembered: a parser made elsewhere
   * with them (a worker thread) reads the file as this detector would.
   */
  parserSettings(file: string, lines: readonly string[]): { format: FormatName; options: ParserOptions } {
    const unit = this.latencyUnit ?? this.pipeline.latencyUnit;
    const options: ParserOptions = { fields: this.fields, ...(unit !== undefined ? { latencyUnit: unit } : {}) };
    const known = this.parsers.get(file);
    if (known) return { format: known.format, options };
    let format: FormatName;
    if (this.format !== "auto") {
      format = this.format;
    } else {
      const sample = lines.filter((l) => l.trim() !== "").slice(0, 50);
      const found = sample.length >= 5 ? detectFormat(sample) : null;
      if (found === null && sample.length >= 5) this.unrecognised.set(file, sample.slice(0, 3));
      format = found !== null ? modelOrRefuse(this.pipeline.format, found, sample, file, options) : this.pipeline.format;
    }
    this.parsers.set(file, createParser(format, options));
    this.stats.formats[file] = format;
    return { format, options };
  }

  /** Why row j (features in `row`) is anomalous; the alert record was just parsed into alertRecord. */
  private reasons(row: Float64Array, j: number): AlertReason[] {
    const shares = explainShares(this.forest, { data: row.slice(), rows: 1, cols: row.length });
    const names = this.pipeline.spec.features;
    const values: Partial<Record<FeatureName, number>> = {};
    names.forEach((f, i) => (values[f] = row[i]));
    const id = this.rows.route[j];
    return reasonsFor(names, shares, {
      record: this.alertRecord,
      route: id >= 0 ? this.routeNames[id] : this.rows.routeText[j],
      known: id >= 0,
      novel: this.rows.novel[j] === 1,
      recentErrorShare: this.rows.recent[4 * j],
      client: {
        requests: this.rows.client[4 * j],
        failures: this.rows.client[4 * j + 1],
        novelFailures: this.rows.client[4 * j + 2],
        knownFailures: this.rows.client[4 * j + 3],
      } satisfies ClientWindow,
      baseline: this.features.baseline(id),
      values,
      windowSeconds: this.pipeline.spec.windowSeconds,
    });
  }

  private makeAlert(
    file: string, text: string, line: number, parser: LineParser, score: number, severity: number, rule: string,
  ): Alert {
    const r = this.alertRecord;
    parser.parse(text, r);
    countAlert(this.stats, rule, severity);
    const ts = Number.isFinite(r.ts) ? new Date(r.ts).toISOString() : null;
    const orNull = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      line,
      file,
      ts,
      score: Math.round(score * 1e6) / 1e6,
      severity,
      rule,
      record: {
        ts,
        method: r.method,
        route: r.route,
        status: orNull(r.status),
        latency_ms: orNull(r.latencyMs),
        bytes: orNull(r.bytes),
        ip: r.ip,
        user_agent: r.userAgent,
      },
    };
  }

  private skip(file: string, line: number, reason: string): void {
    countSkipped(this.stats, file, line, reason);
    if (this.onScored) this.batchSkipped.push({ line, reason });
  }
}
