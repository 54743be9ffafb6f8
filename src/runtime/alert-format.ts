/** Human-readable alert and summary lines for a terminal. */
import type { Alert } from "../streams/http/detect.js";
import type { AnyAlert, AnySummary } from "../streams/stream.js";
import type { SinkCounts } from "./sinks/queue.js";

const RESET = "\u001b[0m";
const BOLD = "\u001b[1m";
const DIM = "\u001b[2m";
const RED = "\u001b[31m";
const YELLOW = "\u001b[33m";
const MAGENTA = "\u001b[35m";

/** Colour of a severity band: 90+ bold red, 75+ red, 50+ yellow, below that magenta. */
function band(severity: number): string {
  return severity >= 90 ? BOLD + RED : severity >= 75 ? RED : severity >= 50 ? YELLOW : MAGENTA;
}

function size(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Whether output to a stream is coloured, as Node's own terminal code decides: FORCE_COLOR
 * forces it (off when "0" or "false"), else a non-empty NO_COLOR (no-color.org) turns it
 * off, else a terminal gets colour.
 */
export function colorWanted(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return isTTY;
}

/** Whether alerts are written as text lines rather than JSON: on a terminal, or when FORCE_COLOR asks for colour. */
export function humanAlerts(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTTY || (env.FORCE_COLOR !== undefined && colorWanted(false, env));
}

/**
 * One alert as a coloured line, e.g. ` 87  14:03:22  POST /checkout  200  8427 ms  1.2 KB  slow  app.log:1234`;
 * `color` false, or NO_COLOR set (colorWanted), gives it plain.
 */
export function formatAlert(a: AnyAlert, color: boolean): string {
  color = color && colorWanted(true);
  if ("values" in a.record) return formatTelemetryAlert(a as AnyAlert & { record: { values: Record<string, number> } }, color);
  return formatHttpAlert(a as Alert, color);
}

function formatTelemetryAlert(a: AnyAlert & { record: { values: Record<string, number> } }, color: boolean): string {
  const time = a.ts ? a.ts.slice(11, 19) : "--:--:--";
  const sev = a.severity.toFixed(0).padStart(3);
  const values = Object.entries(a.record.values).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`).join(" ");
  const why = a.reasons?.length ? `  [${a.reasons.map((x) => x.text).join("; ")}]` : "";
  const body = `${time}  ${values}  ${a.rule}`;
  if (!color) return `${sev}  ${body}${why}  ${a.file}:${a.line}`;
  return `${band(a.severity)}${sev}${RESET}  ${body}${DIM}${why}  ${a.file}:${a.line}${RESET}`;
}

function formatHttpAlert(a: Alert, color: boolean): string {
  const r = a.record;
  const time = a.ts ? a.ts.slice(11, 19) : "--:--:--";
  const sev = a.severity.toFixed(0).padStart(3);
  const lat = r.latency_ms === null ? "-" : `${r.latency_ms.toFixed(r.latency_ms < 10 ? 1 : 0)} ms`;
  const where = `${a.file}:${a.line}`;
  const body = `${time}  ${r.method} ${r.route}  ${r.status ?? "-"}  ${lat}  ${size(r.bytes)}  ${a.rule}`;
  const why = a.reasons?.length ? `  [${a.reasons.map((x) => x.text).join("; ")}]` : "";
  if (!color) return `${sev}  ${body}${why}  ${where}`;
  return `${band(a.severity)}${sev}${RESET}  ${body}${DIM}${why}  ${where}${RESET}`;
}

/** The end-of-run summary as text lines. */
export function formatSummary(s: AnySummary & { sinks?: Record<string, SinkCounts> }, seconds: number): string[] {
  const out = [
    `scored ${s.lines_scored.toLocaleString("en-US")} of ${s.lines_read.toLocaleString("en-US")} lines in ${seconds.toFixed(1)} s` +
      (seconds > 0 ? ` (${Math.round(s.lines_read / seconds).toLocaleString("en-US")} lines/s)` : ""),
    `alerts: ${s.alerts}` +
      (s.alerts ? ` (${Object.entries(s.alerts_by_rule).map(([k, v]) => `${k} ${v}`).join(", ")})` : "") +
      `; held back: ${s.suppressed.cooldown} by cooldown, ${s.suppressed.warmup} in warm-up`,
  ];
  if ("warnings" in s) for (const w of s.warnings) out.push(`warning: ${w}`);
  if ("retrain" in s && s.retrain.refreshes > 0) out.push(`retraining: ${s.retrain.refreshes} refreshes, model generation ${s.retrain.generation}`);
  for (const [name, c] of Object.entries(s.sinks ?? {})) out.push(formatSinkCounts(name, c));
  const skipped = Object.entries(s.skipped);
  if (skipped.length) {
    out.push(`skipped ${skipped.reduce((a, [, v]) => a + v, 0)} lines: ${skipped.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    for (const e of s.skipped_examples.slice(0, 5)) out.push(`  e.g. ${e.file}:${e.line} (${e.reason})`);
  }
  return out;
}

/**
 * What became of a sink's alerts, e.g. `webhook: 12 of 14 alerts sent, 3 retries, 0 failed, 2 dropped (1 at stop)`,
 * and why the first failed try did when any alert was not sent.
 */
export function formatSinkCounts(name: string, c: SinkCounts): string {
  const atStop = c.dropped_at_stop > 0 ? ` (${c.dropped_at_stop} at stop)` : "";
  const why = c.first_error !== undefined && c.sent < c.alerts ? `; first failure: ${c.first_error}` : "";
  return `${name}: ${c.sent} of ${c.alerts} alerts sent, ${c.retried} retries, ${c.failed} failed, ${c.dropped} dropped${atStop}${why}`;
}
