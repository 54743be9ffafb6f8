/**
 * JSON-lines parser: one object per line, fields found by dotted paths. The default
 * paths cover logforest's simulator, pino/pino-http, bunyan, winston/express-winston
 * and common flat names; a user mapping replaces the defaults for its field.
 *
 * Client address behind a proxy: unless `ip` is mapped, the first address of an
 * `x-forwarded-for` header (pino-http and bunyan: `req.headers["x-forwarded-for"]`;
 * express-winston: `meta.req.headers["x-forwarded-for"]`; nginx JSON templates:
 * `http_x_forwarded_for`), trimmed, is the client; without one (absent, "", "-") the
 * remote address is (`req.remoteAddress`, `ip`, ...). The proxy's own address would
 * make every client one.
 *
 * A value of the wrong type where a field is found (a route that is a number, a
 * status that is an object, "0x1F" as a number) skips the line with that field's
 * reason; so does a number that is not finite or a time outside [1970, 2200).
 */
import { clearRecord, type LogRecord } from "../record.js";
import type { FieldName, LineParser, LogFormat } from "./types.js";
import { ClfClock, IsoClock, latencyMs, routeOf, timestampInRange, toMs, type Cursor, type LatencyUnit } from "../../scan.js";

/** A compiled path: the keys to follow from the top-level object. */
export type JsonPath = readonly string[];

/** Candidate paths per field, most preferred first (the first present one wins). */
export const DEFAULT_JSON_PATHS: Readonly<Record<FieldName, readonly string[]>> = {
  ts: ["ts", "time", "timestamp", "@timestamp", "meta.timestamp"],
  method: ["method", "req.method", "meta.req.method", "request.method"],
  // express keeps the mount-relative path in url, the full one in originalUrl.
  route: ["route", "req.url", "meta.req.originalUrl", "meta.req.url", "url", "path", "request.url"],
  status: ["status", "res.statusCode", "meta.res.statusCode", "statusCode", "status_code"],
  latency: ["latency_ms", "responseTime", "latency", "duration", "meta.responseTime", "duration_ms", "response_time"],
  bytes: ["bytes", 'res.headers["content-length"]', 'meta.res.headers["content-length"]', "content_length"],
  ip: ["ip", "req.remoteAddress", "remote_addr", "client_ip", "meta.req.ip", "remoteAddress"],
  user_agent: [
    "user_agent", 'req.headers["user-agent"]', 'req.headers["User-Agent"]', "userAgent",
    'meta.req.headers["user-agent"]',
  ],
};

/** Where loggers put the x-forwarded-for header; its first address beats the default ip paths. */
export const FORWARDED_FOR_PATHS: readonly string[] = [
  'req.headers["x-forwarded-for"]', 'meta.req.headers["x-forwarded-for"]', 'request.headers["x-forwarded-for"]',
  'headers["x-forwarded-for"]', "http_x_forwarded_for", "x_forwarded_for",
];

/** A decimal number as JSON or a log writes one: no hex, no "Infinity", no blanks inside. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Split a path such as `req.headers["user-agent"]` or `meta.res.statusCode` into keys.
 * Throws RangeError naming the path when it is malformed.
 */
export function compilePath(spec: string): JsonPath {
  const keys: string[] = [];
  let i = 0;
  const n = spec.length;
  const bad = (why: string): RangeError =>
    new RangeError(`field path must be dotted keys like req.headers["user-agent"], got "${spec}" (${why})`);
  if (n === 0) throw bad("empty");
  while (i < n) {
    if (spec.charCodeAt(i) === 91) {
      // ["key"] or ['key']: lets a key contain dots or dashes.
      const q = spec[i + 1];
      if (q !== '"' && q !== "'") throw bad("expected a quote after [");
      const close = spec.indexOf(q + "]", i + 2);
      if (close < 0) throw bad("unclosed [");
      keys.push(spec.slice(i + 2, close));
      i = close + 2;
    } else {
      let j = i;
      while (j < n && spec.charCodeAt(j) !== 46 && spec.charCodeAt(j) !== 91) j++;
      if (j === i) throw bad("empty key");
      keys.push(spec.slice(i, j));
      i = j;
    }
    if (i < n) {
      const c = spec.charCodeAt(i);
      if (c === 46) {
        i++;
        if (i === n) throw bad("trailing dot");
      } else if (c !== 91) {
        throw bad("expected . or [ after ]");
      }
    }
  }
  return keys;
}

