/**
 * What an HTTP detection run writes: one alert per line that alerts (JSON lines,
 * this exact shape) and the run's summary (`--json`).
 */
import type { AlertBase, AlertReason, RunCounts } from "../counts.js";
import type { FormatName } from "./parse.js";

/** One HTTP alert, as written to the alerts stream (JSON lines). */
export interface Alert extends AlertBase {
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
