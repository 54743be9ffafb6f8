/**
 * Telemetry detection: CSV metric lines -> rows -> features -> WASM scorer -> severity
 * -> alert with reasons summed per series; each file is a stream of its own.
 */
import { emptyTelemetryRow, parseTelemetryHeader, TelemetryParser, type TelemetryHeader, type TelemetryRow } from "./csv.js";
import { beyondReach, blockWidthOf, TelemetryExtractor, VOL_EPS } from "./features.js";
import { TELEMETRY_DEFAULTS, telemetryOf, type TelemetryMeta } from "./train.js";
import { inParts, type RefreshReport, type RetrainOptions } from "../retrain.js";
import { TelemetryRetrainer } from "./retrain.js";
import { explainShares } from "../../forest/explain.js";
import { countAlert, countSkipped, zeroCounts, type AlertBase, type AlertReason, type RunCounts, type ScoredBatch } from "../counts.js";
import { IsolationForest, type BatchScorer } from "../../forest/forest.js";
import { severityOf } from "../severity.js";
import { resolveAdaptOptions, TreeAdapter, type AdaptOptions } from "./adapt.js";
import { AnomalyLikelihood, priorOf, resolveLikelihoodOptions, type LikelihoodOptions } from "./likelihood.js";
import type { ModelDescription, StreamDetector } from "../stream.js";

/** Options of a TelemetryDetector. */
export interface TelemetryDetectorOptions {
  /** Alert from this severity on, a number in [0, 100]. Default 50. */
  minSeverity?: number;
  /** Rows per file scored but never alerted at the start, an integer >= 0. Default: the model's k. */
  warmup?: number;
  /** Seconds after an alert on a series during which that series does not alert again, in [0, 86400]. Default 30. */
  cooldownSeconds?: number;
  /** Called after each batch with every scored row and its values (route -1, latency and status NaN: there are none). */
  onScored?: (batch: ScoredBatch) => void;
  /**
   * What a row's score is: "likelihood" (default), the anomaly likelihood on a log scale
   * in [0, 1] (see likelihood.ts; severity is 200 x it, at most 100), or "raw", the forest's score
   * (severity from the training calibration).
   */
  output?: "likelihood" | "raw";
  /** Options of the anomaly likelihood (short, long, minHistory, hold). */
  likelihood?: Partial<LikelihoodOptions>;
  /**
   * Replace a tree every `every` rows with one grown on a reservoir of recent rows whose
   * likelihood stayed below the alert level (see adapt.ts); false: never. Needs the
   * likelihood output; off with `retrain`, which relearns the scales instead.
   */
  adapt?: Partial<AdaptOptions> | false;
  /** Keep learning from recent rows that did not alert (see streams/metrics/retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** Called after each retraining refresh. */
  onRefresh?: (r: RefreshReport) => void;
}

/** A telemetry alert: streams/http/alert.ts's Alert with the row's values for a record and reasons per series. */
export interface TelemetryAlert extends AlertBase {
  /** 1-based line number in its file (the header is line 1). */
  line: number;
  /** Always "telemetry". */
  rule: string;
  record: { ts: string | null; values: Record<string, number> };
  /** The series whose features drove the isolation (share summed over the series' features), largest first. */
  reasons: AlertReason[];
}

/** Counts of a telemetry detection run (DetectSummary's fields that apply). */
export interface TelemetryDetectSummary extends RunCounts {
  formats: Record<string, "csv">;
}

/** Per-file state: a stream of its own (layout, history, warm-up, cooldowns). */
interface FileState {
  /** null after a header that lacks the model's series: the file's lines are skipped. */
  parser: TelemetryParser | null;
  extractor: TelemetryExtractor;
  /** Per series: seconds and row (extractor count) of its last alert. */
  lastAlert: Float64Array;
  lastAlertRow: Float64Array;
  /** The stream's anomaly likelihood (null when the output is the raw score). */
  likelihood: AnomalyLikelihood | null;
}

