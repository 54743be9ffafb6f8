/**
 * The pipelined `detect --input` path: this thread reads the file in chunks of whole lines
 * (1 MiB, cut after the last newline) and hands them, in turn, to worker threads that parse
 * them (streams/http/prepare.ts); their columns come back and are taken in chunk order, so
 * the detector (its windows, the scorer, the rules) sees the lines in file order, numbered
 * and cut into batches as readLineBatches would: up to 8,192 lines, a line over
 * maxLineBytes ending a batch and reported on its own.
 *
 *   read chunk k -> worker k mod N: split, decode, parse -> columns + string ids
 *                                                        -> this thread, in order k: consume
 *
 * A worker that fails or exits ends the run with an error naming it.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { decodeLine } from "../streams/lines.js";
import { TOO_LONG, type PreparedChunkBase } from "../streams/stream.js";

/** Bytes read at a time; a chunk is that, cut after its last newline. */
export const CHUNK_BYTES = 1 << 20;
/** The longest --max-line-bytes the pipeline takes (a line that fits always ends inside a chunk). */
export const PIPELINE_MAX_LINE_BYTES = CHUNK_BYTES >> 1;
/** The most worker threads. */
export const MAX_WORKERS = 16;
/** Lines per batch handed to the detector (readLineBatches' batch size in run-detect). */
const BATCH_LINES = 8192;
/** Chunks in flight per worker: one being parsed, the next ones waiting. */
const IN_FLIGHT_PER_WORKER = 3;
/** Lines format detection reads (Detector.parserSettings looks at the first 50 non-blank). */
const SAMPLE_LINES = 50;

/** Check the workers option; RangeError naming it, its range and the value. */
export function checkWorkers(value: unknown, option = "--workers"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_WORKERS) {
    throw new RangeError(`${option} must be an integer in [0, ${MAX_WORKERS}], got ${String(value)}`);
  }
  return value;
}

/** Input files from which `workers` defaults to 1 (the threads' start, ~60 ms, is then well paid back). */
export const AUTO_WORKERS_BYTES = 32 << 20;

/** The worker threads the run parses on: o.workers checked, or its default (see InputOptions.workers in runtime/detect.ts). */
export function workersFor(o: { workers?: number; input?: string; follow?: string[]; retrain?: object }): number {
  if (o.workers === undefined) {
    if (o.input === undefined || o.retrain || availableParallelism() < 2) return 0;
    try {
      return statSync(o.input).size >= AUTO_WORKERS_BYTES ? 1 : 0;
    } catch {
      return 0; // reading it will say what is wrong
    }
  }
  const n = checkWorkers(o.workers);
  if (n > 0 && (o.input === undefined || (o.follow && o.follow.length > 0))) throw new RangeError(`--workers applies to --input only (a followed file and stdin are read on the detecting thread), got --workers ${n}`);
  if (n > 0 && o.retrain) throw new RangeError(`--workers cannot be combined with --retrain (it learns from each line's text on the detecting thread), got --workers ${n}`);
  return n;
}

/** What a worker is started with. */
export interface PipelineWorkerData {
  /** The stream kind's name (streams/kinds.ts): its preparer parses the chunks. */
  kind: string;
  /** The kind's settings for the file (PipelinedDetector.workerSettings). */
  settings: unknown;
  maxLineBytes: number;
}

/** A chunk sent to a worker: bytes [0, length) of buf. */
export interface ChunkMessage {
  seq: number;
  buf: ArrayBuffer;
  length: number;
}

/** A worker's answer: the chunk's bytes back, and its lines parsed. */
export interface PreparedMessage extends ChunkMessage {
  p: PreparedChunkBase;
}

/** What the pipeline calls, in file order. */
export interface PipelineHandlers {
  /** The stream kind and its worker settings for the file, from its first lines (called once, before any batch); null: read it on this thread. */
  choose(sample: readonly string[]): { kind: string; settings: unknown } | null;
  /** Per worker thread: what turns its replies into what batch reads (PipelinedDetector.receiver). */
  receiver(): (p: PreparedChunkBase) => PreparedChunkBase;
  /** Lines [from, to) of p, the first numbered `first`; `text(i)` is line i; `bytes` read so far. */
  batch(p: PreparedChunkBase, from: number, to: number, first: number, text: (i: number) => string, bytes: number): void;
  /** A line over maxLineBytes (not parsed). */
  tooLong(line: number): void;
}

