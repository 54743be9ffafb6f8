/**
 * `detect(options)`: a detection run from options grouped by concern (input, model, rules,
 * outputs, sinks). Every refusal of a bad combination is made here, before anything is opened
 * (`resolveDetect`); then the source, the detectors and the outputs are handed to the one run
 * loop (runtime/run-detect.ts).
 */
import type { Readable } from "node:stream";
import { IsolationForest } from "../forest/forest.js";
import type { RetrainOptions } from "../streams/retrain.js";
import type { DetectorSettings } from "../streams/stream.js";
import { checkMaxLineBytes, MAX_LINE_BYTES_DEFAULT } from "../streams/lines.js";
import { Detection } from "./detection.js";
import { workersFor } from "./pipeline.js";
import { checkSinkOptions, runDetect, type DetectRunResult, type LineSource, type OutputOptions, type SinkOptions } from "./run-detect.js";
import { fileSource, followSource, streamSource } from "./sources.js";
import { listenSource, type ListenSource } from "./listen/source.js";
import type { ListenOptions } from "./listen/options.js";
import type { ListenCounts } from "./listen/server.js";

/** Where the lines come from: one of file, follow, listen, stdin (default process.stdin). */
export interface InputOptions {
  /** Score this whole file. */
  file?: string;
  /** Follow these files as they grow. */
  follow?: readonly string[];
  /** Receive records over HTTP: OTLP logs, Loki push, NDJSON (runtime/listen/). */
  listen?: ListenOptions;
  /** Read from this stream when neither file nor follow nor listen is given. */
  stdin?: Readable;
  /** Follow: positions file. */
  positions?: string;
  /** Follow, a file with no saved position: start at its end (default) or beginning. */
  start?: "end" | "beginning";
  /** Follow: what may follow a followed file's name in its rotated copies' names (a regular expression; default runtime/follow-options.ts's ROTATED_SUFFIX). */
  rotatedSuffix?: string;
  /** Longest line scored, in bytes; longer ones are skipped as too_long without being held (default 65536). */
  maxLineBytes?: number;
  /**
   * A file: parse on this many worker threads (runtime/pipeline.ts), in [0, 16]; 0: on this thread.
   * Default: 1 for a file of 32 MiB or more on a machine of 2 cores or more, else 0. A kind without
   * a worker-thread parser, and maxLineBytes over 512 KiB, read on this thread whatever this says.
   */
  workers?: number;
  /** Follow, listen: stop after this many seconds. */
  durationSeconds?: number;
}

/** The model and how its detectors read and learn. */
export interface ModelOptions {
  /** A model file path or a loaded model; its kind (streams/kinds.ts) reads the lines. */
  model: string | IsolationForest;
  /** Line format, or "auto" (default). */
  format?: string;
  /** JSON field mapping, by field name. */
  fields?: Readonly<Record<string, string>>;
  /** Unit of a latency written as a bare number; default: the model's. */
  latencyUnit?: string;
  /** Keep learning from recent normal lines (see streams/retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** A metric stream's score: the anomaly likelihood (default) or the forest's raw score. */
  metricScore?: "likelihood" | "raw";
  /** A metric stream: replace a tree every N rows (0: never, the default). */
  adaptEvery?: number;
  /** A metric stream, with adaptEvery: recent normal rows kept to grow trees on. */
  adaptReservoir?: number;
  /** A metric stream: its anomaly likelihood's options (streams/metrics/likelihood.ts: method, short, long, hold, recur, ...). */
  metricLikelihood?: object;
}

/** A detection run's options, by concern. */
export interface DetectOptions {
  input: InputOptions;
  model: ModelOptions;
  /** A rules file's content (streams/http/rules.ts: resolveRules checks it). */
  rules?: unknown;
  outputs?: Omit<OutputOptions, "sinks">;
  sinks?: SinkOptions;
  /** Stop the run (follow) when aborted; the CLI aborts on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

/** What resolveDetect makes of the options: a source and the detectors, nothing opened yet. */
export interface ResolvedDetect {
  source: LineSource;
  detection: Detection;
}

/** Check every option and their combinations (RangeError naming the option), load the model, choose the source. */
export function resolveDetect(o: DetectOptions): ResolvedDetect {
  const input = o.input;
  const maxLineBytes = checkMaxLineBytes(input.maxLineBytes ?? MAX_LINE_BYTES_DEFAULT, "--max-line-bytes");
  const following = input.follow !== undefined && input.follow.length > 0;
  if (input.file !== undefined && following) throw new RangeError("--input and --follow cannot be combined: score a whole file, or follow files as they grow");
  const listening = input.listen !== undefined;
  if (listening && (input.file !== undefined || following)) throw new RangeError(`--listen cannot be combined with --${following ? "follow" : "input"}: the lines come from the network`);
  if (input.rotatedSuffix !== undefined && !following) throw new RangeError("--rotated-suffix applies to --follow only: it names a followed file's rotated copies");
  if (input.durationSeconds !== undefined && !(input.durationSeconds > 0)) throw new RangeError(`--duration must be a number of seconds > 0, got ${input.durationSeconds}`);
  const workers = workersFor({ workers: input.workers, input: input.file, follow: input.follow ? [...input.follow] : undefined, retrain: o.model.retrain });
  checkSinkOptions(o.sinks);
  const forest = typeof o.model.model === "string" ? IsolationForest.load(o.model.model) : o.model.model;
  const settings: DetectorSettings = {
    rules: o.rules, format: o.model.format, fields: o.model.fields, latencyUnit: o.model.latencyUnit, retrain: o.model.retrain,
    metricScore: o.model.metricScore, adaptEvery: o.model.adaptEvery, adaptReservoir: o.model.adaptReservoir, metricLikelihood: o.model.metricLikelihood,
    // A followed or received line without a timestamp is timed by its arrival; a file's, by line order.
    untimedClock: following || listening ? "arrival" : "lines",
  };
  const detection = new Detection(forest, settings);
  let source: LineSource;
  if (listening) source = listenSource(input.listen ?? { address: "" }, { durationSeconds: input.durationSeconds });
  else if (following) source = followSource(input.follow ?? [], {
    positions: input.positions, start: input.start, maxLineBytes, durationSeconds: input.durationSeconds,
    ...(input.rotatedSuffix !== undefined ? { rotatedSuffix: rotatedSuffixOf(input.rotatedSuffix) } : {}),
  });
  else if (input.file !== undefined) source = fileSource(input.file, { maxLineBytes, workers });
  else source = streamSource(input.stdin ?? process.stdin, "-", { maxLineBytes });
  return { source, detection };
}

/** A run's result; `listen`: what the server received and refused, when listening. */
export type DetectResult = DetectRunResult & { listen?: ListenCounts };

/** Run detection until the input ends (file, stdin) or the run is stopped (follow, listen). */
export async function detect(o: DetectOptions): Promise<DetectResult> {
  const { source, detection } = resolveDetect(o);
  const result: DetectResult = await runDetect(source, detection, { ...o.outputs, sinks: o.sinks }, o.signal);
  if (isListen(source)) result.listen = source.counts();
  return result;
}

function isListen(s: LineSource): s is ListenSource {
  return "counts" in s;
}

/** The --rotated-suffix expression, anchored at both ends, or a RangeError naming the option. */
function rotatedSuffixOf(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (e) {
    throw new RangeError(`--rotated-suffix must be a regular expression, got ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}