const RULE = "telemetry";
// Reasons list the series holding at least this share (the top one always).
const REASON_SHARE = 0.1;

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Scores CSV metric lines and raises alerts; each file is its own stream. */
export class TelemetryDetector implements StreamDetector<TelemetryAlert, TelemetryDetectSummary> {
  private model: IsolationForest;
  private spec: TelemetryMeta;
  private readonly retrainer: TelemetryRetrainer | null;
  private readonly adapter: TreeAdapter | null;
  private readonly onRefresh: ((r: RefreshReport) => void) | null;
  private readonly minSeverity: number;
  private readonly warmup: number;
  private readonly cooldownSeconds: number;
  private readonly likelihoodOpts: LikelihoodOptions | null;
  private readonly onScored: ((batch: ScoredBatch) => void) | null;
  private scorer: BatchScorer;
  private readonly files = new Map<string, FileState>();
  private readonly defaultHeader: TelemetryHeader;
  private readonly row: TelemetryRow;
  private readonly seriesOf: Int32Array;
  private readonly perSeries: Float64Array;
  private readonly blockWidth: number;
  private rowWarm = new Uint8Array(0);
  private rowIndex = new Float64Array(0);
  private rowLineNo = new Int32Array(0);
  private rowSeconds = new Float64Array(0);
  private rowValues = new Float64Array(0);
  private rowVol = new Float64Array(0);
  /** Per row: 1 when its likelihood before the hold stayed below the alert level (what adapt and retrain may learn from). */
  private rowNormal = new Uint8Array(0);
  private batchSkipped: Array<{ line: number; reason: string }> = [];
  private readonly stats: TelemetryDetectSummary = { ...zeroCounts(), formats: {} };

