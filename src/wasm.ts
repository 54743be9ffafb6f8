/**
 * The one file that touches WebAssembly: it loads build/logforest.wasm, types its
 * exports, and owns each instance's linear memory.
 *
 * Memory ownership: every instance has its own memory, laid out by a bump arena
 * (below). Data goes in with TypedArray#set into a fresh view and comes out with
 * slice(), so nothing outside this file holds a view across a call that may grow
 * memory: memory.grow detaches every view made before it, so views are made after
 * the allocations they cover. Large inputs are scored in chunks of CHUNK_BYTES so a
 * 1M-row table is never held twice.
 *
 *   [ static data | rng | model (scoring form) | scratch: input chunk, output chunk ]
 *   ^0            ^heapBase                   ^modelEnd      (grows)
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
    feature: number, thresh: number, size: number, right: number, starts: number, trees: number, height: number,
    nodes: number, leaves: number,
  ): void;
  leafValues(feature: number, size: number, right: number, starts: number, trees: number, values: number): void;
  scoreImplicit(
    x: number, rows: number, cols: number, nodes: number, leaves: number, trees: number, height: number,
    cPsi: number, out: number,
  ): void;
  scoreCompact(
    x: number, rows: number, cols: number, feature: number, thresh: number, right: number, values: number,
    starts: number, trees: number, cPsi: number, out: number,
  ): void;
  firstNonFinite(x: number, count: number): number;
  averagePathLength(n: number): number;
  heapBase(): number;
}

/** Compact trees as the TypeScript side keeps them (see src/model.ts). */
export interface CompactTrees {
  readonly trees: number;
  readonly treeStart: Uint32Array;
  readonly feature: Int32Array;
  readonly split: Float32Array;
  readonly leafSize: Uint32Array;
  readonly right: Uint32Array;
}

/** Trees up to this height are scored in the implicit layout (2^12 leaves: 64 KiB a tree). */
export const IMPLICIT_MAX_HEIGHT = 12;
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

