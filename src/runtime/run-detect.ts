/**
 * A detection run with its I/O: read a file, stdin or followed files, write alerts
 * (JSON lines, or coloured text on a terminal), finish cleanly on end of input or
 * SIGINT/SIGTERM, and return the summary.
 *
 * No line lost: the --alerts and --scores rows of a batch are written with one synchronous
 * write each (runtime/line-sink.ts) before the batch's handler returns, and the follower saves a
 * position only after that, fsyncing both files first. A failing write or save stops the run
 * with an error (the position stays before the lines whose output failed). Alerts written to
 * stdout (no --alerts) go through its stream: there a crash can lose the last ones.
 *
 * The webhook and exec sinks (runtime/sinks/) get a copy of each alert once it is written, through
 * bounded queues that never hold up scoring; at the end they are drained for up to
 * sinkDrainMs and what became of their alerts joins the summary (`sinks`).
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { formatAlert } from "./alert-format.js";
import { type AnyAlert, type AnyDetector, type AnySummary, type StreamDetector as LineDetector } from "../streams/stream.js";
import { countSkipped, Detector, zeroCounts, type DetectSummary, type RunCounts, type ScoredBatch } from "../streams/http/detect.js";
import { Follower, type FollowedLine } from "./follow.js";
import { IsolationForest } from "../forest/forest.js";
import { LineSink } from "./line-sink.js";
import type { DetectMetrics } from "./metrics.js";
import { loadPositions } from "./positions.js";
import { execSink, type ExecOptions } from "./sinks/exec.js";
import type { SinkCounts } from "./sinks/queue.js";
import { webhookSink, type AlertSink, type WebhookOptions } from "./sinks/webhook.js";
import { isTelemetryModel, TelemetryDetector, type TelemetryDetectSummary, type TelemetryDetectorOptions } from "../streams/metrics/telemetry.js";
import { checkMaxLineBytes, MAX_LINE_BYTES_DEFAULT, readLineBatches } from "../streams/lines.js";
import { PIPELINE_MAX_LINE_BYTES, runPipeline, workersFor } from "./pipeline.js";
import type { FieldName, FormatName, LatencyUnit } from "../streams/http/parse.js";
import type { RetrainOptions } from "../streams/retrain.js";
import type { Rules } from "../streams/http/rules.js";

export { isTelemetryAlert, type AnyAlert, type AnyDetector, type AnySummary } from "../streams/stream.js";

/** Options of runDetect. */
export interface DetectRunOptions {
  /** A model file path or a loaded model. */
  model: string | IsolationForest;
  /** Score this whole file. */
  input?: string;
  /** Follow these files as they grow. */
  follow?: string[];
  /** Read from this stream when neither input nor follow is given. */
  stdin?: Readable;
  /** Append alerts (JSON lines) to this file instead of writing them to `out`. */
  alerts?: string;
  /** Append every line's score to this CSV file: file,line,timestamp,score,severity,skipped. */
  scores?: string;
  rules?: Rules;
  /** Positions file for follow mode. */
  positions?: string;
  /** Follow mode, a file with no saved position: start at its end (default) or beginning. */
  start?: "end" | "beginning";
  format?: FormatName | "auto" | "csv";
  fields?: Partial<Record<FieldName, string>>;
  /** Unit of a latency written as a bare number; default: the model's. */
  latencyUnit?: LatencyUnit;
  /** Alerts as coloured text (a terminal) rather than JSON lines. */
  pretty?: boolean;
  /** Where alerts go (default process.stdout; null: nowhere, onAlert only). */
  out?: Writable | null;
  /** Longest line scored, in bytes; longer ones are skipped as too_long without being held (default 65536). */
  maxLineBytes?: number;
  /** Follow mode: stop after this many seconds. */
  durationSeconds?: number;
  /** Stop following when aborted (the CLI aborts on SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /**
   * Called with every alert as well, whichever the stream kind (the dashboard listens
   * here); `isTelemetryAlert` tells a metric stream's alert from a log line's.
   */
  onAlert?: (a: AnyAlert) => void;
  /** Called after every batch with the lines it held. */
  onBatch?: (file: string, lines: number, bytes?: number) => void;
  /** Called after every batch with every scored line (the dashboard listens here). */
  onScored?: (batch: ScoredBatch) => void;
  /** Keep learning from recent normal lines (see streams/retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** A telemetry model's score (likelihood or raw) and continuous tree replacement (streams/metrics/detect.ts). */
  telemetry?: Pick<TelemetryDetectorOptions, "output" | "adapt" | "likelihood">;
  /** Called once the detector exists, before any line (the dashboard reads its summary and model). */
  onStart?: (detector: AnyDetector) => void;
  /** POST each alert to a URL (see runtime/sinks/webhook.ts). */
  webhook?: WebhookOptions;
  /** Run a command per alert, the alert on its stdin (see runtime/sinks/exec.ts). */
  exec?: ExecOptions;
  /** At the end, how long the sinks may still deliver what they hold, in ms. Default 5000. */
  sinkDrainMs?: number;
  /** Told once of a sink's first failure and first drop (default: written to stderr). */
  onSinkProblem?: (message: string) => void;
  /** Prometheus metrics to keep up to date (see runtime/metrics.ts). */
  metrics?: DetectMetrics;
  /**
   * --input of a log: parse on this many worker threads (runtime/pipeline.ts), in [0, 16]; 0: on
   * this thread. Default: 1 for a file of 32 MiB or more on a machine of 2 cores or more, else 0.
   * A telemetry model and --max-line-bytes over 512 KiB read on this thread whatever this says.
   */
  workers?: number;
}