/** The value at `path` in `root`, or undefined (null counts as absent). */
function valueAt(root: Record<string, unknown>, path: JsonPath): unknown {
  let cur: unknown = root;
  for (let k = 0; k < path.length; k++) {
    if (typeof cur !== "object" || cur === null) return undefined;
    const key = path[k] ?? "";
    // Own keys only: "constructor" must not find Object's prototype.
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur === null ? undefined : cur;
}

/** The first present value among `paths`. */
function pick(root: Record<string, unknown>, paths: readonly JsonPath[]): unknown {
  for (let k = 0; k < paths.length; k++) {
    const path = paths[k];
    if (path === undefined) continue;
    const v = valueAt(root, path);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A finite number from a number or a decimal string; NaN otherwise. */
function toNumber(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : NaN;
  if (typeof v !== "string") return NaN;
  const t = v.trim();
  if (!DECIMAL.test(t)) return NaN;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

/** The first address of an x-forwarded-for list ("client, proxy1, proxy2"), trimmed; "" when none. */
export function firstForwarded(v: string): string {
  const comma = v.indexOf(",");
  const first = (comma < 0 ? v : v.slice(0, comma)).trim();
  return first === "-" ? "" : first;
}

/** Whether `v` is a JSON placeholder for "no value" (nginx and others write "-"). */
function isPlaceholder(v: unknown): boolean {
  return v === "" || v === "-";
}

/** Parses JSON lines with per-field path lists. */
export class JsonParser implements LineParser {
  readonly format = "json" as const;
  private readonly ts: readonly JsonPath[];
  private readonly method: readonly JsonPath[];
  private readonly route: readonly JsonPath[];
  private readonly status: readonly JsonPath[];
  private readonly latency: readonly JsonPath[];
  private readonly bytes: readonly JsonPath[];
  private readonly ip: readonly JsonPath[];
  /** x-forwarded-for paths; empty when the user mapped ip. */
  private readonly forwarded: readonly JsonPath[];
  /** Unit of a latency number without one of its own. */
  private readonly unit: LatencyUnit;
  private readonly userAgent: readonly JsonPath[];
  private readonly cur: Cursor = { pos: 0 };
  private readonly iso = new IsoClock();
  private readonly clf = new ClfClock();

  /** `fields` must already be validated (see createParser); `latencyUnit` null: ms. */
  constructor(fields: Partial<Record<FieldName, string>>, latencyUnit: LatencyUnit | null = null) {
    const paths = (f: FieldName): readonly JsonPath[] => {
      const mapped = fields[f];
      return mapped !== undefined ? [compilePath(mapped)] : DEFAULT_JSON_PATHS[f].map(compilePath);
    };
    this.ts = paths("ts");
    this.method = paths("method");
    this.route = paths("route");
    this.status = paths("status");
    this.latency = paths("latency");
    this.bytes = paths("bytes");
    this.ip = paths("ip");
    this.userAgent = paths("user_agent");
    this.forwarded = fields.ip !== undefined ? [] : FORWARDED_FOR_PATHS.map(compilePath);
    this.unit = latencyUnit ?? "ms";
  }

  /** Fill `out` from one JSON line; null on success, else the failure reason. */
  parse(line: string, out: LogRecord): string | null {
    clearRecord(out);
    let i = 0;
    while (i < line.length && line.charCodeAt(i) <= 32) i++;
    if (i === line.length) return "empty";
    // Skip JSON.parse (and its exception) when the first character cannot start JSON.
    const c = line.charCodeAt(i);
    if (!(c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110)) {
      return "not_json";
    }
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      return "not_json";
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "json_not_object";
    const o = doc as Record<string, unknown>;

    const status = pick(o, this.status);
    const route = pick(o, this.route);
    if (route !== undefined && typeof route !== "string") return "bad_route";
    const hasRoute = route !== undefined && route !== "";
    if (status === undefined && !hasRoute) return "no_status_or_route";
    if (status !== undefined) {
      const s = toNumber(status);
      if (!Number.isInteger(s) || s < 100 || s > 599) return "bad_status";
      out.status = s;
    }
    if (hasRoute) out.route = routeOf(route, 0, route.length);

    const ts = pick(o, this.ts);
    if (ts !== undefined) {
      const t = this.timestamp(ts);
      if (Number.isNaN(t)) return "bad_timestamp";
      if (!timestampInRange(t)) return "timestamp_out_of_range";
      out.ts = t;
    }
    const lat = pick(o, this.latency);
    if (lat !== undefined && !isPlaceholder(lat)) {
      const l = this.latencyOf(lat);
      if (!(l >= 0)) return "bad_latency";
      out.latencyMs = l;
    }
    const bytes = pick(o, this.bytes);
    if (bytes !== undefined && !isPlaceholder(bytes)) {
      const b = toNumber(bytes);
      if (!Number.isInteger(b) || b < 0) return "bad_bytes";
      out.bytes = b;
    }
    const method = pick(o, this.method);
    if (method !== undefined) {
      if (typeof method !== "string") return "bad_method";
      out.method = method.toUpperCase();
    }
    const fwd = pick(o, this.forwarded);
    if (fwd !== undefined && typeof fwd !== "string") return "bad_ip";
    out.ip = fwd === undefined ? "" : firstForwarded(fwd);
    if (out.ip === "") {
      const ip = pick(o, this.ip);
      if (ip !== undefined && typeof ip !== "string") return "bad_ip";
      if (ip !== undefined) out.ip = ip;
    }
    const ua = pick(o, this.userAgent);
    if (ua !== undefined && typeof ua !== "string") return "bad_user_agent";
    if (ua !== undefined) out.userAgent = ua;
    return null;
  }

  /** Latency in ms: a number in the parser's unit, or text with or without a unit ("12ms", "0.5s", "12"). */
  private latencyOf(v: unknown): number {
    if (typeof v === "string") {
      const t = v.trim();
      return latencyMs(t, 0, t.length, this.unit);
    }
    return toMs(toNumber(v), this.unit);
  }

  /** Epoch ms from epoch ms/seconds (numbers below 1e11 are seconds), ISO or `%t` strings. */
  private timestamp(v: unknown): number {
    if (typeof v === "number") return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : NaN;
    if (typeof v !== "string") return NaN;
    const s = v.trim();
    const n = s.length;
    if (n === 0) return NaN;
    const c = s.charCodeAt(0);
    if (n <= 20 && c >= 48 && c <= 57 && s.indexOf("-") < 0 && DECIMAL.test(s)) {
      const num = Number(s);
      if (Number.isFinite(num)) return num < 1e11 ? num * 1000 : num;
    }
    const iso = this.iso.parse(s, 0, n, this.cur, false);
    if (!Number.isNaN(iso)) return this.cur.pos === n ? iso : NaN;
    // nginx's $time_local, as JSON log_format templates often carry it.
    return this.clf.parse(s, 0, n);
  }
}

/** The json format (registered in ./index.ts). */
export const jsonFormat = {
  name: "json",
  mapsFields: true,
  create: (o) => new JsonParser(o.fields, o.latencyUnit),
} as const satisfies LogFormat<"json">;
