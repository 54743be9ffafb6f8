/**
 * Apache/nginx access logs:
 *   %h %l %u [%t] "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [trailing fields]
 * Common log format stops after %b. A time outside [1970, 2200) skips the line
 * (timestamp_out_of_range).
 *
 * Latency: the trailing fields after the agent are scanned in order (quoted ones
 * skipped whole) and the first of these is the latency:
 *   - `rt=V` or `request_time=V`: V in seconds (nginx `$request_time`), whatever
 *     latencyUnit says;
 *   - a number with a unit, `12ms`, `0.5s`, `300us`, or a number followed by a unit
 *     token, `573.123 ms` (morgan's `:response-time ms`): in that unit;
 *   - a bare number (digits, optionally one point): in latencyUnit when the parser
 *     has one; without it a decimal with a point is read as seconds (nginx
 *     `$request_time` after the combined fields) and an integer is not a latency
 *     (Apache `%D` is µs, `%T` s, a custom field anything) and the scan goes on.
 * A latency unit cannot be told from one line: morgan's `:response-time` writes ms
 * with three decimals (`573.123`), nginx's `$request_time` seconds with three
 * (`0.573`). guessLatencyUnit decides it from a sample of lines, by the rule below;
 * when it cannot, the caller asks the user (`--latency-unit`).
 *
 * guessLatencyUnit's rule, over the bare numbers that latencyUnit would apply to
 * (at least 20 of them, else null):
 *   - numbers with a point: "s" when 5% or more are below 0.01 (nginx rounds to the
 *     ms, so cache hits and static files print 0.000-0.009; morgan's ms are never
 *     below 10 µs); else "ms" when the median is 1 or more (a typical request of
 *     1 ms or more, where a server whose every request takes 10 ms or more and the
 *     median one 1 s or more is not a web server's usual traffic); else null (a
 *     fast Node app in ms and a proxied API in s look alike there);
 *   - integers only: "s" when half or more are 0 and none is above 3600 (Apache
 *     `%T`: whole seconds, most requests 0); "us" when the median is 1000 or more
 *     (Apache `%D`: a typical request of 1 ms or more); else null (integer ms, %D
 *     of a sub-millisecond server and `%{ms}T` look alike).
 */
import type { LogRecord } from "../record.js";
import type { LineParser, LogFormat } from "./types.js";
import {
  ClfClock, isSpace, latencyMs, methodToken, msExponent, routeOf, scaledDecimal, timestampInRange, trimmedEnd, uintAt,
  unitExponent, type LatencyUnit,
} from "../../scan.js";
import { emptyRecord } from "../record.js";

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
  /** Unit of a bare trailing number; null: a decimal is seconds, an integer no latency. */
  private readonly unit: LatencyUnit | null;
  /** [start, end) of the bare number the last parse read as the latency, or -1: what guessLatencyUnit looks at. */
  bareStart = -1;
  bareEnd = -1;

  constructor(latencyUnit: LatencyUnit | null = null) {
    this.unit = latencyUnit;
  }

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
    if (!timestampInRange(ts)) return "timestamp_out_of_range";

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
    this.bareStart = -1;
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
      else if (!isNumber(s, p, q)) v = latencyMs(s, p, q, null);
      else v = this.bare(s, p, q, end);
      if (v >= 0) {
        out.latencyMs = v;
        return null;
      }
      p = q;
    }
    return null;
  }

  /** The bare number [p, q) in ms by the rule in the header; NaN when it is not a latency. */
  private bare(s: string, p: number, q: number, end: number): number {
    let r = q;
    while (r < end && s.charCodeAt(r) === 32) r++;
    let t = r;
    while (t < end && s.charCodeAt(t) !== 32) t++;
    const e = unitExponent(s, r, t);
    if (!Number.isNaN(e)) return scaledDecimal(s, p, q, e);
    if (this.unit === null) return hasDot(s, p, q) ? scaledDecimal(s, p, q, 3) : NaN;
    const v = scaledDecimal(s, p, q, msExponent(this.unit));
    if (v >= 0) {
      this.bareStart = p;
      this.bareEnd = q;
    }
    return v;
  }
}