  constructor(forest: IsolationForest, opts: TelemetryDetectorOptions = {}) {
    this.model = forest;
    this.spec = telemetryOf(forest);
    const minSeverity = opts.minSeverity ?? TELEMETRY_DEFAULTS.minSeverity;
    if (typeof minSeverity !== "number" || !(minSeverity >= 0 && minSeverity <= 100)) {
      throw new RangeError(`minSeverity must be a number in [0, 100], got ${show(minSeverity)}`);
    }
    const warmup = opts.warmup ?? this.meta.k;
    if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be an integer >= 0 (rows), got ${show(warmup)}`);
    const cooldownSeconds = opts.cooldownSeconds ?? TELEMETRY_DEFAULTS.cooldownSeconds;
    if (typeof cooldownSeconds !== "number" || !(cooldownSeconds >= 0 && cooldownSeconds <= 86400)) {
      throw new RangeError(`cooldownSeconds must be a number in [0, 86400], got ${show(cooldownSeconds)}`);
    }
    if (opts.output !== undefined && opts.output !== "likelihood" && opts.output !== "raw") {
      throw new RangeError(`output must be "likelihood" or "raw", got ${show(opts.output)}`);
    }
    this.likelihoodOpts = opts.output === "raw" ? null : resolveLikelihoodOptions(opts.likelihood);
    this.minSeverity = minSeverity;
    this.warmup = warmup;
    this.cooldownSeconds = cooldownSeconds;
    this.onScored = opts.onScored ?? null;
    this.scorer = forest.batchScorer();
    const s = this.meta.series.length;
    this.defaultHeader = { columns: [this.meta.timestamp, ...this.meta.series], timestamp: 0, series: [...this.meta.series] };
    this.row = emptyTelemetryRow(s);
    this.blockWidth = blockWidthOf(this.meta);
    // A summary column's share goes to the series holding its largest value (see perSeriesShares).
    this.seriesOf = new Int32Array(this.meta.features.length);
    for (let c = 0; c < this.seriesOf.length; c++) this.seriesOf[c] = c < s * this.blockWidth ? Math.floor(c / this.blockWidth) : -1;
    this.perSeries = new Float64Array(s);
    this.retrainer = opts.retrain ? new TelemetryRetrainer(forest, s, opts.retrain) : null;
    const adapt = opts.adapt ?? false;
    this.adapter = adapt === false || this.retrainer !== null || this.likelihoodOpts === null ? null : new TreeAdapter(resolveAdaptOptions(adapt, forest), forest.cols);
    this.onRefresh = opts.onRefresh ?? null;
  }

  /** The model in use (a new one after each retraining refresh). */
  get forest(): IsolationForest {
    return this.model;
  }

  /** The model's telemetry spec and calibration. */
  get meta(): TelemetryMeta {
    return this.spec;
  }

  /** The features the model reads, in column order. */
  get featureNames(): string[] {
    return this.meta.features;
  }

  /**
   * Severity (0-100) of a score: 200 x the likelihood score (50 is a tail probability of
   * 10^-2.5, about 1 row in 316, as the raw score's 50 is the training p99; 100 is
   * 1e-5 or less), or the raw score under the model's calibration.
   */
  severity(score: number): number {
    return this.likelihoodOpts !== null ? Math.min(100, Math.round(score * 2000) / 10) : severityOf(this.meta.calibration, score);
  }

  /** A summary of everything processed so far. */
  summary(): TelemetryDetectSummary {
    return structuredClone(this.stats);
  }

  /** The live counts (read, never change). */
  counts(): RunCounts {
    return this.stats;
  }

  /** The model as the dashboard shows it: the series with their typical range, k and window. */
  describe(): ModelDescription {
    const m = this.meta;
    const cal = m.calibration.scores;
    const series = m.series.map((name, q) => ({ name, p01: m.scales[q].p01, median: m.scales[q].median, p99: m.scales[q].p99 }));
    return { kind: "telemetry", format: "csv", severityScores: { "50": cal[2], "75": cal[3], "90": cal[4] }, routes: 0, telemetry: { series, k: m.k, window: m.window } };
  }

  /**
   * Score a batch of lines of `file` and call `emit` for each alert, in line order.
   * `lineNo` is the 1-based number of the first line, or each line's own number.
   * A file's lines may start with a header (any column order; extra columns are
   * ignored); without one they are read as the training layout.
   */
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: TelemetryAlert) => void): void {
    const n = lines.length;
    if (n === 0) return;
    const every = Math.min(this.retrainer?.opts.everyLines ?? Infinity, this.adapter?.opts.every ?? Infinity);
    if (inParts(lines, lineNo, every, (part, no) => this.processBatch(file, part, no, emit))) return;
    const st = this.fileState(file);
    this.grow(n);
    const s = this.meta.series.length;
    const cols = this.scorer.cols;
    const input = this.scorer.input(n);
    const row = this.row;
    if (this.onScored) this.batchSkipped = [];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const no = typeof lineNo === "number" ? lineNo + i : lineNo[i];
      let reason = st.parser === null ? "header_mismatch" : st.parser.parse(lines[i], row);
      if (reason !== null) {
        reason = this.headerLine(st, lines[i]) ?? reason;
        this.skip(file, no, reason);
        if (this.onScored) this.batchSkipped.push({ line: no, reason });
        continue;
      }
      this.rowIndex[k] = st.extractor.count;
      this.rowWarm[k] = st.extractor.count < this.warmup ? 1 : 0;
      st.extractor.extract(row.ts, row.values, input, k * cols);
      this.rowLineNo[k] = no;
      this.rowSeconds[k] = row.ts / 1000;
      this.rowValues.set(row.values, k * s);
      this.rowVol.set(st.extractor.lastVol, k * s);
      k++;
    }
    this.stats.lines_read += n;
    this.stats.lines_scored += k;
    let scores = k > 0 ? this.scorer.run(k) : new Float64Array(0);
    const lk = st.likelihood;
    if (lk !== null) {
      // The raw scores (a view of the scorer's memory, copied) become likelihoods.
      scores = scores.slice();
      const alertScore = this.minSeverity / 200;
      const magnitude = lk.opts.magnitude;
      const reach = this.meta.reach;
      for (let j = 0; j < k; j++) {
        // Past the training range the forest no longer tells near from far: the magnitude term does.
        if (magnitude > 0 && reach !== undefined) scores[j] += magnitude * beyondReach(input, j * cols, reach);
        scores[j] = lk.next(scores[j], alertScore);
        this.rowNormal[j] = lk.last < alertScore ? 1 : 0;
        this.adapter?.offer(input.subarray(j * cols, (j + 1) * cols), this.rowNormal[j] === 1);
      }
    }
    if (this.onScored) {
      this.onScored({
        file,
        count: k,
        lineNo: this.rowLineNo.subarray(0, k),
        seconds: this.rowSeconds.subarray(0, k),
        route: new Int32Array(k).fill(-1),
        latencyMs: new Float64Array(k).fill(NaN),
        status: new Float64Array(k).fill(NaN),
        scores,
        routeNames: [],
        skipped: this.batchSkipped,
        values: this.rowValues.subarray(0, k * s),
        seriesNames: this.meta.series,
      });
    }
    for (let j = 0; j < k; j++) {
      const severity = this.severity(scores[j]);
      // A held row reports low but is still part of the anomaly: its likelihood before the hold decides.
      const normal = lk !== null ? this.rowNormal[j] === 1 : severity < this.minSeverity;
      this.retrainer?.offer(this.rowSeconds[j] * 1000, this.rowValues.subarray(j * s, (j + 1) * s), normal);
      if (severity < this.minSeverity) continue;
      if (this.rowWarm[j] === 1) {
        this.stats.suppressed.warmup++;
        continue;
      }
      const features = input.slice(j * cols, (j + 1) * cols);
      const shares = explainShares(this.forest, { data: features, rows: 1, cols });
      const per = this.perSeriesShares(features, shares);
      let top = 0;
      for (let q = 1; q < s; q++) if (per[q] > per[top]) top = q;
      const seconds = this.rowSeconds[j];
      const last = st.lastAlert[top];
      // The next k - 1 rows still hold the alerted value in their shingle: echoes, not news.
      const echo = this.rowIndex[j] - st.lastAlertRow[top] < this.meta.k;
      if (echo || (seconds - last < this.cooldownSeconds && seconds >= last)) {
        this.stats.suppressed.cooldown++;
        continue;
      }
      st.lastAlert[top] = seconds;
      st.lastAlertRow[top] = this.rowIndex[j];
      emit(this.makeAlert(file, j, scores[j], severity, features, shares));
    }
    this.refreshIfDue(k);
  }

  /** Shares of the row's isolation summed per series; a summary column's goes to the series whose value it took. */
  private perSeriesShares(row: Float64Array, shares: Float64Array): Float64Array {
    const per = this.perSeries.fill(0);
    const w = this.blockWidth;
    const k = this.meta.k;
    const s = this.meta.series.length;
    for (let c = 0; c < shares.length; c++) {
      let q = this.seriesOf[c];
      if (q < 0) {
        const at = [0, k, k + 1, k + 2][c - s * w];
        q = 0;
        for (let r = 1; r < s; r++) if (row[r * w + at] > row[q * w + at]) q = r;
      }
      per[q] += shares[c];
    }
    return per;
  }

  private refreshIfDue(rows: number): void {
    const a = this.adapter;
    if (a !== null && a.due(this.model)) {
      this.model = a.replace(this.model);
      this.spec = telemetryOf(this.model);
      this.scorer = this.model.batchScorer();
    }
    const r = this.retrainer;
    if (!r || !r.tick(rows, this.model.sampleSize)) return;
    const { forest, report } = r.refresh(this.model);
    this.model = forest;
    this.spec = telemetryOf(forest);
    this.scorer = forest.batchScorer();
    // New scales; each file's history (raw values) carries on.
    for (const st of this.files.values()) st.extractor.rescale(this.spec);
    this.stats.retrain.refreshes++;
    this.stats.retrain.generation = report.generation;
    this.onRefresh?.(report);
  }

  private fileState(file: string): FileState {
    let st = this.files.get(file);
    if (st === undefined) {
      st = {
        parser: new TelemetryParser(this.defaultHeader),
        extractor: new TelemetryExtractor(this.meta),
        lastAlert: new Float64Array(this.meta.series.length).fill(-Infinity),
        lastAlertRow: new Float64Array(this.meta.series.length).fill(-Infinity),
        likelihood: this.likelihoodOpts === null ? null : new AnomalyLikelihood(this.likelihoodOpts, priorOf(this.meta.calibration.scores)),
      };
      this.files.set(file, st);
      this.stats.formats[file] = "csv";
    }
    return st;
  }

  /** When `line` is a header: switch the file to its layout and return the skip reason; else null. */
  private headerLine(st: FileState, line: string): string | null {
    let h: TelemetryHeader;
    try {
      h = parseTelemetryHeader(line, this.meta.timestamp);
    } catch {
      return null;
    }
    // A new header means a new stream (a rotated or restarted file): history starts over.
    st.extractor.reset();
    st.likelihood?.reset();
    st.lastAlert.fill(-Infinity);
    st.lastAlertRow.fill(-Infinity);
    if (!this.meta.series.every((name) => h.series.includes(name))) {
      st.parser = null;
      return "header_mismatch";
    }
    st.parser = new TelemetryParser(h, this.meta.series);
    return "header";
  }

  private makeAlert(file: string, j: number, score: number, severity: number, features: Float64Array, shares: Float64Array): TelemetryAlert {
    const s = this.meta.series.length;
    const ts = Number.isFinite(this.rowSeconds[j]) ? new Date(this.rowSeconds[j] * 1000).toISOString() : null;
    const values: Record<string, number> = {};
    this.meta.series.forEach((name, q) => (values[name] = this.rowValues[j * s + q]));
    const order = Array.from({ length: s }, (_, q) => q).sort((a, b) => this.perSeries[b] - this.perSeries[a]);
    const reasons: AlertReason[] = [];
    for (const q of order) {
      if (reasons.length > 0 && (this.perSeries[q] < REASON_SHARE || reasons.length >= 3)) break;
      reasons.push({ feature: this.meta.series[q], share: Math.round(this.perSeries[q] * 1000) / 1000, text: this.describeSeries(q, values[this.meta.series[q]], this.rowVol[j * s + q], features, shares) });
    }
    countAlert(this.stats, RULE, severity);
    return {
      line: this.rowLineNo[j],
      file,
      ts,
      score: Math.round(score * 1e6) / 1e6,
      severity,
      rule: RULE,
      record: { ts, values },
      reasons,
    };
  }

  /** A sentence on series q (values[q] is its current value), from the feature of its block with the largest share. */
  private describeSeries(q: number, value: number, vol: number, row: Float64Array, shares: Float64Array): string {
    const { k, window, scales, series } = this.meta;
    const w = this.blockWidth;
    const base = q * w;
    let best = 0;
    for (let c = 1; c < w; c++) if (shares[base + c] > shares[base + best]) best = c;
    const name = series[q];
    const sc = scales[q];
    const typical = `typical ${fmt(sc.p01)}-${fmt(sc.p99)}`;
    const sd = (c: number) => fmt(Math.sqrt(row[base + c]));
    if (best === k + 4) return `${name} ${fmt(value)}: ${sd(best)} sd from its median over the last ${this.meta.context ?? 0} points (${typical})`;
    if (best === k + 3) return `${name} flat at ${fmt(value)}: unchanged for ${Math.round(Math.expm1(row[base + best]))} points`;
    if (best === k + 2) {
      const eps = VOL_EPS * sc.step;
      const step = Math.max(0, Math.exp(vol) * (sc.step + eps) - eps);
      return `${name} ${fmt(value)}: median step ${fmt(step)} over the last ${window}, typical ${fmt(sc.step)}`;
    }
    if (best === k + 1) return `${name} ${fmt(value)}: moved ${sd(best)} sd over ${k - 1} steps (${typical})`;
    if (best === k) return `${name} ${fmt(value)}: a step of ${sd(best)} sd from the previous value (${typical})`;
    if (best > 0) return `${name} was ${sd(best)} sd from its recent median ${best} point${best > 1 ? "s" : ""} ago (${typical})`;
    return `${name} ${fmt(value)}: ${sd(0)} sd from its recent median (${typical})`;
  }

  private skip(file: string, line: number, reason: string): void {
    countSkipped(this.stats, file, line, reason);
  }

  private grow(n: number): void {
    if (this.rowLineNo.length >= n) return;
    this.rowWarm = new Uint8Array(n);
    this.rowIndex = new Float64Array(n);
    this.rowLineNo = new Int32Array(n);
    this.rowSeconds = new Float64Array(n);
    this.rowValues = new Float64Array(n * this.meta.series.length);
    this.rowVol = new Float64Array(n * this.meta.series.length);
    this.rowNormal = new Uint8Array(n);
  }
}

/** A number for people: up to 4 significant digits, no exponent for everyday sizes. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}