/** A run's summary; `sinks` (what became of the alerts each sink got) only when a sink was on. */
export type DetectRunSummary = AnySummary & { sinks?: Record<string, SinkCounts> };

/** Summary of a run plus how long it took. */
export interface DetectRunResult {
  summary: DetectRunSummary;
  seconds: number;
}

/** Default of sinkDrainMs. */
export const SINK_DRAIN_MS = 5000;

/** The webhook and exec sinks asked for (validated: a RangeError names the bad option). */
function openAlertSinks(o: DetectRunOptions): AlertSink[] {
  const drain = o.sinkDrainMs ?? SINK_DRAIN_MS;
  if (!Number.isInteger(drain) || drain < 0 || drain > 600_000) throw new RangeError(`--sink-drain must be in [0, 600] seconds, got ${drain / 1000}`);
  const problem = o.onSinkProblem ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const out: AlertSink[] = [];
  if (o.webhook) out.push(webhookSink(o.webhook, problem));
  if (o.exec) out.push(execSink(o.exec, problem));
  return out;
}

/** Drain every sink (at once, each for up to drainMs) and add their counts to the summary. */
async function closeAlertSinks(sinks: AlertSink[], drainMs: number, summary: DetectRunSummary | null): Promise<void> {
  const counts = await Promise.all(sinks.map((s) => s.close(drainMs)));
  if (summary !== null && sinks.length > 0) summary.sinks = Object.fromEntries(sinks.map((s, i) => [s.name, counts[i]]));
}

/** Run detection until the input ends (file, stdin) or the run is stopped (follow). */
export async function runDetect(o: DetectRunOptions): Promise<DetectRunResult> {
  const maxLineBytes = checkMaxLineBytes(o.maxLineBytes ?? MAX_LINE_BYTES_DEFAULT, "--max-line-bytes");
  const workers = workersFor(o);
  const forest = typeof o.model === "string" ? IsolationForest.load(o.model) : o.model;
  const alertSinks = openAlertSinks(o);
  o.metrics?.watchSinks(alertSinks);
  const sinks = new Sinks(o.alerts, o.scores);
  let result: DetectRunResult;
  try {
    result = await detectInto(o, forest, sinks, maxLineBytes, alertSinks, workers);
  } catch (err) {
    try {
      sinks.close();
    } catch {
      // the first error is the one to report
    }
    await closeAlertSinks(alertSinks, 0, null);
    throw err;
  }
  try {
    sinks.close();
  } catch (err) {
    await closeAlertSinks(alertSinks, 0, null);
    throw err;
  }
  await closeAlertSinks(alertSinks, o.sinkDrainMs ?? SINK_DRAIN_MS, result.summary);
  return result;
}

