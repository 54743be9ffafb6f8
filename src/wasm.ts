/**
 * The one file that touches WebAssembly: it loads build/logforest.wasm, types its
 * exports, and owns each instance's linear memory.
 *
 * Memory ownership: every instance has its own memory, laid out by a bump arena
 * (below). Data goes in with TypedArray#set into a fresh view and comes out with
 * slice(), so nothing outside this file holds a view across a call that may grow
 * memory: memory.grow detaches every view made before it, so views are made after
 * the allocations they cover. Large inputs are scored in chunks of CHUNK_BYTES so a
 * 1M-row table is never held twice. A scoring worker (scoringWorkerMain) gets a
 * byte image of [heapBase, modelEnd) and lays it at the same offsets in its own
 * instance, so every pointer in it stays valid there.
 *
 *   [ static data | model (scoring form) + kernel scratch | input chunk, output chunk ]
 *   ^0            ^heapBase                                ^modelEnd      (grows)
 */
import { readFileSync } from "node:fs";
import { instantiateSync } from "@assemblyscript/loader";

/** Typed view of the kernels exported by assembly/index.ts (all pointers are byte offsets). */
interface Kernels {
  readonly memory: WebAssembly.Memory;
  seedRng(rng: number, seedLow: number, seedHigh: number): void;
  rngDouble(rng: number): number;
  sampleRows(rng: number, n: number, psi: number, trees: number, out: number, table: number, tableBits: number): void;
  buildTrees(
    rng: number, sample: number, psi: number, cols: number, trees: number, maxFeatures: number, height: number,
    feature: number, thresh: number, size: number, right: number, counts: number, work: number,
  ): void;
  layoutImplicit(
    feature: number, thresh: number, size: number, right: number, starts: number, trees: number, height: number, out: number,
  ): void;
  leafValues(feature: number, size: number, right: number, starts: number, trees: number, values: number): void;
  scoreImplicit(
    x: number, rows: number, cols: number, model: number, trees: number, height: number, cPsi: number, out: number,
    scratch: number,
  ): void;
  scoreScratchBytes(cols: number): number;
  scoreCompact(
    x: number, rows: number, cols: number, feature: number, thresh: number, right: number, values: number,
    starts: number, trees: number, cPsi: number, out: number,
  ): void;
  firstNonFinite(x: number, count: number): number;
  maybeNonFinite(x: number, count: number): number;
  groupPicks(picks: number, m: number, chunkRows: number, chunks: number, start: number, order: number): void;
  scanGather(
    chunk: number, rows: number, cols: number, firstRow: number, picks: number, order: number, from: number, to: number,
    sample: number,
  ): number;
  averagePathLength(n: number): number;
  heapBase(): number;
}

/** Compact trees as the TypeScript side keeps them (see src/forest/model-file.ts). */
export interface CompactTrees {
  readonly trees: number;
  readonly treeStart: Uint32Array;
  readonly feature: Int32Array;
  readonly split: Float32Array;
  readonly leafSize: Uint32Array;
  readonly right: Uint32Array;
}

/** Trees up to this height are scored in the implicit layout (2^12 entries: 32 KiB a tree; SLOT in assembly/index.ts). */
export const IMPLICIT_MAX_HEIGHT = 11;
/** Input bytes moved into WASM memory per scoring call. */
export const CHUNK_BYTES = 4 << 20;
const PAGE = 65536;

let compiled: WebAssembly.Module | null = null;

function wasmModule(): WebAssembly.Module {
  if (compiled) return compiled;
  // The same relative path works from src/ (tests) and from dist/src/ (the CLI).
  const candidates = [new URL("../build/logforest.wasm", import.meta.url), new URL("../../build/logforest.wasm", import.meta.url)];
  for (const url of candidates) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(url);
    } catch {
      continue;
    }
    compiled = new WebAssembly.Module(bytes);
    return compiled;
  }
  throw new Error(`logforest.wasm not found (looked at ${candidates.map((u) => u.pathname).join(", ")}); run "npm run build:wasm"`);
}

/** One WebAssembly instance with its own memory and a bump arena over it. */
export class WasmInstance {
  readonly k: Kernels;
  private top: number;

