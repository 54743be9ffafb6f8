import type { Readable } from "node:stream";
import type { CommandModule } from "yargs";
import { ALL_FEATURES, type FeatureName } from "../src/streams/http/features.js";
import { FORMAT_NAMES, LATENCY_UNITS, type LatencyUnit } from "../src/streams/http/parse.js";
import { readLineBatches } from "../src/streams/lines.js";
import { TelemetryTrainer } from "../src/streams/metrics/telemetry.js";
import { describeSkipped, trainFromFile, TRAIN_DEFAULTS } from "../src/streams/http/train.js";
import { fileProgress } from "../src/runtime/progress.js";
import { checkInput, fieldsOf } from "./options.js";
import { kindOfFile, TEXT_TRAIN_OPTIONS, trainTextCommand } from "./train-text.js";
import { METRIC_TRAIN_OPTIONS, metricTrainOf, type MetricTrainArgs } from "./detect-metrics.js";

interface TrainArgs extends MetricTrainArgs {
  input: string;
  format: string;
  model: string;
  field?: string[];
  trees: number;
  "sample-size": number;
  seed: number;
  window: number;
  features?: string[];
  json: boolean;
  shingle: number;
  context: number;
  season: string;
  timestamp?: string;
  "latency-unit"?: string;
  "max-lines": number;
  "session-key"?: string;
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: "train",
  describe: "Learn what normal looks like from a log file and save a model",
  builder: (y) =>
    y
      .option("input", { type: "string", demandOption: true, describe: "log file to learn from (normal traffic); - reads stdin" })
      .option("format", { type: "string", choices: ["auto", ...FORMAT_NAMES, "csv", "text"], default: "auto", describe: "log format; csv: a telemetry stream (a header, a timestamp column and value columns); text: a free-text application log (auto finds it too)" })
      .option("shingle", { type: "number", default: 4, describe: "csv: the last k values of each series used as features" })
      .option("context", { type: "number", default: 0, describe: "csv: also each value against its rolling median over this many values, a longer-run level (0: none; else window to 4096)" })
      .option("season", { type: "string", choices: ["off", "day", "week"], default: "off", describe: "csv: also each value against the usual level of its hour of the day or week (UTC), learned as the stream goes (off: none; see docs/telemetry.md)" })
      .option("timestamp", { type: "string", describe: "csv: name of the timestamp column (default: ts, time or timestamp)" })
      .options(METRIC_TRAIN_OPTIONS)
      .option("model", { type: "string", default: "logforest.model", describe: "model file to write" })
      .option("field", { type: "string", array: true, describe: "JSON field mapping, e.g. latency=responseTime (repeatable)" })
      .option("trees", { type: "number", default: 100, describe: "trees in the forest" })
      .option("sample-size", { type: "number", default: 256, describe: "rows drawn to grow each tree" })
      .option("seed", { type: "number", default: 0, describe: "seed of the forest" })
      .option("window", { type: "number", default: TRAIN_DEFAULTS.windowSeconds, describe: "seconds in the sliding windows (rates, error shares)" })
      .option("features", { type: "string", array: true, choices: [...ALL_FEATURES], describe: "use only these features" })
      .option("latency-unit", { type: "string", choices: [...LATENCY_UNITS], describe: "unit of a latency written as a bare number (default: ms in JSON; guessed for a combined log's trailing number, asked when it cannot be told)" })
      .option("max-lines", {
        type: "number",
        default: TRAIN_DEFAULTS.maxLines,
        describe: "lines held to learn from; a longer log is sampled (seeded by --seed) and read twice, so memory stays bounded",
      })
      .options(TEXT_TRAIN_OPTIONS)
      .option("json", { type: "boolean", default: false, describe: "print the summary as JSON" }),
  handler: async (a) => {
    // A missing file or a directory: said now, before any work; "-" is stdin.
    const source = checkInput(a.input) ?? process.stdin;
    if (a.format === "csv") return trainCsv(a, source);
    if (a.format === "text" || (a.format === "auto" && typeof source === "string" && kindOfFile(source) === "text")) return trainTextCommand(a, source);
    const bar = fileProgress("reading", a.input, a.json);
    let pass = 1;
    const { forest, summary } = await trainFromFile(
      source,
      {
        format: a.format as "auto",
        fields: fieldsOf(a.field),
        windowSeconds: a.window,
        features: a.features as FeatureName[] | undefined,
        forest: { trees: a.trees, sampleSize: a["sample-size"], seed: a.seed },
        maxLines: a["max-lines"],
        ...(a["latency-unit"] !== undefined ? { latencyUnit: a["latency-unit"] as LatencyUnit } : {}),
      },
      (lines, bytes, p) => {
        if (p !== pass) bar.restart("features (pass 2)");
        pass = p;
        bar.update(bytes, lines);
      },
    ).finally(() => bar.stop());
    forest.save(a.model);
    if (a.json) {
      console.log(JSON.stringify({ model: a.model, ...summary }));
      return;
    }
    console.log(`trained on ${summary.parsed.toLocaleString("en-US")} of ${summary.lines.toLocaleString("en-US")} lines of ${a.input} (${summary.format}; ${describeSkipped(summary.skipped)})`);
    if (summary.sampled !== undefined) {
      console.log(`more than --max-lines ${a["max-lines"].toLocaleString("en-US")} lines: spec from a sample and every line's counts, forest and severity from a sample of ${summary.sampled.toLocaleString("en-US")} rows (seed ${a.seed})`);
    }
    console.log(`features (${summary.features.length}): ${summary.features.join(", ")}`);
    if (summary.latencyUnit) console.log(`latency: bare numbers read as ${summary.latencyUnit.unit} (${summary.latencyUnit.how}; --latency-unit to change)`);
    console.log(`routes learned: ${summary.routes}; severity 50 at score ${summary.scoreP99.toFixed(4)} (p99), 75 at ${summary.scoreP999.toFixed(4)} (p99.9)`);
    console.log(`forest: ${forest.trees} trees x ${forest.sampleSize} rows, fit ${summary.fitMs.toFixed(1)} ms; total ${(summary.totalMs / 1000).toFixed(2)} s`);
    console.log(`model written to ${a.model}`);
    for (const w of summary.warnings) console.error(`warning: ${w}`);
  },
};

