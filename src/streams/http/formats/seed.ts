/**
 * The original program's plain-text lines, read tolerantly:
 *   2026-11-24 14:00:00.123 INFO GET /checkout 200 123.4ms
 * A leading timestamp is required; then tokens separated by spaces, "|" or " - ":
 * the first token starting with "/" is the route (the token before it is the method
 * if it is one), the first 3-digit token after the route is the status, and the first
 * latency token anywhere (`123ms`, `0.12s`, `latency=123`, `took 123ms`) the latency.
 * `key=value` tokens (status=, bytes=, ip=, path=, method=) are read too; other
 * tokens (level words, messages) are ignored. A latency, status or bytes key whose
 * value is not a valid number ("latency=abc", 400 digits, "status=700") skips the
 * line (bad_latency, bad_status, bad_bytes); "-" or nothing after the "=" is absent.
 * A bare latency number (`latency=123`, `took 123`) is in ms unless the parser's
 * latencyUnit says otherwise.
 */
import { clearRecord, type LogRecord } from "../record.js";
import type { LineParser, LogFormat } from "./types.js";
import {
  IsoClock, isSpace, knownMethod, latencyMs, routeOf, timestampInRange, trimmedEnd, uintAt, type Cursor, type LatencyUnit,
} from "../../scan.js";

const LATENCY_KEYS = ["latency", "latency_ms", "duration", "duration_ms", "elapsed", "elapsed_ms", "took", "response_time"];
const STATUS_KEYS = ["status", "status_code"];
const BYTES_KEYS = ["bytes", "size"];
const IP_KEYS = ["ip", "client_ip", "remote_addr"];
const ROUTE_KEYS = ["path", "route", "url"];

/** Whether a code unit separates seed tokens (space, tab, "|"). */
function isSep(c: number): boolean {
  return c === 32 || c === 124 || c === 9;
}

/** Whether [i, end) is one of `keys`. */
function keyIn(s: string, i: number, end: number, keys: readonly string[]): boolean {
  const n = end - i;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    if (key !== undefined && key.length === n && s.startsWith(key, i)) return true;
  }
  return false;
}

/** Whether [i, end) looks like a dotted-quad IPv4 address. */
function isIpv4(s: string, i: number, end: number): boolean {
  if (end - i < 7 || end - i > 15) return false;
  let dots = 0;
  let run = 0;
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === 46) {
      if (run === 0) return false;
      dots++;
      run = 0;
    } else if (c >= 48 && c <= 57 && run < 3) {
      run++;
    } else {
      return false;
    }
  }
  return dots === 3 && run > 0;
}

/** Parses the seed program's text lines. */
export class SeedParser implements LineParser {
  readonly format = "seed" as const;
  private readonly cur: Cursor = { pos: 0 };
  private readonly clock = new IsoClock();
  /** Unit of a latency number without one of its own. */
  private readonly unit: LatencyUnit;
  /** Failure reason found by keyValue on the current line, or null. */
  private bad: string | null = null;

  /** `latencyUnit` null: ms. */
  constructor(latencyUnit: LatencyUnit | null = null) {
    this.unit = latencyUnit ?? "ms";
  }

