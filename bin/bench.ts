import type { CommandModule } from "yargs";
import { benchDetect } from "../src/tools/bench-detect.js";
import { benchText, type TextBenchResult } from "../src/tools/bench-text.js";
import { checkWorkers } from "../src/runtime/pipeline.js";
import { BENCH_DEFAULTS, describeResult, runBench } from "../src/tools/bench.js";

interface BenchArgs {
  data?: string;
  rows: number;
  cols: number;
  trees: number;
  "sample-size": number;
  runs: number;
  "js-rows": number;
  batches: number[];
  threads: number;
  seed: number;
  json: boolean;
  "detect-lines": number;
  workers?: number[];
  "text-lines": number;
  drain?: string;
  "drain-lines": number;
  python: string;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: "bench",
  describe: "Measure fit time, WASM vs TypeScript scoring, batch sizes and one thread vs all cores",
  builder: (y) =>
    y
      .option("data", { type: "string", describe: "numeric CSV with a header (a `label` column gives ROC AUC); default: synthetic" })
      .option("rows", { type: "number", default: BENCH_DEFAULTS.rows, describe: "rows of the synthetic table" })
      .option("cols", { type: "number", default: BENCH_DEFAULTS.cols, describe: "columns of the synthetic table" })
      .option("trees", { type: "number", default: BENCH_DEFAULTS.trees, describe: "trees in the forest" })
      .option("sample-size", { type: "number", default: BENCH_DEFAULTS.sampleSize, describe: "rows per tree" })
      .option("runs", { type: "number", default: BENCH_DEFAULTS.runs, describe: "timed runs; the median is reported" })
      .option("js-rows", { type: "number", default: BENCH_DEFAULTS.jsRows, describe: "rows the TypeScript reference scores" })
      .option("batches", { type: "number", array: true, default: BENCH_DEFAULTS.batches, describe: "batch sizes of the sweep (0 = the whole table)" })
      .option("threads", { type: "number", default: BENCH_DEFAULTS.threads, describe: "threads of the all-cores measurement (0 = every core)" })
      .option("seed", { type: "number", default: BENCH_DEFAULTS.seed, describe: "seed of the table and the forest" })
      .option("json", { type: "boolean", default: false, describe: "one JSON object per measurement on stdout" })
      .option("detect-lines", { type: "number", default: 200_000, describe: "end-to-end detect --input on this many simulated lines per format (0: skip)" })
      .option("workers", { type: "number", array: true, describe: "detect --input's --workers for the end-to-end runs, several taking turns (default: detect's)" })
      .option("text-lines", { type: "number", default: 200_000, describe: "free text: template matching (one thread) and detect --input on this many simulated service-log lines (0: skip)" })
      .option("drain", { type: "string", describe: "free text: a folder holding logparser's Drain.py, timed on the same log beside ours (not part of logforest)" })
      .option("drain-lines", { type: "number", default: 20_000, describe: "free text: lines Drain parses (it runs at 5-10k lines/s)" })
      .option("python", { type: "string", default: "python3", describe: "the Python that runs Drain" }),
  handler: async (a) => {
    for (const [name, v, lo] of [["rows", a.rows, 1], ["cols", a.cols, 1], ["runs", a.runs, 1], ["js-rows", a["js-rows"], 1], ["threads", a.threads, 0]] as const) {
      if (!Number.isInteger(v) || v < lo) throw new RangeError(`--${name} must be an integer >= ${lo}, got ${v}`);
    }
    for (const w of a.workers ?? []) checkWorkers(w);
    for (const b of a.batches) {
      if (!Number.isInteger(b) || b < 0) throw new RangeError(`--batches must be integers >= 0, got ${b}`);
    }
    runBench(
      {
        data: a.data, rows: a.rows, cols: a.cols, trees: a.trees, sampleSize: a["sample-size"], runs: a.runs,
        jsRows: a["js-rows"], batches: a.batches, threads: a.threads, seed: a.seed,
      },
      (r) => console.log(a.json ? JSON.stringify(r) : describeResult(r)),
    );
    if (!Number.isInteger(a["detect-lines"]) || a["detect-lines"] < 0) {
      throw new RangeError(`--detect-lines must be an integer >= 0, got ${a["detect-lines"]}`);
    }
    if (!Number.isInteger(a["text-lines"]) || a["text-lines"] < 0) throw new RangeError(`--text-lines must be an integer >= 0, got ${a["text-lines"]}`);
    if (a["detect-lines"] > 0) {
      await benchDetect(a["detect-lines"], ["json", "combined"], Math.min(a.runs, 3), (r) =>
        console.log(a.json ? JSON.stringify(r) : `detect --input${r.workers > 0 ? ` --workers ${r.workers}` : ""}, ${r.format}: ${r.lines_per_s.toLocaleString("en-US")} lines/s, ${r.cpu_lines_per_s.toLocaleString("en-US")} per CPU-second (${r.lines.toLocaleString("en-US")} lines, ${r.ms} ms, ${r.alerts} alerts)`),
      a.workers ?? [undefined]);
    }
    if (a["text-lines"] > 0) {
      await benchText({ lines: a["text-lines"], runs: Math.min(a.runs, 3), drain: a.drain, drainLines: a["drain-lines"], python: a.python }, (r) =>
        console.log(a.json ? JSON.stringify(r) : describeText(r)));
    }
  },
};

function describeText(r: TextBenchResult): string {
  const n = (x: number): string => x.toLocaleString("en-US");
  if (r.measure === "text_match") return `free text, template matching (one thread): ${n(r.lines_per_s)} lines/s (${n(r.lines)} messages, ${r.ms} ms, ${n(r.unmatched ?? 0)} unmatched)`;
  if (r.measure === "text_detect") return `free text, detect --input (${r.workers ?? 0} workers): ${n(r.lines_per_s)} lines/s (${n(r.lines)} lines, ${r.ms} ms, ${r.alerts ?? 0} alerts)`;
  return `free text, Drain (logparser, Python): ${n(r.lines_per_s)} lines/s (${n(r.lines)} lines, ${r.ms} ms): ${(r.vs_text_match ?? 0) >= 1 ? `template matching is ${r.vs_text_match}x faster` : `template matching is ${r.vs_text_match}x its speed`}`;
}
