/** Reading a file or stream as batches of lines, without holding it all in memory. */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";

/** A batch of consecutive lines; `first` is the 1-based line number of lines[0]. */
export type LineBatchHandler = (lines: string[], first: number) => void;

/** Limits of readLineBatches. */
export interface LineLimits {
  /** Longest line kept, in bytes without its newline, in [1, 2^30] (default 65536). */
  maxLineBytes?: number;
  /**
   * Called with the line number of each longer line, after the batch before it; such a line's
   * bytes are skipped, never held. Without it, the line is passed in its batch as "".
   */
  onTooLong?: (line: number) => void;
}

/** Default longest line, in bytes. */
export const MAX_LINE_BYTES_DEFAULT = 65536;
const MAX_LINE_BYTES = 2 ** 30;

/** Check a maxLineBytes value; the error names `option` (e.g. "--max-line-bytes"). */
export function checkMaxLineBytes(value: unknown, option = "maxLineBytes"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_LINE_BYTES) {
    throw new RangeError(`${option} must be an integer in [1, ${MAX_LINE_BYTES}], got ${String(value)}`);
  }
  return value;
}

/**
 * Call `onBatch` with up to `batchSize` lines at a time (newline and a trailing "\r"
 * removed; a last line without a newline included). Lines are split on newline bytes and
 * decoded whole, so a UTF-8 character is never cut. Resolves to the line count.
 */
export async function readLineBatches(
  source: string | Readable, onBatch: LineBatchHandler, batchSize = 8192, limits: LineLimits = {},
): Promise<number> {
  const max = checkMaxLineBytes(limits.maxLineBytes ?? MAX_LINE_BYTES_DEFAULT);
  const onTooLong = limits.onTooLong ?? null;
  const stream = typeof source === "string" ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
  let held: Buffer[] = []; // bytes of the current line seen so far, while it fits
  let heldBytes = 0;
  let tooLong = false;
  let batch: string[] = [];
  let next = 1; // line number of batch[0]
  const flush = () => {
    if (batch.length === 0) return;
    const first = next;
    next += batch.length;
    const out = batch;
    batch = [];
    onBatch(out, first);
  };
  const push = (text: string | null) => {
    if (text !== null) {
      batch.push(text);
    } else if (onTooLong === null) {
      batch.push("");
    } else {
      flush();
      onTooLong(next++);
    }
    if (batch.length >= batchSize) flush();
  };
  const endLine = (tail: Buffer) => {
    if (tooLong || heldBytes + tail.length > max) push(null);
    else push(decodeLine(heldBytes > 0 ? Buffer.concat([...held, tail]) : tail));
    held = [];
    heldBytes = 0;
    tooLong = false;
  };
  for await (const data of stream as AsyncIterable<Buffer | string>) {
    const chunk = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      endLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      heldBytes += rest.length;
      if (heldBytes > max) tooLong = true;
      if (tooLong) held = [];
      else held.push(Buffer.from(rest)); // a copy: the stream may reuse its buffer
    }
  }
  if (heldBytes > 0) endLine(Buffer.alloc(0));
  flush();
  return next - 1;
}

/** Bytes of one line (without its "\n") to text, dropping a trailing "\r". */
export function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString("utf8", 0, end);
}
