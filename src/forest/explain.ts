/**
 * Explanations: which features made a row easy to isolate.
 *
 * Method (per row): every split on the row's path through a tree is credited to
 * its feature with
 *
 *   credit = ln(size(node) / size(child)) * min(|x[f] - thresh| / scale[f], 1e100)
 *
 * size: the tree's training rows that reached a node (internal sizes are sums of
 * leaf sizes). The log term is how much the split isolated the row: large when it
 * sends the row off with a handful of rows, near 0 when the row stays with the
 * crowd; along a path it telescopes to ln(psi / size(leaf)). The margin term is how
 * decisively the row passed the split, in units of scale[f], the standard deviation
 * of all the forest's thresholds on f (1 when that is 0): isolation alone cannot
 * tell a value just outside the training range from one far outside it, the
 * margin can. Credits are summed per feature over all trees and divided by their
 * total, so a row's shares sum to 1; a row with no credit at all (every tree a
 * single leaf, as when all training rows were equal) gets 1 / cols everywhere.
 *
 * Node log terms and feature scales are computed once per forest (WeakMap cache);
 * the walk runs in WASM (assembly/explain.ts) or in the plain-TS reference below,
 * which do every operation in the same order and so give the same numbers.
 * Scoring is not touched: explanations have their own WASM instance.
 */
import type { IsolationForest } from "./forest.js";
import { asRows, assertFinite, throwNonFinite, type Matrix, type Rows } from "./matrix.js";
import { WasmInstance, explainKernel, type CompactTrees, type ExplainRowsKernel } from "../wasm.js";

/** One feature's part in a row's isolation. */
export interface Reason {
  /** Column index. */
  feature: number;
  /** The forest's feature name, or `f${feature}`. */
  name: string;
  /** Share of the row's isolation credited to the feature, in [0, 1]. */
  share: number;
}

/** Options of explain and explainShares. */
export interface ExplainOptions {
  /** Reasons kept per row (the largest shares): an integer in [1, cols]; default 3 (or cols when fewer). */
  top?: number;
  /** "wasm" (default) or "js", the reference: both give the same numbers. */
  backend?: "wasm" | "js";
}

/** Rows moved into WASM memory per kernel call (explanations come a few rows at a time). */
const CHUNK_ROWS = 4096;

/** Cap on one split's margin, so that no sum of credits overflows to Infinity. */
const MAX_MARGIN = 1e100;

/** Per-forest state: node log terms, feature scales, and the WASM copy of the trees once asked for. */
interface Explainer {
  readonly weight: Float64Array;
  readonly scale: Float64Array;
  wasm: WasmExplainer | null;
}

const cache = new WeakMap<IsolationForest, Explainer>();

function explainer(forest: IsolationForest): Explainer {
  let e = cache.get(forest);
  if (e === undefined) {
    e = { weight: nodeCredits(forest.compactTrees), scale: featureScales(forest.compactTrees, forest.cols), wasm: null };
    cache.set(forest, e);
  }
  return e;
}

/**
 * The log term for entering each node from its parent: ln(size(parent) / size(node));
 * 0 for roots. Internal sizes are sums of leaf sizes; preorder puts children after their
 * parent, so one backward pass per tree fills them.
 */
export function nodeCredits(t: CompactTrees): Float64Array {
  const size = new Float64Array(t.feature.length);
  const weight = new Float64Array(t.feature.length);
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    for (let node = t.treeStart[tree + 1] - 1; node >= base; node--) {
      size[node] = t.feature[node] < 0 ? t.leafSize[node] : size[node + 1] + size[base + t.right[node]];
    }
    for (let node = base; node < t.treeStart[tree + 1]; node++) {
      if (t.feature[node] < 0) continue;
      const left = node + 1;
      const right = base + t.right[node];
      weight[left] = Math.log(size[node] / size[left]);
      weight[right] = Math.log(size[node] / size[right]);
    }
  }
  return weight;
}

/** Standard deviation of the forest's thresholds on each feature; 1 where it is 0 or the feature is never split on. */
export function featureScales(t: CompactTrees, cols: number): Float64Array {
  const n = new Float64Array(cols);
  const mean = new Float64Array(cols);
  for (let i = 0; i < t.feature.length; i++) {
    const f = t.feature[i];
    if (f >= 0) {
      n[f]++;
      mean[f] += t.split[i];
    }
  }
  for (let f = 0; f < cols; f++) mean[f] = n[f] > 0 ? mean[f] / n[f] : 0;
  const sq = new Float64Array(cols);
  for (let i = 0; i < t.feature.length; i++) {
    const f = t.feature[i];
    if (f >= 0) sq[f] += (t.split[i] - mean[f]) ** 2;
  }
  const scale = new Float64Array(cols);
  for (let f = 0; f < cols; f++) {
    const sd = n[f] > 0 ? Math.sqrt(sq[f] / n[f]) : 0;
    scale[f] = sd > 0 && Number.isFinite(sd) ? sd : 1;
  }
  return scale;
}

