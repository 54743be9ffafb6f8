/**
 * What every stream kind (streams/http: access logs; streams/metrics: CSV metric rows)
 * offers the runtime, and nothing of any one kind: the runtime, the dashboard and the
 * scale-out see a kind through `StreamKind` (registered in ./kinds.ts) and its detectors
 * through `StreamDetector`. A kind keeps its own alert and summary shapes (the JSON it
 * writes is its own); the runtime reads the fields every kind has (AlertBase, RunCounts).
 */
import type { IsolationForest } from "../forest/forest.js";
import type { AlertBase, AlertReason, RunCounts, ScoredBatch } from "./counts.js";
import type { RetrainOptions } from "./retrain.js";

/** Any kind's alert: the common fields, its parsed line (`record`) and its reasons. */
export interface StreamAlert extends AlertBase {
  record: { ts: string | null };
  reasons?: AlertReason[];
}

/** Any kind's summary: the common counts, plus what the kind adds (formats, warnings, ...). */
export interface StreamSummary extends RunCounts {
  /** Things the run did that a user should know (one sentence each), when the kind has any. */
  warnings?: string[];
}

/**
 * How a detector is set up, the same words for every kind; a kind takes what applies to it and
 * refuses (RangeError naming the option) what it cannot honour (see StreamKind.check).
 */
export interface DetectorSettings {
  /** A rules file's content, checked by the kind (http: every condition; metrics: minSeverity and cooldownSeconds). */
  rules?: unknown;
  /** Line format, or "auto" (default). */
  format?: string;
  /** Field mapping of a JSON log, by field name. */
  fields?: Readonly<Record<string, string>>;
  /** Unit of a latency written as a bare number. */
  latencyUnit?: string;
  /** Clock of lines without a timestamp: "arrival" (followed live) or "lines" (a whole file). */
  untimedClock?: "arrival" | "lines";
  /** Keep learning from recent normal lines. */
  retrain?: Partial<RetrainOptions>;
  /** A metric stream's score: the anomaly likelihood (default) or the forest's raw score. */
  metricScore?: "likelihood" | "raw";
  /** A metric stream: replace a tree every N rows (0 or undefined: never). */
  adaptEvery?: number;
  /** A metric stream, with adaptEvery: recent normal rows kept to grow trees on. */
  adaptReservoir?: number;
  /** A metric stream: its anomaly likelihood's options (streams/metrics/likelihood.ts), checked by that kind. */
  metricLikelihood?: object;
  /** Reasons on every alert (default true). */
  explain?: boolean;
  /** Called after each batch with every scored line. */
  onScored?: (batch: ScoredBatch) => void;
}

/** What the dashboard's model panel shows of a detector's model. */
export interface ModelDescription {
  /** What it scores, in the page's words ("logs", "telemetry", ...). */
  kind: string;
  format: string;
  /** Scores at severity 50, 75 and 90 of the model's calibration. */
  severityScores: { "50": number; "75": number; "90": number };
  /** Trained routes (0 where the kind has none). */
  routes: number;
  /** Per-series ranges and window, for a metric stream. */
  telemetry?: { series: Array<{ name: string; p01: number; median: number; p99: number }>; k: number; window: number };
}

/**
 * The columns every prepared chunk has (worker-thread parsing, runtime/pipeline.ts): each line's
 * byte range in the chunk and a skip code (0: parsed; TOO_LONG: over the limit, not parsed).
 * A kind adds its own columns.
 */
export interface PreparedChunkBase {
  lines: number;
  start: Int32Array;
  end: Int32Array;
  skip: Uint8Array;
}

/** The skip code of a line over the length limit in a prepared chunk. */
export const TOO_LONG = 255;

/** A kind's parser on a worker thread: a chunk of whole lines in, its columns out (with the buffers to move). */
export interface ChunkPreparer {
  prepare(chunk: Buffer): { p: PreparedChunkBase; transfer: ArrayBuffer[] };
}