  /** Fill `out` from one text line; null on success, else the failure reason. */
  parse(line: string, out: LogRecord): string | null {
    clearRecord(out);
    const end = trimmedEnd(line);
    let p = 0;
    while (p < end && isSpace(line.charCodeAt(p))) p++;
    if (p === end) return "empty";
    if (line.charCodeAt(p) === 91) p++;

    const ts = this.clock.parse(line, p, end, this.cur, true);
    if (Number.isNaN(ts)) return uintAt(line, p, p + 4) >= 0 && line.charCodeAt(p + 4) === 45 ? "bad_timestamp" : "no_timestamp";
    p = this.cur.pos;
    if (p < end && line.charCodeAt(p) === 93) p++;
    if (p < end && !isSep(line.charCodeAt(p))) return "bad_timestamp";
    if (!timestampInRange(ts)) return "timestamp_out_of_range";
    out.ts = ts;
    this.bad = null;

    let prevStart = p;
    let prevEnd = p;
    let took = false;
    let badStatus = false;
    // Token ends and "=" come from native searches, not a per-character loop;
    // lines with "|" or tabs take the slower general scan.
    const plain = line.indexOf("|", p) < 0 && line.indexOf("\t", p) < 0;
    let nextEq = line.indexOf("=", p);
    while (p < end) {
      const c = line.charCodeAt(p);
      if (isSep(c)) {
        p++;
        continue;
      }
      const start = p;
      if (plain) {
        p = line.indexOf(" ", p);
        if (p < 0 || p > end) p = end;
      } else {
        while (p < end && !isSep(line.charCodeAt(p))) p++;
      }
      if (nextEq >= 0 && nextEq < start) nextEq = line.indexOf("=", start);
      const eq = nextEq >= 0 && nextEq < p ? nextEq : -1;
      if (p - start === 1 && c === 45) continue; // the " - " separator

      const routeSeen = out.route !== "";
      if (c === 47 && !routeSeen) {
        out.route = routeOf(line, start, p);
        if (out.method === "") out.method = knownMethod(line, prevStart, prevEnd);
      } else if (!(eq > start && this.keyValue(line, start, eq, p, out))) {
        if (Number.isNaN(out.latencyMs)) {
          const l = latencyMs(line, start, p, took ? this.unit : null);
          if (l >= 0) {
            out.latencyMs = l;
            took = false;
            continue;
          }
        }
        if (routeSeen && Number.isNaN(out.status) && p - start === 3) {
          const s = uintAt(line, start, p);
          if (s >= 100 && s <= 599) out.status = s;
          else if (s >= 0) badStatus = true;
        } else if (!routeSeen && out.ip === "" && isIpv4(line, start, p)) {
          out.ip = line.slice(start, p);
        }
      }
      took = p - start === 4 && c === 116 && line.charCodeAt(start + 1) === 111 && line.charCodeAt(start + 2) === 111
        && line.charCodeAt(start + 3) === 107;
      prevStart = start;
      prevEnd = p;
    }
    if (this.bad !== null) return this.bad;
    if (out.route === "") return "no_route";
    if (Number.isNaN(out.status)) return badStatus ? "bad_status" : "no_status";
    return null;
  }

  /** Read a `key=value` token [i, end) with its "=" at `eq` into `out`; false for an unknown key. */
  private keyValue(s: string, i: number, eq: number, end: number, out: LogRecord): boolean {
    const v = eq + 1;
    const absent = v === end || (v + 1 === end && s.charCodeAt(v) === 45);
    if (keyIn(s, i, eq, LATENCY_KEYS)) {
      const l = absent ? 0 : latencyMs(s, v, end, this.unit);
      if (!(l >= 0)) this.bad ??= "bad_latency";
      else if (Number.isNaN(out.latencyMs) && !absent) out.latencyMs = l;
    } else if (keyIn(s, i, eq, STATUS_KEYS)) {
      const st = absent ? 200 : uintAt(s, v, end);
      if (st < 100 || st > 599) this.bad ??= "bad_status";
      else if (Number.isNaN(out.status) && !absent) out.status = st;
    } else if (keyIn(s, i, eq, BYTES_KEYS)) {
      const b = absent ? 0 : uintAt(s, v, end);
      if (b < 0) this.bad ??= "bad_bytes";
      else if (!absent) out.bytes = b;
    } else if (keyIn(s, i, eq, IP_KEYS)) {
      if (v < end) out.ip = s.slice(v, end);
    } else if (keyIn(s, i, eq, ROUTE_KEYS)) {
      if (out.route === "" && v < end && s.charCodeAt(v) === 47) out.route = routeOf(s, v, end);
    } else if (eq - i === 6 && s.startsWith("method", i)) {
      out.method = knownMethod(s, v, end);
    } else {
      return false;
    }
    return true;
  }
}

/** The seed format (registered in ./index.ts). */
export const seedFormat = {
  name: "seed",
  label: "plain request lines starting with a timestamp",
  mapsFields: false,
  create: (o) => new SeedParser(o.latencyUnit),
} as const satisfies LogFormat<"seed">;
