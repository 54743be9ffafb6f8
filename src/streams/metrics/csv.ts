/**
 * Telemetry CSV: the header (a timestamp column and value columns) and the parser of
 * data lines into a reused row. Never throws on a line: a bad one gets a reason.
 */
import { parseIsoAt, scaledDecimal, timestampInRange, type Cursor } from "../scan.js";

// ---------------------------------------------------------------- parsing

/** The columns of a telemetry CSV, from its header line. */
export interface TelemetryHeader {
  /** Every column name, in file order. */
  columns: string[];
  /** Index of the timestamp column. */
  timestamp: number;
  /** Names of the value columns (every column but the timestamp), in file order. */
  series: string[];
}

/** Column names taken as the timestamp when none is given (case-insensitive, first match wins). */
export const TIMESTAMP_NAMES: readonly string[] = ["ts", "time", "timestamp"];

/** Every reason TelemetryParser.parse returns, plus the detector's header reasons. */
export const TELEMETRY_FAILURE_REASONS: readonly string[] = [
  "empty", "wrong_field_count", "bad_timestamp", "not_a_number", "missing_value", "header", "header_mismatch",
  "timestamp_out_of_range",
];

/** [start, end) of a CSV field with blanks and one pair of surrounding double quotes removed. */
function fieldBounds(s: string, i: number, end: number, out: Int32Array): void {
  while (i < end && isBlank(s.charCodeAt(i))) i++;
  while (end > i && isBlank(s.charCodeAt(end - 1))) end--;
  if (end - i >= 2 && s.charCodeAt(i) === 34 && s.charCodeAt(end - 1) === 34) {
    i++;
    end--;
  }
  out[0] = i;
  out[1] = end;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/**
 * Parse a header line. `timestamp` names the timestamp column; by default the first
 * column named ts, time or timestamp. Throws a RangeError saying what is wrong.
 */
export function parseTelemetryHeader(line: string, timestamp?: string): TelemetryHeader {
  if (typeof line !== "string" || line.trim() === "") throw new RangeError("CSV header is empty; the first line must name the columns");
  const b = new Int32Array(2);
  const columns: string[] = [];
  let from = 0;
  for (;;) {
    const comma = line.indexOf(",", from);
    const to = comma < 0 ? line.length : comma;
    fieldBounds(line, from, to, b);
    columns.push(line.slice(b[0], b[1]));
    if (comma < 0) break;
    from = comma + 1;
  }
  const shown = JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}...` : line);
  columns.forEach((c, i) => {
    if (c === "") throw new RangeError(`CSV header ${shown}: column ${i + 1} has no name`);
    if (Number.isFinite(Number(c))) throw new RangeError(`CSV header ${shown}: column ${i + 1} is named ${JSON.stringify(c)}, a number: is this a data line?`);
    if (columns.indexOf(c) !== i) throw new RangeError(`CSV header ${shown}: column name ${JSON.stringify(c)} appears twice`);
  });
  let ts: number;
  if (timestamp !== undefined) {
    ts = columns.indexOf(timestamp);
    if (ts < 0) throw new RangeError(`CSV header ${shown} has no timestamp column ${JSON.stringify(timestamp)}; columns: ${columns.join(", ")}`);
  } else {
    ts = columns.findIndex((c) => TIMESTAMP_NAMES.includes(c.toLowerCase()));
    if (ts < 0) throw new RangeError(`CSV header ${shown} has no timestamp column (named ${TIMESTAMP_NAMES.join(", ")}, or give its name)`);
  }
  if (columns.length < 2) throw new RangeError(`CSV header ${shown} has no value column besides the timestamp`);
  return { columns, timestamp: ts, series: columns.filter((_, i) => i !== ts) };
}

/** One parsed data line: caller-owned and reused. */
export interface TelemetryRow {
  /** Epoch milliseconds. */
  ts: number;
  /** One value per series, in the parser's series order. */
  values: Float64Array;
}

/** A row for `series` values (NaN until filled). */
export function emptyTelemetryRow(series: number): TelemetryRow {
  return { ts: NaN, values: new Float64Array(series).fill(NaN) };
}

/**
 * Optionally signed decimal with an optional exponent spanning exactly [i, end):
 * `-12.5`, `3e-4`; NaN when anything else (nan, inf, hex, blanks inside).
 */
function numberAt(s: string, i: number, end: number): number {
  const start = i;
  let sign = 1;
  const c0 = s.charCodeAt(i);
  if (c0 === 45 || c0 === 43) {
    if (c0 === 45) sign = -1;
    i++;
  }
  let m = i;
  while (m < end && (s.charCodeAt(m) | 32) !== 101 /* e */) m++;
  let exp = 0;
  if (m < end) {
    let p = m + 1;
    let esign = 1;
    const c = s.charCodeAt(p);
    if (c === 45 || c === 43) {
      if (c === 45) esign = -1;
      p++;
    }
    if (p >= end || end - p > 4) return NaN;
    for (; p < end; p++) {
      const d = s.charCodeAt(p) - 48;
      if (d < 0 || d > 9) return NaN;
      exp = exp * 10 + d;
    }
    exp *= esign;
  }
  let digits = 0;
  let frac = 0;
  for (let p = i, dot = false; p < m; p++) {
    if (s.charCodeAt(p) === 46) dot = true;
    else {
      digits++;
      if (dot) frac++;
    }
  }
  // Past 15 digits or 10^±22 one rounding step is not exact: let Number() parse the
  // token (the mantissa is checked first, so it cannot accept "Infinity" or hex).
  if (digits > 15 || Math.abs(exp - frac) > 22) return Number.isNaN(scaledDecimal(s, i, m, 0)) ? NaN : Number(s.slice(start, end));
  return sign * scaledDecimal(s, i, m, exp);
}

/**
 * Epoch seconds or milliseconds (a plain number: below 1e11 it is seconds, which
 * covers dates up to the year 5138; otherwise milliseconds) or an ISO 8601 date
 * (no zone means UTC); NaN when neither.
 */
function timestampAt(s: string, i: number, end: number, cur: Cursor): number {
  if (i >= end) return NaN;
  const n = numberAt(s, i, end);
  if (Number.isFinite(n)) return Math.abs(n) < 1e11 ? n * 1000 : n;
  const ms = parseIsoAt(s, i, end, cur, false);
  return cur.pos === end ? ms : NaN;
}

/** Parses data lines of one CSV layout into a reused TelemetryRow; never throws on a line. */
export class TelemetryParser {
  /** Series filled into row.values, in order. */
  readonly series: readonly string[];
  private readonly fields: number;
  private readonly tsField: number;
  /** For each field, the slot of row.values it fills, or -1 (timestamp, or a column not wanted). */
  private readonly slot: Int32Array;
  private readonly b = new Int32Array(2);
  private readonly cur: Cursor = { pos: 0 };

  /** A parser for lines laid out as `header`, filling `series` (default: all of the header's, in its order). */
  constructor(header: TelemetryHeader, series: readonly string[] = header.series) {
    const missing = series.filter((s) => !header.series.includes(s));
    if (missing.length > 0) throw new RangeError(`CSV header has no column ${missing.join(", ")}; its value columns are ${header.series.join(", ")}`);
    this.series = [...series];
    this.fields = header.columns.length;
    this.tsField = header.timestamp;
    this.slot = new Int32Array(this.fields).fill(-1);
    series.forEach((name, k) => (this.slot[header.columns.indexOf(name)] = k));
  }

  /** Fill `out` from `line`: null on success, else a snake_case reason; out is unspecified after a failure. */
  parse(line: string, out: TelemetryRow): string | null {
    let end = line.length;
    while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
    if (end === 0) return "empty";
    let commas = 0;
    for (let p = line.indexOf(","); p >= 0 && p < end; p = line.indexOf(",", p + 1)) commas++;
    if (commas + 1 !== this.fields) return "wrong_field_count";
    const b = this.b;
    let from = 0;
    for (let f = 0; f < this.fields; f++) {
      const comma = f + 1 < this.fields ? line.indexOf(",", from) : end;
      const k = this.slot[f];
      if (f === this.tsField || k >= 0) {
        fieldBounds(line, from, comma, b);
        if (f === this.tsField) {
          out.ts = timestampAt(line, b[0], b[1], this.cur);
          if (!Number.isFinite(out.ts)) return "bad_timestamp";
          // Within Date's range and the log's: [1970, 2200) (streams/scan.ts).
          if (!timestampInRange(out.ts)) return "timestamp_out_of_range";
        } else {
          if (b[0] === b[1]) return "missing_value";
          const v = numberAt(line, b[0], b[1]);
          if (!Number.isFinite(v)) return "not_a_number";
          out.values[k] = v;
        }
      }
      from = comma + 1;
    }
    return null;
  }
}