/** A detector that can score lines parsed on worker threads (runtime/pipeline.ts). */
export interface PipelinedDetector<A extends StreamAlert = StreamAlert> {
  /** The worker threads' settings for `file` (structured-cloneable), chosen from its first lines; null when its lines must be read on the detecting thread. */
  workerSettings(file: string, sample: readonly string[]): unknown;
  /** Per worker thread: turns its replies into what consume reads (e.g. its string table applied). */
  receiver(): (p: PreparedChunkBase) => PreparedChunkBase;
  /** Score lines [from, to) of p, numbered from lineNo; text(i) is line i (read again for alerts only). */
  consume(file: string, p: PreparedChunkBase, from: number, to: number, lineNo: number, text: (i: number) => string, emit: (a: A) => void): void;
}

/** What the run loop needs of a detector, whichever the stream kind. */
export interface StreamDetector<A extends StreamAlert = StreamAlert, S extends StreamSummary = StreamSummary> {
  /**
   * Score a batch of lines of `file` and call `emit` for each alert, in line order; `lineNo` is the
   * 1-based number of the first line, or each line's own. A bad line is counted, never thrown.
   */
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: A) => void): void;
  /** A summary of everything processed so far (a copy). */
  summary(): S;
  /** The live counts (not a copy: read, never change). */
  counts(): RunCounts;
  /** Severity (0-100) of a score. */
  severity(score: number): number;
  /** The model in use (a new one after a retraining refresh). */
  readonly forest: IsolationForest;
  /** The features the model reads, in column order. */
  readonly featureNames: readonly string[];
  /** The model as the dashboard shows it. */
  describe(): ModelDescription;
  /** At the end of the input: judge what is still open (a free-text detector's last window and sessions). */
  endOfInput?(emit: (a: A) => void): void;
  /** Present when lines can be parsed on worker threads for this detector (no retraining then). */
  readonly pipelined?: PipelinedDetector<A> | null;
}

/** What a stream kind's dashboard shows. */
export interface DashboardPanels {
  /** How much time the charts keep: "short" (the dashboard's windowSeconds: lines arrive many a second) or "long" (telemetryWindowSeconds: a row every few seconds). */
  window: "short" | "long";
  /** What one chart selection is: a route of a log, or a series of a metric stream. */
  selects: "route" | "series";
}

/**
 * A stream kind, as registered in ./kinds.ts: which models it reads, how it makes a detector,
 * how its alerts and summaries read on a terminal, what its dashboard shows.
 */
export interface StreamKind {
  /** Its name in messages and the registry ("logs", "metrics", ...). */
  readonly name: string;
  /** What it reads, for a refusal ("access logs (JSON, combined, ...)"). */
  readonly reads: string;
  /** Whether a model was trained for this kind. */
  accepts(model: IsolationForest): boolean;
  /** What a model of this kind was trained on, for a refusal ("a CSV metric stream", "a json (pino, ...) log"). */
  trainedOn(model: IsolationForest): string;
  /**
   * What a file's first lines are when this kind reads them ("is an access log (combined ...)",
   * "looks like a CSV metric stream"), else null: how a run refuses a log of another kind than its model.
   */
  recognise(sample: readonly string[]): string | null;
  /** Refuse settings this kind cannot honour (RangeError naming the option); called before anything runs. */
  check(settings: DetectorSettings): void;
  /** A detector for this model (one per run, or per source in the scale-out: it keeps the stream's windows). */
  create(model: IsolationForest, settings: DetectorSettings): StreamDetector;
  /** Whether an alert is of this kind (its record's shape). */
  owns(alert: StreamAlert): boolean;
  /** One alert's own fields as text for a terminal, e.g. `POST /checkout  200  8427 ms  1.2 KB` (runtime/alert-format.ts adds the rest). */
  alertText(alert: StreamAlert): string;
  /** Whether lines of this kind can be parsed on worker threads: a preparer for the worker's settings. */
  preparer?(settings: unknown, maxLineBytes: number): ChunkPreparer;
  readonly dashboard: DashboardPanels;
}

/** Where a resolved rules object keeps the keys its file gave (not enumerable: not written out). */
export const RULES_GIVEN: unique symbol = Symbol.for("logforest.rules.given");

/**
 * The keys a rules file gave, when `rules` came from one (resolved rules carry the defaults
 * of access logs too): a kind with defaults of its own takes only what was given.
 */
export function rulesGiven(rules: unknown): readonly string[] | null {
  if (typeof rules !== "object" || rules === null) return null;
  const given = (rules as { [RULES_GIVEN]?: unknown })[RULES_GIVEN];
  return Array.isArray(given) ? (given as string[]) : null;
}
