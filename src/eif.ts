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
import { readFileSync } from "node:fs";
import { type Backend, checkAllFinite, quantile, writeFileAtomic } from "./forest.js";
import { asRows, assertFinite, type Matrix, type Rows } from "./matrix.js";
import { MAGIC as FOREST_MAGIC, ModelFileError, crc32 } from "./model-file.js";
import { heightLimit, resolveOptions, type ForestOptions, type ResolvedOptions } from "./options.js";
import { averagePathLength, pathToScore } from "./reference.js";
import { CHUNK_BYTES, WasmInstance, eifKernels, type EifKernels } from "./wasm.js";

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
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    const stack: Array<[number, number]> = [[0, 0]];
    while (stack.length > 0) {
      const [id, depth] = stack.pop() as [number, number];
      const node = base + id;
      if (t.coefStart[node] === t.coefStart[node + 1]) values[node] = depth + averagePathLength(t.leafSize[node]);
      else stack.push([t.right[node], depth + 1], [id + 1, depth + 1]);
    }
  }
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

/** What the model file's metadata holds besides the trees. */
interface ExtendedMeta {
  format: typeof FORMAT_NAME;
  cols: number;
  sampleSize: number;
  height: number;
  threshold: number;
  options: Omit<ResolvedExtendedOptions, "featureNames">;
  featureNames: string[] | null;
  trainedRows: number;
  createdAt: string;
  metadata: Record<string, unknown>;
}

const FORMAT_NAME = "logforest-extended-isolation-forest";

/** An Extended Isolation Forest with the standard forest's API and scikit-learn's score conventions. */
export class ExtendedIsolationForest {
  /** Columns (features) per row. */
  readonly cols: number;
  /** Rows each tree was grown on (psi). */
  readonly sampleSize: number;
  /** Height limit of every tree: ceil(log2(sampleSize)). */
  readonly height: number;
  /** Anomaly threshold on s: predict() flags rows with s > threshold. */
  readonly threshold: number;
  /** The options the forest was grown with, resolved against the training table. */
  readonly options: Readonly<ResolvedExtendedOptions>;
  /** Rows in the training table. */
  readonly trainedRows: number;
  /** When the forest was grown (ISO 8601). */
  readonly createdAt: string;
  /** Free-form JSON saved with the model. */
  metadata: Record<string, unknown>;

  private readonly t: HyperplaneTrees;
  private readonly cPsi: number;
  private leaves: Float64Array | null = null;
  private wasm: WasmHyperplaneScorer | null = null;

  private constructor(t: HyperplaneTrees, meta: Omit<ExtendedMeta, "format">) {
    this.t = t;
    this.cols = meta.cols;
    this.sampleSize = meta.sampleSize;
    this.height = meta.height;
    this.threshold = meta.threshold;
    this.options = Object.freeze({ ...meta.options, featureNames: meta.featureNames });
    this.trainedRows = meta.trainedRows;
    this.createdAt = meta.createdAt;
    this.metadata = meta.metadata;
    this.cPsi = averagePathLength(meta.sampleSize);
  }

  /** Grow a forest on X (rows of numbers). Synchronous; the same seed gives the same forest everywhere. */
  static fit(X: Matrix, options?: ExtendedForestOptions): ExtendedIsolationForest {
    const rows = asRows(X);
    const o = resolveExtendedOptions(options, rows.rows, rows.cols);
    checkAllFinite(X, rows);
    const height = heightLimit(o.sampleSize);
    const trees = growHyperplaneTrees(rows, o, height);
    const { featureNames, ...rest } = o;
    const meta = {
      cols: rows.cols,
      sampleSize: o.sampleSize,
      height,
      threshold: 0.5,
      options: rest,
      featureNames,
      trainedRows: rows.rows,
      createdAt: new Date().toISOString(),
      metadata: {},
    };
    const forest = new ExtendedIsolationForest(trees, meta);
    if (o.contamination === "auto") return forest;
    // scikit-learn: the threshold is the (1 - contamination) quantile of the training scores.
    const threshold = quantile(forest.score(X), 1 - o.contamination);
    return new ExtendedIsolationForest(trees, { ...meta, threshold });
  }

  /** The hyperplane trees (read-only; for tests, not a stable API). */
  get hyperplaneTrees(): HyperplaneTrees {
    return this.t;
  }

  /** Number of trees. */
  get trees(): number {
    return this.t.trees;
  }

  /** Feature names given at fit, or null. */
  get featureNames(): string[] | null {
    return this.options.featureNames;
  }

