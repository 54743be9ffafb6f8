// The progress bar: drawn on a terminal (util-linux `script` gives the command one), never
// into a pipe or a file, and not with --json.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProgress } from "../src/runtime/progress.js";
import { simulate } from "../src/tools/simulate.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-progress-"));
const log = join(dir, "app.log");
const hasScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;
const BAR = /reading \[[█░]{30}\] 100% \| 20,000 lines \| [\d,]+ lines\/s \| ETA/;

beforeAll(() => writeFileSync(log, [...simulate({ count: 20_000, seed: 3, incidents: "none" })].map((l) => l.text).join("\n") + "\n"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI under `script`: stdout and stderr both on a pseudo-terminal, captured together. */
function onTerminal(args: string[]): string {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" ");
  const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!hasScript)("train's progress bar", () => {
  it("is drawn on a terminal: the bar, the percentage, lines and lines/s", () => {
    const out = onTerminal(["train", "--input", log, "--model", join(dir, "a.model")]);
    expect(out).toMatch(BAR);
    expect(out).toMatch(/model written to/);
  }, 60_000);

  it("shows the second pass when the log is longer than --max-lines", () => {
    const out = onTerminal(["train", "--input", log, "--model", join(dir, "b.model"), "--max-lines", "5000"]);
    expect(out).toMatch(BAR);
    expect(out).toMatch(/features \(pass 2\) \[[█░]{30}\] 100%/);
  }, 60_000);

  it("is drawn for a telemetry CSV too (train --format csv)", () => {
    const csv = join(dir, "metrics.csv");
    const made = spawnSync(process.execPath, [BIN, "simulate", "--kind", "telemetry", "--count", "3000", "--out", csv], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(made.status).toBe(0);
    const out = onTerminal(["train", "--format", "csv", "--input", csv, "--model", join(dir, "t.model")]);
    expect(out).toMatch(/reading \[[█░]{30}\] 100% \| 3,001 lines/);
  }, 60_000);

  it("is drawn by simulate --out, and not when the log goes to stdout", () => {
    const out = onTerminal(["simulate", "--count", "20000", "--out", join(dir, "sim.log")]);
    expect(out).toMatch(/simulate \[[█░]{30}\] 100% \| 20,000 lines/);
    const piped = spawnSync(process.execPath, [BIN, "simulate", "--count", "2000"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(piped.stderr).not.toMatch(/[█░]|lines\/s/);
  }, 60_000);

  it("is drawn by detect --input, with alert lines printed above it, and not with --json", () => {
    const model = join(dir, "d.model");
    expect(spawnSync(process.execPath, [BIN, "train", "--input", log, "--model", model], { cwd: dir, encoding: "utf8", timeout: 60_000 }).status).toBe(0);
    const test = join(dir, "test.log");
    writeFileSync(test, [...simulate({ count: 20_000, seed: 8 })].map((l) => l.text).join("\n") + "\n");
    const out = onTerminal(["detect", "--model", model, "--input", test]);
    expect(out).toMatch(/detect \[[█░]{30}\] 100% \| 20,000 lines \| [\d,]+ lines\/s/);
    expect(out).toMatch(/scored 20,000 of 20,000 lines/);
    // every alert line starts on a cleared line, not glued to the bar
    const alertLines = out.split("\n").filter((l) => /\b(scanner|error_burst|slow|surge|brute_force|client_flood|oversized|odd_method)\b/.test(l));
    expect(alertLines.length).toBeGreaterThan(0);
    for (const l of alertLines) expect(l, l).not.toMatch(/\] \d+% \|.*\S.*(scanner|error_burst|slow |surge|brute_force)/);
    const quiet = onTerminal(["detect", "--model", model, "--input", test, "--json"]);
    expect(quiet).not.toMatch(/[█░]|\d+% \|/);
  }, 60_000);

  it("is not drawn on a terminal with --json", () => {
    const out = onTerminal(["train", "--input", log, "--model", join(dir, "c.model"), "--json"]);
    expect(out).not.toMatch(/[█░]|\d+% \|/);
    expect(out).toMatch(/"parsed":20000/);
  }, 60_000);
});

describe("startProgress on a terminal stream", () => {
  it("draws the label, bar, percentage and lines; clears its line for a line printed above it", () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    let written = "";
    tty.on("data", (d: Buffer) => (written += d.toString()));
    const bar = startProgress({ label: "scoring", total: 1000, stream: tty as unknown as NodeJS.WriteStream });
    expect(bar.active).toBe(true);
    bar.update(500, 4000);
    const printed: string[] = [];
    bar.above(() => printed.push("an alert"));
    expect(printed).toEqual(["an alert"]);
    expect(written).toContain("\r\x1b[2K");
    bar.update(1000, 8000);
    bar.stop();
    expect(written).toMatch(/scoring \[[█░]{30}\] 100% \| 8,000 lines \| [\d,]+ lines\/s/);
  });
});

describe("without a terminal", () => {
  it("train draws nothing on stderr", () => {
    const r = spawnSync(process.execPath, [BIN, "train", "--input", log, "--model", join(dir, "d.model")], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/[█░]|\d+% \||lines\/s/);
    expect(r.stdout).toMatch(/model written to/);
  }, 60_000);

  it("startProgress is quiet on a stream that is not a terminal, and when disabled", () => {
    const sink = new PassThrough() as unknown as NodeJS.WriteStream;
    let written = "";
    (sink as unknown as PassThrough).on("data", (d: Buffer) => (written += d.toString()));
    const bar = startProgress({ label: "x", total: 100, stream: sink });
    expect(bar.active).toBe(false);
    bar.update(50, 10);
    bar.stop();
    expect(written).toBe("");
    expect(startProgress({ label: "x", total: 100, enabled: false }).active).toBe(false);
  });
});
