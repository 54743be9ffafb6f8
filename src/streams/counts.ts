/**
 * The counts every detection run keeps, whichever the stream kind (logs or metrics),
 * the reason type of an alert, and the column view of a scored batch handed to live
 * charts. Shared by streams/http and streams/metrics; imports nothing.
 */

/**
 * What every alert carries, whichever the stream kind (in this order in its JSON);
 * each kind adds its payload: the parsed `record` and the `reasons`.
 */
export interface AlertBase {
  /** 1-based line number in its file. */
  line: number;
  file: string;
  /** The line's timestamp (ISO 8601), or null when it has none. */
  ts: string | null;
  /** Anomaly score s in (0, 1]. */
  score: number;
  /** Severity 0-100 (see streams/severity.ts). */
  severity: number;
  /** Name of the rule condition that let it through. */
  rule: string;
}

/** One reason of an alert. */
export interface AlertReason {
  feature: string;
  /** Share of the isolation credited to this feature (the shares of a line sum to 1). */
  share: number;
  /** A sentence for people, e.g. "latency_ms 8427, typical 120-310 on POST /checkout". */
  text: string;
}

/** A skipped line, kept as an example in the summary. */
export interface SkippedExample {
  file: string;
  line: number;
  reason: string;
}

/** The counts every detection run keeps, of logs or of telemetry. */
export interface RunCounts {
  lines_read: number;
  lines_scored: number;
  alerts: number;
  skipped: Record<string, number>;
  skipped_examples: SkippedExample[];
  suppressed: { warmup: number; cooldown: number };
  alerts_by_rule: Record<string, number>;
  /** Alerts by severity band (rules may let lines below 50 alert: they count under "0-49"). */
  alerts_by_severity: { "0-49": number; "50-74": number; "75-89": number; "90-100": number };
  /** Retraining refreshes done and the model generation reached. */
  retrain: { refreshes: number; generation: number };
}

/** Run counts at zero. */
export function zeroCounts(): RunCounts {
  return {
    lines_read: 0,
    lines_scored: 0,
    alerts: 0,
    skipped: {},
    skipped_examples: [],
    suppressed: { warmup: 0, cooldown: 0 },
    alerts_by_rule: {},
    alerts_by_severity: { "0-49": 0, "50-74": 0, "75-89": 0, "90-100": 0 },
    retrain: { refreshes: 0, generation: 0 },
  };
}

const EXAMPLES_PER_REASON = 3;

/** Count a skipped line by reason, keeping the first few as examples. */
export function countSkipped(c: RunCounts, file: string, line: number, reason: string): void {
  c.skipped[reason] = (c.skipped[reason] ?? 0) + 1;
  if (c.skipped[reason] <= EXAMPLES_PER_REASON) c.skipped_examples.push({ file, line, reason });
}

/** Count an alert by rule and severity band. */
export function countAlert(c: RunCounts, rule: string, severity: number): void {
  c.alerts++;
  c.alerts_by_rule[rule] = (c.alerts_by_rule[rule] ?? 0) + 1;
  c.alerts_by_severity[severity >= 90 ? "90-100" : severity >= 75 ? "75-89" : severity >= 50 ? "50-74" : "0-49"]++;
}

/**
 * Every scored line of one batch, column by column (for live charts). The arrays
 * are views over the detector's scratch: valid only during the callback.
 */
export interface ScoredBatch {
  file: string;
  count: number;
  /** 1-based line number of each scored line in its file. */
  lineNo: Int32Array;
  /** Line time in epoch seconds (the last known time when a line has none). */
  seconds: Float64Array;
  /** Route id: index into routeNames, or -1 for a route outside the trained vocabulary. */
  route: Int32Array;
  latencyMs: Float64Array;
  status: Float64Array;
  scores: Float64Array;
  /** The trained route vocabulary ("GET /api/orders/:id", ...). */
  routeNames: readonly string[];
  /** Lines of this batch that could not be parsed, with the reason. */
  skipped: ReadonlyArray<{ line: number; reason: string }>;
  /** Telemetry rows only: each row's values, row-major (count x seriesNames.length). */
  values?: Float64Array;
  /** Telemetry rows only: the series, in the order of the columns of `values`. */
  seriesNames?: readonly string[];
}