/** Split a non-negative integer seed below 2^53 into the u32 halves the kernel takes. */
function seedHalves(seed: number): [number, number] {
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/** What a build needs to know; all values already validated by the caller. */
export interface BuildRequest {
  rows: number;
  cols: number;
  trees: number;
  psi: number;
  height: number;
  maxFeatures: number;
  seed: number;
  /** Copies row `row` into `dst` at `offset`, `stride` apart (column-major sample layout). */
  gather(row: number, dst: Float64Array, offset: number, stride: number): void;
}

/**
 * Draw each tree's sample and grow the trees in WASM; returns the compact trees.
 * Only the sampled rows cross into WASM memory, so the cost does not grow with the table.
 */
export function buildForest(req: BuildRequest): CompactTrees {
  const w = new WasmInstance();
  const { rows, cols, trees, psi, height, maxFeatures } = req;
  const rng = w.alloc(32);
  w.k.seedRng(rng, ...seedHalves(req.seed));

  let tableBits = 1;
  while (1 << tableBits < 2 * psi) tableBits++;
  const picks = w.alloc(trees * psi * 4);
  const table = w.alloc((1 << tableBits) * 4);
  w.k.sampleRows(rng, rows, psi, trees, picks, table, tableBits);

  const stride = 2 * psi - 1;
  const sample = w.alloc(trees * cols * psi * 8);
  const feature = w.alloc(trees * stride * 4);
  const thresh = w.alloc(trees * stride * 4);
  const size = w.alloc(trees * stride * 4);
  const right = w.alloc(trees * stride * 4);
  const counts = w.alloc(trees * 4);
  const work = w.alloc((psi + cols) * 4);

  const pickView = w.u32(picks, trees * psi);
  const sampleView = w.f64(sample, trees * cols * psi);
  for (let t = 0; t < trees; t++) {
    for (let i = 0; i < psi; i++) req.gather(pickView[t * psi + i], sampleView, t * cols * psi + i, psi);
  }
  w.k.buildTrees(rng, sample, psi, cols, trees, maxFeatures, height, feature, thresh, size, right, counts, work);

  // Pack the trees end to end.
  const countView = w.u32(counts, trees);
  const treeStart = new Uint32Array(trees + 1);
  for (let t = 0; t < trees; t++) treeStart[t + 1] = treeStart[t] + countView[t];
  const total = treeStart[trees];
  const out: CompactTrees = {
    trees,
    treeStart,
    feature: new Int32Array(total),
    split: new Float32Array(total),
    leafSize: new Uint32Array(total),
    right: new Uint32Array(total),
  };
  const fv = w.i32(feature, trees * stride);
  const tv = w.f32(thresh, trees * stride);
  const sv = w.u32(size, trees * stride);
  const rv = w.u32(right, trees * stride);
  for (let t = 0; t < trees; t++) {
    const from = t * stride;
    const to = from + countView[t];
    out.feature.set(fv.subarray(from, to), treeStart[t]);
    out.split.set(tv.subarray(from, to), treeStart[t]);
    out.leafSize.set(sv.subarray(from, to), treeStart[t]);
    out.right.set(rv.subarray(from, to), treeStart[t]);
  }
  return out;
}

/**
 * A forest laid out for scoring in its own WASM instance. Implicit complete trees
 * when they are short enough, else the compact trees walked as they are.
 */
export class WasmScorer {
  private readonly w = new WasmInstance();
  private readonly implicit: boolean;
  private readonly trees: number;
  private readonly height: number;
  private readonly cols: number;
  private readonly cPsi: number;
  private readonly p: { nodes: number; leaves: number; feature: number; thresh: number; right: number; values: number; starts: number };
  private readonly modelEnd: number;
  private scratchRows = 0;
  private inPtr = 0;
  private outPtr = 0;

  constructor(t: CompactTrees, cols: number, height: number, psi: number) {
    const w = this.w;
    this.trees = t.trees;
    this.height = height;
    this.cols = cols;
    this.cPsi = w.k.averagePathLength(psi);
    this.implicit = height <= IMPLICIT_MAX_HEIGHT;
    const mark = w.mark();
    const feature = w.copyIn(t.feature);
    const thresh = w.copyIn(t.split);
    const size = w.copyIn(t.leafSize);
    const right = w.copyIn(t.right);
    const starts = w.copyIn(t.treeStart);
    if (this.implicit) {
      // Lay out into fresh memory, then move the result down over the compact copy.
      const nodeBytes = t.trees * ((1 << height) - 1) * 8;
      const leafBytes = t.trees * (1 << height) * 8;
      const tmp = w.alloc(nodeBytes + leafBytes);
      w.k.layoutImplicit(feature, thresh, size, right, starts, t.trees, height, tmp, tmp + nodeBytes);
      new Uint8Array(w.k.memory.buffer).copyWithin(mark, tmp, tmp + nodeBytes + leafBytes);
      w.release(mark);
      const nodes = w.alloc(nodeBytes + leafBytes);
      this.p = { nodes, leaves: nodes + nodeBytes, feature: 0, thresh: 0, right: 0, values: 0, starts: 0 };
    } else {
      const values = w.alloc(t.feature.length * 8);
      w.k.leafValues(feature, size, right, starts, t.trees, values);
      this.p = { nodes: 0, leaves: 0, feature, thresh, right, values, starts };
    }
    this.modelEnd = w.mark();
  }

  /** Rows moved into WASM memory per kernel call. */
  get chunkRows(): number {
    return Math.max(256, Math.floor(CHUNK_BYTES / (this.cols * 8)));
  }

  /**
   * Reserve room for `rows` rows of input and their scores; returns a view of the
   * input area to fill (valid until the next call on this scorer).
   */
  input(rows: number): Float64Array {
    if (rows > this.scratchRows) {
      this.w.release(this.modelEnd);
      this.inPtr = this.w.alloc(rows * this.cols * 8);
      this.outPtr = this.w.alloc(rows * 8);
      this.scratchRows = rows;
    }
    return this.w.f64(this.inPtr, rows * this.cols);
  }

  /** Index of the first non-finite value among the first `rows` input rows, or -1. */
  firstNonFinite(rows: number): number {
    return this.w.k.firstNonFinite(this.inPtr, rows * this.cols);
  }

  /** Score the first `rows` rows of the input area; the view is valid until the next call. */
  run(rows: number): Float64Array {
    const { k } = this.w;
    const p = this.p;
    if (this.implicit) {
      k.scoreImplicit(this.inPtr, rows, this.cols, p.nodes, p.leaves, this.trees, this.height, this.cPsi, this.outPtr);
    } else {
      k.scoreCompact(this.inPtr, rows, this.cols, p.feature, p.thresh, p.right, p.values, p.starts, this.trees, this.cPsi, this.outPtr);
    }
    return this.w.f64(this.outPtr, rows);
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

/** The explanation kernel (assembly/explain.ts) of `w`, typed; see src/explain.ts. */
export function explainKernel(w: WasmInstance): ExplainRowsKernel {
  const fn: unknown = (w.k as unknown as Record<string, unknown>).explainRows;
  if (typeof fn !== "function") throw new Error('logforest.wasm has no explainRows export; run "npm run build:wasm"');
  return fn as ExplainRowsKernel;
}
