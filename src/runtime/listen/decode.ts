/**
 * What a request body holds, as lines grouped by source: OTLP/HTTP logs (JSON or protobuf),
 * Loki push (JSON or protobuf) and newline-delimited JSON. The protobuf bytes are decoded by
 * protobufjs with the schemas of ./schema.ts; a body that is not what its endpoint reads is
 * refused whole with a PayloadError naming what is wrong (nothing of it is scored).
 *
 * A source is who sent the lines, and keeps its own windows: an OTel resource's service.name,
 * a Loki stream's label set (written `{k="v",...}`, keys sorted), an NDJSON request's
 * `?source=`. A record's body is the line, read by the model's formats as a file line is: a
 * string as it is, a structured body (OTel kvlist, an NDJSON object) as its JSON.
 */
import type { WireTypes } from "./schema.js";

/** A body that cannot be read: answered 400 with the message. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
}

/** One source's lines from one request, in the order sent. */
export interface SourceLines {
  source: string;
  lines: string[];
}

/** The service name of an OTel resource without one (the SDKs' default prefix). */
export const OTLP_NO_SERVICE = "unknown_service";

/** Lines collected per source, sources in the order first seen. */
class Grouped {
  private readonly by = new Map<string, string[]>();
  records = 0;
  add(source: string, line: string): void {
    let lines = this.by.get(source);
    if (lines === undefined) this.by.set(source, (lines = []));
    lines.push(line);
    this.records++;
  }
  list(): SourceLines[] {
    return [...this.by].map(([source, lines]) => ({ source, lines }));
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function listAt(o: Obj, field: string, where: string): unknown[] {
  const v = o[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PayloadError(`${where}.${field} is not an array`);
  return v;
}

/** An OTLP AnyValue (JSON mapping or protobufjs message) as a plain value. Only the field set counts: protobufjs keeps defaults on the prototype. */
function anyValue(v: unknown): unknown {
  if (!isObj(v)) return null;
  const set = (k: string): unknown => (Object.hasOwn(v, k) ? v[k] : undefined);
  const s = set("stringValue");
  if (typeof s === "string") return s;
  const b = set("boolValue");
  if (b !== undefined && b !== null) return Boolean(b);
  const i = set("intValue");
  if (i !== undefined && i !== null) {
    const n = Number(String(i));
    return Number.isSafeInteger(n) ? n : String(i);
  }
  const d = set("doubleValue");
  if (d !== undefined && d !== null) return Number(d);
  const a = set("arrayValue");
  if (isObj(a)) return listAt(a, "values", "arrayValue").map(anyValue);
  const kv = set("kvlistValue");
  if (isObj(kv)) return keyValues(listAt(kv, "values", "kvlistValue"));
  const bytes = set("bytesValue");
  if (bytes instanceof Uint8Array) return Buffer.from(bytes).toString("base64");
  if (typeof bytes === "string") return bytes;
  return null;
}

function keyValues(list: unknown[]): Obj {
  const out: Obj = {};
  for (const kv of list) if (isObj(kv) && typeof kv.key === "string") out[kv.key] = anyValue(kv.value);
  return out;
}

/** A record's body as a line: a string as is, anything else as JSON. */
function bodyLine(body: unknown): string {
  const v = anyValue(body);
  if (typeof v === "string") return v;
  if (v === null) return "";
  return JSON.stringify(v);
}

/** An ExportLogsServiceRequest (its JSON mapping, or decoded by protobufjs: the same camelCase fields). */
function otlpRequest(req: unknown): Grouped {
  if (!isObj(req)) throw new PayloadError("the body is not an ExportLogsServiceRequest object");
  const out = new Grouped();
  listAt(req, "resourceLogs", "request").forEach((rl, i) => {
    const at = `resourceLogs[${i}]`;
    if (!isObj(rl)) throw new PayloadError(`${at} is not an object`);
    const attrs = isObj(rl.resource) ? keyValues(listAt(rl.resource, "attributes", `${at}.resource`)) : {};
    const name = attrs["service.name"];
    const source = typeof name === "string" && name !== "" ? name : OTLP_NO_SERVICE;
    listAt(rl, "scopeLogs", at).forEach((sl, j) => {
      if (!isObj(sl)) throw new PayloadError(`${at}.scopeLogs[${j}] is not an object`);
      for (const rec of listAt(sl, "logRecords", `${at}.scopeLogs[${j}]`)) out.add(source, isObj(rec) ? bodyLine(rec.body) : "");
    });
  });
  return out;
}

/** An OTLP/HTTP JSON body. */
export function otlpJson(text: string): SourceLines[] {
  return otlpRequest(parseJson(text)).list();
}

/** An OTLP/HTTP protobuf body. */
export function otlpProto(bytes: Uint8Array, types: WireTypes): SourceLines[] {
  return otlpRequest(decodeProto(types.otlpLogs, bytes, "ExportLogsServiceRequest")).list();
}

/** A Loki push JSON body: {"streams":[{"stream":{labels},"values":[[ns, line, metadata?], ...]}]}. */
export function lokiJson(text: string): SourceLines[] {
  const req = parseJson(text);
  if (!isObj(req)) throw new PayloadError("the body is not a Loki push object");
  const out = new Grouped();
  listAt(req, "streams", "push").forEach((s, i) => {
    if (!isObj(s)) throw new PayloadError(`streams[${i}] is not an object`);
    const labels = isObj(s.stream) ? s.stream : {};
    const source = labelText(Object.entries(labels).map(([k, v]) => [k, String(v)]));
    listAt(s, "values", `streams[${i}]`).forEach((v, j) => {
      if (!Array.isArray(v) || v.length < 2 || typeof v[1] !== "string") throw new PayloadError(`streams[${i}].values[${j}] is not [timestamp, line]`);
      out.add(source, v[1]);
    });
  });
  return out.list();
}

/** A Loki push protobuf body (already snappy-decompressed). */
export function lokiProto(bytes: Uint8Array, types: WireTypes): SourceLines[] {
  const req = decodeProto(types.lokiPush, bytes, "PushRequest");
  const out = new Grouped();
  listAt(req, "streams", "push").forEach((s, i) => {
    if (!isObj(s)) throw new PayloadError(`streams[${i}] is not an object`);
    const source = labelText(parseLabels(typeof s.labels === "string" ? s.labels : "", i));
    for (const e of listAt(s, "entries", `streams[${i}]`)) out.add(source, isObj(e) && typeof e.line === "string" ? e.line : "");
  });
  return out.list();
}

/** Options of an NDJSON request (its query): the source's name, and the field holding the line. */
export interface NdjsonQuery {
  source: string;
  /** The field whose string is the line; null: the first of NDJSON_MESSAGE_FIELDS present, else the object itself. */
  message: string | null;
}

/** Fields read as the line, in order, when the request names none: what Fluent Bit (log) and Vector (message) put a tailed line in. */
export const NDJSON_MESSAGE_FIELDS = ["log", "message"] as const;

/** A newline-delimited JSON body: each object's message field, or the object itself, is a line. */
export function ndjson(text: string, q: NdjsonQuery): SourceLines[] {
  const out = new Grouped();
  const rows = text.split("\n");
  rows.forEach((row, i) => {
    if (row.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(row);
    } catch (err) {
      throw new PayloadError(`line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
    if (typeof v === "string") return out.add(q.source, v);
    if (!isObj(v)) throw new PayloadError(`line ${i + 1} is not a JSON object or string`);
    const field = q.message ?? NDJSON_MESSAGE_FIELDS.find((f) => typeof v[f] === "string");
    const m = field === undefined ? undefined : v[field];
    out.add(q.source, typeof m === "string" ? m : field === undefined || m === undefined ? row : JSON.stringify(m));
  });
  return out.list();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PayloadError(`the body is not JSON: ${(err as Error).message}`);
  }
}

function decodeProto(type: WireTypes["otlpLogs"], bytes: Uint8Array, what: string): Obj {
  try {
    return type.decode(bytes) as unknown as Obj;
  } catch (err) {
    throw new PayloadError(`the body is not a protobuf ${what}: ${(err as Error).message}`);
  }
}

/** A Loki label set as it is written in a selector: {k="v",...}, keys sorted. */
function labelText(pairs: Array<[string, string]>): string {
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

/** The label pairs of a Prometheus-style label text, `{job="x", app="y\"z"}`. */
function parseLabels(text: string, i: number): Array<[string, string]> {
  const inner = text.trim().replace(/^\{/, "").replace(/\}$/, "");
  const pair = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  const out: Array<[string, string]> = [];
  let at = 0;
  for (let m = pair.exec(inner); m !== null; m = pair.exec(inner)) {
    out.push([m[1], m[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))]);
    at = pair.lastIndex;
  }
  if (inner.slice(at).trim() !== "") throw new PayloadError(`streams[${i}].labels is not a label set: ${JSON.stringify(text.slice(0, 200))}`);
  return out;
}
