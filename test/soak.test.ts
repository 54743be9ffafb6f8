// Crash soak: `detect --follow --positions --scores --alerts` while a writer appends at
// RATE lines/s, stopped again and again (SIGKILL, or SIGTERM), with rename rotations and
// copytruncates both while it runs and while it is stopped. Every line the writer wrote
// must be in --scores: at least once after SIGKILLs (with at most MAX_REPEATED_LINES
// repeated per kill), exactly once after SIGTERMs; the alerts file never holds a torn line.
//
// Each line is identified by its timestamp: line `seq` has ts = T0 + seq * STEP_MS, and the
// --scores CSV gives every scored line's timestamp. The CI size runs in ~40 s; `npm run soak`
// (SOAK_LONG=1) runs a longer one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_REPEATED_LINES } from "../src/runtime/follow.js";
import { Rng } from "../src/forest/random.js";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const LONG = process.env.SOAK_LONG === "1";
const T0 = Date.UTC(2026, 0, 1);
const STEP_MS = 10;
/** Hang guards, not speed goals: with four CPU-bound processes beside (docs/reliability.md) a CI-size run took 387 s. */
const HANG_MS = 120_000;
const TEST_MS = LONG ? 3_600_000 : 1_200_000;

type Op = "rename" | "copytruncate";

interface Plan {
  signal: "SIGKILL" | "SIGTERM";
  seed: number;
  /** Lines per second the writer appends. */
  rate: number;
  /** Detector runs stopped with `signal` (a last one is stopped with SIGTERM after the writer). */
  stops: number;
  /** Run time before each stop, ms: [min, max). */
  runMs: [number, number];
  /** Rotations done by the writer while the detector runs (before stop k)... */
  live: Record<number, Op>;
  /** ... and while it is stopped (after stop k). */
  stopped: Record<number, Op>;
}

interface Outcome {
  written: number;
  scored: number;
  lost: number[];
  duplicated: number;
  maxPerStop: number;
  tornTails: number;
  alerts: number;
  badAlertLines: number;
  badScoreRows: number;
  exitCodes: Array<number | null>;
  seconds: number;
}

// The writer: appends lines in ticks, and does rotations between two appends when asked (so no
// line is written between the copy and the truncation of a copytruncate).
const WRITER = `
const fs = require("node:fs");
const [log, source, rateArg] = process.argv.slice(2);
const rate = Number(rateArg);
const tails = fs.readFileSync(source, "utf8").split("\\n").filter(Boolean).map((l) => l.slice(l.indexOf('"', 7) + 1));
let seq = 0, gen = 0, stopped = false;
const t0 = Date.now();
const tick = () => {
  if (stopped) return;
  const due = Math.floor(((Date.now() - t0) / 1000) * rate);
  let chunk = "";
  for (; seq < due; seq++) chunk += '{"ts":"' + new Date(${T0} + seq * ${STEP_MS}).toISOString() + '"' + tails[seq % tails.length] + "\\n";
  if (chunk) fs.appendFileSync(log, chunk);
  setTimeout(tick, 5);
};
process.on("message", (m) => {
  if (m.op === "rename") fs.renameSync(log, log + "." + ++gen);
  if (m.op === "copytruncate") { fs.copyFileSync(log, log + "." + ++gen); fs.truncateSync(log, 0); }
  if (m.op === "stop") stopped = true;
  process.send({ id: m.id, seq });
  if (m.op === "stop") process.disconnect();
});
tick();
`;

let root = "";
let model = "";
let writerJs = "";
let source = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "logforest-soak-"));
  model = join(root, "model.lfm");
  writerJs = join(root, "writer.cjs");
  source = join(root, "source.jsonl");
  writeFileSync(writerJs, WRITER);
  const normal = [...simulate({ count: 20_000, seed: 11, incidents: "none" })].map((l) => l.text);
  trainFromLines(normal, { forest: { seed: 11, trees: 50 } }).forest.save(model);
  // The writer repeats lines with incidents, so some raise alerts.
  writeFileSync(source, [...simulate({ count: 20_000, seed: 12, incidents: "default" })].map((l) => l.text).join("\n"));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code) => r(code)));
}

