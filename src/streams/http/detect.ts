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
import { createParser, detectFormat, type FieldName, type FormatName, type LatencyUnit, type LineParser } from "./parse.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { DEFAULT_RULES, severityFloor, type Condition, type Rules } from "./rules.js";
import { severityOf } from "../severity.js";
import { countAlert, countSkipped, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch } from "../counts.js";
import { inParts, Retrainer, type RefreshReport, type RetrainOptions } from "./retrain.js";
import { pipelineOf, type PipelineMeta } from "./train.js";

export { countAlert, countSkipped, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch, type SkippedExample } from "../counts.js";

/** One alert, as written to the alerts stream (JSON lines). */
export interface Alert {
  /** 1-based line number in its file. */
  line: number;
  file: string;
  /** The line's timestamp (ISO 8601), or null when it has none. */
  ts: string | null;
  /** Anomaly score s in (0, 1]. */
  score: number;
  /** Severity 0-100 (see src/severity.ts). */
  severity: number;
  /** Name of the rule condition that let it through. */
  rule: string;
  /** The parsed line. */
  record: AlertRecord;
  /** Why it is anomalous: the features that drove its isolation (when explanations are on). */
  reasons?: AlertReason[];
}

/** The parsed line inside an alert (snake_case, as in the simulator's schema). */
export interface AlertRecord {
  ts: string | null;
  method: string;
  route: string;
  status: number | null;
  latency_ms: number | null;
  bytes: number | null;
  ip: string;
  user_agent: string;
}