  constructor() {
    const { exports } = instantiateSync<Record<string, unknown>>(wasmModule(), {});
    // The loader's exports object is frozen; copy it into our typed record.
    this.k = { ...exports } as unknown as Kernels;
    this.top = align(this.k.heapBase() >>> 0);
  }

  /** Reserve `bytes` (16-byte aligned) and grow memory to cover them; returns the offset. */
  alloc(bytes: number): number {
    const ptr = this.top;
    this.top = align(ptr + bytes);
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / PAGE));
    return ptr;
  }

  /** The arena's current end, to release back to later. */
  mark(): number {
    return this.top;
  }

  /** Free everything allocated after `mark`. */
  release(mark: number): void {
    this.top = mark;
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.k.memory.buffer, ptr, length);
  }
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, ptr, length);
  }
  u32(ptr: number, length: number): Uint32Array {
    return new Uint32Array(this.k.memory.buffer, ptr, length);
  }
  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.k.memory.buffer, ptr, length);
  }

  /** Copy `src` into fresh arena memory; returns its offset. */
  copyIn(src: Float64Array | Float32Array | Uint32Array | Int32Array): number {
    const ptr = this.alloc(src.byteLength);
    new Uint8Array(this.k.memory.buffer, ptr, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
    return ptr;
  }
}

function align(n: number): number {
  return (n + 15) & ~15;
}

/** How a scorer calls its kernel: which one, and the pointers into its instance's memory. */
export interface ScoreCall {
  readonly implicit: boolean;
  readonly cols: number;
  readonly trees: number;
  readonly height: number;
  readonly cPsi: number;
  /** Implicit: the scoring form and the kernel's scratch. */
  readonly model: number;
  readonly scratch: number;
  /** Compact: the compact arrays, leaf values and tree starts. */
  readonly feature: number;
  readonly thresh: number;
  readonly right: number;
  readonly values: number;
  readonly starts: number;
}

/** What a scoring worker needs to rebuild a scorer: the compiled module and the model's memory image. */
export interface ScorerImage {
  readonly module: WebAssembly.Module;
  /** Bytes [at, at + bytes.length) of the scorer's memory: the model and the kernel scratch. */
  readonly bytes: Uint8Array;
  readonly at: number;
  readonly call: ScoreCall;
}

function runKernel(k: Kernels, c: ScoreCall, x: number, rows: number, out: number): void {
  if (c.implicit) {
    k.scoreImplicit(x, rows, c.cols, c.model, c.trees, c.height, c.cPsi, out, c.scratch);
  } else {
    k.scoreCompact(x, rows, c.cols, c.feature, c.thresh, c.right, c.values, c.starts, c.trees, c.cPsi, out);
  }
}

/**
 * A forest laid out for scoring in its own WASM instance. Implicit complete trees
 * when they are short enough, else the compact trees walked as they are.
 */
export class WasmScorer {
  private readonly w = new WasmInstance();
  private readonly call: ScoreCall;
  private readonly modelStart: number;
  private readonly modelEnd: number;
  private scratchRows = 0;
  private inPtr = 0;
  private outPtr = 0;

  constructor(t: CompactTrees, cols: number, height: number, psi: number) {
    const w = this.w;
    const cPsi = w.k.averagePathLength(psi);
    const implicit = height <= IMPLICIT_MAX_HEIGHT;
    const mark = w.mark();
    this.modelStart = mark;
    const feature = w.copyIn(t.feature);
    const thresh = w.copyIn(t.split);
    const size = w.copyIn(t.leafSize);
    const right = w.copyIn(t.right);
    const starts = w.copyIn(t.treeStart);
    const base = { cols, trees: t.trees, height, cPsi };
    if (implicit) {
      // Lay out into fresh memory, then move the result down over the compact copy.
      const modelBytes = t.trees * (2 << height) * 8;
      const tmp = w.alloc(modelBytes);
      w.k.layoutImplicit(feature, thresh, size, right, starts, t.trees, height, tmp);
      new Uint8Array(w.k.memory.buffer).copyWithin(mark, tmp, tmp + modelBytes);
      w.release(mark);
      const model = w.alloc(modelBytes);
      const scratch = w.alloc(w.k.scoreScratchBytes(cols));
      this.call = { ...base, implicit, model, scratch, feature: 0, thresh: 0, right: 0, values: 0, starts: 0 };
    } else {
      const values = w.alloc(t.feature.length * 8);
      w.k.leafValues(feature, size, right, starts, t.trees, values);
      w.alloc(8); // the compact kernel needs no scratch
      this.call = { ...base, implicit, model: 0, scratch: 0, feature, thresh, right, values, starts };
    }
    this.modelEnd = w.mark();
  }