  /** Anomaly score s(x) = 2^(-E[h(x)] / c(sampleSize)) in (0, 1]; higher is more anomalous. */
  score(X: Matrix, opts: ExtendedScoreOptions = {}): Float64Array {
    const backend = opts.backend ?? "wasm";
    if (backend !== "wasm" && backend !== "js") throw new RangeError(`backend must be "wasm" or "js", got ${JSON.stringify(backend)}`);
    const rows = asRows(X);
    if (rows.cols !== this.cols) throw new RangeError(`X has ${rows.cols} columns but the forest was trained on ${this.cols}`);
    this.leaves ??= hyperplaneLeafPathLengths(this.t);
    if (backend === "wasm") {
      this.wasm ??= new WasmHyperplaneScorer(this.t, this.leaves, this.cols, this.cPsi);
      return this.wasm.score(rows);
    }
    const out = new Float64Array(rows.rows);
    const chunk = Math.max(256, Math.floor(65536 / this.cols));
    const buf = new Float64Array(chunk * this.cols);
    for (let from = 0; from < rows.rows; from += chunk) {
      const n = Math.min(chunk, rows.rows - from);
      rows.copy(from, n, buf);
      assertFinite(buf, n, this.cols, from);
      scoreHyperplaneReference(this.t, this.leaves, this.cPsi, buf, n, this.cols, out.subarray(from, from + n));
    }
    return out;
  }

  /** scikit-learn's score_samples: -s(x) (lower is more anomalous). */
  scoreSamples(X: Matrix, opts?: ExtendedScoreOptions): Float64Array {
    const s = this.score(X, opts);
    for (let i = 0; i < s.length; i++) s[i] = -s[i];
    return s;
  }

  /** scikit-learn's decision_function: threshold - s(x); negative for anomalies. */
  decisionFunction(X: Matrix, opts?: ExtendedScoreOptions): Float64Array {
    const s = this.score(X, opts);
    for (let i = 0; i < s.length; i++) s[i] = this.threshold - s[i];
    return s;
  }

  /** 1 for rows with s(x) > threshold (anomalies), else 0. */
  predict(X: Matrix, opts?: ExtendedScoreOptions): Uint8Array {
    const s = this.score(X, opts);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s[i] > this.threshold ? 1 : 0;
    return out;
  }

  /** The model file's bytes (format above encodeExtendedModel). */
  toBytes(): Uint8Array {
    const { featureNames, ...options } = this.options;
    const meta: ExtendedMeta = {
      format: FORMAT_NAME,
      cols: this.cols,
      sampleSize: this.sampleSize,
      height: this.height,
      threshold: this.threshold,
      options,
      featureNames,
      trainedRows: this.trainedRows,
      createdAt: this.createdAt,
      metadata: this.metadata,
    };
    return encodeExtendedModel(this.t, meta);
  }

  /** Load a forest from toBytes() output; throws ModelFileError saying why a file is refused. */
  static fromBytes(bytes: Uint8Array): ExtendedIsolationForest {
    const { trees, meta } = decodeExtendedModel(bytes);
    const m = checkMeta(meta);
    checkTrees(trees, m);
    return new ExtendedIsolationForest(trees, m);
  }

  /** Write the model file atomically (temporary file, fsync, rename). */
  save(path: string): void {
    writeFileAtomic(path, this.toBytes());
  }

  /** Read a model file written by save(). */
  static load(path: string): ExtendedIsolationForest {
    try {
      return ExtendedIsolationForest.fromBytes(readFileSync(path));
    } catch (e) {
      if (e instanceof ModelFileError) throw new ModelFileError(e.problem, `${path}: ${e.message}`);
      throw e;
    }
  }
}

