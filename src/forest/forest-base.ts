/**
 * What IsolationForest and ExtendedIsolationForest share whatever their trees: the
 * fields a fitted forest carries into its model file, scikit-learn's conventions on
 * top of score(), and the steps of fit, score, save and load around the trees.
 */
import { readFileSync, writeFileSync, renameSync, openSync, fsyncSync, closeSync, unlinkSync } from "node:fs";
import { asRows, assertFinite, type Matrix, type Rows } from "./matrix.js";
import { ModelFileError, malformed } from "./model-file.js";
import { heightLimit, MAX_SAMPLE_SIZE, MAX_TREES } from "./options.js";
import { averagePathLength } from "./reference.js";

/** Which scorer computes the scores: the WASM kernels (default) or the plain-TS reference. */
export type Backend = "wasm" | "js";

/** What a model file's metadata holds besides its format tag and the trees; O: the options but featureNames. */
export interface ForestMeta<O> {
  cols: number;
  sampleSize: number;
  height: number;
  threshold: number;
  options: O;
  featureNames: string[] | null;
  trainedRows: number;
  createdAt: string;
  metadata: Record<string, unknown>;
}

/** A forest's metadata fields and the scikit-learn methods built on its score(); S: the options of score. */
export abstract class ForestBase<Trees extends { readonly trees: number }, O, S> {
  /** Columns (features) per row. */
  readonly cols: number;
  /** Rows each tree was grown on (psi). */
  readonly sampleSize: number;
  /** Height limit of every tree: ceil(log2(sampleSize)). */
  readonly height: number;
  /** Anomaly threshold on s: predict() flags rows with s > threshold. */
  readonly threshold: number;
  /** The options the forest was grown with, resolved against the training table. */
  readonly options: Readonly<O & { featureNames: string[] | null }>;
  /** Rows in the training table. */
  readonly trainedRows: number;
  /** When the forest was grown (ISO 8601). */
  readonly createdAt: string;
  /** Free-form JSON saved with the model (the log pipeline keeps its feature spec here). */
  metadata: Record<string, unknown>;

  protected readonly t: Trees;
  protected readonly cPsi: number;

