/**
 * Free-text figures for `logforest bench --text-lines N` (issue 20): template matching on
 * one thread, and `detect --input` on a free-text log (the whole CLI path: read, header,
 * template, rules, sessions), on the simulated order service's log (src/tools/simulate-text.ts).
 * With `--drain DIR` (a checkout of logpai/logparser's Drain, not part of the package),
 * Drain parses the first `--drain-lines` lines of the same file in the same run, so the
 * ratio is measured on one machine in one hour.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detect } from "../runtime/detect.js";
import { workersFor } from "../runtime/pipeline.js";
import { textForest } from "../streams/text/kind.js";
import { TemplateMiner } from "../streams/text/miner.js";
import { TextReader, firstLine } from "../streams/text/reader.js";
import { trainText } from "../streams/text/train.js";
import { simulateText, TEXT_SIM_SESSION_KEY, writeTextSimulation } from "./simulate-text.js";

/** One free-text measurement; field names are the JSON output's. */
export interface TextBenchResult {
  measure: "text_match" | "text_detect" | "drain";
  lines: number;
  lines_per_s: number;
  ms: number;
  /** text_match: lines no known template matched; text_detect: alerts. */
  unmatched?: number;
  alerts?: number;
  workers?: number;
  /** drain: how many times slower than text_match on the same lines' messages. */
  vs_text_match?: number;
}

export interface TextBenchOptions {
  lines: number;
  runs: number;
  /** A folder holding logparser's Drain.py (its `Drain` package or module), or undefined. */
  drain?: string;
  drainLines: number;
  python?: string;
}

/** Run the free-text measurements, logging each. */
export async function benchText(o: TextBenchOptions, log: (r: TextBenchResult) => void): Promise<void> {
  if (!Number.isInteger(o.drainLines) || o.drainLines < 1) throw new RangeError(`--drain-lines must be an integer >= 1, got ${o.drainLines}`);
  if (o.drain !== undefined && !existsSync(join(o.drain, "Drain.py"))) {
    throw new RangeError(`--drain must be a folder holding logparser's Drain.py, got ${JSON.stringify(o.drain)} (no Drain.py there)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "logforest-bench-text-"));
  try {
    const path = join(dir, "orders.log");
    writeTextSimulation({ count: o.lines, seed: 7, out: path });
    const train = [...take(simulateText({ count: Math.min(o.lines, 100_000), seed: 3, incidents: false }))];

    // Template matching: the messages of the file, against templates learned on the training run.
    const miner = new TemplateMiner();
    for (const m of messagesOf(train)) miner.learn(m);
    const messages = messagesOf([...take(simulateText({ count: o.lines, seed: 7 }))]);
    for (let i = 0; i < Math.min(2000, messages.length); i++) miner.match(messages[i] ?? ""); // warm up
    const matchTimes: number[] = [];
    let unmatched = 0;
    for (let r = 0; r < o.runs; r++) {
      unmatched = 0;
      const t0 = performance.now();
      for (const m of messages) if (miner.match(m) === null) unmatched++;
      matchTimes.push(performance.now() - t0);
    }
    const matchMs = median(matchTimes);
    const matchRate = Math.round(messages.length / (matchMs / 1000));
    log({ measure: "text_match", lines: messages.length, lines_per_s: matchRate, ms: Math.round(matchMs), unmatched });

    // The CLI's detect --input on the file, with a model trained (sessions included) on the clean run.
    const model = textForest(trainText(train, { sessionKey: TEXT_SIM_SESSION_KEY }));
    const detectTimes: number[] = [];
    let alerts = 0;
    for (let r = 0; r < o.runs; r++) {
      const t0 = performance.now();
      const { summary } = await detect({ input: { file: path }, model: { model }, outputs: { out: null } });
      detectTimes.push(performance.now() - t0);
      alerts = summary.alerts;
    }
    const detectMs = median(detectTimes);
    log({ measure: "text_detect", lines: o.lines, lines_per_s: Math.round(o.lines / (detectMs / 1000)), ms: Math.round(detectMs), alerts, workers: workersFor({ input: path }) });

    if (o.drain !== undefined) {
      const n = Math.min(o.drainLines, o.lines);
      const drainPath = join(dir, "drain.log");
      writeFileSync(drainPath, [...take(simulateText({ count: n, seed: 7 }))].join("\n") + "\n");
      const ms = runDrain(o.python ?? "python3", o.drain, drainPath, join(dir, "drain-out"));
      const rate = Math.round(n / (Math.max(ms, 0.001) / 1000));
      // Two significant figures: a ratio below 0.05 (a Drain faster than our matcher) must not read as 0.
      log({ measure: "drain", lines: n, lines_per_s: rate, ms: Math.round(ms), vs_text_match: Number((matchRate / Math.max(rate, 1)).toPrecision(2)) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lines of a generator, as text. */
function* take(g: Generator<{ text: string }, unknown, undefined>): Generator<string> {
  for (let r = g.next(); r.done !== true; r = g.next()) yield r.value.text;
}

/** The first line of each record's message, read as detect reads them. */
function messagesOf(lines: readonly string[]): string[] {
  const out: string[] = [];
  const reader = TextReader.detect(lines.slice(0, 200));
  const push = (rec: { message: string }): void => {
    out.push(firstLine(rec.message));
  };
  lines.forEach((l, i) => reader.push(l, i + 1, push));
  reader.flush(push);
  return out;
}

/**
 * Time Drain's `parse` on `file` with date, time and level as its header format (the thread and
 * class stay in the content: logparser's format does not escape `[`) and no
 * masking regexes (logparser's defaults: depth 4, similarity 0.5); milliseconds.
 */
function runDrain(python: string, drainDir: string, file: string, outDir: string): number {
  const driver = [
    "import sys, os, time",
    "sys.path.insert(0, sys.argv[1])",
    "from Drain import LogParser",
    "path, out = sys.argv[2], sys.argv[3]",
    "p = LogParser('<Date> <Time> <Level> <Content>', indir=os.path.dirname(path), outdir=out, depth=4, st=0.5, rex=[], keep_para=False)",
    "t0 = time.perf_counter()",
    "p.parse(os.path.basename(path))",
    "print((time.perf_counter() - t0) * 1000)",
  ].join("\n");
  const r = spawnSync(python, ["-c", driver, drainDir, file, outDir], { encoding: "utf8" });
  if (r.error !== undefined) throw new Error(`could not run ${python} for Drain: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`Drain failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  const ms = Number(r.stdout.trim().split("\n").at(-1));
  if (!Number.isFinite(ms)) throw new Error(`Drain's driver printed no time: ${JSON.stringify(r.stdout.slice(-200))}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
}
