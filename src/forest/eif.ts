/**
 * ExtendedIsolationForest (Hariri, Kind & Brunner 2019): an Isolation Forest whose
 * splits are random hyperplanes. Each internal node draws a normal vector n with
 * extensionLevel + 1 non-zero coordinates (standard normal; chosen uniformly among
 * the features that vary in the node) and a point p uniform in the node's
 * bounding box; a row goes left when (x - p) . n <= 0, stored as x . n <= b with
 * b = p . n. Level 0 cuts parallel to an axis, as the standard forest does; level
 * cols - 1 lets the cut lean any way, which removes the standard forest's
 * axis-aligned "cross" artifacts from the score map. Sampling, height limit, path
 * lengths and the score 2^(-E[h] / c(psi)) are the standard forest's.
 *
 * Trees are grown and scored in WASM (assembly/eif.ts); the plain-TS reference
 * scorer below computes every dot product in the same order, so both agree.
 */
import { ForestBase, checkBackend, checkMeta, fitted, loadFile, walkTrees, type Backend, type ForestMeta } from "./forest-base.js";
import { checkAllFinite } from "./forest.js";
import { asRows, assertFinite, type Matrix, type Rows } from "./matrix.js";
import {
  HEADER, MAGIC as FOREST_MAGIC, ModelFileError, checkFileBytes, linkRightChildren, malformed, openFile, readMeta, sealFile, startFile,
} from "./model-file.js";
import { heightLimit, resolveOptions, type ForestOptions, type ResolvedOptions } from "./options.js";
import { averagePathLength, pathToScore } from "./reference.js";
import { CHUNK_BYTES, WasmInstance, eifKernels, type EifKernels } from "../wasm.js";

// ---------------------------------------------------------------- options
/** Options of ExtendedIsolationForest.fit: the standard forest's (but maxFeatures) plus extensionLevel. */
export interface ExtendedForestOptions extends Omit<ForestOptions, "maxFeatures"> {
  /**
   * Non-zero coordinates of each split's normal vector, minus one: an integer in
   * [0, columns - 1]. 0 gives axis-parallel splits; columns - 1 (the default) fully
   * extended ones.
   */
  extensionLevel?: number;
}

/** Options after validation, resolved against the table's shape. */
export interface ResolvedExtendedOptions extends Omit<ResolvedOptions, "maxFeatures"> {
  extensionLevel: number;
}

const KNOWN = new Set(["trees", "sampleSize", "contamination", "seed", "featureNames", "extensionLevel"]);