// ---------------------------------------------------------------- model file
/*
 * The extended model file: src/model-file.ts's container shape, its own magic.
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
const HEADER = 32;

/** Encode hyperplane trees and metadata into the extended container. */
export function encodeExtendedModel(t: HyperplaneTrees, meta: unknown): Uint8Array {
  let json = JSON.stringify(meta);
  const pad = (8 - (new TextEncoder().encode(json).length % 8)) % 8;
  json += " ".repeat(pad);
  const metaBytes = new TextEncoder().encode(json);
  const T = t.trees;
  const N = t.intercept.length;
  const C = t.coefFeature.length;
  const total = HEADER + metaBytes.length + 4 * (T + 1) + 12 * N + 12 * C + 4;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  buf.set(EIF_MAGIC, 0);
  dv.setUint32(8, EIF_FORMAT_VERSION, true);
  dv.setUint32(12, total, true);
  dv.setUint32(16, metaBytes.length, true);
  dv.setUint32(20, T, true);
  dv.setUint32(24, N, true);
  dv.setUint32(28, C, true);
  buf.set(metaBytes, HEADER);
  let o = HEADER + metaBytes.length;
  for (let i = 0; i <= T; i++, o += 4) dv.setUint32(o, t.treeStart[i], true);
  for (let i = 0; i < N; i++, o += 4) dv.setUint32(o, t.coefStart[i + 1] - t.coefStart[i], true);
  for (let i = 0; i < N; i++, o += 8) dv.setFloat64(o, t.coefStart[i + 1] > t.coefStart[i] ? t.intercept[i] : t.leafSize[i], true);
  for (let i = 0; i < C; i++, o += 4) dv.setUint32(o, t.coefFeature[i], true);
  for (let i = 0; i < C; i++, o += 8) dv.setFloat64(o, t.coefValue[i], true);
  dv.setUint32(o, crc32(buf.subarray(0, o)), true);
  return buf;
}

/** Decode and check an extended model file's container; throws ModelFileError saying what is wrong. */
export function decodeExtendedModel(bytes: Uint8Array): { trees: HyperplaneTrees; meta: unknown } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("a model must be given as a Uint8Array of the file's bytes");
  if (bytes.length === 0) throw new ModelFileError("truncated", "model file is truncated: it is empty (0 bytes)");
  const starts = (magic: Uint8Array): boolean => magic.every((b, i) => bytes[i] === b);
  if (!starts(EIF_MAGIC)) {
    if (bytes.length >= FOREST_MAGIC.length && starts(FOREST_MAGIC)) {
      throw new ModelFileError("wrong-magic", "not an extended isolation forest model: this is a standard isolation forest (load it with IsolationForest)");
    }
    throw new ModelFileError("wrong-magic", "not an extended isolation forest model: the file does not start with the magic bytes 89 4C 47 45 0D 0A 1A 0A");
  }
  if (bytes.length < 16) throw new ModelFileError("truncated", `model file is truncated: ${bytes.length} bytes, shorter than the 16-byte preamble`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  const total = dv.getUint32(12, true);
  if (bytes.length < total) throw new ModelFileError("truncated", `model file is truncated: it has ${bytes.length} bytes but its header says ${total}`);
  if (bytes.length > total) {
    throw new ModelFileError("malformed", `model file is damaged: ${bytes.length - total} unexpected bytes after the declared end (${total} bytes)`);
  }
  if (total < HEADER + 4) throw new ModelFileError("malformed", `model file is damaged: declared length ${total} is too small`);
  const stored = dv.getUint32(total - 4, true);
  const actual = crc32(bytes.subarray(0, total - 4));
  if (stored !== actual) {
    throw new ModelFileError(
      "checksum",
      `model file is damaged: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}); the file was corrupted after it was written`,
    );
  }
  if (version > EIF_FORMAT_VERSION) {
    throw new ModelFileError(
      "newer-version",
      `model file format version ${version} is newer than this logforest reads (${EIF_FORMAT_VERSION}); upgrade logforest to load it`,
    );
  }
  if (version < 1) throw new ModelFileError("malformed", `model file has an invalid format version ${version}`);
  const metaLength = dv.getUint32(16, true);
  const T = dv.getUint32(20, true);
  const N = dv.getUint32(24, true);
  const C = dv.getUint32(28, true);
  if (HEADER + metaLength + 4 * (T + 1) + 12 * N + 12 * C + 4 !== total) {
    throw new ModelFileError(
      "malformed",
      `model file is damaged: section sizes (meta ${metaLength}, ${T} trees, ${N} nodes, ${C} coefficients) do not add up to ${total} bytes`,
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER, HEADER + metaLength)));
  } catch (e) {
    throw new ModelFileError("malformed", `model file is damaged: its metadata is not valid JSON (${(e as Error).message})`);
  }
  let o = HEADER + metaLength;
  const treeStart = new Uint32Array(T + 1);
  for (let i = 0; i <= T; i++, o += 4) treeStart[i] = dv.getUint32(o, true);
  const coefStart = new Uint32Array(N + 1);
  for (let i = 0; i < N; i++, o += 4) coefStart[i + 1] = coefStart[i] + dv.getUint32(o, true);
  if (coefStart[N] !== C) throw malformed(`node coefficient counts add up to ${coefStart[N]}, not ${C}`);
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
  const right = linkRightChildren(treeStart, coefStart);
  return { trees: { trees: T, treeStart, coefStart, coefFeature, coefValue, intercept, leafSize, right }, meta };
}

