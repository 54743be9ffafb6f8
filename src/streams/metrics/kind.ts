/** The metric-stream kind (registered in ../kinds.ts): CSV rows of a timestamp and numeric series. */
import type { IsolationForest } from "../../forest/forest.js";
import type { DetectorSettings, StreamAlert, StreamKind } from "../stream.js";
import { TelemetryDetector, type TelemetryAlert } from "./detect.js";
import { isTelemetryModel } from "./train.js";
import { resolveLikelihoodOptions, type LikelihoodOptions } from "./likelihood.js";

/** The rules a metric stream honours, when a rules file gives them. */
function ruleNumbers(rules: unknown): { minSeverity?: number; cooldownSeconds?: number } {
  if (typeof rules !== "object" || rules === null) return {};
  const r = rules as { minSeverity?: number; cooldownSeconds?: number };
  return { minSeverity: r.minSeverity, cooldownSeconds: r.cooldownSeconds };
}

/** Whether lines look like a metric stream: a header of 2+ fields, and most lines with as many, numbers after the first. */
function looksLikeCsv(lines: readonly string[]): boolean {
  const [header, ...rows] = lines;
  if (header === undefined || rows.length === 0 || header.trimStart().startsWith("{")) return false;
  const n = header.split(",").length;
  if (n < 2) return false;
  const numeric = (l: string) => {
    const f = l.split(",");
    return f.length === n && f.slice(1).every((v) => v.trim() === "" || Number.isFinite(Number(v)));
  };
  return rows.filter(numeric).length * 5 >= rows.length * 4;
}

/** Metric streams (telemetry CSV); see docs/telemetry.md. */
export const metricsKind: StreamKind = {
  name: "metrics",
  reads: "metric streams (CSV: a timestamp and numeric series)",
  accepts: (model: IsolationForest) => isTelemetryModel(model),
  trainedOn: () => "a CSV metric stream",
  recognise: (sample: readonly string[]) => (looksLikeCsv(sample) ? "looks like a CSV metric stream" : null),
  check(s: DetectorSettings): void {
    const every = s.adaptEvery ?? 0;
    if (every !== 0 && !(Number.isInteger(every) && every >= 10 && every <= 1_000_000)) throw new RangeError(`--adapt-every must be 0 or an integer in [10, 1000000], got ${every}`);
    if (every !== 0 && s.metricScore === "raw") throw new RangeError("--adapt-every needs --metric-score likelihood (it learns from the rows whose likelihood stayed below the alert level)");
    if (s.metricScore !== undefined && s.metricScore !== "likelihood" && s.metricScore !== "raw") {
      throw new RangeError(`--metric-score must be likelihood or raw, got ${JSON.stringify(s.metricScore)}`);
    }
    if (s.metricLikelihood !== undefined) resolveLikelihoodOptions(s.metricLikelihood as Partial<LikelihoodOptions>);
  },
  create(model: IsolationForest, s: DetectorSettings): TelemetryDetector {
    return new TelemetryDetector(model, {
      ...(s.metricScore !== undefined ? { output: s.metricScore } : {}),
      ...(s.adaptEvery !== undefined ? { adapt: s.adaptEvery === 0 ? false : { every: s.adaptEvery, ...(s.adaptReservoir !== undefined ? { reservoir: s.adaptReservoir } : {}) } } : {}),
      ...(s.metricLikelihood !== undefined ? { likelihood: s.metricLikelihood as Partial<LikelihoodOptions> } : {}),
      onScored: s.onScored,
      retrain: s.retrain,
      ...(s.rules !== undefined ? ruleNumbers(s.rules) : {}),
    });
  },
  owns: (a: StreamAlert) => "values" in a.record,
  alertText(alert: StreamAlert): string {
    const values = (alert as TelemetryAlert).record.values;
    return Object.entries(values).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join(" ");
  },
  dashboard: { window: "long", selects: "series" },
};