/** Counts of a detection run; `--json` prints this object. */
export interface DetectSummary extends RunCounts {
  above_min_severity_without_rule: number;
  formats: Record<string, FormatName>;
  /** Scored lines that had no usable timestamp (see `warnings` for the clock they ran on). */
  lines_without_timestamp: number;
  /** Things the run did that a user should know (one sentence each). */
  warnings: string[];
}

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
  /** Keep learning: refresh the forest from recent normal lines (see src/retrain.ts). */
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
export class Detector {
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
  private readonly format: FormatName | "auto";
  private readonly fields: Partial<Record<FieldName, string>>;
  private readonly record: LogRecord = emptyRecord();
  private readonly alertRecord: LogRecord = emptyRecord();
  private readonly lastAlert = new Map<string, number>();
  // Per condition and route: the run of lines that held a condition with forSeconds.
  private readonly runs = new Map<string, { onset: number; last: number }>();
  private firstSeconds = NaN;
  private lastSeconds = 0;
  // Per-row scratch for one batch, grown as needed.
  private rowLine = new Int32Array(0);
  private rowLineNo = new Int32Array(0);
  private batchSkipped: Array<{ line: number; reason: string }> = [];
  private rowStatus = new Float64Array(0);
  private rowLatency = new Float64Array(0);
  private rowBytes = new Float64Array(0);
  private rowRoute = new Int32Array(0);
  private rowRouteCount = new Int32Array(0);
  private rowRouteErrors = new Int32Array(0);
  private rowErrorsOfLast3 = new Uint8Array(0);
  // Per row: the route's recent 5xx share, its latency trend, the all-traffic latency trend, its family's latency trend.
  private rowRecent = new Float64Array(0);
  private rowFamily = new Int32Array(0);
  private rowRouteClients = new Int8Array(0);
  private rowSeconds = new Float64Array(0);
  private rowIp: string[] = [];
  private rowRouteText: string[] = [];
  private rowNovel = new Uint8Array(0);
  // Client window counts per row: requests, failures, novel failures, known failures.
  private rowClient = new Int32Array(0);
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
    this.grow(n);
    const cols = this.scorer.cols;
    const input = this.scorer.input(n);
    const r = this.record;
    const fx = this.features;
    let k = 0;
    if (this.onScored) this.batchSkipped = [];
    for (let i = 0; i < n; i++) {
      const reason = parser.parse(lines[i], r);
      const no = typeof lineNo === "number" ? lineNo + i : lineNo[i];
      if (reason !== null) {
        this.skip(file, no, reason);
        if (this.onScored) this.batchSkipped.push({ line: no, reason });
        continue;
      }
      this.clock(r);
      fx.extract(r, input, k * cols);
      // Nothing a line holds may reach the scorer as NaN or Infinity: such a row is a skip.
      if (!finiteRow(input, k * cols, cols)) {
        this.skip(file, no, "non_finite_features");
        if (this.onScored) this.batchSkipped.push({ line: no, reason: "non_finite_features" });
        continue;
      }
      this.rowLine[k] = i;
      this.rowNovel[k] = fx.lastNovel ? 1 : 0;
      const cw = fx.lastClient;
      this.rowClient[4 * k] = cw.requests;
      this.rowClient[4 * k + 1] = cw.failures;
      this.rowClient[4 * k + 2] = cw.novelFailures;
      this.rowClient[4 * k + 3] = cw.knownFailures;
      this.rowLineNo[k] = no;
      this.rowStatus[k] = r.status;
      this.rowLatency[k] = r.latencyMs;
      this.rowBytes[k] = r.bytes;
      this.rowRoute[k] = fx.lastRoute;
      this.rowRouteCount[k] = fx.lastRouteCount;
      this.rowRouteErrors[k] = fx.lastRouteErrors;
      this.rowErrorsOfLast3[k] = fx.lastRouteErrorsOfLast3;
      this.rowRecent[4 * k] = fx.lastRouteErrorRecent;
      this.rowRecent[4 * k + 1] = fx.lastRouteLatencyTrend;
      this.rowRecent[4 * k + 2] = fx.lastAllLatencyTrend;
      this.rowRecent[4 * k + 3] = fx.lastFamilyTrend;
      this.rowFamily[k] = fx.lastFamily;
      this.rowRouteClients[k] = fx.lastRouteClients;
      this.rowIp[k] = r.ip;
      this.rowRouteText[k] = r.route;
      const seconds = Number.isFinite(r.ts) ? r.ts / 1000 : this.lastSeconds;
      this.lastSeconds = Math.max(this.lastSeconds, seconds);
      this.rowSeconds[k] = seconds;
      k++;
    }
    this.stats.lines_read += n;
    this.stats.lines_scored += k;
    const scores = k > 0 ? this.scorer.run(k) : new Float64Array(0);
    if (this.onScored) {
      this.onScored({
        file,
        count: k,
        lineNo: this.rowLineNo.subarray(0, k),
        seconds: this.rowSeconds.subarray(0, k),
        route: this.rowRoute.subarray(0, k),
        latencyMs: this.rowLatency.subarray(0, k),
        status: this.rowStatus.subarray(0, k),
        scores,
        routeNames: this.routeNames,
        skipped: this.batchSkipped,
      });
    }
    const cal = this.pipeline.calibration;
    const floor = this.floor;
    for (let j = 0; j < k; j++) {
      const severity = severityOf(cal, scores[j]);
      const alertRule = severity < floor ? null : this.judge(j, severity, input, cols);
      if (alertRule === null) {
        // Retraining learns from every line that did not alert (lines held back by a
        // cooldown included: a lasting change is mostly such lines).
        if (this.retrainer) this.retrainRecord(lines[this.rowLine[j]], parser);
        continue;
      }
      const i = this.rowLine[j];
      const alert = this.makeAlert(file, lines[i], this.rowLineNo[j], parser, scores[j], severity, alertRule);
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

  /** A summary of everything processed so far. */
  summary(): DetectSummary {
    const s = structuredClone(this.stats);
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
    let p = this.parsers.get(file);
    if (p) return p;
    let format: FormatName;
    if (this.format !== "auto") {
      format = this.format;
    } else {
      const sample = lines.filter((l) => l.trim() !== "").slice(0, 50);
      format = (sample.length >= 5 ? detectFormat(sample) : null) ?? this.pipeline.format;
    }
    const unit = this.latencyUnit ?? this.pipeline.latencyUnit;
    p = createParser(format, { fields: this.fields, ...(unit !== undefined ? { latencyUnit: unit } : {}) });
    this.parsers.set(file, p);
    this.stats.formats[file] = format;
    return p;
  }

  /** Warm-up, conditions and cooldown for scored row j: the rule name, or null when it does not alert. */
  private judge(j: number, severity: number, input: Float64Array, cols: number): string | null {
    const seconds = this.rowSeconds[j];
    if (Number.isNaN(this.firstSeconds)) this.firstSeconds = seconds;
    if (seconds - this.firstSeconds < this.rules.warmupSeconds) {
      this.stats.suppressed.warmup++;
      return null;
    }
    const min = this.rules.minSeverity;
    const cond = this.rules.conditions.find((c) => severity >= (c.minSeverity ?? min) && this.holds(c, j, input, cols));
    if (cond === undefined) {
      this.stats.above_min_severity_without_rule++;
      return null;
    }
    const group = cond.groupBy === "client" ? this.rowIp[j] : cond.groupBy === "none" ? "" : this.routeKey(j);
    const key = `${cond.name}\u0000${group}`;
    const last = this.lastAlert.get(key);
    // Lines a little out of order (a log written by several workers) fall in the same cooldown.
    if (last !== undefined && Math.abs(seconds - last) < this.rules.cooldownSeconds) {
      this.stats.suppressed.cooldown++;
      return null;
    }
    this.lastAlert.set(key, seconds);
    return cond.name;
  }

  private routeKey(j: number): string {
    // Known routes by id; unknown ones by their own text.
    return this.rowRoute[j] >= 0 ? `#${this.rowRoute[j]}` : this.rowRouteText[j];
  }

  private holds(c: Condition, j: number, input: Float64Array, cols: number): boolean {
    const b = this.features.baseline(this.rowRoute[j]);
    switch (c.type) {
      case "any":
        return true;
      case "unknown_route":
        return this.rowNovel[j] === 1;
      case "client_scan": {
        const failures = this.rowClient[4 * j + 2];
        return this.rowNovel[j] === 1 && this.rowStatus[j] >= 400 && this.clientHolds(c, j, failures, this.peaks.novelFailures);
      }
      case "client_failures": {
        const failures = this.rowClient[4 * j + 3];
        // Without client addresses, failures on known routes are the route's story (error_burst), not a client's.
        return this.rowIp[j] !== "" && this.rowNovel[j] === 0 && this.rowStatus[j] >= 400 && this.clientHolds(c, j, failures, this.peaks.knownFailures);
      }
      case "client_rate_above":
        return this.rowIp[j] !== "" && this.rowClient[4 * j] >= Math.max(c.minRequests ?? 100, (c.factor ?? 3) * this.peaks.requests);
      case "status_at_least":
        return this.rowStatus[j] >= (c.status ?? 500);
      case "route_error_burst":
        // The recent share reads a burst while it happens, and lets go of it as soon as
        // it ends (the 30 s window share would lag it and then blame a later, lone 5xx).
        // Two of the route's last three answers 5xx: the line is part of a run, not a lone error after one.
        return this.rowStatus[j] >= 500 && this.rowRouteErrors[j] >= (c.minRequests ?? 3)
          && this.rowErrorsOfLast3[j] >= 2 && this.rowRecent[4 * j] > (c.share ?? 0.2);
      case "latency_above_route_p99": {
        if (!(this.rowLatency[j] >= (c.minMs ?? 0) && this.rowLatency[j] > (c.factor ?? 1) * b.latencyP99)) return false;
        // Slower than the rest of the traffic (when everything is slow at once, latency_everywhere
        // speaks, once): the route itself, or its family of sibling routes.
        const all = Math.max(0, this.rowRecent[4 * j + 2]);
        const bar = c.trend ?? 0;
        if (this.rowRecent[4 * j + 1] - all > bar && this.lasted(c, j, this.routeKey(j))) return true;
        const family = this.rowFamily[j];
        return family >= 0 && this.rowRecent[4 * j + 3] - all > bar && this.lasted(c, j, `family ${family}`);
      }
      case "latency_everywhere":
        // The line's own route slow too: one big route's spike lifts the all-traffic trend, but leaves the others be.
        return this.rowLatency[j] >= (c.minMs ?? 0) && this.rowRecent[4 * j + 2] > (c.trend ?? 2)
          && this.rowRecent[4 * j + 1] > (c.trend ?? 2) && this.lasted(c, j, "");
      case "bytes_above_route_p999":
        return this.rowBytes[j] > (c.factor ?? 1) * b.bytesP999 && this.feature(input, cols, j, "route_bytes_trend", c.trend);
      case "route_rate_above":
        // A surge is many clients: a burst of one or two (a crawler, an app, a NAT) is
        // theirs, and client_rate_above speaks for it; at least half of the route's last 8
        // requests from distinct clients. Static assets come in bursts after page views:
        // their rate follows the pages'.
        return this.rowNovel[j] === 0 && !this.features.isAsset(this.rowRoute[j]) && this.rowRouteCount[j] >= (c.minRequests ?? 10)
          && (this.rowIp[j] === "" || this.rowRouteClients[j] >= 4)
          && this.feature(input, cols, j, "route_rate_ratio", Math.log(c.factor ?? 3));
    }
  }

  /**
   * Whether condition c has held for `group` (a route, a family, "") for c.forSeconds of line time: since
   * the first line of a run of lines that held it, none more than a window apart.
   */
  private lasted(c: Condition, j: number, group: string): boolean {
    const need = c.forSeconds ?? 0;
    if (need <= 0) return true;
    const seconds = this.rowSeconds[j];
    const key = `${c.name}\u0000${group}`;
    const run = this.runs.get(key);
    if (run === undefined || seconds - run.last > this.pipeline.spec.windowSeconds || seconds < run.onset) {
      this.runs.set(key, { onset: seconds, last: seconds });
      return false;
    }
    run.last = Math.max(run.last, seconds);
    return seconds - run.onset >= need;
  }

  /** A client condition for row j: `count` failures past max(minRequests, factor x the training peak), and the client's failure share. */
  private clientHolds(c: Condition, j: number, count: number, peak: number): boolean {
    if (count < Math.max(c.minRequests ?? 10, (c.factor ?? 1) * peak)) return false;
    // A log without client addresses is one "client": the whole stream, whose failure
    // share a scanner cannot dominate; its count against training's peak must do.
    if (this.rowIp[j] === "") return true;
    return this.rowClient[4 * j + 1] >= (c.share ?? 0.5) * this.rowClient[4 * j];
  }

  /** Why row j (features in `row`) is anomalous; the alert record was just parsed into alertRecord. */
  private reasons(row: Float64Array, j: number): AlertReason[] {
    const shares = explainShares(this.forest, { data: row.slice(), rows: 1, cols: row.length });
    const names = this.pipeline.spec.features;
    const values: Partial<Record<FeatureName, number>> = {};
    names.forEach((f, i) => (values[f] = row[i]));
    const id = this.rowRoute[j];
    return reasonsFor(names, shares, {
      record: this.alertRecord,
      route: id >= 0 ? this.routeNames[id] : this.rowRouteText[j],
      known: id >= 0,
      novel: this.rowNovel[j] === 1,
      recentErrorShare: this.rowRecent[4 * j],
      client: {
        requests: this.rowClient[4 * j],
        failures: this.rowClient[4 * j + 1],
        novelFailures: this.rowClient[4 * j + 2],
        knownFailures: this.rowClient[4 * j + 3],
      } satisfies ClientWindow,
      baseline: this.features.baseline(id),
      values,
      windowSeconds: this.pipeline.spec.windowSeconds,
    });
  }

  /** Whether row j's feature `name` exceeds `above` (true when no bound; false when the model lacks the feature). */
  private feature(input: Float64Array, cols: number, j: number, name: FeatureName, above: number | undefined): boolean {
    if (above === undefined || above <= -10) return true;
    const at = this.featureIndex[name];
    return at !== undefined && input[j * cols + at] > above;
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
  }

  private grow(n: number): void {
    if (this.rowLine.length >= n) return;
    this.rowLine = new Int32Array(n);
    this.rowLineNo = new Int32Array(n);
    this.rowStatus = new Float64Array(n);
    this.rowLatency = new Float64Array(n);
    this.rowBytes = new Float64Array(n);
    this.rowRoute = new Int32Array(n);
    this.rowRouteCount = new Int32Array(n);
    this.rowRouteErrors = new Int32Array(n);
    this.rowErrorsOfLast3 = new Uint8Array(n);
    this.rowRecent = new Float64Array(4 * n);
    this.rowFamily = new Int32Array(n);
    this.rowRouteClients = new Int8Array(n);
    this.rowSeconds = new Float64Array(n);
    this.rowIp = new Array<string>(n).fill("");
    this.rowRouteText = new Array<string>(n).fill("");
    this.rowNovel = new Uint8Array(n);
    this.rowClient = new Int32Array(4 * n);
  }
}
