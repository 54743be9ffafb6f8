/**
 * The one run loop: `runDetect(source, detection, outputs)`. A source (runtime/sources.ts: a
 * file, stdin, followed files, the pipelined file reader; scale/consumer.ts: a transport's
 * shards) hands the loop batches of one file's lines; the loop scores them with the run's
 * detectors (runtime/detection.ts, any stream kind), writes alerts (JSON lines, or coloured
 * text on a terminal) and scores, offers alerts to the sinks, keeps the metrics, and returns
 * the summary when the source ends.
 *
 * No line lost: a batch's --alerts and --scores rows are written with one synchronous write
 * each (runtime/line-sink.ts) when the source calls `flush()`, before it moves its position
 * (follow: a saved offset; shards: an acknowledgement), and `sync()` fsyncs both before a
 * position is saved. A failing write stops the run with an error (the position stays before the
 * lines whose output failed). Alerts written to stdout (no --alerts) go through its stream:
 * there a crash can lose the last ones.
 *
 * The webhook and exec sinks (runtime/sinks/) get a copy of each alert once it is written,
 * through bounded queues that never hold up scoring; at the end they are drained for up to
 * sinkDrainMs and what became of their alerts joins the summary (`sinks`).
 */
import type { Writable } from "node:stream";
import { formatAlert } from "./alert-format.js";
import { countSkipped, zeroCounts, type RunCounts, type ScoredBatch } from "../streams/counts.js";
import type { PreparedChunkBase, StreamAlert, StreamDetector, StreamSummary } from "../streams/stream.js";
import { LineSink } from "./line-sink.js";
import type { DetectMetrics } from "./metrics.js";
import { execSink, type ExecOptions } from "./sinks/exec.js";
import type { SinkCounts } from "./sinks/queue.js";
import { webhookSink, type AlertSink, type WebhookOptions } from "./sinks/webhook.js";
import type { Detection } from "./detection.js";

/** One file's lines, in order, as a source hands them to the loop. */
export interface LineBatch {
  file: string;
  lines: readonly string[];
  /** The 1-based number of the first line (the rest follow it), or each line's own. */
  lineNo: number | ArrayLike<number>;
  /** Whose windows score them (the scale-out: one per shard and file); default: the run's one detector. */
  key?: string;
}

/** What a source may do with the run: score, write, and learn where it stands. */
export interface RunLoop {
  readonly detection: Detection;
  readonly metrics: DetectMetrics | null;
  /** The --alerts and --scores paths (a followed file must not be one of them). */
  readonly outputPaths: readonly string[];
  /** Score a batch; its alerts go to `emit` (default: the outputs, written at the next flush). */
  score(batch: LineBatch, emit?: (a: StreamAlert) => void): void;
  /** Score lines [from, to) of a chunk parsed on a worker thread (runtime/pipeline.ts), numbered from `first`; text(i) is line i. */
  scorePrepared(file: string, p: PreparedChunkBase, from: number, to: number, first: number, text: (i: number) => string): void;
  /** Write an alert at the next flush (and count it in the metrics, tell the hooks). */
  emit(alert: StreamAlert): void;
  /** A line over the length limit (never held): counted and given a --scores row. */
  tooLong(file: string, line: number): void;
  /** Write what the batches since the last flush produced; then the sinks are offered its alerts. */
  flush(): void;
  /** fsync the --alerts and --scores files (before a position is saved). */
  sync(): void;
  /** A batch was read (`bytes`: of the input so far, when the source knows). */
  read(file: string, lines: number, bytes?: number): void;
}

/** A source of lines: it drives the loop until its input ends or the run is stopped. */
export interface LineSource {
  /** Deliver every batch through `loop`; resolves when the input ends (or after `signal` aborts, once what is read is scored). */
  run(loop: RunLoop, signal: AbortSignal | undefined): Promise<void>;
}

