/**
 * `logforest ship`: read log lines (a whole file, or files followed as `detect --follow`
 * follows them: positions, rotation, truncation) and append each to the stream of its
 * source's shard: runs of a file's lines packed into entries of up to --lines-per-entry lines
 * (the entry formats: redis-entries.ts for Redis).
 *
 * Nothing confirmed is lost, little is repeated: a followed file's position is saved only
 * after every line before it was acknowledged by the transport (Redis: XADD succeeded; the
 * follower's beforeSave waits for the writer thread's confirmations, see ship-writer.ts). A shipper killed with SIGKILL
 * therefore re-sends only lines sent since the last save: at most MAX_REPEATED_LINES
 * (8,191) per run, as the follower bounds it, plus the unconfirmed tail of a retried batch.
 */
import { Worker } from "node:worker_threads";
import { Follower, type FollowedLine } from "../runtime/follow.js";
import { checkMaxLineBytes, MAX_LINE_BYTES_DEFAULT, readLineBatches } from "../streams/lines.js";
import { checkName, checkShards, shardOf } from "./common.js";
import { checkAddress } from "./connect.js";
import type { WriterData } from "./ship-writer.js";
import type { LineBatch } from "./transport.js";

/** Options of ship(). */
export interface ShipOptions {
  /** redis://HOST:PORT */
  to: string;
  stream: string;
  shards?: number;
  /** Ship this whole file. */
  input?: string;
  /** Follow these files. */
  follow?: string[];
  positions?: string;
  start?: "end" | "beginning";
  /** Shard every line by this key instead of by its file. */
  shardKey?: string;
  /** Approximate lines each shard stream is trimmed to (XADD MAXLEN ~, in entries of about this many lines over the lines per entry). */
  maxlen?: number;
  /** Most lines of one file put in one stream entry (1: an entry per line, the format consumers before entry packing read). */
  linesPerEntry?: number;
  maxLineBytes?: number;
  durationSeconds?: number;
  signal?: AbortSignal;
  /** Longest wait for Redis to confirm lines before the shipper gives up (ms). */
  confirmTimeoutMs?: number;
}

/** Every default of ship(), in one place. */
export const SHIP_DEFAULTS = { shards: 4, maxlen: 1_000_000, linesPerEntry: 256, confirmTimeoutMs: 120_000 } as const;

/** What a shipping run did. */
export interface ShipSummary {
  lines: number;
  too_long: number;
  per_shard: number[];
  seconds: number;
}

/** Batches in flight (posted, not confirmed) before --input reading waits. */
const MAX_IN_FLIGHT = 4;
/** Lines of an --input file per batch posted to the writer. */
const INPUT_BATCH_LINES = 8192;

/** The writer thread, seen from the main thread: post batches, wait (blocking) for confirmations. */
class Writer {
  private readonly worker: Worker;
  private readonly state: Int32Array;
  private posted = 0;
  private ready: Promise<void>;
  private readonly exited: Promise<void>;

