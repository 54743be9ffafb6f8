/**
 * What an HTTP detection run writes: one alert per line that alerts (JSON lines,
 * this exact shape) and the run's summary (`--json`).
 */
import type { AlertReason, RunCounts } from "../counts.js";
import type { FormatName } from "./parse.js";

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
