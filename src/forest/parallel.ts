/**
 * Scoring on several threads with a synchronous API: worker_threads, each with its
 * own WASM instance holding a copy of the model, take chunks of rows from slots in
 * one SharedArrayBuffer; the calling thread fills the slots, scores chunks of its
 * own in between, and sleeps in Atomics.wait only when all that is left is the
 * workers' last chunks. Each row is scored by the same kernel on the same model
 * whichever thread takes it, so the scores equal the single-threaded ones exactly.
 *
 * Slot protocol (state word per slot, see scoringWorkerMain in src/wasm.ts):
 *   free -(caller fills)-> ready -(a worker takes)-> taken -> done -(caller copies out)-> free
 *                                \-(caller takes it back when it has nothing else to do)-> free
 * Workers are unref'd (they never keep the process alive) and are terminated by
 * close(), or when the forest that owns the pool is garbage-collected.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Rows } from "./matrix.js";
import { scoringWorkerMain, type ScorerImage, type ScoringWorkerData, type WasmScorer, type WorkerLayout } from "../wasm.js";

/** Rows below which "auto" scores on the calling thread only (the measured crossover; see `logforest bench`). */
export const PARALLEL_MIN_ROWS = 32768;
/** The most threads a score may use. */
export const MAX_THREADS = 256;
/** Rows per chunk handed to a worker: about 4 ms of work, 512 KiB at 8 columns. */
const CHUNK_BYTES = 1 << 19;
/** Chunks in flight per worker: one being scored, one waiting. */
const SLOTS_PER_WORKER = 2;
/** How long the caller waits for a worker's chunk before giving up on the pool. */
const STALL_MS = 60_000;

const FREE = 0;
const READY = 1;
const DONE = 3;
const TAKEN_BACK = 4;

/** Threads for a score: "auto" (all cores for large inputs) or a count including the calling thread. */
export type Threads = "auto" | number;

/** Check the threads option; RangeError naming the option, its range and the value. */
export function checkThreads(threads: unknown): Threads {
  if (threads === "auto") return threads;
  if (typeof threads !== "number" || !Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`threads must be "auto" or an integer in [1, ${MAX_THREADS}], got ${typeof threads === "string" ? JSON.stringify(threads) : String(threads)}`);
  }
  return threads;
}

/** Threads to use for `rows` rows: "auto" is every core from PARALLEL_MIN_ROWS rows on, else 1. */
export function threadsFor(threads: Threads, rows: number): number {
  if (threads !== "auto") return threads;
  return rows >= PARALLEL_MIN_ROWS ? Math.min(availableParallelism(), 8) : 1;
}

/** The source of a worker: scoringWorkerMain called on its workerData. */
function workerSource(): string {
  return `"use strict";\nconst { workerData } = require("node:worker_threads");\n(${scoringWorkerMain.toString()})(workerData);\n`;
}

/** Worker threads sharing one set of slots, each scoring with its own copy of one model. */
export class ScoringPool {
  /** Worker threads in the pool (the calling thread comes on top). */
  readonly workers: number;
  private readonly cols: number;
  private readonly chunkRows: number;
  private readonly threads: Worker[] = [];
  private readonly ctrl: Int32Array;
  private readonly head: Int32Array;
  private readonly inputs: Float64Array[] = [];
  private readonly outputs: Float64Array[] = [];
  private readonly first: number[] = [];
  private closed = false;
  private failed: string | null = null;

  constructor(image: ScorerImage, workers: number) {
    this.workers = workers;
    this.cols = image.call.cols;
    this.chunkRows = Math.max(256, Math.floor(CHUNK_BYTES / (this.cols * 8)));
    const slots = workers * SLOTS_PER_WORKER;
    const slotInputBytes = this.chunkRows * this.cols * 8;
    const slotOutputBytes = this.chunkRows * 8;
    const layout: WorkerLayout = {
      ctrl: 0,
      slotHeader: 32,
      slots,
      slotInput: 32 + slots * 16,
      slotInputBytes,
      slotOutput: 32 + slots * 16 + slots * slotInputBytes,
      slotOutputBytes,
    };
    const shared = new SharedArrayBuffer(layout.slotOutput + slots * slotOutputBytes);
    this.ctrl = new Int32Array(shared, layout.ctrl, 8);
    this.head = new Int32Array(shared, layout.slotHeader, slots * 4);
    for (let s = 0; s < slots; s++) {
      this.inputs.push(new Float64Array(shared, layout.slotInput + s * slotInputBytes, this.chunkRows * this.cols));
      this.outputs.push(new Float64Array(shared, layout.slotOutput + s * slotOutputBytes, this.chunkRows));
      this.first.push(0);
    }
    const data: ScoringWorkerData = { image, shared, layout, chunkRows: this.chunkRows };
    const source = workerSource();
    for (let i = 0; i < workers; i++) {
      const w = new Worker(source, { eval: true, workerData: data });
      // An error event without a listener would take the process down; the
      // caller learns of it through the failed word (or the stall timeout).
      w.on("error", (e: Error) => {
        this.failed ??= e.message;
      });
      w.unref();
      this.threads.push(w);
    }
  }

