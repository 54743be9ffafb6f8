/**
 * IsolationForest: the typed, synchronous API over the WASM kernels and the
 * TypeScript reference scorer.
 */
import { ForestBase, checkBackend, checkMeta, fitted, loadFile, walkTrees, type Backend, type ForestMeta } from "./forest-base.js";
import { asRows, assertFinite, checkRowValues, throwNonFinite, type Matrix, type Rows } from "./matrix.js";
import { decodeModel, encodeModel, malformed } from "./model-file.js";
import { heightLimit, resolveOptions, type ForestOptions, type ResolvedOptions } from "./options.js";
import { ScoringPool, checkThreads, poolReaper, threadsFor, type Threads } from "./parallel.js";
import { leafPathLengths, scoreReference } from "./reference.js";
import { WasmScorer, type CompactTrees } from "../wasm.js";
import { buildForest, firstNonFiniteIn } from "./build.js";

export { quantile, type Backend } from "./forest-base.js";

/** Options of score, predict, scoreSamples and decisionFunction. */
export interface ScoreOptions {
  /** "wasm" (default) or "js", the reference scorer: both give the same numbers. */
  backend?: Backend;
  /**
   * WASM backend: threads to score on, the calling thread included: "auto"
   * (default: every core, up to 8, from 32768 rows on; one thread below) or an
   * integer in [1, 256]. Worker threads start on first use and are reused; the
   * scores are the same whatever the count.
   */
  threads?: Threads;
}

/**
 * A scorer bound to one WASM instance, for callers that write feature rows straight
 * into WASM memory (the log pipeline). Views are valid until the next call.
 */
export interface BatchScorer {
  /** Columns per row. */
  readonly cols: number;
  /** The input area for `rows` rows, row-major; fill it, then call run(rows). */
  input(rows: number): Float64Array;
  /** Score the first `rows` rows of the input area; returns s(x) per row. */
  run(rows: number): Float64Array;
}

const FORMAT_NAME = "logforest-isolation-forest";

/** An Isolation Forest (Liu, Ting & Zhou 2008) with scikit-learn's semantics. */
export class IsolationForest extends ForestBase<CompactTrees, Omit<ResolvedOptions, "featureNames">, ScoreOptions> {
  private wasm: WasmScorer | null = null;
  private pool: ScoringPool | null = null;
  private jsLeaves: Float64Array | null = null;

  /** Grow a forest on X (rows of numbers). Synchronous; the same seed gives the same forest everywhere. */
  static fit(X: Matrix, options?: ForestOptions): IsolationForest {
    const rows = asRows(X);
    const o = resolveOptions(options, rows.rows, rows.cols);
    // A dense table is checked whole in growTrees' one pass over it.
    if (denseData(X) === null) checkAllFinite(X, rows);
    const trees = growTrees(X, rows, o);
    return fitted(X, rows, o, (meta) => new IsolationForest(trees, meta));
  }

  /** The compact trees (read-only; for explanations and tests, not a stable API). */
  get compactTrees(): CompactTrees {
    return this.t;
  }

  /** Anomaly score s(x) = 2^(-E[h(x)] / c(sampleSize)) in (0, 1]; higher is more anomalous. */
  override score(X: Matrix, opts: ScoreOptions = {}): Float64Array {
    const backend = checkBackend(opts.backend);
    const threads = checkThreads(opts.threads ?? "auto");
    const rows = this.rowsToScore(X);
    return backend === "wasm" ? this.scoreWasm(rows, threadsFor(threads, rows.rows)) : this.scoreJs(rows);
  }

  /** Terminate this forest's scoring workers, if any (they never keep the process alive; this frees them now). */
  close(): void {
    if (this.pool === null) return;
    poolReaper.unregister(this);
    this.pool.close();
    this.pool = null;
  }

  /** A scorer with its own WASM instance whose input area the caller fills in place. */
  batchScorer(): BatchScorer {
    const w = new WasmScorer(this.t, this.cols, this.height, this.sampleSize);
    return { cols: this.cols, input: (n) => w.input(n), run: (n) => w.run(n) };
  }

  /** The model file's bytes (see forest/model-file.ts for the format). */
  override toBytes(): Uint8Array {
    // The five fit options in a fixed order, whatever a loaded file held.
    const { trees, sampleSize, contamination, maxFeatures, seed } = this.options;
    return encodeModel(this.t, this.fileMeta(FORMAT_NAME, { trees, sampleSize, contamination, maxFeatures, seed }));
  }

  /** Load a forest from toBytes() output; throws ModelFileError saying why a file is refused. */
  static fromBytes(bytes: Uint8Array): IsolationForest {
    const { trees, meta } = decodeModel(bytes);
    const m = checkMeta<Omit<ResolvedOptions, "featureNames">>(meta, FORMAT_NAME, "an isolation forest", checkMaxFeatures);
    checkTrees(trees, m);
    return new IsolationForest(trees, m);
  }

