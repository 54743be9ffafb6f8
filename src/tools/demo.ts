/**
 * `logforest demo`: the whole job on built-in defaults. Simulate a stretch of clean
 * traffic and train on it; then write a stream with incidents into a log file in
 * real time while the detector follows that file, printing alerts as they fire;
 * then the summary, scored against the simulator's ground truth.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { formatAlert, formatSummary } from "../runtime/alert-format.js";
import type { DashboardHooks } from "../dashboard/server.js";
import type { Alert } from "../streams/http/detect.js";
import { httpKind } from "../streams/http/kind.js";
import { evaluate, type Evaluation, type TruthLine } from "./evaluate.js";
import { detect } from "../runtime/detect.js";
import { simulate } from "./simulate.js";
import { trainFromLines } from "../streams/http/train.js";

/** Options of the demo. */
export interface DemoOptions {
  /** Seed of the simulated traffic and the forest. */
  seed: number;
  /** Clean lines to train on. */
  trainLines: number;
  /** Lines of the live stream (with incidents). */
  liveLines: number;
  /** Lines written to the live file per second of wall-clock time. */
  rate: number;
  /** Keep the temporary folder (log, model, truth) instead of removing it. */
  keep: boolean;
  /** Print alerts as JSON lines instead of text. */
  json: boolean;
  /** Colour the text output. */
  color: boolean;
  /** Called with every alert (the dashboard listens here). */
  onAlert?: (a: Alert) => void;
  /** Called after each batch of lines is scored. */
  onBatch?: (file: string, lines: number) => void;
  /** A live dashboard's hooks (see startDashboard): it sees the detector, every scored line and every alert. */
  dashboard?: DashboardHooks;
  /** Stops the demo early. */
  signal?: AbortSignal;
  /** Where text goes. */
  print?: (line: string) => void;
}

export const DEMO_DEFAULTS: Omit<DemoOptions, "color" | "json" | "keep"> = { seed: 1, trainLines: 30_000, liveLines: 20_000, rate: 1000 };

/** What the demo found, for tests and --json. */
export interface DemoResult {
  dir: string;
  alerts: Alert[];
  evaluation: Evaluation;
  linesScored: number;
}

/** Validate demo options; errors name the option, range and value. */
export function resolveDemoOptions(o: Partial<DemoOptions>): DemoOptions {
  const r = { ...DEMO_DEFAULTS, keep: false, json: false, color: false, ...o };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int("seed", r.seed, 0, 2 ** 31 - 1);
  int("trainLines", r.trainLines, 1000, 10_000_000);
  int("liveLines", r.liveLines, 100, 10_000_000);
  if (!(r.rate > 0 && r.rate <= 1_000_000)) throw new RangeError(`rate must be a number in (0, 1000000] lines/s, got ${r.rate}`);
  return r;
}

/** The columns of the text alert lines (see formatAlert), printed above them. */
export const ALERT_HEADER = "sev  time      request  status  latency  size  rule  [why]  file:line";

/** Time of the live stream's simulated traffic (a weekday morning): every run of a seed is the same. */
const DEMO_LIVE_START = Date.UTC(2026, 10, 24, 12, 0, 0);

/** Run the demo; resolves when the live stream has been written and scored. */
export async function runDemo(options: Partial<DemoOptions>): Promise<DemoResult> {
  const o = resolveDemoOptions(options);
  const print = o.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), "logforest-demo-"));
  const log = join(dir, "app.log");
  try {
    // A clean stretch ending just before the live stream starts. The lines' times are
    // fixed (not the clock's), so one seed gives the same traffic and the same alerts.
    const liveStart = DEMO_LIVE_START;
    const clean = [...simulate({ count: o.trainLines, seed: o.seed, incidents: "none", start: liveStart - 4 * 3600_000 })];
    const t0 = performance.now();
    const { forest, summary } = trainFromLines(
      clean.map((l) => l.text),
      { forest: { seed: o.seed } },
    );
    forest.save(join(dir, "model.lfm"));
    if (!o.json) {
      print(`trained on ${summary.parsed.toLocaleString("en-US")} lines of clean traffic in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${summary.features.length} features, ${summary.routes} routes`);
    }

    const live = [...simulate({ count: o.liveLines, seed: o.seed + 1, incidents: "default", start: liveStart - 3 * 3600_000 })];
    const truth: TruthLine[] = [];
    live.forEach((l, i) => {
      if (l.kind !== null && l.incident !== null) truth.push({ line: i + 1, kind: l.kind, incident: l.incident });
    });
    writeFileSync(join(dir, "truth.jsonl"), truth.map((t) => JSON.stringify(t)).join("\n") + "\n");
    writeFileSync(log, "");
    if (!o.json) {
      print(`following ${basename(log)}: ${o.liveLines.toLocaleString("en-US")} lines arriving at ${o.rate.toLocaleString("en-US")} lines/s, with incidents`);
      print(ALERT_HEADER);
    }

    const alerts: Alert[] = [];
    const stop = new AbortController();
    let scored = 0;
    const detection = detect({
      input: { follow: [log], start: "beginning" },
      model: { model: forest },
      signal: stop.signal,
      outputs: {
        out: null,
        onAlert: (streamAlert) => {
          if (!httpKind.owns(streamAlert)) throw new Error("the demo's model reads access logs; it cannot raise a metric-stream alert");
          const a = streamAlert as Alert;
          alerts.push(a);
          // The text names the file by its base name: the temporary folder says nothing.
          print(o.json ? JSON.stringify(a) : formatAlert({ ...a, file: basename(a.file) }, o.color));
          o.onAlert?.(a);
          o.dashboard?.onAlert(a);
        },
        onStart: o.dashboard?.onStart,
        onScored: o.dashboard?.onScored,
        onBatch: (file, n) => {
          scored += n;
          o.onBatch?.(file, n);
        },
      },
    });
    await writeLive(log, live.map((l) => l.text), o.rate, o.signal);
    // Let the follower see the last append, then close (close reads to the end).
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const { summary: detected, seconds } = await detection;
    const evaluation = evaluate(alerts, truth);
    if (o.json) {
      print(JSON.stringify({ summary: detected, evaluation }));
    } else {
      for (const line of formatSummary(detected, seconds)) print(line);
      const kinds = Object.entries(evaluation.by_kind).map(([k, v]) => `${k} ${v.caught}/${v.incidents}`).join(", ");
      print(`incidents caught: ${evaluation.incidents_caught}/${evaluation.incidents} (${kinds}); alert precision ${evaluation.precision.toFixed(2)}`);
      if (o.keep) print(`kept ${dir} (app.log, model.lfm, truth.jsonl)`);
    }
    return { dir, alerts, evaluation, linesScored: scored };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Append lines to `path` at `rate` lines per second, in small timed chunks. */
export async function writeLive(path: string, lines: string[], rate: number, signal?: AbortSignal): Promise<void> {
  const tickMs = 20;
  const started = performance.now();
  let written = 0;
  while (written < lines.length && !signal?.aborted) {
    const due = Math.min(lines.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    if (due > written) {
      appendFileSync(path, lines.slice(written, due).join("\n") + "\n");
      written = due;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
}
