/**
 * The shard streams' entry formats, written by the shipper and read by the consumers:
 *
 *   format 1 (no `v`):  file, line, text [, too_long "1"]                    one line
 *   format 2 (v "2"):   v, file, line (the first's number), n, text [, too_long]
 *                       text = the n lines joined by "\n" (a line holds none), numbered
 *                       line, line+1, ...; too_long = the parts ("0,5") shipped as ""
 *
 * A consumer reads both; an entry with any other `v`, or a format-2 entry whose text does not
 * hold n lines, is refused with an EntryFormatError (the consumer stops and says so).
 */
import { EntryFormatError, type Entry, type LineBatch } from "./transport.js";

/** The newest format written (1 when one line per entry is asked for, which consumers before it read too). */
export const ENTRY_FORMAT = 2;
/** Text bytes (UTF-16 units, roughly) past which an entry takes no more lines. */
const ENTRY_TEXT_MAX = 256 * 1024;

/** One XADD: lines [from, from + count) of a batch, on `shard`, as the entry's fields. */
export interface PackedEntry {
  shard: number;
  from: number;
  count: number;
  /** Strings, and the text as a Buffer: ioredis then writes it as is, not through one long string of the whole pipeline. */
  fields: Array<string | Buffer>;
}

/**
 * Pack a batch's lines from `from` on into entries: runs of one shard and file with
 * consecutive line numbers, up to `linesPerEntry` lines (and about ENTRY_TEXT_MAX of text)
 * each; with linesPerEntry 1, format 1.
 */
export function packEntries(b: LineBatch, from: number, linesPerEntry: number): PackedEntry[] {
  const out: PackedEntry[] = [];
  let i = from;
  while (i < b.shards.length) {
    const start = i;
    let size = b.texts[i].length;
    for (i++; i < b.shards.length && i - start < linesPerEntry; i++) {
      if (b.shards[i] !== b.shards[start] || b.files[i] !== b.files[start] || b.lines[i] !== b.lines[i - 1] + 1) break;
      size += b.texts[i].length + 1;
      if (size > ENTRY_TEXT_MAX) break;
    }
    out.push({ shard: b.shards[start], from: start, count: i - start, fields: fieldsOf(b, start, i - start, linesPerEntry) });
  }
  return out;
}

function fieldsOf(b: LineBatch, start: number, count: number, linesPerEntry: number): Array<string | Buffer> {
  if (linesPerEntry === 1) {
    const fields = ["file", b.files[start], "line", String(b.lines[start]), "text", b.texts[start]];
    if (b.tooLong[start] === 1) fields.push("too_long", "1");
    return fields;
  }
  const texts = b.texts.slice(start, start + count);
  const fields: Array<string | Buffer> = ["v", String(ENTRY_FORMAT), "file", b.files[start], "line", String(b.lines[start]), "n", String(count), "text", Buffer.from(texts.join("\n"))];
  const long: number[] = [];
  for (let k = 0; k < count; k++) if (b.tooLong[start + k] === 1) long.push(k);
  if (long.length > 0) fields.push("too_long", long.join(","));
  return fields;
}

/** A field of an entry ("" when absent). */
function field(fields: readonly string[], name: string): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return "";
}

/** An entry's lines as the transport's Entries (one, with a null line, for an entry trimmed away); `where` names its stream in errors. */
export function entryLines(id: string, fields: readonly string[] | null, where: string): Entry[] {
  if (fields === null) return [{ id, line: null }];
  const v = field(fields, "v");
  const file = field(fields, "file");
  const first = Number(field(fields, "line"));
  if (v === "") return [{ id, line: { file, line: first, text: field(fields, "text"), tooLong: field(fields, "too_long") === "1" } }];
  if (v !== String(ENTRY_FORMAT)) {
    throw new EntryFormatError(`entry ${id} of ${where} is in format ${JSON.stringify(v)}, which this logforest does not read (it reads formats 1 and ${ENTRY_FORMAT}): `
      + "upgrade the consumers (detect --from) to the shippers' version");
  }
  const n = Number(field(fields, "n"));
  const texts = field(fields, "text").split("\n");
  if (!Number.isInteger(n) || n < 1 || texts.length !== n || !Number.isInteger(first)) {
    throw new EntryFormatError(`entry ${id} of ${where} is damaged: format ${ENTRY_FORMAT} with n ${JSON.stringify(field(fields, "n"))}, line ${JSON.stringify(field(fields, "line"))} and ${texts.length} line(s) of text`);
  }
  const long = new Set(field(fields, "too_long").split(",").filter((x) => x !== "").map(Number));
  const out: Entry[] = new Array<Entry>(n);
  for (let k = 0; k < n; k++) out[k] = { id, part: k, line: { file, line: first + k, text: texts[k], tooLong: long.has(k) } };
  return out;
}

/** Lines an entry holds, from its fields alone (1 for format 1 or a trimmed entry). */
export function linesOf(fields: readonly string[] | null): number {
  if (fields === null || field(fields, "v") === "") return 1;
  return Math.max(1, Number(field(fields, "n")) || 1);
}