  /** Bytes of WASM memory the model takes (scoring form and kernel scratch). */
  get modelBytes(): number {
    return this.modelEnd - this.modelStart;
  }

  /** Rows moved into WASM memory per kernel call. */
  get chunkRows(): number {
    return Math.max(256, Math.floor(CHUNK_BYTES / (this.call.cols * 8)));
  }

  /**
   * Reserve room for `rows` rows of input and their scores; returns a view of the
   * input area to fill (valid until the next call on this scorer).
   */
  input(rows: number): Float64Array {
    if (rows > this.scratchRows) {
      this.w.release(this.modelEnd);
      this.inPtr = this.w.alloc(rows * this.call.cols * 8);
      this.outPtr = this.w.alloc(rows * 8);
      this.scratchRows = rows;
    }
    return this.w.f64(this.inPtr, rows * this.call.cols);
  }

  /** Index of the first non-finite value among the first `rows` input rows, or -1. */
  firstNonFinite(rows: number): number {
    return this.w.k.firstNonFinite(this.inPtr, rows * this.call.cols);
  }

  /** Score the first `rows` rows of the input area; the view is valid until the next call. */
  run(rows: number): Float64Array {
    runKernel(this.w.k, this.call, this.inPtr, rows, this.outPtr);
    return this.w.f64(this.outPtr, rows);
  }

  /** A copy of the model's memory for a scoring worker (see scoringWorkerMain). */
  image(): ScorerImage {
    const bytes = new Uint8Array(this.w.k.memory.buffer, this.modelStart, this.modelEnd - this.modelStart).slice();
    return { module: wasmModule(), bytes, at: this.modelStart, call: this.call };
  }
}

/**
 * Shared-memory layout of one scoring worker, in bytes from the start of its
 * SharedArrayBuffer (see src/forest/parallel.ts for the protocol).
 */
export interface WorkerLayout {
  /** Int32 control words: [doorbell, done, shutdown, booted, failed]. */
  readonly ctrl: number;
  /** Per slot: Int32 [state, rows, bad] at slotHeader + 16 s. */
  readonly slotHeader: number;
  readonly slots: number;
  /** Per slot: f64 input (chunkRows * cols) at slotInput + s * slotInputBytes. */
  readonly slotInput: number;
  readonly slotInputBytes: number;
  /** Per slot: f64 scores (chunkRows) at slotOutput + s * slotOutputBytes. */
  readonly slotOutput: number;
  readonly slotOutputBytes: number;
}

/** What a scoring worker is started with. */
export interface ScoringWorkerData {
  readonly image: ScorerImage;
  readonly shared: SharedArrayBuffer;
  readonly layout: WorkerLayout;
  readonly chunkRows: number;
}

/**
 * The body of a scoring worker. It runs from its source text in a worker thread
 * (src/forest/parallel.ts), so it must not refer to anything outside itself.
 *
 * Slot states: 0 free, 1 ready (filled by the caller), 2 taken by this worker,
 * 3 done, 4 taken back by the caller. The worker takes ready slots, scores them
 * with its own instance, marks them done and bumps `done`; it sleeps on the
 * doorbell between chunks and returns when `shutdown` is set.
 */