/** Validate `options` for a table of `rows` x `cols`; errors name the option, its range and the value. */
export function resolveExtendedOptions(options: ExtendedForestOptions | undefined, rows: number, cols: number): ResolvedExtendedOptions {
  if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
    throw new TypeError(`options must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  }
  const { extensionLevel, ...shared } = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(shared)) {
    if (!KNOWN.has(key)) throw new TypeError(`unknown option "${key}"; the options are ${[...KNOWN].join(", ")}`);
  }
  const ext = extensionLevel ?? cols - 1;
  if (typeof ext !== "number" || !Number.isInteger(ext) || ext < 0 || ext > cols - 1) {
    const shown = typeof ext === "string" ? JSON.stringify(ext) : typeof ext === "number" ? String(ext) : typeof ext;
    throw new RangeError(`extensionLevel must be an integer in [0, ${cols - 1}] (columns - 1), got ${shown}`);
  }
  const r = resolveOptions(shared as ForestOptions, rows, cols);
  return { trees: r.trees, sampleSize: r.sampleSize, contamination: r.contamination, seed: r.seed, featureNames: r.featureNames, extensionLevel: ext };
}

// ---------------------------------------------------------------- trees
/**
 * Hyperplane trees packed end to end, nodes of each tree in preorder. Node i is a
 * leaf when it has no coefficients; else its normal vector is
 * { coefFeature[k]: coefValue[k] } for k in [coefStart[i], coefStart[i + 1]) and
 * a row goes left (to i + 1) when sum_k x[coefFeature[k]] * coefValue[k] <= intercept[i],
 * else to treeStart[tree] + right[i].
 */
export interface HyperplaneTrees {
  readonly trees: number;
  /** Index of each tree's first node, then the node count (trees + 1). */
  readonly treeStart: Uint32Array;
  /** Index of each node's first coefficient, then the coefficient count (nodes + 1). */
  readonly coefStart: Uint32Array;
  readonly coefFeature: Uint32Array;
  readonly coefValue: Float64Array;
  /** b = p . n for internal nodes; 0 for leaves. */
  readonly intercept: Float64Array;
  /** Training rows that reached each leaf (may be 0: a hyperplane can miss every row); 0 for internal nodes. */
  readonly leafSize: Uint32Array;
  /** Right child's index within its tree; 0 for leaves. */
  readonly right: Uint32Array;
}

/** Path length of every leaf (depth + c(size)); 0 for internal nodes. */
export function hyperplaneLeafPathLengths(t: HyperplaneTrees): Float64Array {
  const values = new Float64Array(t.intercept.length);
  walkTrees(t, (node, depth) => {
    if (t.coefStart[node] < t.coefStart[node + 1]) return true;
    values[node] = depth + averagePathLength(t.leafSize[node]);
    return false;
  });
  return values;
}

/** The reference scorer: `rows` rows (row-major in x, `cols` wide) into out, walking node by node. */
export function scoreHyperplaneReference(
  t: HyperplaneTrees, leafValues: Float64Array, cPsi: number, x: Float64Array, rows: number, cols: number, out: Float64Array,
): void {
  const { treeStart, coefStart, coefFeature, coefValue, intercept, right, trees } = t;
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let sum = 0;
    for (let tree = 0; tree < trees; tree++) {
      const base = treeStart[tree];
      let node = base;
      while (coefStart[node] < coefStart[node + 1]) {
        let s = 0;
        for (let k = coefStart[node]; k < coefStart[node + 1]; k++) s += x[row + coefFeature[k]] * coefValue[k];
        node = s <= intercept[node] ? node + 1 : base + right[node];
      }
      sum += leafValues[node];
    }
    out[r] = pathToScore(sum / trees, cPsi);
  }
}

/**
 * Draw each tree's sample (Floyd, without replacement) and grow it in WASM, one
 * tree at a time: only that tree's sampled rows are copied in, and only its
 * nodes are copied out.
 */
function growHyperplaneTrees(rows: Rows, o: ResolvedExtendedOptions, height: number): HyperplaneTrees {
  const w = new WasmInstance();
  const k = eifKernels(w);
  const { cols } = rows;
  const psi = o.sampleSize;
  const ext = o.extensionLevel;
  const rng = w.alloc(32);
  k.seedRng(rng, o.seed >>> 0, Math.floor(o.seed / 4294967296) >>> 0);
  let tableBits = 1;
  while (1 << tableBits < 2 * psi) tableBits++;
  // A tree of height h has at most 2^(h+1) - 1 nodes, 2^h - 1 of them internal.
  const maxNodes = 2 ** (height + 1) - 1;
  const maxCoefs = (2 ** height - 1) * (ext + 1);
  const picks = w.alloc(psi * 4);
  const table = w.alloc((1 << tableBits) * 4);
  const sample = w.alloc(psi * cols * 8);
  const count = w.alloc(maxNodes * 4);
  const size = w.alloc(maxNodes * 4);
  const intercept = w.alloc(maxNodes * 8);
  const right = w.alloc(maxNodes * 4);
  const coefFeature = w.alloc(maxCoefs * 4);
  const coefValue = w.alloc(maxCoefs * 8);
  const work = w.alloc(k.eifWorkBytes(psi, cols));
  // Every allocation is made: the views below stay valid through the loop.
  const pickView = w.u32(picks, psi);
  const sampleView = w.f64(sample, psi * cols);
  const countView = w.u32(count, maxNodes);

  const parts: Array<{ count: Uint32Array; size: Uint32Array; intercept: Float64Array; right: Uint32Array; feature: Uint32Array; value: Float64Array }> = [];
  for (let t = 0; t < o.trees; t++) {
    k.sampleRows(rng, rows.rows, psi, 1, picks, table, tableBits);
    for (let i = 0; i < psi; i++) rows.gather(pickView[i], sampleView, i * cols, 1);
    const n = k.eifBuildTree(rng, sample, psi, cols, ext, height, count, size, intercept, right, coefFeature, coefValue, work);
    let c = 0;
    for (let i = 0; i < n; i++) c += countView[i];
    parts.push({
      count: countView.slice(0, n),
      size: w.u32(size, n).slice(),
      intercept: w.f64(intercept, n).slice(),
      right: w.u32(right, n).slice(),
      feature: w.u32(coefFeature, c).slice(),
      value: w.f64(coefValue, c).slice(),
    });
  }
  const nodes = parts.reduce((a, p) => a + p.count.length, 0);
  const coefs = parts.reduce((a, p) => a + p.feature.length, 0);
  const out = {
    trees: o.trees,
    treeStart: new Uint32Array(o.trees + 1),
    coefStart: new Uint32Array(nodes + 1),
    coefFeature: new Uint32Array(coefs),
    coefValue: new Float64Array(coefs),
    intercept: new Float64Array(nodes),
    leafSize: new Uint32Array(nodes),
    right: new Uint32Array(nodes),
  };
  let node = 0;
  let coef = 0;
  parts.forEach((p, t) => {
    out.treeStart[t] = node;
    out.intercept.set(p.intercept, node);
    out.leafSize.set(p.size, node);
    out.right.set(p.right, node);
    out.coefFeature.set(p.feature, coef);
    out.coefValue.set(p.value, coef);
    for (let i = 0; i < p.count.length; i++) {
      out.coefStart[node++] = coef;
      coef += p.count[i];
    }
  });
  out.treeStart[o.trees] = node;
  out.coefStart[node] = coef;
  return out;
}

/**
 * The scoring form of assembly/eif.ts: each tree one preorder stream of 16-byte
 * node headers { u32 count, u32 right (byte offset), f64 b or leaf path length },
 * each followed by its coefficients { u32 feature * 8, u32 0, f64 value }.
 * Returns the stream and each tree's root offset.
 */
function layoutForScoring(t: HyperplaneTrees, leafValues: Float64Array): { model: Uint32Array; roots: Uint32Array } {
  const nodes = t.intercept.length;
  const bytes = 16 * (nodes + t.coefFeature.length);
  const buf = new ArrayBuffer(bytes);
  const u32 = new Uint32Array(buf);
  const f64 = new Float64Array(buf);
  // A node's byte offset: 16 per node and per coefficient before it.
  const at = (node: number): number => 16 * (node + t.coefStart[node]);
  for (let i = 0; i < nodes; i++) {
    const o = at(i);
    const from = t.coefStart[i];
    const to = t.coefStart[i + 1];
    u32[o >> 2] = to - from;
    f64[(o >> 3) + 1] = from === to ? leafValues[i] : t.intercept[i];
    for (let k = from; k < to; k++) {
      const c = o + 16 * (k - from + 1);
      u32[c >> 2] = t.coefFeature[k] * 8;
      f64[(c >> 3) + 1] = t.coefValue[k];
    }
  }
  const roots = new Uint32Array(t.trees);
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    roots[tree] = at(base);
    for (let i = base; i < t.treeStart[tree + 1]; i++) {
      if (t.coefStart[i + 1] > t.coefStart[i]) u32[(at(i) >> 2) + 1] = at(base + t.right[i]);
    }
  }
  return { model: u32, roots };
}

/** Hyperplane trees laid out in their own WASM instance for scoring, with room for a chunk of rows. */
class WasmHyperplaneScorer {
  private readonly w = new WasmInstance();
  private readonly k: EifKernels;
  private readonly model: number;
  private readonly roots: number;
  private readonly modelEnd: number;
  private capacity = 0;
  private inPtr = 0;
  private outPtr = 0;

  constructor(
    private readonly t: HyperplaneTrees,
    leafValues: Float64Array,
    private readonly cols: number,
    private readonly cPsi: number,
  ) {
    this.k = eifKernels(this.w);
    const { model, roots } = layoutForScoring(t, leafValues);
    this.model = this.w.copyIn(model);
    this.roots = this.w.copyIn(roots);
    this.modelEnd = this.w.mark();
  }

  /** Score every row, moving at most CHUNK_BYTES of input into WASM memory at a time. */
  score(rows: Rows): Float64Array {
    const out = new Float64Array(rows.rows);
    const chunk = Math.min(rows.rows, Math.max(256, Math.floor(CHUNK_BYTES / (this.cols * 8))));
    if (chunk > this.capacity) {
      this.w.release(this.modelEnd);
      this.inPtr = this.w.alloc(chunk * this.cols * 8);
      this.outPtr = this.w.alloc(chunk * 8);
      this.capacity = chunk;
    }
    for (let from = 0; from < rows.rows; from += chunk) {
      const n = Math.min(chunk, rows.rows - from);
      const input = this.w.f64(this.inPtr, n * this.cols);
      rows.copy(from, n, input);
      assertFinite(input, n, this.cols, from);
      this.k.eifScore(this.inPtr, n, this.cols, this.model, this.roots, this.t.trees, this.cPsi, this.outPtr);
      out.set(this.w.f64(this.outPtr, n), from);
    }
    return out;
  }
}

// ---------------------------------------------------------------- the forest
/** Options of score, predict, scoreSamples and decisionFunction. */
export interface ExtendedScoreOptions {
  /** "wasm" (default) or "js", the reference scorer: both give the same numbers. */
  backend?: Backend;
}

const FORMAT_NAME = "logforest-extended-isolation-forest";

/** An Extended Isolation Forest with the standard forest's API and scikit-learn's score conventions. */
export class ExtendedIsolationForest extends ForestBase<HyperplaneTrees, Omit<ResolvedExtendedOptions, "featureNames">, ExtendedScoreOptions> {
  private leaves: Float64Array | null = null;
  private wasm: WasmHyperplaneScorer | null = null;

  /** Grow a forest on X (rows of numbers). Synchronous; the same seed gives the same forest everywhere. */
  static fit(X: Matrix, options?: ExtendedForestOptions): ExtendedIsolationForest {
    const rows = asRows(X);
    const o = resolveExtendedOptions(options, rows.rows, rows.cols);
    checkAllFinite(X, rows);
    const trees = growHyperplaneTrees(rows, o, heightLimit(o.sampleSize));
    return fitted(X, rows, o, (meta) => new ExtendedIsolationForest(trees, meta));
  }

  /** The hyperplane trees (read-only; for tests, not a stable API). */
  get hyperplaneTrees(): HyperplaneTrees {
    return this.t;
  }

  /** Anomaly score s(x) = 2^(-E[h(x)] / c(sampleSize)) in (0, 1]; higher is more anomalous. */
  override score(X: Matrix, opts: ExtendedScoreOptions = {}): Float64Array {
    const backend = checkBackend(opts.backend);
    const rows = this.rowsToScore(X);
    const leaves = (this.leaves ??= hyperplaneLeafPathLengths(this.t));
    if (backend === "wasm") {
      this.wasm ??= new WasmHyperplaneScorer(this.t, leaves, this.cols, this.cPsi);
      return this.wasm.score(rows);
    }
    return this.scoreInChunks(rows, (x, n, out) => scoreHyperplaneReference(this.t, leaves, this.cPsi, x, n, this.cols, out));
  }

  /** The model file's bytes (format above encodeExtendedModel). */
  override toBytes(): Uint8Array {
    const { featureNames, ...options } = this.options;
    return encodeExtendedModel(this.t, this.fileMeta(FORMAT_NAME, options));
  }

  /** Load a forest from toBytes() output; throws ModelFileError saying why a file is refused. */
  static fromBytes(bytes: Uint8Array): ExtendedIsolationForest {
    const { trees, meta } = decodeExtendedModel(bytes);
    const m = checkMeta(meta, FORMAT_NAME, "an extended isolation forest", checkExtensionLevel);
    checkTrees(trees, m);
    return new ExtendedIsolationForest(trees, m);
  }

  /** Read a model file written by save(). */
  static load(path: string): ExtendedIsolationForest {
    return loadFile(path, ExtendedIsolationForest.fromBytes);
  }
}

// ---------------------------------------------------------------- model file
/*
 * The extended model file: forest/model-file.ts's container shape, its own magic.
 *
 *   offset  size     field
 *   0       8        magic 89 4C 47 45 0D 0A 1A 0A ("\x89LGE\r\n\x1a\n"; the standard forest's is LGF)
 *   8       4        format version (u32, little-endian; this code writes and reads 1)
 *   12      4        total length of the file in bytes, checksum included
 *   16      4        length M of the metadata JSON (padded with spaces to 8)
 *   20      4        number of trees T
 *   24      4        number of nodes N over all trees
 *   28      4        number of coefficients C over all nodes
 *   32      M        metadata: UTF-8 JSON (options, feature names, threshold, ...)
 *   32+M    4 (T+1)  treeStart: index of each tree's first node, then N
 *           4 N      count: non-zero coordinates of each node's normal vector, 0 for a leaf
 *           8 N      payload f64: internal node: intercept b; leaf: training rows that reached it
 *           4 C      coefficient features, node after node in preorder
 *           8 C      coefficient values (f64)
 *   end-4   4        CRC-32 (IEEE) of every byte before it
 *
 * Right children are not stored: in preorder a right child follows its left subtree.
 */

/** The extended model file's magic bytes. */
export const EIF_MAGIC = Uint8Array.of(0x89, 0x4c, 0x47, 0x45, 0x0d, 0x0a, 0x1a, 0x0a);
/** The extended model file's format version this code writes and reads. */
export const EIF_FORMAT_VERSION = 1;

/** Encode hyperplane trees and metadata into the extended container. */
export function encodeExtendedModel(t: HyperplaneTrees, meta: unknown): Uint8Array {
  const T = t.trees;
  const N = t.intercept.length;
  const C = t.coefFeature.length;
  const { buf, dv, body } = startFile(EIF_MAGIC, EIF_FORMAT_VERSION, meta, [T, N, C], 4 * (T + 1) + 12 * N + 12 * C);
  let o = body;
  for (let i = 0; i <= T; i++, o += 4) dv.setUint32(o, t.treeStart[i], true);
  for (let i = 0; i < N; i++, o += 4) dv.setUint32(o, t.coefStart[i + 1] - t.coefStart[i], true);
  for (let i = 0; i < N; i++, o += 8) dv.setFloat64(o, t.coefStart[i + 1] > t.coefStart[i] ? t.intercept[i] : t.leafSize[i], true);
  for (let i = 0; i < C; i++, o += 4) dv.setUint32(o, t.coefFeature[i], true);
  for (let i = 0; i < C; i++, o += 8) dv.setFloat64(o, t.coefValue[i], true);
  sealFile(buf);
  return buf;
}

/** Decode and check an extended model file's container; throws ModelFileError saying what is wrong. */
export function decodeExtendedModel(bytes: Uint8Array): { trees: HyperplaneTrees; meta: unknown } {
  checkFileBytes(bytes);
  const starts = (magic: Uint8Array): boolean => magic.every((b, i) => bytes[i] === b);
  if (!starts(EIF_MAGIC)) {
    if (bytes.length >= FOREST_MAGIC.length && starts(FOREST_MAGIC)) {
      throw new ModelFileError("wrong-magic", "not an extended isolation forest model: this is a standard isolation forest (load it with IsolationForest)");
    }
    throw new ModelFileError("wrong-magic", "not an extended isolation forest model: the file does not start with the magic bytes 89 4C 47 45 0D 0A 1A 0A");
  }
  const { dv, total } = openFile(bytes, EIF_FORMAT_VERSION);
  const metaLength = dv.getUint32(16, true);
  const T = dv.getUint32(20, true);
  const N = dv.getUint32(24, true);
  const C = dv.getUint32(28, true);
  if (HEADER + metaLength + 4 * (T + 1) + 12 * N + 12 * C + 4 !== total) {
    throw malformed(`section sizes (meta ${metaLength}, ${T} trees, ${N} nodes, ${C} coefficients) do not add up to ${total} bytes`);
  }
  const meta = readMeta(bytes, metaLength);
  let o = HEADER + metaLength;
  const treeStart = new Uint32Array(T + 1);
  for (let i = 0; i <= T; i++, o += 4) treeStart[i] = dv.getUint32(o, true);
  const coefStart = new Uint32Array(N + 1);
  // Summed as doubles and checked as they go: a u32 sum would wrap, and a count past C
  // would make a node's coefficients run backwards or past the end.
  let sum = 0;
  for (let i = 0; i < N; i++, o += 4) {
    sum += dv.getUint32(o, true);
    if (sum > C) throw malformed(`node coefficient counts add up to more than the ${C} coefficients by node ${i}`);
    coefStart[i + 1] = sum;
  }
  if (sum !== C) throw malformed(`node coefficient counts add up to ${sum}, not ${C}`);
  const intercept = new Float64Array(N);
  const leafSize = new Uint32Array(N);
  for (let i = 0; i < N; i++, o += 8) {
    const v = dv.getFloat64(o, true);
    if (!Number.isFinite(v)) throw malformed(`node ${i} holds ${v}`);
    if (coefStart[i + 1] > coefStart[i]) intercept[i] = v;
    else if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) leafSize[i] = v;
    else throw malformed(`leaf ${i} has an invalid size ${v}`);
  }
  const coefFeature = new Uint32Array(C);
  for (let i = 0; i < C; i++, o += 4) coefFeature[i] = dv.getUint32(o, true);
  const coefValue = new Float64Array(C);
  for (let i = 0; i < C; i++, o += 8) coefValue[i] = dv.getFloat64(o, true);
  const right = linkRightChildren(treeStart, N, (i) => coefStart[i + 1] > coefStart[i]);
  return { trees: { trees: T, treeStart, coefStart, coefFeature, coefValue, intercept, leafSize, right }, meta };
}

/** The extended forest's own option in a model file: an extensionLevel the columns allow. */
function checkExtensionLevel(o: Omit<ResolvedExtendedOptions, "featureNames">, cols: number): void {
  const ext = o.extensionLevel;
  if (typeof ext !== "number" || !Number.isInteger(ext) || ext < 0 || ext > cols - 1) {
    throw malformed(`extensionLevel ${String(ext)} is not in [0, ${cols - 1}]`);
  }
}

/** Every node must be one the scorers can walk safely: features in range, finite values, leaves within the height. */
function checkTrees(t: HyperplaneTrees, m: ForestMeta<Omit<ResolvedExtendedOptions, "featureNames">>): void {
  if (t.trees !== m.options.trees) throw malformed(`it holds ${t.trees} trees but its options say ${m.options.trees}`);
  const maxCount = m.options.extensionLevel + 1;
  walkTrees(t, (node, depth, tree, id) => {
    const from = t.coefStart[node];
    const to = t.coefStart[node + 1];
    if (from === to) {
      if (t.leafSize[node] > m.sampleSize) throw malformed(`tree ${tree} has an invalid leaf at node ${id}`);
      return false;
    }
    let ok = depth < m.height && to - from <= maxCount;
    for (let k = from; k < to && ok; k++) ok = t.coefFeature[k] < m.cols && Number.isFinite(t.coefValue[k]);
    if (!ok) throw malformed(`tree ${tree} has an invalid split at node ${id}`);
    return true;
  });
}
