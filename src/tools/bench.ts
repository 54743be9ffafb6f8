/**
 * `logforest bench`: fit time, scoring throughput of the WASM scorer against the
 * TypeScript reference, a batch-size sweep, and one thread against all cores, on
 * a CSV table or a seeded synthetic one. Every figure is a median of timed runs
 * after a warm-up (V8 compiles WASM lazily and tiers JS up per call).
 */
import { availableParallelism } from "node:os";
import { IsolationForest, checkAllFinite, growTrees } from "../forest/forest.js";
import { asRows } from "../forest/matrix.js";
import { resolveOptions } from "../forest/options.js";
import { Rng } from "../forest/random.js";
import { readCsvTable, rocAuc, type Table } from "./table.js";

/** Options of a benchmark run. */
export interface BenchOptions {
  /** A numeric CSV (header; optional `label` column); default: a synthetic table. */
  data?: string;
  /** Rows of the synthetic table. */
  rows: number;
  /** Columns of the synthetic table. */
  cols: number;
  trees: number;
  sampleSize: number;
  /** Timed runs per measurement (the median is reported). */
  runs: number;
  /** Rows the TS reference scores (it is slow; the rate is per row either way). */
  jsRows: number;
  /** Batch sizes of the sweep (rows per score call); 0 stands for the whole table. */
  batches: number[];
  /** Threads of the "all cores" measurement; 0 = every core. */
  threads: number;
  seed: number;
}

/** One measurement; `measure` says which, the other fields depend on it (JSON output names). */
export type BenchResult =
  | { measure: "fit"; fit_ms: number; build_ms: number; validate_ms: number; rows: number; cols: number; trees: number; sample_size: number }
  | { measure: "score"; backend: "wasm" | "js"; threads: 1; rows: number; rows_per_s: number; auc: number | null }
  | { measure: "wasm_vs_js"; ratio: number }
  | { measure: "batch"; batch: number; threads: "auto"; rows_per_s: number; calls: number }
  | { measure: "threads"; threads: number; rows: number; rows_per_s: number; speedup: number };

export const BENCH_DEFAULTS: BenchOptions = {
  rows: 1_000_000,
  cols: 8,
  trees: 100,
  sampleSize: 256,
  runs: 5,
  jsRows: 100_000,
  batches: [1, 64, 4096, 32768, 65536, 0],
  threads: 0,
  seed: 1,
};

/**
 * A seeded table: inliers from four Gaussian clusters, 1% uniform outliers
 * spread over a wider box, labelled 1.
 */
export function syntheticTable(rows: number, cols: number, seed: number): Table {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: cols }, () => 10 * rng.next()));
  const data = new Float64Array(rows * cols);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const outlier = rng.next() < 0.01;
    labels[r] = outlier ? 1 : 0;
    const centre = centres[rng.int(centres.length)];
    for (let c = 0; c < cols; c++) data[r * cols + c] = outlier ? -5 + 20 * rng.next() : centre[c] + rng.normal();
  }
  return { data, rows, cols, names: Array.from({ length: cols }, (_, i) => `f${i}`), labels };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Median ms of `runs` timed calls of fn after one untimed call. */
function medianMs(runs: number, fn: () => void): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(timeMs(fn));
  return median(times);
}

function slice(t: Table, rows: number): { data: Float64Array; rows: number; cols: number } {
  const n = Math.min(rows, t.rows);
  return { data: t.data.subarray(0, n * t.cols), rows: n, cols: t.cols };
}