/** The worker's compiled file: beside this one in dist/, or dist's when running from src/ (vitest). */
function workerFile(): URL {
  const candidates = [new URL("./pipeline-worker.js", import.meta.url), new URL("../../dist/src/runtime/pipeline-worker.js", import.meta.url)];
  const found = candidates.find((u) => existsSync(u));
  if (found === undefined) throw new Error(`pipeline-worker.js not found (run npm run build): looked at ${candidates.map((u) => u.pathname).join(", ")}`);
  return found;
}

/**
 * Read `path` through `workers` worker threads into `h`. Resolves to false, having called
 * nothing, when the file has no line to score or its first batch spans more than
 * LOOKAHEAD_PIECES chunks, and having called only h.choose when that says the kind reads the
 * file on the caller's thread (the caller then reads it there); else to true once every line is through.
 */
export async function runPipeline(path: string, workers: number, maxLineBytes: number, h: PipelineHandlers): Promise<boolean> {
  checkWorkers(workers);
  if (workers < 1) throw new RangeError(`runPipeline needs workers >= 1, got ${workers}`);
  if (maxLineBytes > PIPELINE_MAX_LINE_BYTES) throw new RangeError(`the pipeline takes maxLineBytes up to ${PIPELINE_MAX_LINE_BYTES}, got ${maxLineBytes}`);
  const fd = openSync(path, "r");
  try {
    const reader = new ChunkReader(fd);
    const ahead: Array<Buffer | "long"> = [];
    const sample = firstBatchSample(reader, ahead, maxLineBytes);
    if (sample === null) return false;
    // A kind may keep a file's lines on the caller's thread (a request over two lines, fastify's, needs one parser).
    const settings = h.choose(sample);
    if (settings === null) return false;
    const pool = new PreparePool(workers, { ...settings, maxLineBytes }, h);
    try {
      await pool.drive(reader, ahead, h);
    } finally {
      await pool.close();
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Chunks read ahead for format detection at most. */
const LOOKAHEAD_PIECES = 16;

/**
 * The text of the first batch's first 50 non-blank lines (what Detector.parserSettings
 * reads), reading pieces into `ahead` as far as needed; null when there is no line to
 * score (only lines over the limit, or none) or the lookahead is exceeded.
 */
function firstBatchSample(reader: ChunkReader, ahead: Array<Buffer | "long">, maxLineBytes: number): string[] | null {
  const out: string[] = [];
  let lines = 0; // lines of the first batch seen (a batch is cut by a line over the limit)
  for (let piece = reader.next(); piece !== null; piece = reader.next()) {
    ahead.push(piece);
    if (piece === "long") {
      if (lines > 0) return out;
      continue;
    }
    for (let from = 0; from < piece.length;) {
      let to = piece.indexOf(0x0a, from);
      if (to < 0) to = piece.length;
      if (to - from > maxLineBytes) {
        if (lines > 0) return out;
      } else {
        lines++;
        const text = decodeLine(piece.subarray(from, to));
        if (text.trim() !== "") out.push(text);
        if (out.length === SAMPLE_LINES || lines === BATCH_LINES) return out;
      }
      from = to + 1;
    }
    if (ahead.length >= LOOKAHEAD_PIECES) return null;
  }
  return lines > 0 ? out : null;
}

/** Reads a file as pieces of whole lines (CHUNK_BYTES at most), or "long" for a line longer than a chunk (skipped). */
class ChunkReader {
  private carry = Buffer.alloc(0);
  private skipping = false;
  private ended = false;

  constructor(private readonly fd: number) {}

  /** The next piece, or null at the end; a piece's Buffer owns its whole ArrayBuffer from offset 0. */
  next(): Buffer | "long" | null {
    for (;;) {
      if (this.ended) {
        if (this.carry.length === 0) return null;
        const last = this.carry;
        this.carry = Buffer.alloc(0);
        return last;
      }
      const buf = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.carry.copy(buf, 0);
      let filled = this.carry.length;
      const n = readSync(this.fd, buf, filled, CHUNK_BYTES - filled, null);
      if (n === 0) {
        this.ended = true;
        if (this.skipping) {
          this.skipping = false;
          return "long";
        }
        continue;
      }
      filled += n;
      if (this.skipping) {
        const nl = buf.indexOf(0x0a);
        if (nl < 0 || nl >= filled) {
          this.carry = Buffer.alloc(0);
          continue;
        }
        this.skipping = false;
        this.carry = Buffer.from(buf.subarray(nl + 1, filled));
        return "long";
      }
      const last = buf.lastIndexOf(0x0a, filled - 1);
      if (last < 0) {
        // No newline in a full chunk: a line longer than any maxLineBytes the pipeline takes.
        if (filled === CHUNK_BYTES) this.skipping = true;
        this.carry = this.skipping ? Buffer.alloc(0) : Buffer.from(buf.subarray(0, filled));
        continue;
      }
      this.carry = Buffer.from(buf.subarray(last + 1, filled));
      return buf.subarray(0, last + 1);
    }
  }
}

/** The worker threads, each with its string table, and the chunks in flight in file order. */
class PreparePool {
  private readonly threads: Worker[] = [];
  private readonly receivers: Array<(p: PreparedChunkBase) => PreparedChunkBase> = [];
  private readonly waiting = new Map<number, { resolve: (m: PreparedMessage) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private closing = false;

  constructor(workers: number, data: PipelineWorkerData, h: PipelineHandlers) {
    const file = workerFile();
    for (let i = 0; i < workers; i++) {
      const w = new Worker(file, { workerData: data });
      w.on("message", (m: PreparedMessage) => {
        const at = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        at?.resolve(m);
      });
      w.on("error", (e: Error) => this.fail(new Error(`detect worker ${i + 1} of ${workers} failed: ${e.message}`)));
      w.on("exit", (code) => {
        if (!this.closing) this.fail(new Error(`detect worker ${i + 1} of ${workers} exited (code ${code}) before the end of the input`));
      });
      this.threads.push(w);
      this.receivers.push(h.receiver());
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  private send(seq: number, chunk: Buffer): Promise<PreparedMessage> {
    if (this.failure) return Promise.reject(this.failure);
    const worker = this.threads[seq % this.threads.length];
    return new Promise<PreparedMessage>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      const msg: ChunkMessage = { seq, buf: chunk.buffer as ArrayBuffer, length: chunk.length };
      worker.postMessage(msg, [msg.buf]);
    });
  }

  /** Feed every chunk (those read `ahead` first, then the rest of `reader`) through the workers into h. */
  async drive(reader: ChunkReader, ahead: Array<Buffer | "long">, h: PipelineHandlers): Promise<void> {
    const queue: Array<Promise<PreparedMessage> | "long"> = [];
    let seq = 0;
    let piece = ahead.shift() ?? reader.next();
    let line = 1;
    let bytes = 0;
    const limit = IN_FLIGHT_PER_WORKER * this.threads.length;
    for (;;) {
      while (piece !== null && queue.length < limit) {
        if (piece === "long") {
          queue.push(piece);
        } else {
          const sent = this.send(seq++, piece);
          sent.catch(() => undefined); // a failure is thrown where the chunk is awaited, in turn
          queue.push(sent);
        }
        piece = ahead.shift() ?? reader.next();
      }
      const next = queue.shift();
      if (next === undefined) return;
      if (next === "long") {
        h.tooLong(line++);
        continue;
      }
      const m = await next;
      bytes += m.length;
      line = this.take(m, line, bytes, h);
    }
  }

  /** Hand one chunk's lines to h in batches; returns the next line number. */
  private take(m: PreparedMessage, line: number, bytes: number, h: PipelineHandlers): number {
    const p = this.receivers[m.seq % this.receivers.length](m.p);
    const chunk = Buffer.from(m.buf, 0, m.length);
    const text = (i: number) => decodeLine(chunk.subarray(m.p.start[i], m.p.end[i]));
    const n = m.p.lines;
    let from = 0;
    for (let i = 0; i <= n; i++) {
      const long = i < n && m.p.skip[i] === TOO_LONG;
      if (i === n || long || i - from === BATCH_LINES) {
        if (i > from) h.batch(p, from, i, line + from, text, bytes);
        from = i;
      }
      if (long) {
        h.tooLong(line + i);
        from = i + 1;
      }
    }
    return line + n;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}
