/**
 * What the two stream kinds (streams/http: log lines; streams/metrics: CSV metric rows)
 * have in common, as the runtime sees them: a detector that scores a batch of lines and
 * emits alerts, a summary, and a severity scale. The alert and summary types are unions
 * over the kinds' own shapes, so the JSON each kind writes stays its own.
 */
import type { Alert, DetectSummary, Detector } from "./http/detect.js";
import type { TelemetryAlert, TelemetryDetectSummary, TelemetryDetector } from "./metrics/telemetry.js";

/** An HTTP alert or a telemetry alert. */
export type AnyAlert = Alert | TelemetryAlert;

/** An HTTP or a telemetry detection summary. */
export type AnySummary = DetectSummary | TelemetryDetectSummary;

/** The HTTP detector or the telemetry one (runDetect picks by the model). */
export type AnyDetector = Detector | TelemetryDetector;

/** Whether an alert comes from a telemetry stream. */
export function isTelemetryAlert(a: AnyAlert): a is TelemetryAlert {
  return "values" in a.record;
}

/** What the run loop needs of a detector, whichever the stream kind. */
export interface StreamDetector {
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: AnyAlert) => void): void;
  summary(): AnySummary;
  severity(score: number): number;
}