/** Where a run's alerts go besides the alerts output. */
export interface SinkOptions {
  /** POST each alert to a URL (see runtime/sinks/webhook.ts). */
  webhook?: WebhookOptions;
  /** Run a command per alert, the alert on its stdin (see runtime/sinks/exec.ts). */
  exec?: ExecOptions;
  /** At the end, how long the sinks may still deliver what they hold, in ms. Default 5000. */
  drainMs?: number;
  /** Told once of a sink's first failure and first drop (default: written to stderr). */
  onProblem?: (message: string) => void;
}

/** What a run writes and who listens. */
export interface OutputOptions {
  /** Append alerts (JSON lines) to this file instead of writing them to `out`. */
  alerts?: string;
  /** Append every line's score to this CSV file: file,line,timestamp,score,severity,skipped. */
  scores?: string;
  /** Where alerts go without `alerts` (default process.stdout; null: nowhere, onAlert only). */
  out?: Writable | null;
  /** Alerts as coloured text (a terminal) rather than JSON lines. */
  pretty?: boolean;
  /** Prometheus metrics to keep up to date (see runtime/metrics.ts). */
  metrics?: DetectMetrics;
  /** Called once the detectors exist, before any line (the dashboard reads their counts and model). */
  onStart?: (detection: Detection) => void;
  /** Called with every alert as well (the dashboard listens here). */
  onAlert?: (a: StreamAlert) => void;
  /** Called after every batch with the lines it held (`bytes`: of the input so far, when known). */
  onBatch?: (file: string, lines: number, bytes?: number) => void;
  /** Called after every batch with every scored line (the dashboard listens here). */
  onScored?: (batch: ScoredBatch) => void;
  sinks?: SinkOptions;
}

/** A run's summary; `sinks` (what became of the alerts each sink got) only when a sink was on. */
export type DetectRunSummary = StreamSummary & { sinks?: Record<string, SinkCounts> };

/** Summary of a run plus how long it took. */
export interface DetectRunResult {
  summary: DetectRunSummary;
  seconds: number;
}

/** Default of SinkOptions.drainMs. */
export const SINK_DRAIN_MS = 5000;

/** Check the sink options (RangeError naming the option), before anything runs. */
export function checkSinkOptions(s: SinkOptions | undefined): void {
  const drain = s?.drainMs ?? SINK_DRAIN_MS;
  if (!Number.isInteger(drain) || drain < 0 || drain > 600_000) throw new RangeError(`--sink-drain must be in [0, 600] seconds, got ${drain / 1000}`);
}

/** The webhook and exec sinks asked for. */
function openAlertSinks(s: SinkOptions | undefined): AlertSink[] {
  checkSinkOptions(s);
  const problem = s?.onProblem ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const out: AlertSink[] = [];
  if (s?.webhook) out.push(webhookSink(s.webhook, problem));
  if (s?.exec) out.push(execSink(s.exec, problem));
  return out;
}

/** Drain every sink (at once, each for up to drainMs) and add their counts to the summary. */
async function closeAlertSinks(sinks: AlertSink[], drainMs: number, summary: DetectRunSummary | null): Promise<void> {
  const counts = await Promise.all(sinks.map((s) => s.close(drainMs)));
  if (summary !== null && sinks.length > 0) summary.sinks = Object.fromEntries(sinks.map((s, i) => [s.name, counts[i]]));
}

/** Run `source` through `detection` into `outputs` until the source ends; the summary. */
export async function runDetect(source: LineSource, detection: Detection, outputs: OutputOptions = {}, signal?: AbortSignal): Promise<DetectRunResult> {
  const alertSinks = openAlertSinks(outputs.sinks);
  outputs.metrics?.watchSinks(alertSinks);
  let files: OutputFiles;
  try {
    files = new OutputFiles(outputs.alerts, outputs.scores);
  } catch (err) {
    await closeAlertSinks(alertSinks, 0, null);
    throw err;
  }
  let result: DetectRunResult;
  try {
    result = await loop(source, detection, outputs, files, alertSinks, signal);
  } catch (err) {
    try {
      files.close();
    } catch {
      // the first error is the one to report
    }
    await closeAlertSinks(alertSinks, 0, null);
    throw err;
  }
  try {
    files.close();
  } catch (err) {
    await closeAlertSinks(alertSinks, 0, null);
    throw err;
  }
  await closeAlertSinks(alertSinks, outputs.sinks?.drainMs ?? SINK_DRAIN_MS, result.summary);
  return result;
}

