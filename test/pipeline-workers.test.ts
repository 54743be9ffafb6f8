/**
 * detect --input on worker threads (runtime/pipeline.ts) against today's path on this thread:
 * the same alerts, --scores rows and summary, byte for byte. The workers run the compiled
 * worker file (dist/): run `npm run build` first.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { Readable } from "node:stream";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectFlat } from "./helpers.js";
import type { PreparedChunkBase } from "../src/streams/stream.js";
import { AUTO_WORKERS_BYTES, runPipeline, workersFor } from "../src/runtime/pipeline.js";
import { LinePreparer, MAX_STRINGS, recordAt, StringTable, TOO_LONG } from "../src/streams/http/prepare.js";
import { createParser } from "../src/streams/http/parse.js";
import { emptyRecord } from "../src/streams/http/record.js";
import { resolveRules } from "../src/streams/http/rules.js";
import { simulate, type SimFormat } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";
import type { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import { DATA_DIR, dataFile } from "./data.js";

const dir = mkdtempSync(join(tmpdir(), "logforest-workers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const START = Date.UTC(2026, 10, 25, 6);
// Every line above the floor alerts (no warm-up, no cooldown): many alerts, each line read again.
const LOUD = resolveRules({ minSeverity: 45, warmupSeconds: 0, cooldownSeconds: 0, conditions: [{ type: "any" }] });

/** Run detect --input with `workers` and return its alerts file, scores file and summary as text. */
async function run(model: IsolationForest, input: string, workers: number, tag: string, extra: { rules?: typeof LOUD; maxLineBytes?: number } = {}) {
  const alerts = join(dir, `${tag}-${workers}.alerts`);
  const scores = join(dir, `${tag}-${workers}.scores`);
  const { summary } = await detectFlat({ model, input, alerts, scores, out: null, workers, ...extra });
  return { alerts: readFileSync(alerts), scores: readFileSync(scores), summary: JSON.stringify(summary) };
}

/** A simulated log with incidents, with malformed, blank, CRLF, non-UTF-8 and too-long lines mixed in (seeded). */
function messyLog(format: SimFormat, count: number, seed: number): Buffer {
  const rnd = new Rng(seed);
  const parts: Buffer[] = [Buffer.from(`${"x".repeat(70_000)}\n`)]; // the first line too long: the first batch starts after it
  for (const l of simulate({ count, seed, format, start: START })) {
    parts.push(Buffer.from(`${l.text}\n`));
    const u = rnd.next();
    if (u < 0.002) parts.push(Buffer.from("{ not json at all\n"));
    else if (u < 0.004) parts.push(Buffer.from("\n"));
    else if (u < 0.005) parts.push(Buffer.from(`${l.text}\r\n`));
    else if (u < 0.006) parts.push(Buffer.concat([Buffer.from(l.text.slice(0, 40)), Buffer.from([0xff, 0xc3]), Buffer.from(`${l.text.slice(40)}\n`)]));
    else if (u < 0.0065) parts.push(Buffer.from(`${"y".repeat(66_000)}\n`));
  }
  // A line longer than a whole read chunk (1 MiB), then a last line without its newline.
  parts.splice(parts.length >> 1, 0, Buffer.from(`${"z".repeat(1_500_000)}\n`));
  parts.push(Buffer.from("127.0.0.1 - - garbage without newline"));
  return Buffer.concat(parts);
}