  /** Read a model file written by save(). */
  static load(path: string): IsolationForest {
    return loadFile(path, IsolationForest.fromBytes);
  }

  private scoreWasm(rows: Rows, threads: number): Float64Array {
    this.wasm ??= new WasmScorer(this.t, this.cols, this.height, this.sampleSize);
    const w = this.wasm;
    const out = new Float64Array(rows.rows);
    if (threads > 1) {
      if (this.pool !== null && this.pool.workers !== threads - 1) this.close();
      if (this.pool === null) {
        this.pool = new ScoringPool(w.image(), threads - 1);
        poolReaper.register(this, this.pool, this);
      }
      this.pool.score(rows, out, w, (row) => {
        const buf = new Float64Array(this.cols);
        rows.copy(row, 1, buf);
        assertFinite(buf, 1, this.cols, row);
        throw new Error(`internal: row ${row} was reported non-finite but is finite`);
      });
      return out;
    }
    const chunk = w.chunkRows;
    for (let from = 0; from < rows.rows; from += chunk) {
      const n = Math.min(chunk, rows.rows - from);
      const input = w.input(n);
      rows.copy(from, n, input);
      const bad = w.firstNonFinite(n);
      if (bad >= 0) throwNonFinite("X", from + Math.floor(bad / this.cols), bad % this.cols, input[bad]);
      out.set(w.run(n), from);
    }
    return out;
  }

  private scoreJs(rows: Rows): Float64Array {
    const leaves = (this.jsLeaves ??= leafPathLengths(this.t));
    return this.scoreInChunks(rows, (x, n, out) => scoreReference(this.t, leaves, this.cPsi, x, n, this.cols, out));
  }
}

/**
 * Refuse NaN and Infinity anywhere in X, naming the first. A dense table is
 * scanned in WASM with SIMD at about the speed of copying it (firstNonFiniteIn).
 */
export function checkAllFinite(X: Matrix, rows: Rows): void {
  const dense = denseData(X);
  if (dense !== null) {
    const bad = firstNonFiniteIn(dense);
    if (bad >= 0) throwNonFinite("X", Math.floor(bad / rows.cols), bad % rows.cols, dense[bad]);
    return;
  }
  if (Array.isArray(X)) checkRowValues(X, rows.cols, Math.max(1, Math.floor(65536 / rows.cols)));
}

/** The values of a dense table, or null for rows of numbers. */
function denseData(X: Matrix): Float64Array | null {
  return !Array.isArray(X) && "data" in X ? X.data : null;
}

/**
 * Draw the samples and grow the trees (WASM). A dense table streams through WASM
 * memory once, checked whole for NaN and Infinity on the way, its sampled rows
 * picked out in table order; rows of numbers have their sampled rows gathered and
 * checked (checkAllFinite checks the rest).
 */
export function growTrees(X: Matrix, rows: Rows, o: ResolvedOptions): CompactTrees {
  const cols = rows.cols;
  return buildForest({
    rows: rows.rows,
    cols,
    trees: o.trees,
    psi: o.sampleSize,
    height: heightLimit(o.sampleSize),
    maxFeatures: o.maxFeatures,
    seed: o.seed,
    table: denseData(X) ?? undefined,
    gatherRows(picks, dst) {
      for (let k = 0; k < picks.length; k++) rows.gather(picks[k], dst, k * cols, 1);
    },
    nonFinite: (row, col, value) => throwNonFinite("X", row, col, value),
  });
}

/** The standard forest's own option in a model file: maxFeatures within the columns. */
function checkMaxFeatures(o: Omit<ResolvedOptions, "featureNames">, cols: number): void {
  const k = o.maxFeatures;
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > cols) throw malformed(`maxFeatures ${String(k)} is not in [1, ${cols}]`);
}

/** Every node must be one the scorers can walk safely: features in range, leaves within the height. */
function checkTrees(t: CompactTrees, m: ForestMeta<Omit<ResolvedOptions, "featureNames">>): void {
  if (t.trees !== m.options.trees) throw malformed(`it holds ${t.trees} trees but its options say ${m.options.trees}`);
  walkTrees(t, (node, depth, tree, id) => {
    const f = t.feature[node];
    if (f < 0) {
      if (f !== -1 || t.leafSize[node] < 1 || t.leafSize[node] > m.sampleSize) throw malformed(`tree ${tree} has an invalid leaf at node ${id}`);
      return false;
    }
    if (f >= m.cols || depth >= m.height || !Number.isFinite(t.split[node])) throw malformed(`tree ${tree} has an invalid split at node ${id}`);
    return true;
  });
}
