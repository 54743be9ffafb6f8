/**
 * The state-free half of HTTP detection: bytes of whole lines -> parsed records, column by
 * column (PreparedLines), with no window state, so it can run on another thread
 * (runtime/pipeline.ts) while the detector keeps the windows and scores (Detector.consume).
 *
 * Lines are split and decoded as readLineBatches does (streams/lines.ts): on "\n", a
 * trailing "\r" dropped, each line decoded from UTF-8 on its own, a line longer than
 * maxLineBytes (its "\r" counted) not parsed but marked TOO_LONG. Strings (method, route,
 * client address) are ids into a table the receiving side rebuilds from each chunk's new
 * strings: repeated values cross the thread boundary once.
 */
import { decodeLine } from "../lines.js";
import { createParser, type FormatName, type ParserOptions } from "./parse.js";
import { emptyRecord, type LogRecord } from "./record.js";

/**
 * Lines parsed off the detector's thread, column by column: what Detector.consume reads
 * instead of parsing. Strings are ids into `strings`.
 */
export interface PreparedLines {
  /** Per line: 0 parsed, TOO_LONG, else 1 + the index of its skip reason in `reasons`. */
  skip: Uint8Array;
  reasons: readonly string[];
  ts: Float64Array;
  status: Float64Array;
  latencyMs: Float64Array;
  bytes: Float64Array;
  method: Int32Array;
  route: Int32Array;
  ip: Int32Array;
  strings: readonly string[];
}

/** Fill r from parsed line `at` of p (its skip code 0). */
export function recordAt(p: PreparedLines, at: number, r: LogRecord): void {
  r.ts = p.ts[at];
  r.status = p.status[at];
  r.latencyMs = p.latencyMs[at];
  r.bytes = p.bytes[at];
  r.method = p.strings[p.method[at]];
  r.route = p.strings[p.route[at]];
  r.ip = p.strings[p.ip[at]];
}

import { TOO_LONG } from "../stream.js";
export { TOO_LONG };

/** One chunk of lines prepared: the columns, each line's byte range in the chunk, the new strings. */
export interface PreparedChunk extends Omit<PreparedLines, "strings"> {
  lines: number;
  /** Line i is chunk bytes [start[i], end[i]) (its "\r", if any, included). */
  start: Int32Array;
  end: Int32Array;
  reasons: string[];
  /** Strings first used in this chunk: they take the ids after the table's current end. */
  fresh: string[];
  /** Whether the string table was emptied before this chunk's strings (it is bounded). */
  reset: boolean;
}

/** Strings in a string table before it starts over (a log of ever-new paths stays bounded). */
export const MAX_STRINGS = 1 << 16;

/** Parses chunks of one file's lines into PreparedChunks with one parser and one string table. */
export class LinePreparer {
  private readonly parser;
  private readonly record = emptyRecord();
  private readonly ids = new Map<string, number>();
  private fresh: string[] = [];
  private reset = false;

  constructor(format: FormatName, options: ParserOptions, private readonly maxLineBytes: number) {
    this.parser = createParser(format, options);
  }

  /** Parse the lines of `chunk`: whole lines, each ended by "\n" except perhaps the last. */
  prepare(chunk: Buffer): PreparedChunk {
    let n = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, nl + 1)) n++;
    if (chunk.length > 0 && chunk[chunk.length - 1] !== 0x0a) n++;
    const out: PreparedChunk = {
      lines: n, start: new Int32Array(n), end: new Int32Array(n), skip: new Uint8Array(n), reasons: [],
      ts: new Float64Array(n), status: new Float64Array(n), latencyMs: new Float64Array(n), bytes: new Float64Array(n),
      method: new Int32Array(n), route: new Int32Array(n), ip: new Int32Array(n), fresh: [], reset: false,
    };
    if (this.ids.size + 3 * n > MAX_STRINGS) {
      // Start over (before any id of this chunk is handed out): the receiver empties its table first.
      this.ids.clear();
      this.reset = true;
    }
    const r = this.record;
    let from = 0;
    for (let i = 0; i < n; i++) {
      let to = chunk.indexOf(0x0a, from);
      if (to < 0) to = chunk.length;
      out.start[i] = from;
      out.end[i] = to;
      if (to - from > this.maxLineBytes) {
        out.skip[i] = TOO_LONG;
      } else {
        const reason = this.parser.parse(decodeLine(chunk.subarray(from, to)), r);
        if (reason !== null) {
          let k = out.reasons.indexOf(reason);
          if (k < 0) k = out.reasons.push(reason) - 1;
          out.skip[i] = k + 1;
        } else {
          out.ts[i] = r.ts;
          out.status[i] = r.status;
          out.latencyMs[i] = r.latencyMs;
          out.bytes[i] = r.bytes;
          out.method[i] = this.id(r.method);
          out.route[i] = this.id(r.route);
          out.ip[i] = this.id(r.ip);
        }
      }
      from = to + 1;
    }
    out.fresh = this.fresh;
    out.reset = this.reset;
    this.fresh = [];
    this.reset = false;
    return out;
  }

  private id(s: string): number {
    const known = this.ids.get(s);
    if (known !== undefined) return known;
    const id = this.ids.size;
    this.ids.set(s, id);
    this.fresh.push(s);
    return id;
  }
}

/** The receiving side of LinePreparer's string ids: apply each chunk's new strings in chunk order. */
export class StringTable {
  readonly strings: string[] = [];

  /** Take in a chunk's new strings. */
  apply(c: Pick<PreparedChunk, "fresh" | "reset">): void {
    if (c.reset) this.strings.length = 0;
    for (const s of c.fresh) this.strings.push(s);
  }
}
