/** Metric-stream (`--format csv`) switches: one per library option of the likelihood, adaptation and training (see docs/telemetry.md). */
import { ADAPT_DEFAULTS, type AdaptOptions } from "../src/streams/metrics/adapt.js";
import { LIKELIHOOD_DEFAULTS, resolveLikelihoodOptions, type LikelihoodOptions } from "../src/streams/metrics/likelihood.js";
import { TELEMETRY_DEFAULTS, type TelemetryTrainOptions } from "../src/streams/metrics/train.js";

const L = LIKELIHOOD_DEFAULTS;

/** The options `detect` gains for a telemetry model's likelihood and adaptation. */
export const METRIC_DETECT_OPTIONS = {
  "metric-score": { type: "string", choices: ["likelihood", "raw"], default: "likelihood", describe: "a telemetry model's score: the anomaly likelihood, comparable across series (default), or the forest's raw score" },
  "adapt-every": { type: "number", default: 0, describe: "a telemetry model: replace a tree every N rows (10 to 1e6) with one grown on recent rows that did not alert (0: never; measured to help little, see docs/telemetry.md)" },
  "metric-method": { type: "string", choices: ["peaks", "mean", "both"], default: L.method, describe: "a telemetry model: the raw score's tail probability from the empirical tail (peaks), Numenta's Gaussian on the mean of --metric-short scores (mean), or the smaller of both" },
  "metric-short": { type: "number", default: L.short, describe: "a telemetry model, --metric-method mean or both: raw scores averaged (1 to 1000)" },
  "metric-long": { type: "number", default: L.long, describe: "a telemetry model: rows of the stream's own history the tail is estimated on (10 to 1e6)" },
  "metric-min-history": { type: "number", default: L.minHistory, describe: "a telemetry model: rows before the stream's own history replaces the training distribution (10 to --metric-long)" },
  "metric-hold": { type: "number", default: L.hold, describe: "a telemetry model: rows after an alert that report below the alert level (one alert per anomaly; 0: none)" },
  "metric-rearm": { type: "boolean", default: L.rearm, describe: "a telemetry model: any held row reaching the alert level starts the hold over (default: only an unbroken run does)" },
  "metric-break-margin": { type: "number", default: L.breakMargin, describe: "a telemetry model: a held row beating the hold's first score by this much reports in full (0 to 1; 1: never)" },
  "metric-exclude": { type: "boolean", default: L.exclude, describe: "a telemetry model: keep rows with p <= 1e-5 out of the history (--no-metric-exclude: keep all)" },
  "metric-training": { type: "boolean", default: L.training, describe: "a telemetry model: also judge each row against the training scores (--no-metric-training: the stream's history alone)" },
  "metric-recur": { type: "number", default: L.recur, describe: "a telemetry model: a raw score seen this many times in the last --metric-long rows is the stream's own pattern, no longer judged by training (1 to 1e6; 1000000: never)" },
  "metric-recur-share": { type: "boolean", default: L.recurShare, describe: "a telemetry model: a recurred raw score is at least as likely as its share of the history (--no-metric-recur-share: the tail's extrapolation alone)" },
  "metric-magnitude": { type: "number", default: L.magnitude, describe: "a telemetry model: raw score added per unit of ln(feature / its training maximum) past it, so a far outlier outranks a near one (0 to 1; 0: off)" },
  "adapt-reservoir": { type: "number", default: ADAPT_DEFAULTS.reservoir, describe: "with --adapt-every: recent normal rows kept to grow trees on" },
} as const;

/** The parsed values of METRIC_DETECT_OPTIONS. */
export interface MetricDetectArgs {
  "metric-score": string;
  "adapt-every": number;
  "metric-method": string;
  "metric-short": number;
  "metric-long": number;
  "metric-min-history": number;
  "metric-hold": number;
  "metric-rearm": boolean;
  "metric-break-margin": number;
  "metric-exclude": boolean;
  "metric-training": boolean;
  "metric-recur": number;
  "metric-recur-share": boolean;
  "metric-magnitude": number;
  "adapt-reservoir": number;
}

/** Library likelihood options of the switches, validated; an error names the switch, its range and the value. */
export function metricLikelihoodOf(a: MetricDetectArgs): LikelihoodOptions {
  const o = {
    method: a["metric-method"] as LikelihoodOptions["method"],
    short: a["metric-short"],
    long: a["metric-long"],
    minHistory: a["metric-min-history"],
    hold: a["metric-hold"],
    rearm: a["metric-rearm"],
    breakMargin: a["metric-break-margin"],
    exclude: a["metric-exclude"],
    training: a["metric-training"],
    recur: a["metric-recur"],
    recurShare: a["metric-recur-share"],
    magnitude: a["metric-magnitude"],
  };
  try {
    return resolveLikelihoodOptions(o);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new RangeError(e.message.replace(/likelihood\.(\w+)/, (_, name: string) => `--metric-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`));
  }
}

/** Library adaptation options of `--adapt-every N --adapt-reservoir M` (false with N = 0). */
export function metricAdaptOf(every: number, a: MetricDetectArgs): Partial<AdaptOptions> | false {
  return every === 0 ? false : { every, reservoir: a["adapt-reservoir"] };
}

/** The options `train --format csv` gains beyond --shingle, --context and --season. */
export const METRIC_TRAIN_OPTIONS = {
  "metric-window": { type: "number", describe: `csv: values the rolling medians look back over (shingle to 4096; default ${TELEMETRY_DEFAULTS.window}, at least the shingle)` },
  "metric-summary": { type: "boolean", describe: "csv: the cross-series columns (default: with 2 series or more)" },
} as const;

/** The parsed values of METRIC_TRAIN_OPTIONS. */
export interface MetricTrainArgs {
  "metric-window"?: number;
  "metric-summary"?: boolean;
}

/** Library training options of the switches (the library validates them). */
export function metricTrainOf(a: MetricTrainArgs): Pick<TelemetryTrainOptions, "window" | "summary"> {
  return { ...(a["metric-window"] !== undefined ? { window: a["metric-window"] } : {}), ...(a["metric-summary"] !== undefined ? { summary: a["metric-summary"] } : {}) };
}