/** Rebuild right-child indices from the preorder, checking every tree is a whole binary tree ending where the next begins. */
function linkRightChildren(treeStart: Uint32Array, coefStart: Uint32Array): Uint32Array {
  const N = coefStart.length - 1;
  const right = new Uint32Array(N);
  const T = treeStart.length - 1;
  if (treeStart[0] !== 0 || treeStart[T] !== N) throw malformed("tree offsets do not cover the node array");
  // Internal nodes on the path to the current node, and whether we are in their right subtree.
  const open: number[] = [];
  const inRight: boolean[] = [];
  for (let t = 0; t < T; t++) {
    const base = treeStart[t];
    const end = treeStart[t + 1];
    let i = base;
    for (;;) {
      if (i >= end) throw malformed(`tree ${t} ends in the middle of a subtree`);
      if (coefStart[i + 1] > coefStart[i]) {
        open.push(i);
        inRight.push(false);
        i++;
        continue;
      }
      i++; // a leaf closes every ancestor whose right subtree it ends
      while (inRight.length > 0 && inRight[inRight.length - 1]) {
        open.pop();
        inRight.pop();
      }
      if (open.length === 0) break;
      right[open[open.length - 1]] = i - base;
      inRight[inRight.length - 1] = true;
    }
    if (i !== end) throw malformed(`tree ${t} has ${end - i} nodes after its last leaf`);
  }
  return right;
}

function malformed(what: string): ModelFileError {
  return new ModelFileError("malformed", `model file is damaged: ${what}`);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function checkMeta(meta: unknown): Omit<ExtendedMeta, "format"> {
  if (typeof meta !== "object" || meta === null) throw malformed("metadata is not an object");
  const m = meta as Partial<ExtendedMeta>;
  if (m.format !== FORMAT_NAME) throw malformed(`metadata format is ${JSON.stringify(m.format)}, not an extended isolation forest`);
  const posInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1;
  if (!posInt(m.cols) || !posInt(m.sampleSize) || typeof m.height !== "number" || m.height !== heightLimit(m.sampleSize)) {
    throw malformed("metadata has an invalid shape (cols, sampleSize or height)");
  }
  if (typeof m.threshold !== "number" || !Number.isFinite(m.threshold)) throw malformed("metadata has no valid threshold");
  const o = m.options;
  if (typeof o !== "object" || o === null) throw malformed("metadata has no options");
  const ext = o.extensionLevel;
  if (typeof ext !== "number" || !Number.isInteger(ext) || ext < 0 || ext > m.cols - 1) {
    throw malformed(`extensionLevel ${String(ext)} is not in [0, ${m.cols - 1}]`);
  }
  const names = m.featureNames ?? null;
  if (names !== null && (!Array.isArray(names) || names.length !== m.cols)) throw malformed("feature names do not match the columns");
  return {
    cols: m.cols,
    sampleSize: m.sampleSize,
    height: m.height,
    threshold: m.threshold,
    options: o,
    featureNames: names,
    trainedRows: typeof m.trainedRows === "number" ? m.trainedRows : 0,
    createdAt: typeof m.createdAt === "string" ? m.createdAt : "",
    metadata: typeof m.metadata === "object" && m.metadata !== null ? m.metadata : {},
  };
}

/** Every node must be one the scorers can walk safely: features in range, finite values, leaves within the height. */
function checkTrees(t: HyperplaneTrees, m: Omit<ExtendedMeta, "format">): void {
  if (t.trees !== m.options.trees) throw malformed(`it holds ${t.trees} trees but its options say ${m.options.trees}`);
  const maxCount = m.options.extensionLevel + 1;
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    const stack: Array<[number, number]> = [[0, 0]];
    while (stack.length > 0) {
      const [id, depth] = stack.pop() as [number, number];
      const node = base + id;
      const from = t.coefStart[node];
      const to = t.coefStart[node + 1];
      if (from === to) {
        if (t.leafSize[node] > m.sampleSize) throw malformed(`tree ${tree} has an invalid leaf at node ${id}`);
        continue;
      }
      let ok = depth < m.height && to - from <= maxCount;
      for (let k = from; k < to && ok; k++) ok = t.coefFeature[k] < m.cols && Number.isFinite(t.coefValue[k]);
      if (!ok) throw malformed(`tree ${tree} has an invalid split at node ${id}`);
      stack.push([t.right[node], depth + 1], [id + 1, depth + 1]);
    }
  }
}