async function loop(source: LineSource, detection: Detection, o: OutputOptions, files: OutputFiles, alertSinks: AlertSink[], signal: AbortSignal | undefined): Promise<DetectRunResult> {
  detection.setScoredHook(files.scores || o.onScored ? (b, d) => {
    files.scores?.push(scoreRows(b, d));
    o.onScored?.(b);
  } : null);
  o.onStart?.(detection);
  const started = performance.now();
  const out = o.out === undefined ? process.stdout : o.out;
  // Alerts go to the sinks once the batch's rows are written: never one the alerts output lacks.
  const held: StreamAlert[] = [];
  const emit = (a: StreamAlert) => {
    if (files.alerts) files.alerts.push(`${JSON.stringify(a)}\n`);
    else if (out) out.write(o.pretty ? `${formatAlert(a, true)}\n` : `${JSON.stringify(a)}\n`);
    if (alertSinks.length > 0) held.push(a);
    o.metrics?.alert(a.rule, a.severity);
    o.onAlert?.(a);
  };
  // Lines over the length limit never reach a detector (they were not held): counted here, merged into the summary.
  const tooLong = zeroCounts();
  o.metrics?.watch(() => withSkipped(structuredClone(detection.counts()), tooLong));
  const run: RunLoop = {
    detection,
    metrics: o.metrics ?? null,
    outputPaths: [o.alerts, o.scores].filter((p): p is string => typeof p === "string"),
    score(b, to = emit) {
      const t0 = performance.now();
      detection.checkFile(b.file, b.lines);
      detection.get(b.key).processBatch(b.file, b.lines, b.lineNo, to);
      o.metrics?.batchScored((performance.now() - t0) / 1000);
    },
    scorePrepared(file, p, from, to, first, text) {
      detection.checkFile(file, () => Array.from({ length: Math.min(50, to - from) }, (_, i) => text(from + i)));
      const piped = detection.get().pipelined;
      if (!piped) throw new Error(`the ${detection.kind.name} stream kind does not score lines parsed on worker threads`);
      const t0 = performance.now();
      piped.consume(file, p, from, to, first, text, emit);
      o.metrics?.batchScored((performance.now() - t0) / 1000);
    },
    emit,
    tooLong(file, line) {
      tooLong.lines_read++;
      countSkipped(tooLong, file, line, "too_long");
      files.scores?.push(`${csvField(file)},${line},,,,too_long\n`);
    },
    flush() {
      files.flush();
      for (const a of held) for (const s of alertSinks) s.offer(a);
      held.length = 0;
    },
    sync: () => files.sync(),
    read: (file, lines, bytes) => o.onBatch?.(file, lines, bytes),
  };
  await source.run(run, signal);
  // What the detectors still hold open (a free-text log's last window) is judged at the end of the input.
  detection.finish(emit);
  run.flush();
  return { summary: withSkipped(detection.summary(), tooLong), seconds: (performance.now() - started) / 1000 };
}

/** The run's summary with the lines skipped before the detector added. */
function withSkipped<S extends RunCounts>(summary: S, extra: RunCounts): S {
  if (extra.lines_read === 0) return summary;
  summary.lines_read += extra.lines_read;
  for (const [reason, n] of Object.entries(extra.skipped)) summary.skipped[reason] = (summary.skipped[reason] ?? 0) + n;
  summary.skipped_examples.push(...extra.skipped_examples);
  return summary;
}

/** The --alerts and --scores files: a batch's rows are collected, then written with one write per file. */
class OutputFiles {
  readonly alerts: Batched | null;
  readonly scores: Batched | null;

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
function scoreRows(b: ScoredBatch, d: StreamDetector): string {
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
