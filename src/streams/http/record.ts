/**
 * The parsed form of one log line: what every parser fills and every feature reads.
 *
 * Parsers write into a caller-owned record (no allocation per line); a field a
 * format does not carry is NaN (numbers) or "" (strings).
 */
export interface LogRecord {
  /** Time of the request, epoch milliseconds; NaN when the line has none. */
  ts: number;
  /** HTTP method, upper case ("GET"); "" when absent. */
  method: string;
  /** Request path without the query string ("/api/orders/42"); "" when absent. */
  route: string;
  /** HTTP status code; NaN when absent. */
  status: number;
  /** Time to serve the request in milliseconds; NaN when the format has none. */
  latencyMs: number;
  /** Response size in bytes; NaN when absent ("-" in combined logs). */
  bytes: number;
  /** Client address; "" when absent. */
  ip: string;
  /** Client user agent; "" when absent. */
  userAgent: string;
}

/** A fresh record with every field absent. */
export function emptyRecord(): LogRecord {
  return { ts: NaN, method: "", route: "", status: NaN, latencyMs: NaN, bytes: NaN, ip: "", userAgent: "" };
}

/** Reset `r` to all-absent in place. */
export function clearRecord(r: LogRecord): void {
  r.ts = NaN;
  r.method = "";
  r.route = "";
  r.status = NaN;
  r.latencyMs = NaN;
  r.bytes = NaN;
  r.ip = "";
  r.userAgent = "";
}

/** A copy of `r` (for alerts, which outlive the reused record). */
export function copyRecord(r: LogRecord): LogRecord {
  return { ...r };
}
