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
import { ClfClock, IsoClock, latencyMs, methodToken, routeOf, timestampInRange, toMs, type Cursor, type LatencyUnit } from "../../scan.js";

/** A compiled path: the keys to follow from the top-level object. */
export type JsonPath = readonly string[];

/**
 * Where one JSON producer puts each field, and in what unit: what a JSON-based format
 * file (nginx-json.ts, caddy.ts, ...) declares. Strings may be arrays of strings (Caddy's
 * headers): the first element is read.
 */
export interface JsonSchema {
  /** Candidate paths per field, most preferred first (the first present one wins). */
  readonly paths: Readonly<Record<FieldName, readonly string[]>>;
  /** x-forwarded-for paths: its first address beats the ip paths. */
  readonly forwarded: readonly string[];
  /** ms per bare latency number at each latency path (same order); absent: the parser's unit (ms unless given). */
  readonly latencyScale?: readonly number[];
  /** Paths of an HTTP request line ("GET /p?q=1 HTTP/1.1"): method and route when their own paths find nothing. */
  readonly requestLine?: readonly string[];
  /** Whether a parsed object is this producer's line; a line that is not is skipped as not_<format>. */
  readonly claims?: (o: Record<string, unknown>) => boolean;
}

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
    new RangeError(`field path must be dotted keys like req.headers["user-agent"] or request.headers.User-Agent[0], got "${spec}" (${why})`);
  if (n === 0) throw bad("empty");
  while (i < n) {
    if (spec.charCodeAt(i) === 91) {
      // ["key"] or ['key']: lets a key contain dots or dashes; [0]: an array's element.
      const q = spec[i + 1];
      const index = /^\[(\d{1,6})\]/.exec(spec.slice(i, i + 9));
      if (index !== null) {
        keys.push(index[1] ?? "0");
        i += index[0].length;
      } else if (q !== '"' && q !== "'") {
        throw bad("expected a quote or an index after [");
      } else {
        const close = spec.indexOf(q + "]", i + 2);
        if (close < 0) throw bad("unclosed [");
        keys.push(spec.slice(i + 2, close));
        i = close + 2;
      }
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
  const k = pickIndex(root, paths);
  return k < 0 ? undefined : valueAt(root, paths[k] ?? []);
}

/** Index of the first path of `paths` present in `root`, or -1. */
function pickIndex(root: Record<string, unknown>, paths: readonly JsonPath[]): number {
  for (let k = 0; k < paths.length; k++) {
    const path = paths[k];
    if (path !== undefined && valueAt(root, path) !== undefined) return k;
  }
  return -1;
}

/** A header logged as a list of values (Caddy: ["curl/8.0"]): its first; anything else as it is. */
function firstOf(v: unknown): unknown {
  return Array.isArray(v) && v.length > 0 && typeof v[0] === "string" ? v[0] : v;
}

/** An address without its port ("10.0.0.1:5123" -> "10.0.0.1", "[::1]:80" -> "::1"); others as they are. */
export function hostOf(a: string): string {
  if (a.charCodeAt(0) === 91) {
    const close = a.indexOf("]");
    return close > 0 ? a.slice(1, close) : a;
  }
  const colon = a.indexOf(":");
  return colon > 0 && colon === a.lastIndexOf(":") && /^[\d.]+:\d+$/.test(a) ? a.slice(0, colon) : a;
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

/** The schema of logforest's own JSON, pino/pino-http, bunyan, winston and common flat names. */
export const DEFAULT_SCHEMA: JsonSchema = { paths: DEFAULT_JSON_PATHS, forwarded: FORWARDED_FOR_PATHS };

/** Parses JSON lines with per-field path lists: the generic json format, or one producer's schema. */
export class JsonParser<Name extends string = "json"> implements LineParser<Name> {
  readonly format: Name;
  private readonly ts: readonly JsonPath[];
  private readonly method: readonly JsonPath[];
  private readonly route: readonly JsonPath[];
  private readonly status: readonly JsonPath[];
  private readonly latency: readonly JsonPath[];
  /** ms per bare number at each latency path. */
  private readonly scale: readonly number[];
  private readonly bytes: readonly JsonPath[];
  private readonly ip: readonly JsonPath[];
  /** x-forwarded-for paths; empty when the user mapped ip. */
  private readonly forwarded: readonly JsonPath[];
  private readonly requestLine: readonly JsonPath[];
  private readonly claims: ((o: Record<string, unknown>) => boolean) | undefined;
  private readonly notMine: string;
  /** Unit of a latency number without one of its own. */
  private readonly unit: LatencyUnit;
  private readonly userAgent: readonly JsonPath[];
  private readonly cur: Cursor = { pos: 0 };
  private readonly iso = new IsoClock();
  private readonly clf = new ClfClock();

  /** `fields` must already be validated (see createParser); `latencyUnit` null: ms (or the schema's units). */
  constructor(
    fields: Partial<Record<FieldName, string>>, latencyUnit: LatencyUnit | null = null,
    schema: JsonSchema = DEFAULT_SCHEMA, format: Name = "json" as Name,
  ) {
    const paths = (f: FieldName): readonly JsonPath[] => {
      const mapped = fields[f];
      return mapped !== undefined ? [compilePath(mapped)] : schema.paths[f].map(compilePath);
    };
    this.format = format;
    this.ts = paths("ts");
    this.method = paths("method");
    this.route = paths("route");
    this.status = paths("status");
    this.latency = paths("latency");
    this.bytes = paths("bytes");
    this.ip = paths("ip");
    this.userAgent = paths("user_agent");
    this.forwarded = fields.ip !== undefined ? [] : schema.forwarded.map(compilePath);
    this.requestLine = (schema.requestLine ?? []).map(compilePath);
    this.claims = schema.claims;
    this.notMine = `not_${format.replace(/-/g, "_")}`;
    this.unit = latencyUnit ?? "ms";
    const own = latencyUnit === null && fields.latency === undefined ? schema.latencyScale : undefined;
    this.scale = this.latency.map((_, k) => own?.[k] ?? toMs(1, this.unit));
  }

  /** Fill `out` from one JSON line; null on success, else the failure reason. */
  parse(line: string, out: LogRecord): string | null {
    const o = parseObject(line, out);
    if (typeof o === "string") return o;
    return this.read(o, out);
  }

  /** Fill `out` from an already parsed line object (cleared by the caller); null on success, else the reason. */
  read(o: Record<string, unknown>, out: LogRecord): string | null {
    if (this.claims !== undefined && !this.claims(o)) return this.notMine;
    const status = pick(o, this.status);
    let route = pick(o, this.route);
    let method = pick(o, this.method);
    if ((route === undefined || method === undefined) && this.requestLine.length > 0) {
      const rl = pick(o, this.requestLine);
      if (typeof rl === "string" && !isPlaceholder(rl)) {
        const split = splitRequestLine(rl);
        if (split === null) return "bad_request_line";
        route ??= split[1];
        method ??= split[0];
      }
    }
    if (route !== undefined && typeof route !== "string") return "bad_route";
    const path = route ?? "";
    const hasRoute = path !== "";
    if (status === undefined && !hasRoute) return "no_status_or_route";
    if (status !== undefined) {
      const s = toNumber(status);
      if (!Number.isInteger(s) || s < 100 || s > 599) return "bad_status";
      out.status = s;
    }
    if (hasRoute) out.route = routeOf(path, 0, path.length);

    const ts = pick(o, this.ts);
    if (ts !== undefined) {
      const t = this.timestamp(ts);
      if (Number.isNaN(t)) return "bad_timestamp";
      if (!timestampInRange(t)) return "timestamp_out_of_range";
      out.ts = t;
    }
    const at = pickIndex(o, this.latency);
    const lat = at < 0 ? undefined : valueAt(o, this.latency[at] ?? []);
    if (lat !== undefined && !isPlaceholder(lat)) {
      const l = this.latencyOf(lat, this.scale[at] ?? 1);
      if (!(l >= 0 && l < Infinity)) return "bad_latency";
      out.latencyMs = l;
    }
    const bytes = pick(o, this.bytes);
    if (bytes !== undefined && !isPlaceholder(bytes)) {
      const b = toNumber(bytes);
      if (!Number.isInteger(b) || b < 0) return "bad_bytes";
      out.bytes = b;
    }
    if (method !== undefined) {
      if (typeof method !== "string") return "bad_method";
      out.method = method.toUpperCase();
    }
    const fwd = firstOf(pick(o, this.forwarded));
    if (fwd !== undefined && typeof fwd !== "string") return "bad_ip";
    out.ip = fwd === undefined ? "" : firstForwarded(fwd);
    if (out.ip === "") {
      const ip = pick(o, this.ip);
      if (ip !== undefined && typeof ip !== "string") return "bad_ip";
      if (ip !== undefined && !isPlaceholder(ip)) out.ip = hostOf(ip);
    }
    const ua = firstOf(pick(o, this.userAgent));
    if (ua !== undefined && typeof ua !== "string") return "bad_user_agent";
    if (ua !== undefined && ua !== "-") out.userAgent = ua;
    return null;
  }

  /**
   * Latency in ms: a number (`scale` ms each), or text with or without a unit ("12ms", "0.5s",
   * "12"); nginx's "0.010, 0.020" (one per upstream tried) is their sum.
   */
  private latencyOf(v: unknown, scale: number): number {
    if (typeof v !== "string") return toNumber(v) * scale;
    let sum = 0;
    for (const part of v.split(",")) {
      const t = part.trim();
      const ms = latencyMs(t, 0, t.length, "ms");
      // A bare number: scale it (latencyMs read it as ms); one with a unit keeps its own.
      sum += DECIMAL.test(t) ? ms * scale : ms;
    }
    return sum;
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

/** `line` as a JSON object, `out` cleared; else the failure reason. */
export function parseObject(line: string, out: LogRecord): Record<string, unknown> | string {
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
  return doc as Record<string, unknown>;
}

/** [method, target] of an HTTP request line ("GET /p?q=1 HTTP/1.1", or HTTP/0.9's "GET /p"); null if it is not one. */
export function splitRequestLine(rl: string): [string, string] | null {
  const t = rl.trim();
  const sp = t.indexOf(" ");
  if (sp <= 0) return null;
  const method = methodToken(t, 0, sp);
  if (method === "") return null;
  const rest = t.slice(sp + 1).trimStart();
  const end = rest.indexOf(" ");
  const target = end < 0 ? rest : rest.slice(0, end);
  return target === "" ? null : [method, target];
}

/** A JSON producer's format: `name`, its schema; registered in ./index.ts. */
export function jsonSchemaFormat<Name extends string>(name: Name, label: string, schema: JsonSchema): LogFormat<Name> {
  return { name, label, mapsFields: true, create: (o) => new JsonParser<Name>(o.fields, o.latencyUnit, schema, name) };
}

/** The json format: reads every producer's lines, less well than their own formats (it loses ties to them). */
export const jsonFormat: LogFormat<"json"> & { generic: true } = {
  ...jsonSchemaFormat("json", "JSON lines (pino, pino-http, winston, bunyan, logforest's own, or --field mappings)", DEFAULT_SCHEMA),
  generic: true,
}

/** Whether `o` has a value at any of `paths` (dotted, compiled once by the caller). */
export function hasAny(o: Record<string, unknown>, paths: readonly JsonPath[]): boolean {
  return pickIndex(o, paths) >= 0;
}