  /** Workers that have loaded their model and are taking chunks. */
  get booted(): number {
    return Atomics.load(this.ctrl, 3);
  }

  /** Chunks the workers have scored since the pool started. */
  get workerChunks(): number {
    return Atomics.load(this.ctrl, 1);
  }

  /**
   * Score every row of `rows` into `out`, using `local` (the caller's own scorer)
   * on this thread. NaN or Infinity: once every chunk in flight is back,
   * `nonFinite(row)` is called with the first row holding one, and must throw.
   */
  score(rows: Rows, out: Float64Array, local: WasmScorer, nonFinite: (row: number) => never): void {
    if (this.closed) throw new Error("this scoring pool is closed");
    const { cols, chunkRows, head, ctrl } = this;
    const slots = this.inputs.length;
    const n = rows.rows;
    let next = 0;
    let pending = 0;
    let badRow = Infinity;
    const finish = (s: number): void => {
      const r = head[s * 4 + 1];
      const bad = head[s * 4 + 2];
      if (bad >= 0) badRow = Math.min(badRow, this.first[s] + Math.floor(bad / cols));
      else out.set(this.outputs[s].subarray(0, r), this.first[s]);
      Atomics.store(head, s * 4, FREE);
      pending--;
    };
    const scoreHere = (src: Float64Array | null, from: number, r: number): void => {
      const input = local.input(r);
      if (src) input.set(src.subarray(0, r * cols));
      else rows.copy(from, r, input);
      const bad = local.firstNonFinite(r);
      if (bad >= 0) badRow = Math.min(badRow, from + Math.floor(bad / cols));
      else out.set(local.run(r), from);
    };
    for (;;) {
      const seen = Atomics.load(ctrl, 1);
      let rang = false;
      for (let s = 0; s < slots; s++) {
        let state = Atomics.load(head, s * 4);
        if (state === DONE) {
          finish(s);
          state = FREE;
        }
        if (state === FREE && next < n && badRow === Infinity) {
          const r = Math.min(chunkRows, n - next);
          rows.copy(next, r, this.inputs[s]);
          head[s * 4 + 1] = r;
          this.first[s] = next;
          Atomics.store(head, s * 4, READY);
          pending++;
          next += r;
          rang = true;
        }
      }
      if (rang) {
        Atomics.add(ctrl, 0, 1);
        Atomics.notify(ctrl, 0);
      }
      if (next < n && badRow === Infinity) {
        const r = Math.min(chunkRows, n - next);
        scoreHere(null, next, r);
        next += r;
        continue;
      }
      if (pending === 0) break;
      // Nothing left to hand out: take back a chunk no worker has started.
      let tookBack = false;
      for (let s = 0; s < slots && !tookBack; s++) {
        if (Atomics.compareExchange(head, s * 4, READY, TAKEN_BACK) !== READY) continue;
        scoreHere(this.inputs[s], this.first[s], head[s * 4 + 1]);
        Atomics.store(head, s * 4, FREE);
        pending--;
        tookBack = true;
      }
      if (tookBack) continue;
      if (Atomics.load(ctrl, 4) !== 0 || this.failed !== null) {
        this.close();
        throw new Error(`a scoring worker failed${this.failed ? `: ${this.failed}` : ""}; score with { threads: 1 }`);
      }
      if (Atomics.wait(ctrl, 1, seen, STALL_MS) === "timed-out" && Atomics.load(ctrl, 1) === seen) {
        this.close();
        throw new Error(`no scoring worker answered within ${STALL_MS / 1000} s; score with { threads: 1 }`);
      }
    }
    if (badRow !== Infinity) nonFinite(badRow);
  }

  /** Stop and terminate the workers; safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, 2, 1);
    Atomics.add(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    for (const w of this.threads) void w.terminate();
  }
}

/** Closes a forest's pool once the forest is garbage-collected. */
export const poolReaper = new FinalizationRegistry<ScoringPool>((pool) => pool.close());
