import type { CommandModule } from "yargs";
import { BENCH_DEFAULTS, runBench } from "../src/bench.js";
import type { Backend } from "../src/forest.js";

interface BenchArgs {
  data?: string;
  rows: number;
  cols: number;
  trees: number;
  "sample-size": number;
  runs: number;
  backend: string[];
  seed: number;
  json: boolean;
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: "bench",
  describe: "Measure fit time and scoring throughput of the WASM and TypeScript scorers",
  builder: (y) =>
    y
      .option("data", { type: "string", describe: "numeric CSV with a header (a `label` column gives ROC AUC); default: synthetic" })
      .option("rows", { type: "number", default: BENCH_DEFAULTS.rows, describe: "rows of the synthetic table" })
      .option("cols", { type: "number", default: BENCH_DEFAULTS.cols, describe: "columns of the synthetic table" })
      .option("trees", { type: "number", default: BENCH_DEFAULTS.trees, describe: "trees in the forest" })
      .option("sample-size", { type: "number", default: BENCH_DEFAULTS.sampleSize, describe: "rows per tree" })
      .option("runs", { type: "number", default: BENCH_DEFAULTS.runs, describe: "timed runs; the median is reported" })
      .option("backend", { type: "string", array: true, choices: ["wasm", "js"], default: BENCH_DEFAULTS.backends, describe: "scorers to measure" })
      .option("seed", { type: "number", default: BENCH_DEFAULTS.seed, describe: "seed of the table and the forest" })
      .option("json", { type: "boolean", default: false, describe: "one JSON object per backend on stdout" }),
  handler: (a) => {
    for (const [name, v, lo] of [["rows", a.rows, 1], ["cols", a.cols, 1], ["runs", a.runs, 1]] as const) {
      if (!Number.isInteger(v) || v < lo) throw new RangeError(`--${name} must be an integer >= ${lo}, got ${v}`);
    }
    const results = runBench(
      { data: a.data, rows: a.rows, cols: a.cols, trees: a.trees, sampleSize: a["sample-size"], runs: a.runs, backends: a.backend as Backend[], seed: a.seed },
      a.json ? () => {} : (line) => console.error(line),
    );
    if (a.json) {
      for (const r of results) console.log(JSON.stringify(r));
      return;
    }
    const wasm = results.find((r) => r.backend === "wasm");
    const js = results.find((r) => r.backend === "js");
    console.log(`fit: ${results[0].fit_ms.toFixed(2)} ms (${results[0].trees} trees x ${results[0].sample_size} rows, built in WASM)`);
    for (const r of results) {
      console.log(`${r.backend.padEnd(4)} ${r.rows_per_s.toLocaleString("en-US").padStart(12)} rows/s${r.auc === null ? "" : `  AUC ${r.auc.toFixed(4)}`}`);
    }
    if (wasm && js) console.log(`wasm / js: ${(wasm.rows_per_s / js.rows_per_s).toFixed(1)}x`);
  },
};