describe("detect --input on worker threads", () => {
  for (const format of ["json", "combined"] as const) {
    it(`gives the same alerts, scores and summary as on one thread (${format}, incidents, malformed lines)`, async () => {
      const { forest } = trainFromLines([...simulate({ count: 20_000, seed: 11, incidents: "none", format })].map((l) => l.text), { forest: { seed: 1 } });
      const input = join(dir, `messy-${format}.log`);
      writeFileSync(input, messyLog(format, 40_000, 3));
      const base = await run(forest, input, 0, format);
      const summary = JSON.parse(base.summary) as { alerts: number; skipped: Record<string, number>; lines_read: number };
      expect(summary.alerts).toBeGreaterThan(10);
      expect(summary.skipped.too_long).toBeGreaterThanOrEqual(3);
      expect(Object.keys(summary.skipped).length).toBeGreaterThanOrEqual(2);
      for (const workers of [1, 2]) {
        const got = await run(forest, input, workers, format);
        expect(got.summary).toBe(base.summary);
        expect(got.alerts.equals(base.alerts), `alerts, ${workers} workers`).toBe(true);
        expect(got.scores.equals(base.scores), `scores, ${workers} workers`).toBe(true);
      }
    }, 120_000);
  }

  it("gives the same alerts with every line above the floor alerting (each read again for its record and reasons)", async () => {
    const { forest } = trainFromLines([...simulate({ count: 20_000, seed: 5, incidents: "none", format: "combined" })].map((l) => l.text), { forest: { seed: 2 } });
    const input = join(dir, "loud.log");
    writeFileSync(input, messyLog("combined", 15_000, 9));
    const base = await run(forest, input, 0, "loud", { rules: LOUD });
    expect((JSON.parse(base.summary) as { alerts: number }).alerts).toBeGreaterThan(1000);
    const got = await run(forest, input, 1, "loud", { rules: LOUD });
    expect(got.summary).toBe(base.summary);
    expect(got.alerts.equals(base.alerts)).toBe(true);
  }, 120_000);

  it("refuses a workers count out of range, naming the option", async () => {
    const { forest } = trainFromLines([...simulate({ count: 5_000, seed: 1, incidents: "none" })].map((l) => l.text));
    await expect(detectFlat({ model: forest, input: join(dir, "none.log"), out: null, workers: 17 })).rejects.toThrow(/--workers must be an integer in \[0, 16\], got 17/);
    await expect(detectFlat({ model: forest, input: join(dir, "none.log"), out: null, workers: 1.5 })).rejects.toThrow(RangeError);
    await expect(detectFlat({ model: forest, stdin: Readable.from([]), out: null, workers: 1 })).rejects.toThrow(/--workers applies to --input only/);
    await expect(detectFlat({ model: forest, input: join(dir, "none.log"), out: null, workers: 1, retrain: {} })).rejects.toThrow(/--workers cannot be combined with --retrain/);
  });

  it("defaults to one worker for a file of 32 MiB or more on two cores or more, else none", () => {
    const big = join(dir, "big.log");
    const small = join(dir, "small-default.log");
    writeFileSync(small, "x\n");
    truncateSync(small, AUTO_WORKERS_BYTES - 1);
    writeFileSync(big, "x\n");
    truncateSync(big, AUTO_WORKERS_BYTES); // sparse: no 32 MiB written
    expect(workersFor({ input: big })).toBe(availableParallelism() >= 2 ? 1 : 0);
    expect(workersFor({ input: small })).toBe(0);
    expect(workersFor({ input: big, retrain: {} })).toBe(0);
    expect(workersFor({})).toBe(0);
    expect(workersFor({ input: big, workers: 0 })).toBe(0);
  });

  it("ends with an error naming the worker when a worker dies", async () => {
    const input = join(dir, "small.log");
    writeFileSync(input, [...simulate({ count: 2_000, seed: 1 })].map((l) => `${l.text}\n`).join(""));
    // A format no worker can make a parser for: the worker throws as it starts.
    const handlers = { choose: () => ({ kind: "logs", settings: { format: "nope", options: {} } }), receiver: () => (p: PreparedChunkBase) => p, batch: () => undefined, tooLong: () => undefined };
    await expect(runPipeline(input, 1, 65536, handlers)).rejects.toThrow(/detect worker 1 of 1 (failed|exited).*format must be one of/);
  });
});

describe("LinePreparer (the part the workers run)", () => {
  it("gives each line the parser's record or reason, through a string table that starts over when full", () => {
    const lines = [...simulate({ count: 3_000, seed: 4, format: "combined" })].map((l) => l.text);
    lines.push("not a log line", "", "x".repeat(500));
    const prep = new LinePreparer("combined", {}, 400);
    const parser = createParser("combined");
    const table = new StringTable();
    const want = emptyRecord();
    const got = emptyRecord();
    // Distinct client addresses per chunk until the table must start over.
    let resets = 0;
    for (let round = 0; round < 25; round++) {
      const text = lines.map((l, i) => l.replace(/^\S+/, `10.${round}.${i >> 8}.${i & 255}`));
      const c = prep.prepare(Buffer.from(text.join("\n")));
      table.apply(c);
      if (c.reset) resets++;
      expect(table.strings.length).toBeLessThanOrEqual(MAX_STRINGS);
      const p = { ...c, strings: table.strings };
      for (let i = 0; i < text.length; i++) {
        if (text[i].length > 400) {
          expect(c.skip[i]).toBe(TOO_LONG);
          continue;
        }
        const reason = parser.parse(text[i], want);
        expect(c.skip[i] === 0 ? null : c.reasons[c.skip[i] - 1]).toBe(reason);
        if (reason !== null) continue;
        recordAt(p, i, got);
        expect([got.ts, got.status, got.latencyMs, got.bytes, got.method, got.route, got.ip]).toEqual([want.ts, want.status, want.latencyMs, want.bytes, want.method, want.route, want.ip]);
      }
    }
    expect(resets).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(DATA_DIR === null)("the real combined-format sample on worker threads", () => {
  it("gives the same alerts, scores and summary as on one thread", async () => {
    const path = dataFile("logs/apache_combined_3k.log");
    const text = readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
    const { forest } = trainFromLines(text.slice(0, 2000), { forest: { seed: 1 } });
    for (const rules of [undefined, LOUD]) {
      const base = await run(forest, path, 0, "apache", rules ? { rules } : {});
      if (rules) expect((JSON.parse(base.summary) as { alerts: number }).alerts).toBeGreaterThan(0);
      const got = await run(forest, path, 1, "apache", rules ? { rules } : {});
      expect(got.summary).toBe(base.summary);
      expect(got.alerts.equals(base.alerts)).toBe(true);
      expect(got.scores.equals(base.scores)).toBe(true);
    }
  }, 60_000);
});
