/** `logforest detect`'s own options (input, model, rules, outputs) and how they become the run's grouped options. */
import { loadRules } from "../src/streams/http/rules.js";
import { RETRAIN_DEFAULTS } from "../src/streams/retrain.js";
import type { DetectOptions } from "../src/runtime/detect.js";
import { FORMAT_NAMES, LATENCY_UNITS } from "../src/streams/http/parse.js";
import { checkInput, fieldsOf } from "./options.js";
import { metricLikelihoodOf, type MetricDetectArgs } from "./detect-metrics.js";

/** The options of `detect` but its sinks (detect-sinks.ts), metric-stream switches (detect-metrics.ts) and --from (detect-redis.ts). */
export const DETECT_OPTIONS = {
  model: { type: "string", demandOption: true, describe: "model file written by `logforest train`" },
  input: { type: "string", coerce: checkInput, describe: "score this whole file (- : stdin)", conflicts: "follow" },
  follow: { type: "string", array: true, describe: "follow these files as they grow (like tail -F)" },
  alerts: { type: "string", describe: "append alerts (JSON lines) to this file instead of stdout" },
  scores: { type: "string", describe: "append every line's score to this CSV (file,line,timestamp,score,severity,skipped); for a telemetry model, score is the anomaly likelihood -log10(p)/10 and severity 200 x it" },
  rules: { type: "string", describe: "rules file (JSON); see README" },
  positions: { type: "string", describe: "follow mode: file keeping each followed file's read position" },
  "rotated-suffix": { type: "string", describe: "follow mode: what follows the name in a rotated copy's name, a regular expression (default: .1, .2, -20261206, .2026-12-06, each optionally .gz)" },
  "from-start": { type: "boolean", default: false, describe: "follow mode: read files with no saved position from their start" },
  format: { type: "string", choices: ["auto", ...FORMAT_NAMES, "csv"], default: "auto", describe: "log format (a telemetry model reads csv whatever this says)" },
  field: { type: "string", array: true, describe: "JSON field mapping, e.g. latency=responseTime (repeatable)" },
  json: { type: "boolean", default: false, describe: "alerts as JSON lines even on a terminal, summary as JSON" },
  "latency-unit": { type: "string", choices: [...LATENCY_UNITS], describe: "unit of a latency written as a bare number (default: the one the model was trained with)" },
  "max-line-bytes": { type: "number", default: 65536, describe: "longest line scored, in bytes; a longer one is skipped as too_long without being held in memory" },
  workers: { type: "number", describe: "with --input: parse on this many worker threads, 0-16 (0: on the detecting thread; default: 1 for a file of 32 MiB or more on 2+ cores, else 0); the output is the same" },
  duration: { type: "number", describe: "follow mode or --from: stop after this many seconds" },
  retrain: { type: "boolean", default: false, describe: "keep learning: refresh the oldest trees from recent normal lines (see README)" },
  "retrain-every": { type: "number", default: RETRAIN_DEFAULTS.everyLines, describe: "with --retrain: refresh after this many scored lines" },
  "retrain-minutes": { type: "number", default: RETRAIN_DEFAULTS.everyMinutes, describe: "with --retrain: also refresh after this many minutes (0: by lines only)" },
  "retrain-trees": { type: "number", default: RETRAIN_DEFAULTS.trees, describe: "with --retrain: trees replaced per refresh" },
  "retrain-sample": { type: "number", default: RETRAIN_DEFAULTS.sample, describe: "with --retrain: recent normal lines kept to learn from" },
  "retrain-save": { type: "string", describe: "with --retrain: model file replaced atomically after each refresh (default: --model; with --from: not saved unless given)" },
  dashboard: { describe: "serve a live dashboard on this port (bare: 8377; 0: any free port); with --input or stdin it stays up after the end of input until Ctrl-C" },
  host: { type: "string", default: "127.0.0.1", describe: "address the dashboard binds to; 127.0.0.1 keeps it on this machine, another (e.g. 0.0.0.0) exposes it: your choice" },
} as const;

/** The parsed values of DETECT_OPTIONS. */
export interface DetectArgs {
  model: string;
  input?: string;
  follow?: string[];
  alerts?: string;
  scores?: string;
  rules?: string;
  positions?: string;
  "rotated-suffix"?: string;
  "from-start": boolean;
  format: string;
  field?: string[];
  json: boolean;
  "latency-unit"?: string;
  "max-line-bytes": number;
  workers?: number;
  duration?: number;
  retrain: boolean;
  "retrain-every": number;
  "retrain-minutes": number;
  "retrain-trees": number;
  "retrain-sample": number;
  "retrain-save"?: string;
  /** Raw `--dashboard [PORT]`: true when bare; checked by openDashboard. */
  dashboard?: unknown;
  host: string;
}

/** The run's options by concern, from the command line (`saveDefault`: where --retrain saves when --retrain-save is not given). */
export function groupsOf(a: DetectArgs & MetricDetectArgs, saveDefault: string | undefined): Pick<DetectOptions, "input" | "model" | "rules"> {
  const save = a["retrain-save"] ?? saveDefault;
  return {
    input: {
      file: a.input, follow: a.follow, positions: a.positions, rotatedSuffix: a["rotated-suffix"], start: a["from-start"] ? "beginning" : "end",
      maxLineBytes: a["max-line-bytes"], workers: a.workers, durationSeconds: a.duration,
    },
    model: {
      model: a.model, format: a.format, fields: fieldsOf(a.field), latencyUnit: a["latency-unit"],
      metricScore: a["metric-score"] as "likelihood" | "raw", adaptEvery: a["adapt-every"], adaptReservoir: a["adapt-reservoir"],
      metricLikelihood: metricLikelihoodOf(a),
      retrain: a.retrain
        ? { everyLines: a["retrain-every"], everyMinutes: a["retrain-minutes"], trees: a["retrain-trees"], sample: a["retrain-sample"], ...(save !== undefined ? { save } : {}) }
        : undefined,
    },
    rules: a.rules ? loadRules(a.rules) : undefined,
  };
}