/** The reference walk: shares of `rows` rows (row-major in x, `cols` wide) into out (rows x cols). */
export function explainReference(
  t: CompactTrees, weight: Float64Array, scale: Float64Array, x: Float64Array, rows: number, cols: number, out: Float64Array,
): void {
  const { feature, split, right, treeStart, trees } = t;
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    out.fill(0, row, row + cols);
    for (let tree = 0; tree < trees; tree++) {
      const base = treeStart[tree];
      let node = base;
      let f = feature[node];
      while (f >= 0) {
        const v = x[row + f];
        const th = split[node];
        node = v <= th ? node + 1 : base + right[node];
        const margin = Math.min(Math.abs(v - th) / scale[f], MAX_MARGIN);
        out[row + f] += weight[node] * margin;
        f = feature[node];
      }
    }
    let total = 0;
    for (let j = 0; j < cols; j++) total += out[row + j];
    if (total > 0) {
      for (let j = 0; j < cols; j++) out[row + j] = out[row + j] / total;
    } else {
      out.fill(1 / cols, row, row + cols);
    }
  }
}

/** The trees and credits copied once into an instance of their own; input and output above them. */
class WasmExplainer {
  private readonly w = new WasmInstance();
  private readonly run: ExplainRowsKernel;
  private readonly trees: number;
  private readonly p: { feature: number; thresh: number; right: number; starts: number; weight: number; scale: number };
  private readonly modelEnd: number;

  constructor(t: CompactTrees, weight: Float64Array, scale: Float64Array) {
    const w = this.w;
    this.run = explainKernel(w);
    this.trees = t.trees;
    this.p = {
      feature: w.copyIn(t.feature),
      thresh: w.copyIn(t.split),
      right: w.copyIn(t.right),
      starts: w.copyIn(t.treeStart),
      weight: w.copyIn(weight),
      scale: w.copyIn(scale),
    };
    this.modelEnd = w.mark();
  }

  /** Shares of every row into out (rows x cols), CHUNK_ROWS rows per call. */
  explain(rows: Rows, out: Float64Array): void {
    const { w, p } = this;
    const cols = rows.cols;
    for (let from = 0; from < rows.rows; from += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.rows - from);
      w.release(this.modelEnd);
      const inPtr = w.alloc(n * cols * 8);
      const outPtr = w.alloc(n * cols * 8);
      const input = w.f64(inPtr, n * cols);
      rows.copy(from, n, input);
      const bad = w.k.firstNonFinite(inPtr, n * cols);
      if (bad >= 0) throwNonFinite("X", from + Math.floor(bad / cols), bad % cols, input[bad]);
      this.run(inPtr, n, cols, p.feature, p.thresh, p.right, p.starts, this.trees, p.weight, p.scale, outPtr);
      out.set(w.f64(outPtr, n * cols), from * cols);
    }
    w.release(this.modelEnd);
  }
}

function checkBackend(backend: unknown): "wasm" | "js" {
  if (backend === undefined) return "wasm";
  if (backend !== "wasm" && backend !== "js") throw new RangeError(`backend must be "wasm" or "js", got ${JSON.stringify(backend)}`);
  return backend;
}

function checkedRows(forest: IsolationForest, X: Matrix): Rows {
  const rows = asRows(X);
  if (rows.cols !== forest.cols) throw new RangeError(`X has ${rows.cols} columns but the forest was trained on ${forest.cols}`);
  return rows;
}

function shares(forest: IsolationForest, rows: Rows, backend: "wasm" | "js"): Float64Array {
  const e = explainer(forest);
  const t = forest.compactTrees;
  const cols = rows.cols;
  const out = new Float64Array(rows.rows * cols);
  if (backend === "wasm") {
    e.wasm ??= new WasmExplainer(t, e.weight, e.scale);
    e.wasm.explain(rows, out);
    return out;
  }
  const buf = new Float64Array(Math.min(CHUNK_ROWS, rows.rows) * cols);
  for (let from = 0; from < rows.rows; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows.rows - from);
    rows.copy(from, n, buf);
    assertFinite(buf, n, cols, from);
    explainReference(t, e.weight, e.scale, buf, n, cols, out.subarray(from * cols, (from + n) * cols));
  }
  return out;
}

/** Every feature's share of each row's isolation: rows x cols, row-major; each row sums to 1. */
export function explainShares(forest: IsolationForest, X: Matrix, opts: Pick<ExplainOptions, "backend"> = {}): Float64Array {
  const backend = checkBackend(opts.backend);
  return shares(forest, checkedRows(forest, X), backend);
}

/** For each row of X, its `top` reasons (largest share first; ties by column), shares of the full vector. */
export function explain(forest: IsolationForest, X: Matrix, opts: ExplainOptions = {}): Reason[][] {
  const backend = checkBackend(opts.backend);
  const cols = forest.cols;
  const top = opts.top ?? Math.min(3, cols);
  if (typeof top !== "number" || !Number.isInteger(top) || top < 1 || top > cols) {
    throw new RangeError(`top must be an integer in [1, ${cols}], got ${String(top)}`);
  }
  const rows = checkedRows(forest, X);
  const s = shares(forest, rows, backend);
  const names = forest.featureNames;
  const order = Array.from({ length: cols }, (_, j) => j);
  const result: Reason[][] = [];
  for (let r = 0; r < rows.rows; r++) {
    const base = r * cols;
    // Array#sort is stable, so equal shares keep column order.
    const picked = [...order].sort((a, b) => s[base + b] - s[base + a]).slice(0, top);
    result.push(picked.map((j) => ({ feature: j, name: names?.[j] ?? `f${j}`, share: s[base + j] })));
  }
  return result;
}
