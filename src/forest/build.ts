/**
 * Growing the trees in WASM: draw each tree's sample, read the sampled rows, check
 * them (or the whole table) for NaN and Infinity, build, and copy the compact trees
 * out. The memory rule of src/wasm.ts holds here: views are made after the
 * allocations they cover.
 */
import { WasmInstance, type CompactTrees } from "../wasm.js";

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
  /**
   * The table, row-major, when it is one Float64Array: then the whole of it is
   * checked for NaN and Infinity in the same pass that reads the sampled rows.
   */
  table?: Float64Array;
  /** Without `table`: copies rows picks[k] row-major into dst[k * cols ...], for every k. */
  gatherRows(picks: Uint32Array, dst: Float64Array): void;
  /** Called with the first non-finite value in the table (with `table`) or among the gathered rows; must throw. */
  nonFinite(row: number, col: number, value: number): never;
}

/**
 * Draw each tree's sample and grow the trees in WASM; returns the compact trees.
 * Without `table` only the sampled rows cross into WASM memory and are checked
 * for NaN and Infinity there; with it the whole table streams through (see
 * scanTable), so no tree ever sees a non-finite value either way.
 */
export function buildForest(req: BuildRequest): CompactTrees {
  return withBuilder((w) => buildIn(w, req));
}

/**
 * Run `fn` in the shared build instance and free what it allocated. One instance
 * serves every fit: fresh memory would page-fault on every page the build writes
 * (a third of a 100-tree fit). Huge builds let it go.
 */
function withBuilder<T>(fn: (w: WasmInstance) => T): T {
  const w = (builder ??= new WasmInstance());
  const mark = w.mark();
  try {
    return fn(w);
  } finally {
    w.release(mark);
    if (w.k.memory.buffer.byteLength > BUILDER_KEEP_BYTES) builder = null;
  }
}

/** The instance fits build in (see withBuilder). */
let builder: WasmInstance | null = null;
/** Memory beyond which the build instance is not kept for the next fit. */
const BUILDER_KEEP_BYTES = 64 << 20;
/**
 * Values of a table copied into WASM memory at a time to be scanned: 256 KiB, well
 * inside L2, so the scan reads what the copy just wrote from cache and the table
 * is read from memory once (about 35 GB/s for the copy on the development machine).
 */
const SCAN_CHUNK_VALUES = 32768;

/**
 * A chunk buffer of `values` f64 for copies out of `src`, placed so that it sits
 * 512 bytes below the source modulo 4 KiB. The copy slows by 10-25% when the two
 * are placed so that loads alias the stores just made (4K aliasing; measured on
 * the development machine). A large ArrayBuffer's memory comes from mmap through
 * malloc: a page start plus malloc's 16-byte header, plus the view's byteOffset.
 */
function chunkFor(w: WasmInstance, src: Float64Array, values: number): number {
  const ptr = w.alloc(values * 8 + 4096);
  const want = (src.byteOffset + 16 - 512) & 4095;
  return ptr + ((want - (ptr & 4095) + 4096) & 4095);
}

/**
 * Index of the first NaN or +-Infinity in `data`, or -1. The values are copied
 * into WASM memory a chunk at a time and scanned with SIMD; only a chunk the scan
 * flags (one that holds one, or rarely one of huge values whose sums overflow) is
 * scanned again, value by value.
 */
export function firstNonFiniteIn(data: Float64Array): number {
  return withBuilder((w) => {
    const chunk = Math.min(SCAN_CHUNK_VALUES, data.length);
    const ptr = chunkFor(w, data, chunk);
    const view = w.f64(ptr, chunk);
    for (let from = 0; from < data.length; from += chunk) {
      const n = Math.min(chunk, data.length - from);
      view.set(data.subarray(from, from + n));
      const bad = w.k.maybeNonFinite(ptr, n) ? w.k.firstNonFinite(ptr, n) : -1;
      if (bad >= 0) return from + bad;
    }
    return -1;
  });
}

function buildIn(w: WasmInstance, req: BuildRequest): CompactTrees {
  const { rows, cols, trees, psi, height, maxFeatures } = req;
  const rng = w.alloc(32);
  w.k.seedRng(rng, ...seedHalves(req.seed));

  let tableBits = 1;
  while (1 << tableBits < 2 * psi) tableBits++;
  const picks = w.alloc(trees * psi * 4);
  const table = w.alloc((1 << tableBits) * 4);
  w.k.sampleRows(rng, rows, psi, trees, picks, table, tableBits);

  const stride = 2 * psi - 1;
  const sample = w.alloc(trees * psi * cols * 8);
  const feature = w.alloc(trees * stride * 4);
  const thresh = w.alloc(trees * stride * 4);
  const size = w.alloc(trees * stride * 4);
  const right = w.alloc(trees * stride * 4);
  const counts = w.alloc(trees * 4);
  const work = w.alloc(psi * cols * 8 + (psi + cols) * 4);

  if (req.table !== undefined) {
    scanTable(w, req.table, req, picks, sample);
  } else {
    const pickView = w.u32(picks, trees * psi);
    req.gatherRows(pickView, w.f64(sample, trees * psi * cols));
    const bad = w.k.firstNonFinite(sample, trees * psi * cols);
    if (bad >= 0) req.nonFinite(pickView[Math.floor(bad / cols)], bad % cols, w.f64(sample, trees * psi * cols)[bad]);
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
 * Stream the whole table through WASM memory a chunk at a time, front to back:
 * each chunk is scanned for NaN and Infinity (the first one is reported through
 * req.nonFinite) and the sampled rows in it are copied to their places in the
 * sample. Sampled rows are thus read in table order, not at random (random reads
 * of a large table cost a cache and TLB miss each); the sample is laid out as
 * before, so the trees are the same.
 */
function scanTable(w: WasmInstance, table: Float64Array, req: BuildRequest, picks: number, sample: number): void {
  const { rows, cols } = req;
  const m = req.trees * req.psi;
  const chunkRows = Math.max(1, Math.floor(SCAN_CHUNK_VALUES / cols));
  const chunks = Math.ceil(rows / chunkRows);
  const start = w.alloc((chunks + 1) * 4);
  const order = w.alloc(m * 4);
  const chunk = chunkFor(w, table, chunkRows * cols);
  w.k.groupPicks(picks, m, chunkRows, chunks, start, order);
  // Views after the last allocation (see the memory rule at the top).
  const starts = w.u32(start, chunks + 1);
  const view = w.f64(chunk, chunkRows * cols);
  for (let b = 0, r0 = 0; b < chunks; b++, r0 += chunkRows) {
    const n = Math.min(chunkRows, rows - r0);
    view.set(table.subarray(r0 * cols, (r0 + n) * cols));
    const bad = w.k.scanGather(chunk, n, cols, r0, picks, order, starts[b], starts[b + 1], sample);
    if (bad >= 0) req.nonFinite(r0 + Math.floor(bad / cols), bad % cols, view[bad]);
  }
}
