/**
 * The message for a log logforest cannot read: what it reads, what it does not, and
 * what the first lines looked like, so the reader can tell whether a --format would
 * help or no format fits. An empty input gets the same message, saying it is empty.
 */

import { FORMATS } from "./formats/index.js";
import { createParser, detectFormat, PAIR_START, type FormatName, type ParserOptions } from "./parse.js";
import { emptyRecord } from "./record.js";

/** What logforest reads, one phrase per kind (the HTTP formats and the telemetry stream). */
export const READS = [
  "access logs of nginx (JSON), Caddy, Traefik, Envoy/Istio, Google Cloud (httpRequest), ECS, OpenTelemetry, Fastify, ingress-nginx, AWS ALB/ELB, HAProxy and uvicorn, recognised by their field names (see docs/formats.md)",
  "JSON lines of HTTP requests (pino, pino-http, winston, express-winston, bunyan, or any JSON with --field mappings): --format json",
  "Apache/nginx access logs, combined or common, with an optional trailing latency: --format combined",
  "plain request lines that start with a timestamp (2026-11-24 14:00:00.123 INFO GET /checkout 200 123.4ms): --format seed",
  "CSV metric streams (a header, a timestamp column, value columns): --format csv",
  "free-text application logs behind a header (syslog/sshd, log4j/logback, Python logging, Go, klog, Apache/nginx error logs, HDFS, Spark, BGL, ...): found by themselves, or --format text (see docs/free-text.md)",
] as const;

/** Logs it does not read (no --format fits them). */
export const DOES_NOT_READ =
  "lines with neither an HTTP request nor a header it knows (a time, a level, a component) before the message";

/** Lines shown, and the characters kept of each. */
const SHOWN_LINES = 3;
const SHOWN_CHARS = 120;

/** A line cut to SHOWN_CHARS characters, control characters escaped. */
function shown(line: string): string {
  const cut = line.length > SHOWN_CHARS ? `${line.slice(0, SHOWN_CHARS)}...` : line;
  return JSON.stringify(cut);
}

/**
 * The refusal of an unrecognised (or empty) log. `lines`: the first lines looked at;
 * `name`: the file's name, when there is one; `tried`: the formats tried.
 */
export function formatRefusal(lines: readonly string[], tried: readonly string[], name?: string): RangeError {
  const of = name !== undefined ? ` of ${name}` : "";
  const nonBlank = lines.filter((l) => l.trim() !== "");
  const what =
    nonBlank.length === 0
      ? `the ${name !== undefined ? "file" : "input"} is empty: no lines to learn from${lines.length > 0 ? ` (${lines.length} blank lines)` : ""}`
      : `none of ${tried.join(", ")} fits its first lines:\n${nonBlank.slice(0, SHOWN_LINES).map((l) => `  ${shown(l)}`).join("\n")}`;
  return new RangeError(
    `could not recognise the log format${of}: ${what}\n` +
      `logforest reads:\n${READS.map((r) => `  - ${r}`).join("\n")}\n` +
      `It does not read ${DOES_NOT_READ}; pass --format only when the log is one of the above.`,
  );
}

/** "name (label)" of a format, for messages. */
export function formatLabel(name: FormatName): string {
  const def = FORMATS.find((f) => f.name === name);
  return def === undefined ? name : `${name} (${def.label})`;
}

/**
 * The format to read `file` with when its lines look like `found` and the model was trained
 * on `model`: the model's, when its parser reads most of `sample` (a model keeps reading the
 * log it was trained on), unless the model is generic json without a field mapping and the
 * lines are a producer's (json would read them with the wrong fields and units); else a
 * RangeError saying what each is.
 */
export function modelOrRefuse(model: FormatName, found: FormatName, sample: readonly string[], file: string, options: ParserOptions): FormatName {
  if (found === model) return model;
  const parser = createParser(model, options);
  const r = emptyRecord();
  let read = 0;
  for (const line of sample) {
    const reason = parser.parse(line, r);
    if (reason === null || reason === PAIR_START) read++;
  }
  const mapped = Object.keys(options.fields ?? {}).length > 0;
  if (read * 2 >= sample.length && (model !== "json" || mapped)) return model;
  throw producerMismatch(formatLabel(model), formatLabel(found), file);
}

/**
 * The refusal of a model trained on another producer's log than `file`'s: the features of
 * one producer's fields and units mean something else on another's (a pino model read a
 * morgan log's 0.203 s as 203 ms). `model` and `found` are "name (label)".
 */
export function producerMismatch(model: string, found: string, file: string): RangeError {
  return new RangeError(
    `the model was trained on a ${model} log, but ${file} is a ${found} log: ` +
      `train a model on this log (logforest train --input ${file} --model ...), or pass --format to read it as the model's format`,
  );
}
