/**
 * Apache/nginx access logs:
 *   %h %l %u [%t] "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [trailing fields]
 * Common log format stops after %b. Of the trailing fields, the first `rt=`/
 * `request_time=` value or bare decimal with a point (nginx `$request_time`, seconds)
 * is the latency; integers there are ambiguous (Apache %D is µs, %T s) and ignored.
 */
import type { LogRecord } from "../record.js";
import type { LineParser } from "../parse.js";
import { ClfClock, isSpace, methodToken, routeOf, scaledDecimal, trimmedEnd, uintAt } from "./common.js";

/** Apache writes `"` and `\` inside quoted fields as `\"` and `\\`. */
const ESCAPE = /\\(["\\])/g;

/** Index of the `"` closing a quoted field whose body starts at `from`, skipping `\"`; -1 if none. */
function closeQuote(s: string, from: number, end: number): number {
  let p = from;
  for (;;) {
    const q = s.indexOf('"', p);
    if (q < 0 || q >= end) return -1;
    let bs = 0;
    while (q - bs - 1 >= from && s.charCodeAt(q - bs - 1) === 92) bs++;
    if ((bs & 1) === 0) return q;
    p = q + 1;
  }
}

/** Whether [i, end) contains a ".". */
function hasDot(s: string, i: number, end: number): boolean {
  for (let p = i; p < end; p++) if (s.charCodeAt(p) === 46) return true;
  return false;
}

/** Whether "HTTP/" starts at `i` (char compares: cheaper than startsWith per line). */
function isHttpVersion(s: string, i: number): boolean {
  return s.charCodeAt(i) === 72 && s.charCodeAt(i + 1) === 84 && s.charCodeAt(i + 2) === 84
    && s.charCodeAt(i + 3) === 80 && s.charCodeAt(i + 4) === 47;
}

/** The quoted body [i, end) with Apache's escapes undone; allocates a second time only if escaped. */
function unquote(s: string, i: number, end: number): string {
  const raw = s.slice(i, end);
  return raw.indexOf("\\") < 0 ? raw : raw.replace(ESCAPE, "$1");
}

/** Parses combined and common log format lines. */
export class CombinedParser implements LineParser {
  readonly format = "combined" as const;
  private readonly clock = new ClfClock();

  /** Fill `out` from one access-log line; null on success, else the failure reason. */
  parse(line: string, out: LogRecord): string | null {
    const end = trimmedEnd(line);
    let i = 0;
    while (i < end && isSpace(line.charCodeAt(i))) i++;
    if (i === end) return "empty";

    const sp = line.indexOf(" ", i);
    if (sp < 0 || sp >= end) return "no_timestamp";
    const lb = line.indexOf("[", sp);
    if (lb < 0 || lb >= end) return "no_timestamp";
    const rb = line.indexOf("]", lb);
    if (rb < 0 || rb >= end) return "bad_timestamp";
    const ts = this.clock.parse(line, lb + 1, rb);
    if (Number.isNaN(ts)) return "bad_timestamp";

    let p = rb + 1;
    if (p + 1 >= end || line.charCodeAt(p) !== 32 || line.charCodeAt(p + 1) !== 34) return "no_request";
    const rq = p + 2;
    const rqEnd = closeQuote(line, rq, end);
    if (rqEnd < 0) return "unterminated_quote";
    const bad = this.request(line, rq, rqEnd, out);
    if (bad !== null) return bad;

    // %>s: exactly three digits.
    p = rqEnd + 1;
    if (p >= end || line.charCodeAt(p) !== 32) return "no_status";
    p++;
    let q = p;
    while (q < end && line.charCodeAt(q) !== 32) q++;
    if (q === p) return "no_status";
    const status = q - p === 3 ? uintAt(line, p, q) : -1;
    if (status < 100 || status > 599) return "bad_status";

    // %b: digits, or "-" for no body.
    if (q >= end) return "no_bytes";
    p = q + 1;
    q = p;
    while (q < end && line.charCodeAt(q) !== 32) q++;
    let bytes = NaN;
    if (!(q === p + 1 && line.charCodeAt(p) === 45)) {
      bytes = uintAt(line, p, q);
      if (bytes < 0) return "bad_bytes";
    }

    out.ts = ts;
    out.ip = line.slice(i, sp);
    out.status = status;
    out.bytes = bytes;
    out.latencyMs = NaN;
    out.userAgent = "";
    if (q >= end) return null;

    // Referer and user agent, each optional; the agent is kept.
    p = q + 1;
    for (let field = 0; field < 2 && p + 1 < end && line.charCodeAt(p) === 34; field++) {
      const close = closeQuote(line, p + 1, end);
      if (close < 0) return "unterminated_quote";
      if (field === 1) out.userAgent = unquote(line, p + 1, close);
      p = close + 1;
      if (p < end && line.charCodeAt(p) === 32) p++;
    }
    return this.trailing(line, p, end, out);
  }

  /** Method and route from the request line `METHOD target[ HTTP/x]` in [i, end). */
  private request(s: string, i: number, end: number, out: LogRecord): string | null {
    const sp = s.indexOf(" ", i);
    if (sp < 0 || sp >= end) return "bad_request_line";
    const method = methodToken(s, i, sp);
    if (method === "") return "bad_request_line";
    // Anything after the target's last space must be the protocol (a short backward scan).
    let tEnd = end - 1;
    while (tEnd > sp && s.charCodeAt(tEnd) !== 32) tEnd--;
    if (tEnd === sp) tEnd = end;
    else if (!isHttpVersion(s, tEnd + 1)) return "bad_request_line";
    // Servers escape control bytes as \xhh, so a raw one marks garbage; checking the first is enough.
    if (tEnd <= sp + 1 || s.charCodeAt(sp + 1) <= 32) return "bad_request_line";
    out.method = method;
    out.route = routeOf(s, sp + 1, tEnd);
    return null;
  }

  /** Scan fields after the agent for the request time; quoted fields are skipped whole. */
  private trailing(s: string, p: number, end: number, out: LogRecord): string | null {
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c === 32) {
        p++;
        continue;
      }
      if (c === 34) {
        const close = closeQuote(s, p + 1, end);
        if (close < 0) return "unterminated_quote";
        p = close + 1;
        continue;
      }
      let q = p;
      while (q < end && s.charCodeAt(q) !== 32) q++;
      let v = NaN;
      if (s.startsWith("rt=", p)) v = scaledDecimal(s, p + 3, q, 3);
      else if (s.startsWith("request_time=", p)) v = scaledDecimal(s, p + 13, q, 3);
      else if (hasDot(s, p, q)) v = scaledDecimal(s, p, q, 3);
      if (v >= 0) {
        out.latencyMs = v;
        return null;
      }
      p = q;
    }
    return null;
  }
}