/** Whether [i, end) is digits with at most one point (and at least one digit). */
function isNumber(s: string, i: number, end: number): boolean {
  let digits = 0;
  let dots = 0;
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === 46) dots++;
    else if (c >= 48 && c <= 57) digits++;
    else return false;
  }
  return digits > 0 && dots <= 1;
}

/** What guessLatencyUnit saw in its sample, and its verdict. */
export interface LatencyEvidence {
  /** Lines of the sample that parsed as combined. */
  lines: number;
  /** Lines whose latency is a bare number: the ones latencyUnit applies to. */
  bare: number;
  /** Of those, numbers with a point. */
  decimals: number;
  /** Median of the bare numbers, as written (NaN when none). */
  median: number;
  /** Share of the bare numbers below 0.01, and of those equal to 0. */
  belowHundredth: number;
  zeros: number;
  /** Largest bare number (NaN when none). */
  max: number;
  /** The unit of the bare numbers by the rule in this file's header; null when there are none or it cannot be told. */
  unit: LatencyUnit | null;
}

/** Lines guessLatencyUnit reads at most (the first ones). */
const GUESS_SAMPLE = 10_000;
/** Bare numbers needed before guessLatencyUnit names a unit. */
const GUESS_MIN = 20;

/**
 * The evidence on the unit of combined lines' bare trailing numbers, from a sample of
 * (training) lines: the first 10,000. `unit` is null both when no line has a bare
 * number (then no unit is needed: `bare` is 0) and when it cannot be told (then ask).
 */
export function latencyEvidence(lines: readonly string[]): LatencyEvidence {
  const parser = new CombinedParser("s");
  const rec = emptyRecord();
  const values: number[] = [];
  let parsed = 0;
  let decimals = 0;
  for (let k = 0; k < lines.length && k < GUESS_SAMPLE; k++) {
    const line = lines[k];
    if (typeof line !== "string" || parser.parse(line, rec) !== null) continue;
    parsed++;
    if (parser.bareStart < 0) continue;
    values.push(scaledDecimal(line, parser.bareStart, parser.bareEnd, 0));
    if (hasDot(line, parser.bareStart, parser.bareEnd)) decimals++;
  }
  const n = values.length;
  values.sort((a, b) => a - b);
  const median = n === 0 ? NaN : n % 2 === 1 ? values[(n - 1) / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  let below = 0;
  let zeros = 0;
  for (const v of values) {
    if (v < 0.01) below++;
    if (v === 0) zeros++;
  }
  const ev: LatencyEvidence = {
    lines: parsed, bare: n, decimals, median, belowHundredth: n === 0 ? 0 : below / n, zeros: n === 0 ? 0 : zeros / n,
    max: n === 0 ? NaN : values[n - 1], unit: null,
  };
  ev.unit = unitFrom(ev);
  return ev;
}

/** The rule in this file's header. */
function unitFrom(ev: LatencyEvidence): LatencyUnit | null {
  if (ev.bare < GUESS_MIN) return null;
  if (ev.decimals > 0) {
    if (ev.belowHundredth >= 0.05) return "s";
    return ev.median >= 1 ? "ms" : null;
  }
  if (ev.zeros >= 0.5 && ev.max <= 3600) return "s";
  return ev.median >= 1000 ? "us" : null;
}

/**
 * The unit of combined lines' bare trailing numbers ("ms" | "s" | "us") decided from
 * a sample of lines by the rule in this file's header; null when the sample has no
 * bare number or cannot tell (latencyEvidence says which).
 */
export function guessLatencyUnit(lines: readonly string[]): LatencyUnit | null {
  return latencyEvidence(lines).unit;
}

/** The combined format (registered in ./index.ts). */
export const combinedFormat = {
  name: "combined",
  label: "Apache/nginx combined or common log, optional trailing latency (also gunicorn)",
  mapsFields: false,
  // It reads ingress-nginx's lines too, less well: that format wins a tie.
  generic: true,
  create: (o) => new CombinedParser(o.latencyUnit),
} as const satisfies LogFormat<"combined">;
