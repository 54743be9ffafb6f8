/**
 * JSON-lines parser: one object per line, fields found by dotted paths. The default
 * paths cover logforest's simulator, pino/pino-http, bunyan, winston/express-winston
 * and common flat names; a user mapping replaces the defaults for its field.
 */
import { clearRecord, type LogRecord } from "../record.js";
import type { FieldName, LineParser } from "../parse.js";
import { ClfClock, IsoClock, latencyMs, routeOf, type Cursor } from "./common.js";

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

/** A finite number from a number or numeric string; NaN otherwise. */
function toNumber(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? v : NaN;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return NaN;
}

/** Latency in ms from text: a number (ms) or a number with a unit ("12ms", "0.5s"). */
function latencyText(v: string): number {
  const t = v.trim();
  return latencyMs(t, 0, t.length, true);
}

/** Field slots of JsonParser.picked, in the order of the constructor's path lists. */
const FIELD_ORDER = ["ts", "method", "route", "status", "latency", "bytes", "ip", "user_agent"] as const;
const [TS, METHOD, ROUTE, STATUS, LATENCY, BYTES, IP, UA] = [0, 1, 2, 3, 4, 5, 6, 7];

function skipWs(s: string, i: number): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
  }
  return i;
}

/** Index of the closing quote of a string starting at `i` with no escapes or control characters; -1 otherwise. */
function plainStringEnd(s: string, i: number): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34) return i;
    if (c === 92 || c < 32) return -1;
  }
  return -1;
}