export function scoringWorkerMain(d: ScoringWorkerData): void {
  const { image, shared, layout, chunkRows } = d;
  const ctrl = new Int32Array(shared, layout.ctrl, 8);
  const head = new Int32Array(shared, layout.slotHeader, layout.slots * 4);
  try {
    // src/webassembly.d.ts declares no Instance constructor; Node has one.
    const Instance = WebAssembly.Instance as unknown as new (m: WebAssembly.Module, i: WebAssembly.Imports) => WebAssembly.Instance;
    const k = new Instance(image.module, {}).exports as unknown as Kernels;
    const c = image.call;
    const inBytes = chunkRows * c.cols * 8;
    const inPtr = (image.at + image.bytes.length + 15) & ~15;
    const outPtr = inPtr + inBytes;
    const need = outPtr + chunkRows * 8;
    const have = k.memory.buffer.byteLength;
    if (need > have) k.memory.grow(Math.ceil((need - have) / 65536));
    new Uint8Array(k.memory.buffer, image.at, image.bytes.length).set(image.bytes);
    Atomics.add(ctrl, 3, 1);
    for (;;) {
      const bell = Atomics.load(ctrl, 0);
      if (Atomics.load(ctrl, 2) !== 0) return;
      let worked = false;
      for (let s = 0; s < layout.slots; s++) {
        if (Atomics.compareExchange(head, s * 4, 1, 2) !== 1) continue;
        worked = true;
        const rows = head[s * 4 + 1];
        const src = new Float64Array(shared, layout.slotInput + s * layout.slotInputBytes, rows * c.cols);
        const x = new Float64Array(k.memory.buffer, inPtr, rows * c.cols);
        x.set(src);
        const bad = k.firstNonFinite(inPtr, rows * c.cols);
        head[s * 4 + 2] = bad;
        if (bad < 0) {
          if (c.implicit) {
            k.scoreImplicit(inPtr, rows, c.cols, c.model, c.trees, c.height, c.cPsi, outPtr, c.scratch);
          } else {
            k.scoreCompact(inPtr, rows, c.cols, c.feature, c.thresh, c.right, c.values, c.starts, c.trees, c.cPsi, outPtr);
          }
          new Float64Array(shared, layout.slotOutput + s * layout.slotOutputBytes, rows).set(new Float64Array(k.memory.buffer, outPtr, rows));
        }
        Atomics.store(head, s * 4, 3);
        Atomics.add(ctrl, 1, 1);
        Atomics.notify(ctrl, 1);
      }
      // Sleep until the caller rings; the timeout only bounds a missed wake-up.
      if (!worked) Atomics.wait(ctrl, 0, bell, 1000);
    }
  } catch (e) {
    Atomics.store(ctrl, 4, 1);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
    throw e;
  }
}

/** c(n) as the kernels compute it (exposed for tests against the closed form). */
export function wasmAveragePathLength(n: number): number {
  return new WasmInstance().k.averagePathLength(n);
}

/** Signature of the explanation kernel (pointers are byte offsets; see assembly/explain.ts). */
export type ExplainRowsKernel = (
  x: number, rows: number, cols: number, feature: number, thresh: number, right: number, starts: number, trees: number,
  weight: number, scale: number, out: number,
) => void;

/** The explanation kernel (assembly/explain.ts) of `w`, typed; see src/forest/explain.ts. */
export function explainKernel(w: WasmInstance): ExplainRowsKernel {
  const fn: unknown = (w.k as unknown as Record<string, unknown>).explainRows;
  if (typeof fn !== "function") throw new Error('logforest.wasm has no explainRows export; run "npm run build:wasm"');
  return fn as ExplainRowsKernel;
}

/** Typed Extended Isolation Forest kernels (assembly/eif.ts; pointers are byte offsets). */
export interface EifKernels {
  seedRng(rng: number, seedLow: number, seedHigh: number): void;
  sampleRows(rng: number, n: number, psi: number, trees: number, out: number, table: number, tableBits: number): void;
  eifWorkBytes(psi: number, cols: number): number;
  eifBuildTree(
    rng: number, sample: number, psi: number, cols: number, ext: number, height: number,
    count: number, size: number, intercept: number, right: number, coefFeature: number, coefValue: number, work: number,
  ): number;
  eifScore(x: number, rows: number, cols: number, model: number, roots: number, trees: number, cPsi: number, out: number): void;
}

/** The Extended Isolation Forest kernels of `w`, typed; see src/forest/eif.ts. */
export function eifKernels(w: WasmInstance): EifKernels {
  const k = w.k as unknown as Record<string, unknown>;
  for (const name of ["eifWorkBytes", "eifBuildTree", "eifScore"]) {
    if (typeof k[name] !== "function") throw new Error(`logforest.wasm has no ${name} export; run "npm run build:wasm"`);
  }
  return k as unknown as EifKernels;
}
