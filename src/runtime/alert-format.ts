/** Human-readable alert and summary lines for a terminal. */
import { kindOfAlert } from "../streams/kinds.js";
import type { StreamAlert, StreamSummary } from "../streams/stream.js";
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
 * One alert as a line for a terminal, e.g. ` 87  14:03:22  POST /checkout  200  8427 ms  1.2 KB  slow  app.log:1234`;
 * its kind (streams/kinds.ts) writes its own fields. `color` false, or NO_COLOR set (colorWanted), gives it plain.
 */
export function formatAlert(a: StreamAlert, color: boolean): string {
  color = color && colorWanted(true);
  const time = a.ts ? a.ts.slice(11, 19) : "--:--:--";
  const sev = a.severity.toFixed(0).padStart(3);
  const body = `${time}  ${kindOfAlert(a).alertText(a)}  ${a.rule}`;
  const why = a.reasons?.length ? `  [${a.reasons.map((x) => x.text).join("; ")}]` : "";
  const where = `${a.file}:${a.line}`;
  if (!color) return `${sev}  ${body}${why}  ${where}`;
  return `${band(a.severity)}${sev}${RESET}  ${body}${DIM}${why}  ${where}${RESET}`;
}

/** The end-of-run summary as text lines. */
export function formatSummary(s: StreamSummary & { sinks?: Record<string, SinkCounts> }, seconds: number): string[] {
  const out = [
    `scored ${s.lines_scored.toLocaleString("en-US")} of ${s.lines_read.toLocaleString("en-US")} lines in ${seconds.toFixed(1)} s` +
      (seconds > 0 ? ` (${Math.round(s.lines_read / seconds).toLocaleString("en-US")} lines/s)` : ""),
    `alerts: ${s.alerts}` +
      (s.alerts ? ` (${Object.entries(s.alerts_by_rule).map(([k, v]) => `${k} ${v}`).join(", ")})` : "") +
      `; held back: ${s.suppressed.cooldown} by cooldown, ${s.suppressed.warmup} in warm-up`,
  ];
  for (const w of s.warnings ?? []) out.push(`warning: ${w}`);
  if (s.retrain.refreshes > 0) out.push(`retraining: ${s.retrain.refreshes} refreshes, model generation ${s.retrain.generation}`);
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