async function detectInto(o: DetectRunOptions, forest: IsolationForest, sinks: Sinks, maxLineBytes: number, alertSinks: AlertSink[], workers: number): Promise<DetectRunResult> {
  let detector: LineDetector | null = null;
  const onScored = (b: ScoredBatch) => {
    if (sinks.scores && detector) sinks.scores.push(scoreRows(b, detector));
    o.onScored?.(b);
  };
  const hook = sinks.scores || o.onScored ? onScored : undefined;
  let made: AnyDetector;
  if (isTelemetryModel(forest)) {
    made = new TelemetryDetector(forest, { ...o.telemetry, onScored: hook, retrain: o.retrain, ...(o.rules ? { minSeverity: o.rules.minSeverity, cooldownSeconds: o.rules.cooldownSeconds } : {}) });
  } else {
    if (o.format === "csv") throw new RangeError("--format csv needs a telemetry model (train it with --format csv)");
    if (o.telemetry?.adapt) throw new RangeError("--adapt-every needs a telemetry model (train it with --format csv); this model reads access logs");
    made = new Detector(forest, {
      rules: o.rules, format: o.format as FormatName | "auto" | undefined, fields: o.fields, onScored: hook, retrain: o.retrain,
      ...(o.latencyUnit !== undefined ? { latencyUnit: o.latencyUnit } : {}),
      // A followed line without a timestamp is timed by its arrival; a file's, by line order.
      untimedClock: o.follow && o.follow.length > 0 ? "arrival" : "lines",
    });
  }
  o.onStart?.(made);
  detector = made;
  const started = performance.now();
  const out = o.out === undefined ? process.stdout : o.out;
  // Alerts go to the sinks once the batch's rows are written: never one the alerts output lacks.
  const held: AnyAlert[] = [];
  sinks.onFlushed = () => {
    for (const a of held) for (const s of alertSinks) s.offer(a);
    held.length = 0;
  };
  const emit = (a: AnyAlert) => {
    if (sinks.alerts) sinks.alerts.push(`${JSON.stringify(a)}\n`);
    else if (out) out.write(o.pretty ? `${formatAlert(a, true)}\n` : `${JSON.stringify(a)}\n`);
    if (alertSinks.length > 0) held.push(a);
    o.metrics?.alert(a.rule, a.severity);
    o.onAlert?.(a);
  };
  // Lines over --max-line-bytes never reach the detector (they were not held): counted here, merged into the summary.
  const tooLong = zeroCounts();
  const skipLong = (file: string, line: number) => {
    tooLong.lines_read++;
    countSkipped(tooLong, file, line, "too_long");
    sinks.scores?.push(`${csvField(file)},${line},,,,too_long\n`);
  };
  const counted = made;
  o.metrics?.watch(() => withSkipped(counted instanceof TelemetryDetector ? counted.summary() : { ...counted.stats, skipped: { ...counted.stats.skipped }, skipped_examples: [] }, tooLong));
  // Scoring, timed per batch for the metrics.
  const score = (file: string, lines: readonly string[], first: number) => {
    const t0 = performance.now();
    detector.processBatch(file, lines, first, emit);
    o.metrics?.batchScored((performance.now() - t0) / 1000);
  };
  if (o.follow && o.follow.length > 0) {
    await followFiles(score, o, sinks, maxLineBytes, skipLong);
  } else {
    const source = o.input ?? o.stdin ?? process.stdin;
    const name = o.input ?? "-";
    // The input's characters read so far (and their newlines): about its bytes, for a progress bar.
    let read = 0;
    const onBatch = (lines: string[], first: number) => {
      score(name, lines, first);
      sinks.flush();
      if (o.onBatch === undefined) return;
      for (const l of lines) read += l.length + 1;
      o.onBatch(name, lines.length, read);
    };
    const onTooLong = (line: number) => (skipLong(name, line), sinks.flush());
    const piped = o.input !== undefined && made instanceof Detector && workers > 0 && maxLineBytes <= PIPELINE_MAX_LINE_BYTES
      && await runPipeline(o.input, workers, maxLineBytes, {
        choose: (sample) => made.parserSettings(name, sample),
        batch: (p, from, to, first, text, bytes) => {
          const t0 = performance.now();
          made.consume(name, p, from, to, first, text, emit);
          o.metrics?.batchScored((performance.now() - t0) / 1000);
          sinks.flush();
          o.onBatch?.(name, to - from, bytes);
        },
        tooLong: onTooLong,
      });
    if (!piped) await readLineBatches(source, onBatch, 8192, { maxLineBytes, onTooLong });
  }
  return { summary: withSkipped(detector.summary(), tooLong), seconds: (performance.now() - started) / 1000 };
}

/** The run's summary with the lines skipped before the detector added. */
function withSkipped<S extends AnySummary>(summary: S, extra: RunCounts): S {
  if (extra.lines_read === 0) return summary;
  summary.lines_read += extra.lines_read;
  for (const [reason, n] of Object.entries(extra.skipped)) summary.skipped[reason] = (summary.skipped[reason] ?? 0) + n;
  summary.skipped_examples.push(...extra.skipped_examples);
  return summary;
}

/** The --alerts and --scores files: a batch's rows are collected, then written with one write per file. */
class Sinks {
  readonly alerts: Batched | null;
  readonly scores: Batched | null;
  /** Called after each flush that wrote (or had nothing to write). */
  onFlushed: () => void = () => undefined;