  constructor(data: Omit<WriterData, "shared">, private readonly timeoutMs: number) {
    const shared = new SharedArrayBuffer(8);
    this.state = new Int32Array(shared);
    this.worker = new Worker(new URL("./ship-writer.js", import.meta.url), { workerData: { ...data, shared } satisfies WriterData });
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.worker.once("message", (m: { type: string; message?: string }) => (m.type === "ready" ? resolve() : reject(new Error(m.message))));
      this.worker.once("error", reject);
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  post(batch: LineBatch): void {
    this.posted++;
    this.worker.postMessage({ type: "batch", batch });
  }

  /** Block until at most `inFlight` posted batches are unconfirmed; throws after the timeout. */
  waitFor(inFlight: number): void {
    const until = Date.now() + this.timeoutMs;
    for (;;) {
      const done = Atomics.load(this.state, 0);
      if (this.posted - done <= inFlight) return;
      if (Atomics.load(this.state, 1) !== 0) throw new Error("the Redis writer failed");
      const left = until - Date.now();
      if (left <= 0) throw new Error(`Redis did not confirm ${this.posted - done} batch(es) within ${this.timeoutMs} ms: positions stay before them`);
      Atomics.wait(this.state, 0, done, Math.min(left, 1000));
    }
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: "close" });
    const t = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Check ship()'s options; RangeError naming the option otherwise. */
function checkShip(o: ShipOptions): { shards: number; maxlen: number; linesPerEntry: number; maxLineBytes: number } {
  checkAddress(o.to, "--to");
  checkName(o.stream, "--stream");
  const shards = checkShards(o.shards ?? SHIP_DEFAULTS.shards);
  const maxlen = o.maxlen ?? SHIP_DEFAULTS.maxlen;
  if (!Number.isInteger(maxlen) || maxlen < 1000) throw new RangeError(`--maxlen must be an integer >= 1000, got ${maxlen}`);
  const linesPerEntry = o.linesPerEntry ?? SHIP_DEFAULTS.linesPerEntry;
  if (!Number.isInteger(linesPerEntry) || linesPerEntry < 1 || linesPerEntry > 8192) throw new RangeError(`--lines-per-entry must be an integer in [1, 8192], got ${linesPerEntry}`);
  if ((o.input === undefined) === (o.follow === undefined || o.follow.length === 0)) {
    throw new RangeError("ship needs exactly one of --input FILE or --follow FILE...");
  }
  if (o.durationSeconds !== undefined && !(o.durationSeconds > 0)) throw new RangeError(`--duration must be > 0 seconds, got ${o.durationSeconds}`);
  return { shards, maxlen, linesPerEntry, maxLineBytes: checkMaxLineBytes(o.maxLineBytes ?? MAX_LINE_BYTES_DEFAULT, "--max-line-bytes") };
}

/** Ship lines to Redis until the input ends (--input) or the run is stopped (--follow). */
export async function ship(o: ShipOptions): Promise<ShipSummary> {
  const { shards, maxlen, linesPerEntry, maxLineBytes } = checkShip(o);
  const writer = new Writer({ to: o.to, stream: o.stream, maxlen, linesPerEntry, connectTimeoutMs: 5000 }, o.confirmTimeoutMs ?? SHIP_DEFAULTS.confirmTimeoutMs);
  const summary: ShipSummary = { lines: 0, too_long: 0, per_shard: new Array<number>(shards).fill(0), seconds: 0 };
  const started = performance.now();
  const shardOfFile = new Map<string, number>();
  const batchOf = (file: string, texts: string[], lineNo: (i: number) => number, long: (i: number) => boolean): LineBatch => {
    let shard = shardOfFile.get(file);
    if (shard === undefined) {
      shard = shardOf(o.shardKey ?? file, shards);
      shardOfFile.set(file, shard);
    }
    const b: LineBatch = { shards: [], files: [], lines: [], texts: [], tooLong: [] };
    for (let i = 0; i < texts.length; i++) {
      b.shards.push(shard);
      b.files.push(file);
      b.lines.push(lineNo(i));
      b.texts.push(texts[i]);
      b.tooLong.push(long(i) ? 1 : 0);
      if (long(i)) summary.too_long++;
    }
    summary.lines += texts.length;
    summary.per_shard[shard] += texts.length;
    return b;
  };
  try {
    await writer.start();
    if (o.input !== undefined) {
      const name = o.input;
      // A line over --max-line-bytes arrives as "" (never held): shipped as such, the consumer counts it skipped.
      await readLineBatches(name, (lines, first) => {
        writer.post(batchOf(name, lines, (i) => first + i, () => false));
        writer.waitFor(MAX_IN_FLIGHT);
      }, INPUT_BATCH_LINES, { maxLineBytes });
      writer.waitFor(0);
    } else {
      await followAndShip(o, writer, maxLineBytes, (lines) => {
        // Split where the file changes: one batch per file run.
        let from = 0;
        for (let i = 1; i <= lines.length; i++) {
          if (i < lines.length && lines[i].file === lines[from].file) continue;
          const run = lines.slice(from, i);
          writer.post(batchOf(run[0].file, run.map((l) => l.text), (k) => run[k].lineNo, (k) => run[k].tooLong));
          from = i;
        }
      });
    }
  } finally {
    await writer.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

async function followAndShip(o: ShipOptions, writer: Writer, maxLineBytes: number, onLines: (lines: FollowedLine[]) => void): Promise<void> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  let failure: Error | null = null;
  const follower = new Follower(o.follow ?? [], {
    positions: o.positions,
    start: o.start ?? "end",
    maxLineBytes,
    // A position is saved only once Redis holds every line before it.
    beforeSave: () => writer.waitFor(0),
    onError: (err) => {
      failure = err;
      stop();
    },
  }, onLines);
  await follower.start();
  const timer = o.durationSeconds !== undefined ? setTimeout(stop, o.durationSeconds * 1000) : null;
  o.signal?.addEventListener("abort", stop);
  if (o.signal?.aborted) stop();
  await stopped;
  if (timer) clearTimeout(timer);
  o.signal?.removeEventListener("abort", stop);
  await follower.close();
  if (failure !== null) throw failure;
}
