// Where detect writes (alerts, scores, positions) failing under it, and hostile line lengths:
// a clear error and a non-zero exit, never output silently lost; a 50 MB line costs no memory.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPositions } from "../src/runtime/positions.js";
import { LineSink } from "../src/runtime/line-sink.js";
import { readLineBatches } from "../src/streams/lines.js";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const INDEX = new URL("../dist/src/index.js", import.meta.url).href;
let dir = "";
let model = "";
let log = ""; // lines with incidents: detect raises alerts on them
let lines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "logforest-sinks-"));
  model = join(dir, "m.lfm");
  const normal = [...simulate({ count: 8000, seed: 3, incidents: "none" })].map((l) => l.text);
  trainFromLines(normal, { forest: { seed: 3, trees: 50 } }).forest.save(model);
  lines = [...simulate({ count: 20_000, seed: 4, incidents: "default" })].map((l) => l.text);
  log = join(dir, "test.log");
  writeFileSync(log, lines.join("\n") + "\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function detect(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--json", ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("detect: output that cannot be written stops the run", () => {
  it("--alerts on a full disk (/dev/full): exit 1 naming the option, the file and ENOSPC", () => {
    const r = detect(["--input", log, "--alerts", "/dev/full"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--alerts file \/dev\/full: cannot write \(ENOSPC/);
  });

  it("--scores on a full disk, --alerts into a missing folder or onto a folder: the same", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--scores", "/dev/full"], /--scores file \/dev\/full: cannot write \(ENOSPC/],
      [["--alerts", join(dir, "gone", "alerts.jsonl")], /--alerts file .*gone\/alerts\.jsonl: cannot open \(ENOENT/],
      [["--alerts", dir], /--alerts file .*: cannot open \(EISDIR/],
    ];
    for (const [args, message] of cases) {
      const r = detect(["--input", log, ...args]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
    }
  });

  it("follow mode: the alerts folder removed while running stops the run before the position moves past them", async () => {
    const run = join(dir, "removed");
    mkdirSync(join(run, "out"), { recursive: true });
    const file = join(run, "app.log");
    const positions = join(run, "positions.json");
    writeFileSync(file, lines.slice(0, 2000).join("\n") + "\n");
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--follow", file, "--from-start", "--positions", positions,
      "--alerts", join(run, "out", "alerts.jsonl"), "--json"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const deadline = Date.now() + 20_000;
    const savedOffset = () => (existsSync(positions) ? loadPositions(positions).get(file)?.offset ?? 0 : 0);
    while (savedOffset() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const before = savedOffset();
    expect(before).toBeGreaterThan(0);
    rmSync(join(run, "out"), { recursive: true });
    appendFileSync(file, lines.slice(2000).join("\n") + "\n");
    expect(await exited).toBe(1);
    expect(err).toMatch(/--alerts file .*out\/alerts\.jsonl was removed while running/);
    expect(savedOffset()).toBe(before);
  });

  it("follow mode: positions that cannot be saved stop the run with an error naming the file", async () => {
    const run = join(dir, "nopos");
    mkdirSync(join(run, "state"), { recursive: true });
    const file = join(run, "app.log");
    const positions = join(run, "state", "positions.json");
    writeFileSync(file, lines.slice(0, 100).join("\n") + "\n");
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--follow", file, "--from-start", "--positions", positions,
      "--scores", join(run, "scores.csv"), "--json"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!existsSync(positions) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    rmSync(join(run, "state"), { recursive: true });
    appendFileSync(file, lines.slice(100, 5000).join("\n") + "\n");
    expect(await exited).toBe(1);
    expect(err).toMatch(/cannot save positions file .*state\/positions\.json \(ENOENT/);
  });
});

describe("detect --follow: a saved position is never ahead of the written output", () => {
  it("every line up to the saved position has its --scores row whenever the positions file is read", async () => {
    const run = join(dir, "ahead");
    mkdirSync(run);
    const file = join(run, "app.log");
    const positions = join(run, "positions.json");
    const scores = join(run, "scores.csv");
    writeFileSync(file, "");
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--follow", file, "--from-start", "--positions", positions,
      "--scores", scores, "--alerts", join(run, "alerts.jsonl"), "--json"], { stdio: ["ignore", "ignore", "ignore"] });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const checked: number[] = [];
    try {
      // 40 appends 25 ms apart, then reads on (up to 30 s: a loaded machine may start the
      // detector late) until the saved position has passed 5,000 lines.
      const deadline = Date.now() + 30_000;
      for (let k = 0; k < 40 || (Math.max(0, ...checked) <= 5000 && Date.now() < deadline); k++) {
        if (k < 40) appendFileSync(file, lines.slice(k * 500, (k + 1) * 500).join("\n") + "\n");
        await new Promise((r) => setTimeout(r, 25));
        // Positions first, then the scores: rows written before that save must all be there.
        const saved = existsSync(positions) ? loadPositions(positions).get(file)?.lineNo ?? 0 : 0;
        const rows = existsSync(scores) ? readFileSync(scores, "utf8").split("\n").slice(1).filter((l) => l !== "") : [];
        const numbers = new Set(rows.map((r) => Number(r.split(",")[1])));
        let missing = 0;
        for (let line = 1; line <= saved; line++) if (!numbers.has(line)) missing++;
        expect(missing).toBe(0);
        checked.push(saved);
      }
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(Math.max(...checked)).toBeGreaterThan(5000);
  });
});

describe("LineSink: torn tails", () => {
  it("cuts a last line without its newline when opened, keeps whole lines, appends after them", () => {
    const f = join(dir, "torn.jsonl");
    for (const [before, after] of [["{\"a\":1}\n{\"b\":", "{\"a\":1}\n"], ["{\"half", ""], ["{\"a\":1}\n", "{\"a\":1}\n"], ["", ""]]) {
      writeFileSync(f, before);
      const sink = new LineSink(f, "--alerts");
      expect(sink.repaired).toBe(before.length - after.length);
      sink.write("{\"c\":3}\n");
      sink.close();
      expect(readFileSync(f, "utf8")).toBe(`${after}{"c":3}\n`);
    }
  });

  it("finds the last newline further back than one read", () => {
    const f = join(dir, "torn-long.jsonl");
    writeFileSync(f, "first\n" + "x".repeat(200_000));
    const sink = new LineSink(f, "--scores");
    sink.close();
    expect(readFileSync(f, "utf8")).toBe("first\n");
  });
});

describe("--max-line-bytes", () => {
  it("rejects values outside [1, 2^30] with a RangeError naming the option", () => {
    for (const bad of ["0", "1.5", "1073741825"]) {
      const r = detect(["--input", log, "--max-line-bytes", bad]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--max-line-bytes must be an integer in [1, 1073741824], got ${Number(bad)}`);
    }
  });

  it("readLineBatches skips longer lines whole, numbered, across reads, and passes them as \"\" without onTooLong", async () => {
    const { Readable } = await import("node:stream");
    const text = ["short", "x".repeat(11), "é".repeat(5), "y".repeat(40), "end"].join("\n");
    const pieces = [text.slice(0, 7), text.slice(7, 15), text.slice(15, 30), text.slice(30)];
    const got: Array<[number, string]> = [];
    const long: number[] = [];
    const n = await readLineBatches(Readable.from(pieces), (b, first) => b.forEach((l, i) => got.push([first + i, l])), 2, {
      maxLineBytes: 10, onTooLong: (line) => long.push(line),
    });
    expect(n).toBe(5);
    expect(got).toEqual([[1, "short"], [3, "é".repeat(5)], [5, "end"]]); // "é" x5 is exactly 10 bytes
    expect(long).toEqual([2, 4]);
    const plain: string[] = [];
    await readLineBatches(Readable.from(pieces), (b) => plain.push(...b), 8192, { maxLineBytes: 10 });
    expect(plain).toEqual(["short", "", "é".repeat(5), "", "end"]);
  });

  // A child process reads a 50 MB line with no newline in it (then more lines): its peak memory stays low.
  const probe = (mode: "input" | "follow", file: string) => `
    import(${JSON.stringify(INDEX)}).then(async ({ detect }) => {
      const stop = new AbortController();
      const input = ${mode === "follow" ? `{ follow: [${JSON.stringify(file)}], start: "beginning" }` : `{ file: ${JSON.stringify(file)} }`};
      let seen = 0;
      const onBatch = (f, n) => { seen += n; if (seen >= 200) stop.abort(); };
      const { summary } = await detect({
        input, model: { model: ${JSON.stringify(model)} }, signal: stop.signal,
        outputs: { out: null, scores: ${JSON.stringify(file + ".scores.csv")}, ...(${mode === "follow"} ? { onBatch } : {}) },
      });
      console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, summary }));
    });`;

  for (const mode of ["input", "follow"] as const) {
    it(`${mode}: a 50 MB line is skipped as too_long, counted, without taking memory, and reading goes on`, () => {
      const file = join(dir, `huge-${mode}.log`);
      writeFileSync(file, lines.slice(0, 100).join("\n") + "\n");
      appendFileSync(file, Buffer.alloc(50 << 20, 0x78));
      appendFileSync(file, "\n" + lines.slice(100, 200).join("\n") + "\n");
      const r = spawnSync(process.execPath, ["-e", probe(mode, file)], { encoding: "utf8", timeout: 120_000 });
      expect(r.stderr).toBe("");
      const { maxRssMb, summary } = JSON.parse(r.stdout) as { maxRssMb: number; summary: { lines_read: number; lines_scored: number; skipped: Record<string, number>; skipped_examples: unknown[] } };
      expect(summary.lines_read).toBe(201);
      expect(summary.lines_scored).toBe(200);
      expect(summary.skipped).toEqual({ too_long: 1 });
      expect(summary.skipped_examples).toEqual([{ file, line: 101, reason: "too_long" }]);
      expect(readFileSync(`${file}.scores.csv`, "utf8")).toContain(`\n${file},101,,,,too_long\n`);
      expect(maxRssMb).toBeLessThan(150);
    });
  }
});
