/**
 * `logforest bench`: fit time and scoring throughput of the WASM scorer and the
 * TypeScript reference, on a CSV table or a seeded synthetic one.
 */
import { IsolationForest, type Backend } from "./forest.js";
import { Rng } from "./random.js";
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
  backends: Backend[];
  seed: number;
}

/** One backend's figures; field names are the JSON output's. */
export interface BenchResult {
  backend: Backend;
  /** Median fit time in ms (the build runs in WASM for every backend). */
  fit_ms: number;
  /** Median scoring throughput over the whole table. */
  rows_per_s: number;
  /** ROC AUC when the table has labels, else null. */
  auc: number | null;
  rows: number;
  cols: number;
  trees: number;
  sample_size: number;
  runs: number;
}

export const BENCH_DEFAULTS: BenchOptions = { rows: 1_000_000, cols: 8, trees: 100, sampleSize: 256, runs: 5, backends: ["wasm", "js"], seed: 1 };

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

/** Run the benchmark; `log` receives progress lines. */
export function runBench(o: BenchOptions, log: (line: string) => void = () => {}): BenchResult[] {
  const table = o.data ? readCsvTable(o.data) : syntheticTable(o.rows, o.cols, o.seed);
  log(`table: ${o.data ?? "synthetic"} (${table.rows} rows x ${table.cols} columns)`);
  const opts = { trees: o.trees, sampleSize: o.sampleSize, seed: o.seed };

  IsolationForest.fit(table, opts); // warm-up
  const fits: number[] = [];
  let forest = IsolationForest.fit(table, opts);
  for (let i = 0; i < o.runs; i++) fits.push(timeMs(() => (forest = IsolationForest.fit(table, opts))));
  const fitMs = median(fits);

  const results: BenchResult[] = [];
  for (const backend of o.backends) {
    // Warm up on a small slice first: V8 tiers wasm up per call, not mid-loop.
    const warm = Math.min(table.rows, 4096);
    forest.score({ data: table.data.subarray(0, warm * table.cols), rows: warm, cols: table.cols }, { backend });
    let scores: Float64Array = new Float64Array(0);
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) times.push(timeMs(() => (scores = forest.score(table, { backend }))));
    const t = median(times);
    const r: BenchResult = {
      backend,
      fit_ms: round(fitMs, 3),
      rows_per_s: Math.round(table.rows / (t / 1000)),
      auc: table.labels ? round(rocAuc(scores, table.labels), 4) : null,
      rows: table.rows,
      cols: table.cols,
      trees: o.trees,
      sample_size: forest.sampleSize,
      runs: o.runs,
    };
    log(`${backend}: ${r.rows_per_s.toLocaleString("en-US")} rows/s (median of ${o.runs}: ${t.toFixed(1)} ms)`);
    results.push(r);
  }
  return results;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