/** `train --format csv`: a telemetry model (see src/streams/metrics/). */
async function trainCsv(a: TrainArgs, source: string | Readable): Promise<void> {
  const trainer = new TelemetryTrainer({
    timestamp: a.timestamp,
    k: a.shingle,
    context: a.context,
    season: a.season === "day" || a.season === "week" ? a.season : "off",
    ...metricTrainOf(a),
    maxRows: a["max-lines"],
    forest: { trees: a.trees, seed: a.seed, ...(a["sample-size"] !== 256 ? { sampleSize: a["sample-size"] } : {}) },
  });
  const bar = fileProgress("reading", a.input, a.json);
  let lines = 0;
  let bytes = 0;
  await readLineBatches(source, (batch) => {
    trainer.add(batch);
    lines += batch.length;
    for (const line of batch) bytes += line.length + 1;
    bar.update(bytes, lines);
  }).finally(() => bar.stop());
  const { forest, summary } = trainer.finish();
  forest.save(a.model);
  if (a.json) {
    console.log(JSON.stringify({ model: a.model, ...summary }));
    return;
  }
  console.log(`trained on ${summary.parsed.toLocaleString("en-US")} of ${summary.lines.toLocaleString("en-US")} lines of ${a.input} (csv; ${describeSkipped(summary.skipped)})`);
  if (summary.sampled !== undefined) {
    console.log(`more than --max-lines ${a["max-lines"].toLocaleString("en-US")} rows: every row through the features, forest and severity from a sample of ${summary.sampled.toLocaleString("en-US")} rows (seed ${a.seed})`);
  }
  console.log(`series: ${summary.series.join(", ")}; ${summary.features.length} features (shingles of ${summary.k}, changes, volatility, flat runs)`);
  console.log(`severity 50 at score ${summary.scoreP99.toFixed(4)} (p99), 75 at ${summary.scoreP999.toFixed(4)} (p99.9); fit ${summary.fitMs.toFixed(1)} ms`);
  console.log(`model written to ${a.model}`);
}
