/**
 * Log line parsers (JSON lines, Apache/nginx combined, the seed program's text) and
 * format auto-detection. A parser fills a caller-owned LogRecord and returns null,
 * or a short snake_case reason the pipeline counts; it never throws on a line.
 * After a failure the record's contents are unspecified.
 */
import { emptyRecord, type LogRecord } from "./record.js";
import { LATENCY_UNITS, type LatencyUnit } from "../scan.js";
import { FORMATS, type FormatName } from "./formats/index.js";
import { compilePath } from "./formats/json.js";
import { PAIR_START, type FieldName, type LineParser as AnyLineParser, type ResolvedParserOptions } from "./formats/types.js";

export type { FormatName } from "./formats/index.js";
export type { FieldName, ResolvedParserOptions } from "./formats/types.js";
export { PAIR_START } from "./formats/types.js";

/** Parses lines of one of the registered formats into a reused record. */
export type LineParser = AnyLineParser<FormatName>;

export { LATENCY_UNITS, type LatencyUnit } from "../scan.js";
export { guessLatencyUnit, latencyEvidence, type LatencyEvidence } from "./formats/combined.js";

/** Options for createParser. */
export interface ParserOptions {
  /** JSON only: field -> dotted path (`req.headers["user-agent"]`), replacing the default paths for that field. */
  fields?: Partial<Record<FieldName, string>>;
  /**
   * Unit of a latency number that carries no unit of its own: "ms", "s" or "us".
   * Default: JSON and seed read such numbers as ms (`responseTime`, `latency=`);
   * combined reads a bare trailing decimal with a point as s (nginx `$request_time`)
   * and ignores a bare integer. Given, every format reads every bare latency number
   * in this unit (see formats/combined.ts for which trailing number that is).
   * Tokens with a unit (`12ms`, `0.5s`, `573.1 ms`) and combined's `rt=`/`request_time=`
   * (nginx's $request_time: seconds) keep their own.
   */
  latencyUnit?: LatencyUnit;
}

/** All formats, in the order detection prefers on a tie. */
export const FORMAT_NAMES: readonly FormatName[] = FORMATS.map((f) => f.name);

/** All mappable fields. */
export const FIELD_NAMES: readonly FieldName[] = ["ts", "method", "route", "status", "latency", "bytes", "ip", "user_agent"];

/** Every failure reason any parser returns. */
export const FAILURE_REASONS: readonly string[] = [
  "empty", "not_json", "json_not_object", "no_status_or_route", "no_timestamp", "bad_timestamp", "no_request",
  "unterminated_quote", "bad_request_line", "no_status", "bad_status", "no_bytes", "bad_bytes", "bad_latency",
  "no_route", "timestamp_out_of_range", "bad_route", "bad_method", "bad_ip", "bad_user_agent",
  PAIR_START, "unpaired_completion", ...FORMAT_NAMES.filter((f) => f !== "json").map((f) => `not_${f.replace(/-/g, "_")}`),
];

/** Lines detectFormat looks at. */
const DETECT_SAMPLE = 50;

function isFieldName(name: string): name is FieldName {
  return (FIELD_NAMES as readonly string[]).includes(name);
}

function isFormatName(name: unknown): name is FormatName {
  return typeof name === "string" && (FORMAT_NAMES as readonly string[]).includes(name);
}

/** Validate createParser's arguments. */
function validateOptions(format: unknown, opts: unknown): ResolvedParserOptions {
  if (!isFormatName(format)) {
    throw new RangeError(`format must be one of ${FORMAT_NAMES.join(", ")}, got ${JSON.stringify(format) ?? String(format)}`);
  }
  if (opts === undefined) return { fields: {}, latencyUnit: null };
  if (typeof opts !== "object" || opts === null) throw new TypeError(`parser options must be an object, got ${String(opts)}`);
  const unit: unknown = (opts as ParserOptions).latencyUnit;
  if (unit !== undefined && !(LATENCY_UNITS as readonly unknown[]).includes(unit)) {
    throw new RangeError(`latencyUnit must be one of ${LATENCY_UNITS.join(", ")}, got ${JSON.stringify(unit) ?? String(unit)}`);
  }
  return { fields: validateFields(format, (opts as ParserOptions).fields), latencyUnit: (unit as LatencyUnit | undefined) ?? null };
}

