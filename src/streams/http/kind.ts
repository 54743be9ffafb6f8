/** The access-log stream kind (registered in ../kinds.ts): HTTP request lines of any known format. */
import type { IsolationForest } from "../../forest/forest.js";
import type { DetectorSettings, StreamAlert, StreamKind } from "../stream.js";
import type { Alert } from "./alert.js";
import { Detector } from "./detect.js";
import { detectFormat, FORMAT_NAMES, LATENCY_UNITS, parseFieldMappings, type FieldName, type FormatName, type LatencyUnit, type ParserOptions } from "./parse.js";
import { LinePreparer } from "./prepare.js";
import { formatLabel } from "./refusal.js";
import { resolveRules } from "./rules.js";
import { pipelineOf } from "./train.js";

function size(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** What a worker thread parses a file's lines with (Detector.workerSettings). */
export interface HttpWorkerSettings {
  format: FormatName;
  options: ParserOptions;
}

/** Access logs: JSON lines, combined, seed; see docs/logs.md. */
export const httpKind: StreamKind = {
  name: "logs",
  reads: `access logs (${FORMAT_NAMES.join(", ")})`,
  accepts: (model: IsolationForest) => typeof model.metadata.pipeline === "object" && model.metadata.pipeline !== null,
  trainedOn: (model: IsolationForest) => `a ${formatLabel(pipelineOf(model).format)} log`,
  recognise(sample: readonly string[]): string | null {
    const found = detectFormat(sample);
    return found === null ? null : `is an access log (${formatLabel(found)})`;
  },
  check(s: DetectorSettings): void {
    if (s.format === "csv") throw new RangeError("--format csv needs a telemetry model (train it with --format csv)");
    if (s.adaptEvery) throw new RangeError("--adapt-every needs a telemetry model (train it with --format csv); this model reads access logs");
    if (s.format !== undefined && s.format !== "auto" && !(FORMAT_NAMES as readonly string[]).includes(s.format)) {
      throw new RangeError(`--format must be one of auto, ${FORMAT_NAMES.join(", ")}, got ${JSON.stringify(s.format)}`);
    }
    if (s.latencyUnit !== undefined && !(LATENCY_UNITS as readonly string[]).includes(s.latencyUnit)) {
      throw new RangeError(`--latency-unit must be one of ${LATENCY_UNITS.join(", ")}, got ${JSON.stringify(s.latencyUnit)}`);
    }
    if (s.fields !== undefined) parseFieldMappings(Object.entries(s.fields).map(([k, v]) => `${k}=${v}`));
    if (s.rules !== undefined) resolveRules(s.rules);
  },
  create(model: IsolationForest, s: DetectorSettings): Detector {
    return new Detector(model, {
      rules: s.rules === undefined ? undefined : resolveRules(s.rules),
      format: s.format as FormatName | "auto" | undefined,
      fields: s.fields as Partial<Record<FieldName, string>> | undefined,
      onScored: s.onScored,
      retrain: s.retrain,
      ...(s.latencyUnit !== undefined ? { latencyUnit: s.latencyUnit as LatencyUnit } : {}),
      ...(s.explain !== undefined ? { explain: s.explain } : {}),
      ...(s.untimedClock !== undefined ? { untimedClock: s.untimedClock } : {}),
    });
  },
  owns: (a: StreamAlert) => "route" in a.record,
  alertText(alert: StreamAlert): string {
    const r = (alert as Alert).record;
    const lat = r.latency_ms === null ? "-" : `${r.latency_ms.toFixed(r.latency_ms < 10 ? 1 : 0)} ms`;
    return `${r.method} ${r.route}  ${r.status ?? "-"}  ${lat}  ${size(r.bytes)}`;
  },
  preparer(settings: unknown, maxLineBytes: number) {
    const w = settings as HttpWorkerSettings;
    const preparer = new LinePreparer(w.format, w.options, maxLineBytes);
    return {
      prepare(chunk: Buffer) {
        const p = preparer.prepare(chunk);
        const arrays = [p.start, p.end, p.skip, p.ts, p.status, p.latencyMs, p.bytes, p.method, p.route, p.ip];
        return { p, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
      },
    };
  },
  dashboard: { window: "short", selects: "route" },
};