/**
 * Wait until the detector saved positions (it is reading, and its signal handlers are in place).
 * Readiness, not time: on a busy machine node takes seconds to start; only an exit, or no start
 * at all within the hang guard, is a failure.
 */
async function ready(positions: string, child: ChildProcess): Promise<void> {
  const spawned = Date.now();
  while (!existsSync(positions) || statSync(positions).mtimeMs < spawned - 5) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the detector exited (${child.exitCode ?? child.signalCode}) before it started`);
    if (Date.now() - spawned > HANG_MS) throw new Error(`the detector did not start within ${HANG_MS} ms`);
    await sleep(10);
  }
}

async function soak(plan: Plan): Promise<Outcome> {
  const started = Date.now();
  const dir = mkdtempSync(join(root, `${plan.signal}-`));
  const log = join(dir, "live.log");
  const positions = join(dir, "positions.json");
  const scores = join(dir, "scores.csv");
  const alerts = join(dir, "alerts.jsonl");
  const rng = new Rng(plan.seed);
  const writer = fork(writerJs, [log, source, String(plan.rate)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  let nextId = 0;
  const ask = (op: Op | "stop"): Promise<number> =>
    new Promise((resolve) => {
      const id = nextId++;
      const onMessage = (m: { id: number; seq: number }) => {
        if (m.id !== id) return;
        writer.off("message", onMessage);
        resolve(m.seq);
      };
      writer.on("message", onMessage);
      writer.send({ op, id });
    });
  let stderr = "";
  const detector = (): ChildProcess => {
    const child = spawn(process.execPath, [
      BIN, "detect", "--model", model, "--follow", log, "--positions", positions, "--scores", scores, "--alerts", alerts,
      "--from-start", "--json",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    return child;
  };
  const size = (f: string): number => (existsSync(f) ? statSync(f).size : 0);
  const tornTail = (f: string): boolean => size(f) > 0 && !readFileSync(f).subarray(-1).equals(Buffer.from("\n"));
  // Where each run's rows start in --scores, to charge every repeated row to the stop before it.
  const runStarts: number[] = [];
  const exitCodes: Array<number | null> = [];
  let tornTails = 0;
  try {
    await sleep(50);
    for (let k = 0; k < plan.stops; k++) {
      runStarts.push(size(scores));
      const child = detector();
      // Each run gets going before its clock starts: on a loaded machine a detector killed again and
      // again while node starts up would never see the generations rotated meanwhile (see follow.ts).
      await ready(positions, child);
      const runMs = plan.runMs[0] + rng.int(plan.runMs[1] - plan.runMs[0]);
      const op = plan.live[k];
      if (op !== undefined) {
        await sleep(runMs / 2);
        await ask(op);
        await sleep(runMs / 2);
      } else {
        await sleep(runMs);
      }
      child.kill(plan.signal);
      exitCodes.push(await exited(child));
      if (tornTail(alerts) || tornTail(scores)) tornTails++;
      const after = plan.stopped[k];
      if (after !== undefined) await ask(after);
      await sleep(rng.int(300));
    }
    runStarts.push(size(scores));
    const last = detector();
    await ready(positions, last);
    await sleep(700);
    const written = await ask("stop");
    await sleep(300);
    last.kill("SIGTERM");
    exitCodes.push(await exited(last));
    return { ...check(scores, alerts, runStarts, written), tornTails, exitCodes, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    throw new Error(`${String(err)}\ndetector stderr:\n${stderr}`);
  } finally {
    if (writer.connected) writer.kill();
  }
}

/** Count every written line's rows in --scores, and the repeats of each run. */
function check(scores: string, alerts: string, runStarts: number[], written: number): Omit<Outcome, "tornTails" | "exitCodes" | "seconds"> {
  const text = readFileSync(scores);
  const seen = new Uint32Array(written);
  const perRun = new Array<number>(runStarts.length).fill(0);
  let run = 0;
  let scored = 0;
  let duplicated = 0;
  let badScoreRows = 0;
  let start = text.indexOf(0x0a) + 1; // after the header
  for (let nl = text.indexOf(0x0a, start); nl >= 0; start = nl + 1, nl = text.indexOf(0x0a, start)) {
    while (run + 1 < runStarts.length && start >= runStarts[run + 1]) run++;
    const cols = text.toString("utf8", start, nl).split(",");
    const ms = cols.length === 6 && cols[5] === "" ? Date.parse(cols[2]) : NaN;
    const seq = Math.round((ms - T0) / STEP_MS);
    if (!Number.isFinite(ms) || seq < 0 || seq >= written) {
      badScoreRows++;
      continue;
    }
    scored++;
    if (seen[seq]++ > 0) {
      duplicated++;
      perRun[run]++;
    }
  }
  if (start < text.length) badScoreRows++; // a torn last row
  const lost: number[] = [];
  for (let i = 0; i < written; i++) if (seen[i] === 0) lost.push(i);
  let alertCount = 0;
  let badAlertLines = 0;
  const alertText = existsSync(alerts) ? readFileSync(alerts, "utf8") : "";
  if (alertText !== "" && !alertText.endsWith("\n")) badAlertLines++;
  for (const line of alertText.split("\n")) {
    if (line === "") continue;
    try {
      const a = JSON.parse(line) as { line?: unknown; score?: unknown };
      if (typeof a.line !== "number" || typeof a.score !== "number") badAlertLines++;
      alertCount++;
    } catch {
      badAlertLines++;
    }
  }
  return { written, scored, lost, duplicated, maxPerStop: Math.max(...perRun), alerts: alertCount, badAlertLines, badScoreRows };
}

function report(name: string, o: Outcome): void {
  const { lost, ...rest } = o;
  const ranges: string[] = []; // lost lines as first-last runs
  for (let i = 0; i < lost.length && ranges.length < 10; i++) {
    const from = lost[i];
    while (i + 1 < lost.length && lost[i + 1] === lost[i] + 1) i++;
    ranges.push(from === lost[i] ? `${from}` : `${from}-${lost[i]}`);
  }
  console.log(`soak ${name}: ${JSON.stringify({ ...rest, lost: lost.length, lostRanges: ranges })}`);
}

describe("crash soak: detect --follow under a writer at 12k lines/s", () => {
  it(`loses no line across ${LONG ? 40 : 12} SIGKILLs with rotations live and while stopped; repeats stay within ${MAX_REPEATED_LINES} lines per kill`, async () => {
    const o = await soak({
      signal: "SIGKILL",
      seed: 2026,
      rate: LONG ? 18_000 : 12_000,
      stops: LONG ? 40 : 12,
      runMs: LONG ? [300, 3000] : [400, 1600],
      live: LONG ? { 3: "rename", 9: "copytruncate", 17: "rename", 25: "copytruncate", 33: "rename" } : { 2: "rename", 6: "copytruncate" },
      stopped: LONG ? { 5: "rename", 12: "copytruncate", 20: "rename", 28: "copytruncate", 36: "rename" } : { 4: "rename", 8: "copytruncate", 10: "rename" },
    });
    report("SIGKILL", o);
    expect(o.lost).toEqual([]);
    expect(o.badScoreRows).toBe(0);
    expect(o.badAlertLines).toBe(0);
    expect(o.alerts).toBeGreaterThan(0);
    expect(o.maxPerStop).toBeLessThanOrEqual(MAX_REPEATED_LINES);
    expect(o.exitCodes.at(-1)).toBe(0);
  }, TEST_MS);

  it(`scores every line exactly once across ${LONG ? 20 : 6} SIGTERMs with rotations live and while stopped`, async () => {
    const o = await soak({
      signal: "SIGTERM",
      seed: 7,
      rate: LONG ? 18_000 : 12_000,
      stops: LONG ? 20 : 6,
      runMs: LONG ? [500, 3000] : [700, 1500],
      live: LONG ? { 2: "rename", 7: "copytruncate", 13: "rename" } : { 1: "rename", 4: "copytruncate" },
      stopped: LONG ? { 4: "rename", 9: "copytruncate", 15: "rename" } : { 2: "rename", 3: "copytruncate" },
    });
    report("SIGTERM", o);
    expect(o.lost).toEqual([]);
    expect(o.duplicated).toBe(0);
    expect(o.badScoreRows).toBe(0);
    expect(o.badAlertLines).toBe(0);
    expect(o.exitCodes.every((c) => c === 0)).toBe(true);
  }, TEST_MS);
});