/** Validate a JSON field mapping; returns the mapping to use. */
function validateFields(format: FormatName, fields: unknown): Partial<Record<FieldName, string>> {
  if (fields === undefined) return {};
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new TypeError(`fields must be an object mapping field names to paths, got ${JSON.stringify(fields)}`);
  }
  const out: Partial<Record<FieldName, string>> = {};
  for (const [name, path] of Object.entries(fields)) {
    if (path === undefined) continue;
    if (!isFieldName(name)) throw new RangeError(`fields: field must be one of ${FIELD_NAMES.join(", ")}, got "${name}"`);
    if (typeof path !== "string") throw new TypeError(`fields.${name} must be a path string, got ${JSON.stringify(path)}`);
    compilePath(path);
    out[name] = path;
  }
  if (!formatOf(format).mapsFields && Object.keys(out).length > 0) {
    throw new RangeError(`fields maps JSON paths and applies only to format json, got format ${format}`);
  }
  return out;
}

/** A parser for `format`; throws RangeError/TypeError on bad options. */
export function createParser(format: FormatName, opts?: ParserOptions): LineParser {
  const o = validateOptions(format, opts);
  return formatOf(format).create(o);
}

/** Whether `format` joins several lines into one request (fastify): they must reach one parser in order. */
export function pairsLines(format: FormatName): boolean {
  const def = FORMATS.find((f) => f.name === format);
  return def !== undefined && "pairsLines" in def && def.pairsLines === true;
}

/** The registered format named `name` (already validated). */
function formatOf(name: FormatName): (typeof FORMATS)[number] {
  const def = FORMATS.find((f) => f.name === name);
  if (def === undefined) throw new RangeError(`format must be one of ${FORMAT_NAMES.join(", ")}, got ${JSON.stringify(name)}`);
  return def;
}

/**
 * The format that parses the most of the first 50 non-blank lines, provided it parses
 * at least half of them; null when none does (or there are no such lines). A producer's
 * format (nginx-json, caddy, ...) reads only its own lines and wins a tie with json.
 */
export function detectFormat(lines: readonly string[]): FormatName | null {
  const sample: string[] = [];
  for (let k = 0; k < lines.length && sample.length < DETECT_SAMPLE; k++) {
    const line = lines[k];
    if (line !== undefined && line.trim() !== "") sample.push(line);
  }
  if (sample.length === 0) return null;
  const rec = emptyRecord();
  let best: FormatName | null = null;
  let bestOk = 0;
  let bestGeneric = false;
  for (const def of FORMATS) {
    const format = def.name;
    const generic = "generic" in def && def.generic === true;
    const parser = createParser(format);
    let ok = 0;
    for (const line of sample) {
      const reason = parser.parse(line, rec);
      if (reason === null || reason === PAIR_START) ok++;
    }
    if (ok > bestOk || (ok === bestOk && ok > 0 && bestGeneric && !generic)) {
      best = format;
      bestOk = ok;
      bestGeneric = generic;
    }
  }
  return bestOk * 2 >= sample.length ? best : null;
}

/**
 * Parse CLI-style mappings `["latency=responseTime", "route=req.path"]` into ParserOptions.fields.
 * Throws TypeError for a non-string spec and RangeError naming any malformed or repeated spec.
 */
export function parseFieldMappings(specs: readonly string[]): Partial<Record<FieldName, string>> {
  if (!Array.isArray(specs)) throw new TypeError(`field mappings must be an array of "field=path" strings, got ${String(specs)}`);
  const out: Partial<Record<FieldName, string>> = {};
  const from: Partial<Record<FieldName, string>> = {};
  for (const spec of specs as readonly unknown[]) {
    if (typeof spec !== "string") throw new TypeError(`field mapping must be a "field=path" string, got ${JSON.stringify(spec)}`);
    const eq = spec.indexOf("=");
    if (eq < 0) throw new RangeError(`field mapping must look like field=path, got "${spec}"`);
    const name = spec.slice(0, eq).trim();
    const path = spec.slice(eq + 1).trim();
    if (!isFieldName(name)) {
      throw new RangeError(`field mapping "${spec}": field must be one of ${FIELD_NAMES.join(", ")}, got "${name}"`);
    }
    try {
      compilePath(path);
    } catch (e) {
      throw new RangeError(`field mapping "${spec}": ${e instanceof Error ? e.message : String(e)}`);
    }
    const earlier = from[name];
    if (earlier !== undefined) throw new RangeError(`field mapping "${spec}": field ${name} is already mapped by "${earlier}"`);
    out[name] = path;
    from[name] = spec;
  }
  return out;
}