  constructor(alerts: string | undefined, scores: string | undefined) {
    this.alerts = alerts ? new Batched(new LineSink(alerts, "--alerts")) : null;
    try {
      this.scores = scores ? new Batched(new LineSink(scores, "--scores")) : null;
    } catch (err) {
      this.alerts?.sink.close();
      throw err;
    }
    if (this.scores?.sink.empty) this.scores.sink.write("file,line,timestamp,score,severity,skipped\n");
  }

  /** Write what the batch produced (throws on a failed write: the batch is then not consumed). */
  flush(): void {
    this.alerts?.flush();
    this.scores?.flush();
    this.onFlushed();
  }

  /** fsync both, before a position is saved. */
  sync(): void {
    this.alerts?.sink.sync();
    this.scores?.sink.sync();
  }

  close(): void {
    let first: unknown = null;
    for (const b of [this.alerts, this.scores]) {
      try {
        b?.flush();
        b?.sink.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }
}

/** Text for a LineSink, collected until flush. */
class Batched {
  private parts: string[] = [];
  constructor(readonly sink: LineSink) {}
  push(text: string): void {
    this.parts.push(text);
  }
  flush(): void {
    if (this.parts.length === 0) return;
    const text = this.parts.join("");
    this.parts = [];
    this.sink.write(text);
  }
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV rows for one batch, in line order, skipped lines included. */
function scoreRows(b: ScoredBatch, d: LineDetector): string {
  const file = csvField(b.file);
  const rows: Array<[number, string]> = [];
  for (let i = 0; i < b.count; i++) {
    const ts = Number.isFinite(b.seconds[i]) && b.seconds[i] > 0 ? new Date(b.seconds[i] * 1000).toISOString() : "";
    rows.push([b.lineNo[i], `${file},${b.lineNo[i]},${ts},${b.scores[i].toFixed(6)},${d.severity(b.scores[i])},`]);
  }
  for (const s of b.skipped) rows.push([s.line, `${file},${s.line},,,,${s.reason}`]);
  if (b.skipped.length > 0) rows.sort((x, y) => x[0] - y[0]);
  return rows.map((r) => r[1]).join("\n") + (rows.length ? "\n" : "");
}

async function followFiles(
  score: (file: string, lines: readonly string[], first: number) => void, o: DetectRunOptions, sinks: Sinks, maxLineBytes: number,
  skipLong: (file: string, line: number) => void,
): Promise<void> {
  const onLines = (batch: FollowedLine[]) => {
    // A batch is one file's lines in order; split it where line numbers restart (rotation) and around too-long lines.
    let from = 0;
    for (let i = 0; i <= batch.length; i++) {
      const l = batch[i];
      const cut = i === batch.length || l.tooLong || l.file !== batch[from].file || (i > from && l.lineNo !== batch[i - 1].lineNo + 1);
      if (!cut) continue;
      if (i > from) {
        const run = batch.slice(from, i);
        score(run[0].file, run.map((x) => x.text), run[0].lineNo);
        o.onBatch?.(run[0].file, run.length);
      }
      if (l?.tooLong) {
        skipLong(l.file, l.lineNo);
        from = i + 1;
      } else {
        from = i;
      }
    }
    sinks.flush(); // before returning: the follower moves the position past this batch only then
    const last = batch[batch.length - 1];
    if (last !== undefined) o.metrics?.followed(last.file, last.end);
  };
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const follower = new Follower(o.follow ?? [], {
    positions: o.positions, start: o.start ?? "end", maxLineBytes, onError: () => stop(), beforeSave: () => sinks.sync(),
    outputs: [o.alerts, o.scores].filter((p): p is string => typeof p === "string"),
  }, onLines);
  await follower.start();
  if (o.metrics) startingOffsets(o, o.metrics);
  const timer = o.durationSeconds !== undefined ? setTimeout(stop, o.durationSeconds * 1000) : null;
  o.signal?.addEventListener("abort", stop);
  if (o.signal?.aborted) stop();
  await stopped;
  if (timer) clearTimeout(timer);
  o.signal?.removeEventListener("abort", stop);
  // close() reads what the files already hold, delivers it and saves the positions (it rejects after a failure).
  await follower.close();
}

/** Tell the metrics where each followed file starts being read (its saved position, its end, or 0). */
function startingOffsets(o: DetectRunOptions, metrics: DetectMetrics): void {
  // The follower saved every file's position at start(): read back, it is exact.
  const saved = o.positions !== undefined ? loadPositions(o.positions) : null;
  for (const file of o.follow ?? []) {
    let offset = 0;
    if (saved !== null) offset = saved.get(resolve(file))?.offset ?? 0;
    else if ((o.start ?? "end") === "end") {
      try {
        offset = statSync(file).size;
      } catch {
        // not there yet: read from its start when it appears
      }
    }
    metrics.startsAt(file, offset);
  }
}
