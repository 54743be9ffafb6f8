import type { CommandModule } from "yargs";
import { formatSummary } from "../src/runtime/alert-format.js";
import { openDashboard, serveUntilStopped } from "../src/dashboard/cli.js";
import { loadRules } from "../src/streams/http/rules.js";
import { RETRAIN_DEFAULTS } from "../src/streams/retrain.js";
import { runDetect } from "../src/runtime/run-detect.js";
import { fileProgress, writerAbove } from "../src/runtime/progress.js";
import { FORMAT_NAMES, LATENCY_UNITS, type LatencyUnit } from "../src/streams/http/parse.js";
import { fieldsOf } from "./options.js";
import { detectFromRedis, REDIS_DETECT_OPTIONS, type RedisDetectArgs } from "./detect-redis.js";
import { dropWarnings, openMetrics, SINK_OPTIONS, sinkRunOptions, type SinkArgs } from "./detect-sinks.js";
import { METRIC_DETECT_OPTIONS, metricAdaptOf, metricLikelihoodOf, type MetricDetectArgs } from "./detect-metrics.js";

interface DetectArgs extends RedisDetectArgs, SinkArgs, MetricDetectArgs {
  model: string;
  input?: string;
  follow?: string[];
  alerts?: string;
  scores?: string;
  rules?: string;
  positions?: string;
  "from-start": boolean;
  format: string;
  field?: string[];
  json: boolean;
  duration?: number;
  "max-line-bytes": number;
  "latency-unit"?: string;
  /** Raw `--dashboard [PORT]`: true when bare; checked by openDashboard. */
  dashboard?: unknown;
  retrain: boolean;
  "retrain-every": number;
  "retrain-minutes": number;
  "retrain-trees": number;
  "retrain-sample": number;
  "retrain-save"?: string;
  host: string;
  workers?: number;
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: "detect",
  describe: "Score log lines and raise alerts (a file, stdin, or files followed live)",
  builder: (y) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "model file written by `logforest train`" })
      .option("input", { type: "string", describe: "score this whole file" })
      .option("follow", { type: "string", array: true, describe: "follow these files as they grow (like tail -F)" })
      .option("alerts", { type: "string", describe: "append alerts (JSON lines) to this file instead of stdout" })
      .option("scores", { type: "string", describe: "append every line's score to this CSV (file,line,timestamp,score,severity,skipped); for a telemetry model, score is the anomaly likelihood -log10(p)/10 and severity 200 x it" })
      .option("rules", { type: "string", describe: "rules file (JSON); see README" })
      .option("positions", { type: "string", describe: "follow mode: file keeping each followed file's read position" })
      .option("from-start", { type: "boolean", default: false, describe: "follow mode: read files with no saved position from their start" })
      .option("format", { type: "string", choices: ["auto", ...FORMAT_NAMES, "csv"], default: "auto", describe: "log format (a telemetry model reads csv whatever this says)" })
      .option("field", { type: "string", array: true, describe: "JSON field mapping, e.g. latency=responseTime (repeatable)" })
      .option("json", { type: "boolean", default: false, describe: "alerts as JSON lines even on a terminal, summary as JSON" })
      .option("latency-unit", { type: "string", choices: [...LATENCY_UNITS], describe: "unit of a latency written as a bare number (default: the one the model was trained with)" })
      .option("max-line-bytes", { type: "number", default: 65536, describe: "longest line scored, in bytes; a longer one is skipped as too_long without being held in memory" })
      .option("workers", { type: "number", describe: "with --input: parse on this many worker threads, 0-16 (0: on the detecting thread; default: 1 for a file of 32 MiB or more on 2+ cores, else 0); the output is the same" })
      .option("duration", { type: "number", describe: "follow mode: stop after this many seconds" })
      .option("retrain", { type: "boolean", default: false, describe: "keep learning: refresh the oldest trees from recent normal lines (see README)" })
      .option("retrain-every", { type: "number", default: RETRAIN_DEFAULTS.everyLines, describe: "with --retrain: refresh after this many scored lines" })
      .option("retrain-minutes", { type: "number", default: RETRAIN_DEFAULTS.everyMinutes, describe: "with --retrain: also refresh after this many minutes (0: by lines only)" })
      .option("retrain-trees", { type: "number", default: RETRAIN_DEFAULTS.trees, describe: "with --retrain: trees replaced per refresh" })
      .option("retrain-sample", { type: "number", default: RETRAIN_DEFAULTS.sample, describe: "with --retrain: recent normal lines kept to learn from" })
      .option("retrain-save", { type: "string", describe: "with --retrain: model file replaced atomically after each refresh (default: --model)" })
      .option("dashboard", {
        describe: "serve a live dashboard on this port (bare: 8377; 0: any free port); with --input or stdin it stays up after the end of input until Ctrl-C",
      })
      .option("host", { type: "string", default: "127.0.0.1", describe: "address the dashboard binds to; 127.0.0.1 keeps it on this machine, another (e.g. 0.0.0.0) exposes it: your choice" })
      .options({ ...SINK_OPTIONS, ...METRIC_DETECT_OPTIONS })
      .options(REDIS_DETECT_OPTIONS)
      .conflicts("input", "follow")
      .check((a) => {
        if (a.duration !== undefined && !(a.duration > 0)) throw new RangeError(`--duration must be a number of seconds > 0, got ${a.duration}`);
        const every = a["adapt-every"];
        if (every !== 0 && !(Number.isInteger(every) && every >= 10 && every <= 1_000_000)) throw new RangeError(`--adapt-every must be 0 or an integer in [10, 1000000], got ${every}`);
        if (every !== 0 && a["metric-score"] === "raw") throw new RangeError("--adapt-every needs --metric-score likelihood (it learns from the rows whose likelihood stayed below the alert level)");
        return true;
      }),
  handler: async (a) => {
    if (a.from !== undefined) {
      const sink = (["webhook", "exec", "metrics"] as const).find((k) => a[k] !== undefined);
      if (sink !== undefined) throw new RangeError(`--from cannot be combined with --${sink} yet (sinks and metrics run with --input, --follow or stdin)`);
      return detectFromRedis(a, a.rules ? loadRules(a.rules) : undefined);
    }
    if (!a.input && !a.follow && process.stdin.isTTY) {
      throw new RangeError("no input: pass --input FILE, --follow FILE..., or pipe log lines into stdin");
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const sinkOptions = sinkRunOptions(a);
    const dashboard = await openDashboard(a.dashboard, a.host);
    const served = await openMetrics(a, dashboard).catch(async (err: unknown) => {
      await dashboard?.close();
      throw err;
    });
    // A bar for --input on a terminal (stderr); alert lines printed there go above it.
    const bar = a.input !== undefined ? fileProgress("detect", a.input, a.json) : null;
    const pretty = !a.json && !a.alerts && process.stdout.isTTY === true;
    let lines = 0;
    try {
      const { summary, seconds } = await runDetect({
        model: a.model,
        input: a.input,
        follow: a.follow,
        alerts: a.alerts,
        scores: a.scores,
        rules: a.rules ? loadRules(a.rules) : undefined,
        positions: a.positions,
        start: a["from-start"] ? "beginning" : "end",
        format: a.format as "auto",
        fields: fieldsOf(a.field),
        ...(a["latency-unit"] !== undefined ? { latencyUnit: a["latency-unit"] as LatencyUnit } : {}),
        pretty,
        ...(bar?.active && pretty ? { out: writerAbove(bar, process.stdout) } : {}),
        onBatch: (_file, n, bytes) => {
          lines += n;
          bar?.update(bytes ?? 0, lines);
        },
        durationSeconds: a.duration,
        maxLineBytes: a["max-line-bytes"],
        workers: a.workers,
        telemetry: { output: a["metric-score"] as "likelihood" | "raw", adapt: metricAdaptOf(a["adapt-every"], a), likelihood: metricLikelihoodOf(a) },
        signal: stop.signal,
        retrain: a.retrain
          ? { everyLines: a["retrain-every"], everyMinutes: a["retrain-minutes"], trees: a["retrain-trees"], sample: a["retrain-sample"], save: a["retrain-save"] ?? a.model }
          : undefined,
        ...dashboard?.hooks,
        ...sinkOptions,
        metrics: served.metrics,
      }).finally(() => bar?.stop());
      for (const line of dropWarnings(summary.sinks)) process.stderr.write(`${line}\n`);
      if (a.json) process.stderr.write(`${JSON.stringify(summary)}\n`);
      else for (const line of formatSummary(summary, seconds)) process.stderr.write(`${line}\n`);
      if (dashboard) await serveUntilStopped(dashboard, stop.signal);
    } finally {
      await served.server?.close();
      await dashboard?.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
