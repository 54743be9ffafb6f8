/** Shared test data: seeded tables with known outliers. */
import { ModelFileError, crc32 } from "../src/forest/model-file.js";
import { Rng } from "../src/forest/random.js";
import type { Readable, Writable } from "node:stream";
import { detect, type DetectOptions } from "../src/runtime/detect.js";
import type { DetectRunResult, OutputOptions, SinkOptions } from "../src/runtime/run-detect.js";
import type { RetrainOptions } from "../src/streams/retrain.js";

/** n inliers from two Gaussian clusters in d dimensions, then `outliers` rows far out. */
export function clusteredTable(seed: number, n: number, d: number, outliers: number): { X: number[][]; isOutlier: boolean[] } {
  const rng = new Rng(seed);
  const X: number[][] = [];
  const isOutlier: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const centre = i % 2 === 0 ? 2 : -2;
    X.push(Array.from({ length: d }, () => centre + 0.3 * rng.normal()));
    isOutlier.push(false);
  }
  for (let i = 0; i < outliers; i++) {
    X.push(Array.from({ length: d }, () => (rng.next() < 0.5 ? -1 : 1) * (6 + 2 * rng.next())));
    isOutlier.push(true);
  }
  return { X, isOutlier };
}

/** Uniform random rows in [0, scale)^d. */
export function uniformTable(seed: number, n: number, d: number, scale = 1): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => scale * rng.next()));
}

/** Row-major copy of a number[][] table. */
export function dense(X: number[][]): { data: Float64Array; rows: number; cols: number } {
  const cols = X[0].length;
  const data = new Float64Array(X.length * cols);
  X.forEach((row, r) => data.set(row, r * cols));
  return { data, rows: X.length, cols };
}

export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** mulberry32: a tiny seeded generator of numbers in [0, 1), for reproducible random cases. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The ModelFileError problem `load` refuses the bytes with, or "loaded". */
export function problemOf(load: (b: Uint8Array) => unknown, b: Uint8Array): string {
  try {
    load(b);
  } catch (e) {
    if (e instanceof ModelFileError) return e.problem;
    throw e;
  }
  return "loaded";
}

/** Rewrite a model file's trailing CRC so that a deliberate edit is not caught as damage. */
export function resealed(b: Uint8Array): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(c.length - 4, crc32(c.subarray(0, c.length - 4)), true);
  return c;
}

/** The options of a detection run in one object, as the tests write them; detectFlat sorts them by concern (src/runtime/detect.ts). */
export interface FlatDetectOptions {
  model: DetectOptions["model"]["model"];
  input?: string;
  follow?: string[];
  stdin?: Readable;
  positions?: string;
  start?: "end" | "beginning";
  maxLineBytes?: number;
  workers?: number;
  durationSeconds?: number;
  format?: string;
  fields?: Readonly<Record<string, string>>;
  latencyUnit?: string;
  retrain?: Partial<RetrainOptions>;
  metricScore?: "likelihood" | "raw";
  adaptEvery?: number;
  rules?: unknown;
  signal?: AbortSignal;
  webhook?: SinkOptions["webhook"];
  exec?: SinkOptions["exec"];
  sinkDrainMs?: number;
  onSinkProblem?: (m: string) => void;
  alerts?: string;
  scores?: string;
  out?: Writable | null;
  pretty?: boolean;
  metrics?: OutputOptions["metrics"];
  onStart?: OutputOptions["onStart"];
  onAlert?: OutputOptions["onAlert"];
  onBatch?: OutputOptions["onBatch"];
  onScored?: OutputOptions["onScored"];
}

/** detect() with the options of FlatDetectOptions. */
export function detectFlat(o: FlatDetectOptions): Promise<DetectRunResult> {
  return detect({
    input: { file: o.input, follow: o.follow, stdin: o.stdin, positions: o.positions, start: o.start, maxLineBytes: o.maxLineBytes, workers: o.workers, durationSeconds: o.durationSeconds },
    model: { model: o.model, format: o.format, fields: o.fields, latencyUnit: o.latencyUnit, retrain: o.retrain, metricScore: o.metricScore, adaptEvery: o.adaptEvery },
    rules: o.rules,
    outputs: { alerts: o.alerts, scores: o.scores, out: o.out, pretty: o.pretty, metrics: o.metrics, onStart: o.onStart, onAlert: o.onAlert, onBatch: o.onBatch, onScored: o.onScored },
    sinks: { webhook: o.webhook, exec: o.exec, drainMs: o.sinkDrainMs, onProblem: o.onSinkProblem },
    signal: o.signal,
  });
}
