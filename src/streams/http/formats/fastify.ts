/**
 * Fastify's default request logging (pino): two lines per request, joined by `reqId`:
 *   {"level":30,"time":1733450000123,"pid":7,"reqId":"req-1","req":{"method":"GET","url":"/p?q=1",
 *    "host":"shop","remoteAddress":"10.0.0.1","remotePort":5123},"msg":"incoming request"}
 *   {"level":30,"time":1733450000135,"pid":7,"reqId":"req-1","res":{"statusCode":200},
 *    "responseTime":12.3,"msg":"request completed"}
 * The request is read on its completion line (time, status, `responseTime` in ms) with the
 * method, url and client of its incoming line; the incoming line itself is counted as
 * `pair_start` (it is not a request of its own, nor dropped). A completion whose incoming
 * line was never seen (the log starts mid-request, or the start fell out of the pending
 * map) is `unpaired_completion`. Pending starts are bounded (MAX_PENDING, oldest forgotten
 * first); the last completions are kept so that reading a completion line again (an alert
 * quoting it) gives the same record. Other lines of the app are `not_fastify`.
 * The client is `req.remoteAddress` (the forwarded client when Fastify's trustProxy is set).
 */
import { copyRecord, emptyRecord, type LogRecord } from "../record.js";
import { JsonParser, parseObject, type JsonSchema } from "./json.js";
import { PAIR_START, type LineParser, type LogFormat, type ResolvedParserOptions } from "./types.js";

/** Incoming requests waiting for their completion line. */
export const MAX_PENDING = 16_384;
/** Completions kept for a second reading of their line (an alert's record). */
const KEEP_DONE = 16_384;

const INCOMING: JsonSchema = {
  paths: {
    ts: ["time"], method: ["req.method"], route: ["req.url"], status: [], latency: [], bytes: [],
    ip: ["req.remoteAddress", "req.ip"], user_agent: ['req.headers["user-agent"]'],
  },
  forwarded: ['req.headers["x-forwarded-for"]'],
};
const COMPLETED: JsonSchema = {
  paths: {
    ts: ["time"], method: [], route: [], status: ["res.statusCode"], latency: ["responseTime"],
    bytes: ['res.headers["content-length"]'], ip: [], user_agent: [],
  },
  forwarded: [],
};

/** The key of a request: its process and reqId (several processes may share a file). */
function keyOf(o: Record<string, unknown>): string | null {
  const id = o.reqId;
  if (typeof id !== "string" && typeof id !== "number") return null;
  return `${typeof o.pid === "number" ? o.pid : ""}:${id}`;
}

/** Whether an object is a request object of the incoming line. */
function isObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Pairs Fastify's incoming-request and request-completed lines into one record. */
export class FastifyParser implements LineParser<"fastify"> {
  readonly format = "fastify" as const;
  private readonly incoming: JsonParser<"fastify">;
  private readonly completed: JsonParser<"fastify">;
  private readonly pending = new Map<string, LogRecord>();
  private readonly done = new Map<string, LogRecord>();
  private readonly part = emptyRecord();

  constructor(o: ResolvedParserOptions) {
    // A --field mapping applies to the line that carries the field.
    const fields = (keys: readonly string[]) => Object.fromEntries(Object.entries(o.fields).filter(([k]) => keys.includes(k)));
    this.incoming = new JsonParser(fields(["method", "route", "ip", "user_agent"]), o.latencyUnit, INCOMING, "fastify");
    this.completed = new JsonParser(fields(["ts", "status", "latency", "bytes"]), o.latencyUnit, COMPLETED, "fastify");
  }

  /** Incoming requests waiting for their completion (bounded by MAX_PENDING). */
  get waiting(): number {
    return this.pending.size;
  }

  parse(line: string, out: LogRecord): string | null {
    const o = parseObject(line, out);
    if (typeof o === "string") return o;
    const key = keyOf(o);
    if (key === null) return "not_fastify";
    if (isObject(o.req) && !isObject(o.res)) {
      const bad = this.incoming.read(o, this.part);
      if (bad !== null) return bad;
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value ?? "");
      this.pending.delete(key);
      this.pending.set(key, copyRecord(this.part));
      return PAIR_START;
    }
    if (!isObject(o.res)) return "not_fastify";
    const start = this.pending.get(key) ?? this.done.get(key);
    if (start === undefined) return "unpaired_completion";
    const bad = this.completed.read(o, out);
    if (bad !== null) return bad;
    out.method = start.method;
    out.route = start.route;
    out.ip = start.ip;
    out.userAgent = start.userAgent;
    if (Number.isNaN(out.ts)) out.ts = start.ts;
    if (this.pending.delete(key)) {
      if (this.done.size >= KEEP_DONE) this.done.delete(this.done.keys().next().value ?? "");
      this.done.set(key, start);
    }
    return null;
  }
}

/** The fastify format (registered in ./index.ts). */
export const fastifyFormat = {
  name: "fastify",
  label: "Fastify request logging (pino, two lines per request joined by reqId)",
  mapsFields: true,
  pairsLines: true,
  create: (o) => new FastifyParser(o),
} as const satisfies LogFormat<"fastify">;