  protected constructor(t: Trees, meta: ForestMeta<O>) {
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

  /** Number of trees. */
  get trees(): number {
    return this.t.trees;
  }

  /** Feature names given at fit, or null. */
  get featureNames(): string[] | null {
    return this.options.featureNames;
  }

  /** Anomaly score s(x) = 2^(-E[h(x)] / c(sampleSize)) in (0, 1]; higher is more anomalous. */
  abstract score(X: Matrix, opts?: S): Float64Array;

  /** scikit-learn's score_samples: -s(x) (lower is more anomalous). */
  scoreSamples(X: Matrix, opts?: S): Float64Array {
    const s = this.score(X, opts);
    for (let i = 0; i < s.length; i++) s[i] = -s[i];
    return s;
  }

  /** scikit-learn's decision_function: threshold - s(x); negative for anomalies. */
  decisionFunction(X: Matrix, opts?: S): Float64Array {
    const s = this.score(X, opts);
    for (let i = 0; i < s.length; i++) s[i] = this.threshold - s[i];
    return s;
  }

  /** 1 for rows with s(x) > threshold (anomalies), else 0. */
  predict(X: Matrix, opts?: S): Uint8Array {
    const s = this.score(X, opts);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s[i] > this.threshold ? 1 : 0;
    return out;
  }

  /** The model file's bytes. */
  abstract toBytes(): Uint8Array;

  /** Write the model file atomically (temporary file, fsync, rename). */
  save(path: string): void {
    writeFileAtomic(path, this.toBytes());
  }

  /** X as rows, refused unless it has the columns the forest was trained on. */
  protected rowsToScore(X: Matrix): Rows {
    const rows = asRows(X);
    if (rows.cols !== this.cols) throw new RangeError(`X has ${rows.cols} columns but the forest was trained on ${this.cols}`);
    return rows;
  }

  /**
   * The "js" backend's loop: rows copied out a chunk of about 64K values at a time,
   * checked finite, and scored by `scoreChunk(x, n, out)` (n rows of x into out).
   */
  protected scoreInChunks(rows: Rows, scoreChunk: (x: Float64Array, n: number, out: Float64Array) => void): Float64Array {
    const out = new Float64Array(rows.rows);
    const chunk = Math.max(256, Math.floor(65536 / this.cols));
    const buf = new Float64Array(chunk * this.cols);
    for (let from = 0; from < rows.rows; from += chunk) {
      const n = Math.min(chunk, rows.rows - from);
      rows.copy(from, n, buf);
      assertFinite(buf, n, this.cols, from);
      scoreChunk(buf, n, out.subarray(from, from + n));
    }
    return out;
  }

  /** The model file's metadata, in the order it is written. */
  protected fileMeta<F extends string>(format: F, options: O): { format: F } & ForestMeta<O> {
    return {
      format,
      cols: this.cols,
      sampleSize: this.sampleSize,
      height: this.height,
      threshold: this.threshold,
      options,
      featureNames: this.options.featureNames,
      trainedRows: this.trainedRows,
      createdAt: this.createdAt,
      metadata: this.metadata,
    };
  }
}

/** The score option every forest takes, checked: "wasm" (default) or "js". */
export function checkBackend(backend: Backend | undefined): Backend {
  const b = backend ?? "wasm";
  if (b !== "wasm" && b !== "js") throw new RangeError(`backend must be "wasm" or "js", got ${JSON.stringify(b)}`);
  return b;
}

/** The resolved options fitted() reads; each forest's have more. */
interface FitOptions {
  sampleSize: number;
  contamination: "auto" | number;
  featureNames: string[] | null;
}

/**
 * The end of fit: `make` builds the forest grown on `rows` with options `o`; with a
 * numeric contamination it is built again with scikit-learn's threshold, the
 * (1 - contamination) quantile of the training scores.
 */
export function fitted<O extends FitOptions, F extends { score(X: Matrix): Float64Array }>(
  X: Matrix, rows: Rows, o: O, make: (meta: ForestMeta<Omit<O, "featureNames">>) => F,
): F {
  const { featureNames, ...options } = o;
  const meta = {
    cols: rows.cols,
    sampleSize: o.sampleSize,
    height: heightLimit(o.sampleSize),
    threshold: 0.5,
    options,
    featureNames,
    trainedRows: rows.rows,
    createdAt: new Date().toISOString(),
    metadata: {},
  };
  const forest = make(meta);
  if (o.contamination === "auto") return forest;
  const threshold = quantile(forest.score(X), 1 - o.contamination);
  return make({ ...meta, threshold });
}

/**
 * Columns a model file may declare. Nothing in a file ties its column count to its
 * size, and a scorer holds 256 rows of them (256 x 65,536 x 8 bytes = 128 MiB at most).
 */
export const MAX_MODEL_COLS = 65_536;

/**
 * A model file's metadata, checked as far as every forest's agree: the format tag
 * (`format`, else "not `kind`"), the shape, threshold, the shared options (each in
 * the range fit accepts), feature names and metadata object. `checkOptions` checks
 * what only one forest's options hold, right after they are found.
 */
export function checkMeta<O extends object>(meta: unknown, format: string, kind: string, checkOptions?: (o: O, cols: number) => void): ForestMeta<O> {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw malformed("metadata is not an object");
  const m = meta as Partial<ForestMeta<O> & { format: string }>;
  if (m.format !== format) throw malformed(`metadata format is ${JSON.stringify(m.format)}, not ${kind}`);
  if (!intIn(m.cols, 1, MAX_MODEL_COLS) || !intIn(m.sampleSize, 1, MAX_SAMPLE_SIZE) || typeof m.height !== "number"
    || m.height !== heightLimit(m.sampleSize)) {
    throw malformed(`metadata has an invalid shape (cols in [1, ${MAX_MODEL_COLS}], sampleSize in [1, ${MAX_SAMPLE_SIZE}] or height)`);
  }
  if (typeof m.threshold !== "number" || !Number.isFinite(m.threshold)) throw malformed("metadata has no valid threshold");
  if (typeof m.options !== "object" || m.options === null || Array.isArray(m.options)) throw malformed("metadata has no options");
  checkSharedOptions(m.options as Record<string, unknown>, m.sampleSize);
  checkOptions?.(m.options, m.cols);
  const names = m.featureNames ?? null;
  if (names !== null && (!Array.isArray(names) || names.length !== m.cols || names.some((n) => typeof n !== "string"))) {
    throw malformed("feature names are not one string per column");
  }
  const extra = m.metadata;
  if (extra !== undefined && (typeof extra !== "object" || extra === null || Array.isArray(extra))) throw malformed("its metadata field is not an object");
  return {
    cols: m.cols,
    sampleSize: m.sampleSize,
    height: m.height,
    threshold: m.threshold,
    options: m.options,
    featureNames: names,
    trainedRows: intIn(m.trainedRows, 0, Number.MAX_SAFE_INTEGER) ? m.trainedRows : 0,
    createdAt: typeof m.createdAt === "string" ? m.createdAt : "",
    metadata: extra ?? {},
  };
}

function intIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

/** The options both forests save, in the ranges fit accepts: a loaded model can be refit (retraining) and saved again. */
function checkSharedOptions(o: Record<string, unknown>, sampleSize: number): void {
  if (!intIn(o.trees, 1, MAX_TREES)) throw malformed(`options.trees ${String(o.trees)} is not an integer in [1, ${MAX_TREES}]`);
  if (o.sampleSize !== sampleSize) throw malformed(`options.sampleSize ${String(o.sampleSize)} is not the sampleSize ${sampleSize}`);
  const c = o.contamination;
  if (c !== "auto" && !(typeof c === "number" && c > 0 && c <= 0.5)) throw malformed(`options.contamination ${String(c)} is not "auto" or in (0, 0.5]`);
  if (!intIn(o.seed, 0, Number.MAX_SAFE_INTEGER)) throw malformed(`options.seed ${String(o.seed)} is not an integer in [0, 2^53 - 1]`);
}

/**
 * Visit every node of every tree in preorder with its depth: `node` is its index in
 * the node arrays, `id` its index within `tree`. `visit` returns true to go on into
 * the node's children (left at id + 1, right at right[node]).
 */
export function walkTrees(
  t: { readonly trees: number; readonly treeStart: Uint32Array; readonly right: Uint32Array },
  visit: (node: number, depth: number, tree: number, id: number) => boolean,
): void {
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    const stack: Array<[number, number]> = [[0, 0]];
    while (stack.length > 0) {
      const [id, depth] = stack.pop() as [number, number];
      const node = base + id;
      if (visit(node, depth, tree, id)) stack.push([t.right[node], depth + 1], [id + 1, depth + 1]);
    }
  }
}

/** Read a model file with `fromBytes`; a refused file's message starts with its path. */
export function loadFile<F>(path: string, fromBytes: (bytes: Uint8Array) => F): F {
  try {
    return fromBytes(readFileSync(path));
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(e.problem, `${path}: ${e.message}`);
    throw e;
  }
}

/** Linear-interpolation quantile (numpy's default) of the values, q in [0, 1]. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Write a file so that a crash never leaves it half-written: temp file, fsync, rename. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file may not exist
    }
    throw e;
  }
}