/** Run the benchmark; `log` receives each result as it is measured. */
export function runBench(o: BenchOptions, log: (r: BenchResult) => void = () => {}): BenchResult[] {
  const table = o.data ? readCsvTable(o.data) : syntheticTable(o.rows, o.cols, o.seed);
  const results: BenchResult[] = [];
  const emit = (r: BenchResult): void => {
    results.push(r);
    log(r);
  };
  const fitOpts = { trees: o.trees, sampleSize: o.sampleSize, seed: o.seed };

  // Fit: the public call; growTrees alone (on a dense table: the one pass that checks
  // it whole and reads the sampled rows, then the trees); the NaN/Infinity scan alone.
  let forest = IsolationForest.fit(table, fitOpts);
  const fitMs = medianMs(o.runs, () => (forest = IsolationForest.fit(table, fitOpts)));
  const rows = asRows(table);
  const resolved = resolveOptions(fitOpts, rows.rows, rows.cols);
  const buildMs = medianMs(o.runs, () => growTrees(table, rows, resolved));
  const validateMs = medianMs(o.runs, () => checkAllFinite(table, rows));
  emit({
    measure: "fit", fit_ms: round(fitMs, 3), build_ms: round(buildMs, 3), validate_ms: round(validateMs, 3),
    rows: table.rows, cols: table.cols, trees: o.trees, sample_size: forest.sampleSize,
  });

  // WASM vs the TS reference, one thread each.
  const rates: Record<"wasm" | "js", number> = { wasm: 0, js: 0 };
  for (const backend of ["wasm", "js"] as const) {
    const X = backend === "js" ? slice(table, o.jsRows) : table;
    forest.score(slice(table, 4096), { backend, threads: 1 }); // warm-up on a small slice
    let scores: Float64Array = new Float64Array(0);
    const ms = medianMs(o.runs, () => (scores = forest.score(X, { backend, threads: 1 })));
    rates[backend] = X.rows / (ms / 1000);
    const labels = table.labels ? table.labels.subarray(0, X.rows) : null;
    emit({
      measure: "score", backend, threads: 1, rows: X.rows, rows_per_s: Math.round(rates[backend]),
      auc: labels ? round(rocAuc(scores, labels), 4) : null,
    });
  }
  emit({ measure: "wasm_vs_js", ratio: round(rates.wasm / rates.js, 1) });

  // Batch sizes, default threads ("auto"): how small calls fare (per-call overhead, the crossover).
  for (const size of o.batches) {
    const batch = size === 0 ? table.rows : Math.min(size, table.rows);
    const calls = Math.max(1, Math.min(Math.floor(200_000 / batch), 20_000));
    const X = slice(table, batch);
    const ms = medianMs(o.runs, () => {
      for (let i = 0; i < calls; i++) forest.score(X);
    });
    emit({ measure: "batch", batch, threads: "auto", rows_per_s: Math.round((batch * calls) / (ms / 1000)), calls });
  }

  // One thread against every core, on the whole table (the pool is already warm from the sweep).
  const all = o.threads > 0 ? o.threads : availableParallelism();
  let one = 0;
  for (const threads of all > 1 ? [1, all] : [1]) {
    const ms = medianMs(o.runs, () => forest.score(table, { threads }));
    const rate = table.rows / (ms / 1000);
    if (threads === 1) one = rate;
    emit({ measure: "threads", threads, rows: table.rows, rows_per_s: Math.round(rate), speedup: round(rate / one, 2) });
  }
  forest.close();
  return results;
}

/** A result as one line for people. */
export function describeResult(r: BenchResult): string {
  const n = (x: number): string => x.toLocaleString("en-US");
  switch (r.measure) {
    case "fit":
      return `fit ${r.trees} trees x ${r.sample_size} on ${n(r.rows)} x ${r.cols}: ${r.fit_ms.toFixed(2)} ms (build ${r.build_ms.toFixed(2)} ms, with the pass over a dense table; NaN/Infinity scan of the table alone ${r.validate_ms.toFixed(2)} ms)`;
    case "score":
      return `score ${r.backend.padEnd(4)} 1 thread: ${n(r.rows_per_s).padStart(11)} rows/s (${n(r.rows)} rows)${r.auc === null ? "" : `  AUC ${r.auc.toFixed(4)}`}`;
    case "wasm_vs_js":
      return `wasm / js: ${r.ratio}x`;
    case "batch":
      return `batch ${n(r.batch).padStart(9)} rows, threads auto: ${n(r.rows_per_s).padStart(11)} rows/s (${n(r.calls)} calls)`;
    case "threads":
      return `threads ${r.threads}: ${n(r.rows_per_s).padStart(11)} rows/s on ${n(r.rows)} rows (${r.speedup.toFixed(2)}x one thread)`;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
