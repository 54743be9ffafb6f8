/** Reading a file or stream as batches of lines, without holding it all in memory. */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";

/** A batch of consecutive lines; `first` is the 1-based line number of lines[0]. */
export type LineBatchHandler = (lines: string[], first: number) => void;

/**
 * Call `onBatch` with up to `batchSize` lines at a time (newline and a trailing
 * "\r" removed; a last line without a newline included). Resolves to the line count.
 */
export async function readLineBatches(source: string | Readable, onBatch: LineBatchHandler, batchSize = 8192): Promise<number> {
  const stream = typeof source === "string" ? createReadStream(source, { highWaterMark: 1 << 20 }) : source;
  stream.setEncoding("utf8");
  let carry = "";
  let batch: string[] = [];
  let next = 1;
  const flush = () => {
    if (batch.length === 0) return;
    const first = next;
    next += batch.length;
    const out = batch;
    batch = [];
    onBatch(out, first);
  };
  for await (const chunk of stream as AsyncIterable<string>) {
    let start = 0;
    const text = carry.length > 0 ? carry + chunk : chunk;
    carry = "";
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      batch.push(text.slice(start, end));
      if (batch.length >= batchSize) flush();
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry.length > 0) batch.push(carry.endsWith("\r") ? carry.slice(0, -1) : carry);
  flush();
  return next - 1;
}
