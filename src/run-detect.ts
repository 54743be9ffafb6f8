/**
 * A detection run with its I/O: read a file, stdin or followed files, write alerts
 * (JSON lines, or coloured text on a terminal), finish cleanly on end of input or
 * SIGINT/SIGTERM, and return the summary.
 */
import { createWriteStream, statSync, type WriteStream } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { formatAlert } from "./alert-format.js";
import { Detector, type Alert, type DetectSummary, type ScoredBatch } from "./detect.js";
import { Follower, type FollowedLine } from "./follow.js";
import { IsolationForest } from "./forest.js";
import { isTelemetryModel, TelemetryDetector, type TelemetryAlert, type TelemetryDetectSummary } from "./telemetry.js";
import { readLineBatches } from "./lines.js";
import type { FieldName, FormatName } from "./parse.js";
import type { RetrainOptions } from "./retrain.js";
import type { Rules } from "./rules.js";

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
  /** Alerts as coloured text (a terminal) rather than JSON lines. */
  pretty?: boolean;
  /** Where alerts go (default process.stdout; null: nowhere, onAlert only). */
  out?: Writable | null;
  /** Follow mode: stop after this many seconds. */
  durationSeconds?: number;
  /** Stop following when aborted (the CLI aborts on SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Called with every HTTP alert as well (the dashboard listens here). */
  onAlert?: (a: Alert) => void;
  /** Called with every telemetry alert as well (the dashboard listens here). */
  onTelemetryAlert?: (a: TelemetryAlert) => void;
  /** Called after every batch with the lines it held. */
  onBatch?: (file: string, lines: number) => void;
  /** Called after every batch with every scored line (the dashboard listens here). */
  onScored?: (batch: ScoredBatch) => void;
  /** Keep learning from recent normal lines (see src/retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** Called once the detector exists, before any line (the dashboard reads its summary and model). */
  onStart?: (detector: AnyDetector) => void;
}

/** The HTTP detector or the telemetry one (runDetect picks by the model). */
export type AnyDetector = Detector | TelemetryDetector;

/** What runDetect needs of a detector: the HTTP one or the telemetry one. */
interface LineDetector {
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: AnyAlert) => void): void;
  summary(): AnySummary;
  severity(score: number): number;
}

/** An HTTP alert or a telemetry alert. */
export type AnyAlert = Alert | TelemetryAlert;

/** Whether an alert comes from a telemetry stream. */
export function isTelemetryAlert(a: AnyAlert): a is TelemetryAlert {
  return "values" in a.record;
}
/** An HTTP or a telemetry detection summary. */
export type AnySummary = DetectSummary | TelemetryDetectSummary;

/** Summary of a run plus how long it took. */
export interface DetectRunResult {
  summary: AnySummary;
  seconds: number;
}

/** Run detection until the input ends (file, stdin) or the run is stopped (follow). */
export async function runDetect(o: DetectRunOptions): Promise<DetectRunResult> {
  const forest = typeof o.model === "string" ? IsolationForest.load(o.model) : o.model;
  const scores = o.scores ? openScores(o.scores) : null;
  let detector: LineDetector | null = null;
  const onScored = (b: ScoredBatch) => {
    if (scores && detector) scores.write(scoreRows(b, detector));
    o.onScored?.(b);
  };
  const hook = scores || o.onScored ? onScored : undefined;
  let made: AnyDetector;
  if (isTelemetryModel(forest)) {
    made = new TelemetryDetector(forest, { onScored: hook, retrain: o.retrain, ...(o.rules ? { minSeverity: o.rules.minSeverity, cooldownSeconds: o.rules.cooldownSeconds } : {}) });
  } else {
    if (o.format === "csv") throw new RangeError("--format csv needs a telemetry model (train it with --format csv)");
    made = new Detector(forest, { rules: o.rules, format: o.format as FormatName | "auto" | undefined, fields: o.fields, onScored: hook, retrain: o.retrain });
  }
  o.onStart?.(made);
  detector = made;
  const started = performance.now();
  const sink: WriteStream | null = o.alerts ? createWriteStream(o.alerts, { flags: "a" }) : null;
  const out = o.out === undefined ? process.stdout : o.out;
  const emit = (a: AnyAlert) => {
    if (sink) sink.write(`${JSON.stringify(a)}\n`);
    else if (out) out.write(o.pretty ? `${formatAlert(a, true)}\n` : `${JSON.stringify(a)}\n`);
    if (isTelemetryAlert(a)) o.onTelemetryAlert?.(a);
    else o.onAlert?.(a);
  };
  try {
    if (o.follow && o.follow.length > 0) {
      await followFiles(detector, o, emit);
    } else {
      const source = o.input ?? o.stdin ?? process.stdin;
      const name = o.input ?? "-";
      await readLineBatches(source, (lines, first) => {
        detector.processBatch(name, lines, first, emit);
        o.onBatch?.(name, lines.length);
      });
    }
  } finally {
    for (const stream of [sink, scores]) {
      if (stream) await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }
  return { summary: detector.summary(), seconds: (performance.now() - started) / 1000 };
}

/** A scores file: appended to, with the header written when it is new or empty. */
function openScores(path: string): WriteStream {
  let empty = true;
  try {
    empty = statSync(path).size === 0;
  } catch {
    // a new file
  }
  const stream = createWriteStream(path, { flags: "a" });
  if (empty) stream.write("file,line,timestamp,score,severity,skipped\n");
  return stream;
}

/** CSV rows for one batch, in line order, skipped lines included. */
function scoreRows(b: ScoredBatch, d: LineDetector): string {
  const file = /[",\n]/.test(b.file) ? `"${b.file.replace(/"/g, '""')}"` : b.file;
  const rows: Array<[number, string]> = [];
  for (let i = 0; i < b.count; i++) {
    const ts = Number.isFinite(b.seconds[i]) && b.seconds[i] > 0 ? new Date(b.seconds[i] * 1000).toISOString() : "";
    rows.push([b.lineNo[i], `${file},${b.lineNo[i]},${ts},${b.scores[i].toFixed(6)},${d.severity(b.scores[i])},`]);
  }
  for (const s of b.skipped) rows.push([s.line, `${file},${s.line},,,,${s.reason}`]);
  if (b.skipped.length > 0) rows.sort((x, y) => x[0] - y[0]);
  return rows.map((r) => r[1]).join("\n") + (rows.length ? "\n" : "");
}

async function followFiles(detector: LineDetector, o: DetectRunOptions, emit: (a: AnyAlert) => void): Promise<void> {
  const onLines = (batch: FollowedLine[]) => {
    // A batch is one file's lines in order; split it where line numbers restart (rotation).
    let from = 0;
    for (let i = 1; i <= batch.length; i++) {
      if (i === batch.length || batch[i].file !== batch[from].file || batch[i].lineNo !== batch[i - 1].lineNo + 1) {
        const run = batch.slice(from, i);
        detector.processBatch(run[0].file, run.map((l) => l.text), run[0].lineNo, emit);
        o.onBatch?.(run[0].file, run.length);
        from = i;
      }
    }
  };
  const follower = new Follower(o.follow ?? [], { positions: o.positions, start: o.start ?? "end" }, onLines);
  await follower.start();
  await new Promise<void>((resolve) => {
    const timer = o.durationSeconds !== undefined ? setTimeout(resolve, o.durationSeconds * 1000) : null;
    o.signal?.addEventListener("abort", () => {
      if (timer) clearTimeout(timer);
      resolve();
    });
    if (o.signal?.aborted) resolve();
  });
  // close() reads what the files already hold, delivers it and saves the positions.
  await follower.close();
}