/** End of a JSON number at `i` (strict grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?), or -1. */
function jsonNumberEnd(s: string, i: number): number {
  const n = s.length;
  const digit = (k: number) => k < n && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
  if (s.charCodeAt(i) === 45) i++;
  if (!digit(i)) return -1;
  if (s.charCodeAt(i) === 48) i++;
  else while (digit(i)) i++;
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  if (i < n && (s.charCodeAt(i) === 101 || s.charCodeAt(i) === 69)) {
    i++;
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  return i;
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
  private readonly userAgent: readonly JsonPath[];
  private readonly cur: Cursor = { pos: 0 };
  // The fast path: top-level keys that are whole paths, grouped by length.
  private readonly flatKeys = new Map<number, Array<{ key: string; slot: number }>>();
  private readonly slotField: number[] = []; // slot -> field (FIELD_ORDER index)
  private readonly slotRank: number[] = []; // slot -> position in that field's path list
  private readonly slotValue: unknown[] = [];
  private readonly slotSeen: number[] = [];
  private generation = 0;
  private readonly picked: unknown[] = new Array<unknown>(FIELD_ORDER.length);
  private readonly iso = new IsoClock();
  private readonly clf = new ClfClock();

  /** `fields` must already be validated (see createParser). */
  constructor(fields: Partial<Record<FieldName, string>>) {
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
    const lists = [this.ts, this.method, this.route, this.status, this.latency, this.bytes, this.ip, this.userAgent];
    lists.forEach((list, field) =>
      list.forEach((path, rank) => {
        if (path.length !== 1) return;
        const key = path[0];
        const slot = this.slotField.length;
        this.slotField.push(field);
        this.slotRank.push(rank);
        this.slotValue.push(undefined);
        this.slotSeen.push(-1);
        let group = this.flatKeys.get(key.length);
        if (!group) this.flatKeys.set(key.length, (group = []));
        group.push({ key, slot });
      }),
    );
  }

  /**
   * Scan a flat object (every value a string, number, true, false or null) without
   * JSON.parse, setting this.picked[field] as pick() would. False when the line is
   * not such an object, or has anything this scanner leaves to JSON.parse (a nested
   * value, an unusual number): the caller then takes the JSON.parse path, so both
   * paths always agree.
   */
  private scanFlat(s: string, i: number): boolean {
    const gen = ++this.generation;
    const n = s.length;
    i++; // past "{"
    i = skipWs(s, i);
    if (i < n && s.charCodeAt(i) === 125) return this.finishFlat(s, i + 1, gen);
    for (;;) {
      if (i >= n || s.charCodeAt(i) !== 34) return false;
      const keyStart = i + 1;
      const keyEnd = plainStringEnd(s, keyStart);
      if (keyEnd < 0) return false;
      i = skipWs(s, keyEnd + 1);
      if (i >= n || s.charCodeAt(i) !== 58) return false;
      i = skipWs(s, i + 1);
      if (i >= n) return false;
      const c = s.charCodeAt(i);
      let value: unknown;
      if (c === 34) {
        const end = plainStringEnd(s, i + 1);
        if (end < 0) return false; // escapes or control characters: JSON.parse decides
        value = s.slice(i + 1, end);
        i = end + 1;
      } else if (c === 45 || (c >= 48 && c <= 57)) {
        const end = jsonNumberEnd(s, i);
        if (end < 0) return false;
        value = Number(s.slice(i, end));
        i = end;
      } else if (s.startsWith("true", i)) {
        value = true;
        i += 4;
      } else if (s.startsWith("false", i)) {
        value = false;
        i += 5;
      } else if (s.startsWith("null", i)) {
        value = null;
        i += 4;
      } else {
        return false; // an object or array (or not JSON)
      }
      const group = this.flatKeys.get(keyEnd - keyStart);
      if (group) {
        for (let g = 0; g < group.length; g++) {
          const k = group[g];
          if (s.startsWith(k.key, keyStart)) {
            // A repeated key: the last one wins, as in JSON.parse.
            this.slotValue[k.slot] = value;
            this.slotSeen[k.slot] = gen;
          }
        }
      }
      i = skipWs(s, i);
      if (i >= n) return false;
      const sep = s.charCodeAt(i);
      if (sep === 125) return this.finishFlat(s, i + 1, gen);
      if (sep !== 44) return false;
      i = skipWs(s, i + 1);
    }
  }

  /** Only white space may follow the object; then resolve each field's best slot. */
  private finishFlat(s: string, i: number, gen: number): boolean {
    if (skipWs(s, i) !== s.length) return false;
    const best: number[] = [];
    this.picked.fill(undefined);
    for (let slot = 0; slot < this.slotField.length; slot++) {
      if (this.slotSeen[slot] !== gen) continue;
      const v = this.slotValue[slot];
      if (v === null) continue; // null counts as absent
      const f = this.slotField[slot];
      if (best[f] === undefined || this.slotRank[slot] < best[f]) {
        best[f] = this.slotRank[slot];
        this.picked[f] = v;
      }
    }
    return true;
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
    const p = this.picked;
    if (!(c === 123 && this.scanFlat(line, i))) {
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        return "not_json";
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "json_not_object";
      const o = doc as Record<string, unknown>;
      p[TS] = pick(o, this.ts);
      p[METHOD] = pick(o, this.method);
      p[ROUTE] = pick(o, this.route);
      p[STATUS] = pick(o, this.status);
      p[LATENCY] = pick(o, this.latency);
      p[BYTES] = pick(o, this.bytes);
      p[IP] = pick(o, this.ip);
      p[UA] = pick(o, this.userAgent);
    }
    return this.fill(out);
  }

  /** Fill `out` from the picked raw values; null on success, else the failure reason. */
  private fill(out: LogRecord): string | null {
    const p = this.picked;
    const status = p[STATUS];
    const route = p[ROUTE];
    const hasRoute = typeof route === "string" && route !== "";
    if (status === undefined && !hasRoute) return "no_status_or_route";
    if (status !== undefined) {
      const s = toNumber(status);
      if (!Number.isInteger(s) || s < 100 || s > 599) return "bad_status";
      out.status = s;
    }
    if (hasRoute) out.route = routeOf(route, 0, route.length);

    const ts = p[TS];
    if (ts !== undefined) {
      const t = this.timestamp(ts);
      if (Number.isNaN(t)) return "bad_timestamp";
      out.ts = t;
    }
    const lat = p[LATENCY];
    if (lat !== undefined && !isPlaceholder(lat)) {
      const l = typeof lat === "string" ? latencyText(lat) : toNumber(lat);
      if (!(l >= 0)) return "bad_latency";
      out.latencyMs = l;
    }
    const bytes = p[BYTES];
    if (bytes !== undefined && !isPlaceholder(bytes)) {
      const b = toNumber(bytes);
      if (!Number.isInteger(b) || b < 0) return "bad_bytes";
      out.bytes = b;
    }
    const method = p[METHOD];
    if (typeof method === "string") out.method = method.toUpperCase();
    const ip = p[IP];
    if (typeof ip === "string") out.ip = ip;
    const ua = p[UA];
    if (typeof ua === "string") out.userAgent = ua;
    return null;
  }

  /** Epoch ms from epoch ms/seconds (numbers below 1e11 are seconds), ISO or `%t` strings. */
  private timestamp(v: unknown): number {
    if (typeof v === "number") return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : NaN;
    if (typeof v !== "string") return NaN;
    const s = v.trim();
    const n = s.length;
    if (n === 0) return NaN;
    const c = s.charCodeAt(0);
    if (n <= 20 && c >= 48 && c <= 57 && s.indexOf("-") < 0) {
      const num = Number(s);
      if (Number.isFinite(num)) return num < 1e11 ? num * 1000 : num;
    }
    const iso = this.iso.parse(s, 0, n, this.cur, false);
    if (!Number.isNaN(iso)) return this.cur.pos === n ? iso : NaN;
    // nginx's $time_local, as JSON log_format templates often carry it.
    return this.clf.parse(s, 0, n);
  }
}
