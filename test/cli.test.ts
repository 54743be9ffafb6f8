// The CLI as a user runs it: the built binary (npm test builds it first).
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const path = (name: string) => join(dir, name);

describe("logforest CLI", () => {
  it("lists its commands", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["demo", "simulate", "train", "detect", "evaluate", "bench"]) expect(r.out).toContain(`logforest ${c}`);
  });

  it("runs simulate -> train -> detect -> evaluate as documented", () => {
    expect(run(["simulate", "--count", "30000", "--seed", "11", "--incidents", "none", "--out", path("train.log")]).code).toBe(0);
    const t = run(["train", "--input", path("train.log"), "--model", path("m.lfm"), "--json"]);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out)).toMatchObject({ lines: 30000, parsed: 30000, format: "json" });
    expect(run(["simulate", "--count", "60000", "--seed", "5", "--start", "2026-11-25T06:00:00Z", "--out", path("test.log"), "--truth", path("truth.jsonl")]).code).toBe(0);
    const d = run(["detect", "--model", path("m.lfm"), "--input", path("test.log"), "--alerts", path("alerts.jsonl"), "--json"]);
    expect(d.code).toBe(0);
    const summary = JSON.parse(d.err);
    expect(summary).toMatchObject({ lines_read: 60000, lines_scored: 60000, skipped: {} });
    const alerts = readFileSync(path("alerts.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(alerts.length).toBe(summary.alerts);
    expect(Object.keys(alerts[0])).toEqual(expect.arrayContaining(["line", "file", "ts", "score", "severity", "rule", "record", "reasons"]));
    const e = run(["evaluate", "--alerts", path("alerts.jsonl"), "--truth", path("truth.jsonl"), "--json"]);
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.out);
    expect(ev.incidents).toBeGreaterThan(0);
    expect(ev.incident_recall).toBeGreaterThanOrEqual(0.8);
    const text = run(["evaluate", "--alerts", path("alerts.jsonl"), "--truth", path("truth.jsonl")]);
    expect(text.out).toMatch(/incidents \d+: \d+ caught \(incident recall/);
  });

  it("reads stdin, and counts malformed lines instead of failing", () => {
    const lines = readFileSync(path("test.log"), "utf8").split("\n").slice(0, 2000);
    lines.splice(10, 0, "garbage line", "{\"half\": ");
    const d = run(["detect", "--model", path("m.lfm"), "--json"], lines.join("\n"));
    expect(d.code).toBe(0);
    const summary = JSON.parse(d.err.trim().split("\n").pop() ?? "");
    expect(summary.lines_read).toBe(2001 + 1); // 2000 lines (the last one empty) + 2 inserted
    expect(summary.skipped.not_json).toBe(2);
  });

  it("refuses bad options with the option, the range and the value, exit code 2", () => {
    const r = run(["train", "--input", path("train.log"), "--model", path("x.lfm"), "--trees", "0"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("trees must be an integer in [1, 10000], got 0");
    const s = run(["simulate", "--count", "-5"]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/count must be .*got -5/);
    expect(run(["frobnicate"]).code).toBe(2);
  });

  it("refuses a damaged model file and says how it is damaged", () => {
    const bytes = readFileSync(path("m.lfm"));
    writeFileSync(path("cut.lfm"), bytes.subarray(0, bytes.length - 100));
    const cut = run(["detect", "--model", path("cut.lfm"), "--input", path("test.log")]);
    expect(cut.code).toBe(1);
    expect(cut.err).toMatch(/cut\.lfm: model file is truncated/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 50] ^= 0x10;
    writeFileSync(path("flip.lfm"), flipped);
    expect(run(["detect", "--model", path("flip.lfm"), "--input", path("test.log")]).err).toMatch(/checksum mismatch/);
  });
});

describe("telemetry streams from the CLI", () => {
  it("simulate --kind telemetry -> train --format csv -> detect -> evaluate catches every kind", () => {
    expect(run(["simulate", "--kind", "telemetry", "--count", "3000", "--seed", "1", "--incidents", "none", "--out", path("t-train.csv")]).code).toBe(0);
    const t = run(["train", "--format", "csv", "--input", path("t-train.csv"), "--model", path("t.lfm"), "--json"]);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out)).toMatchObject({ format: "csv", series: ["cpu_pct", "latency_ms", "queue_depth"] });
    expect(run(["simulate", "--kind", "telemetry", "--count", "8640", "--seed", "101", "--start", "2026-11-26T00:00:00Z", "--out", path("t-test.csv"), "--truth", path("t-truth.jsonl")]).code).toBe(0);
    // An incident every 300 rows recurs: the training reference stays on for every value (docs/telemetry.md).
    const d = run(["detect", "--model", path("t.lfm"), "--input", path("t-test.csv"), "--alerts", path("t-alerts.jsonl"), "--scores", path("t-scores.csv"), "--metric-recur", "1000000", "--json"]);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.err)).toMatchObject({ lines_read: 8641, lines_scored: 8640, skipped: { header: 1 } });
    expect(readFileSync(path("t-scores.csv"), "utf8").trim().split("\n").length).toBe(1 + 8641); // header + every line
    const ev = JSON.parse(run(["evaluate", "--alerts", path("t-alerts.jsonl"), "--truth", path("t-truth.jsonl"), "--json"]).out);
    expect(Object.keys(ev.by_kind).sort()).toEqual(["flatline", "level_shift", "noise_burst", "spike"]);
    for (const k of Object.values(ev.by_kind) as Array<{ caught: number }>) expect(k.caught).toBeGreaterThan(0);
    expect(ev.incident_recall).toBeGreaterThanOrEqual(0.9);
  });

  it("detect --metric-score raw gives the forest's scores; --adapt-every replaces trees and still catches incidents", () => {
    const medianScore = (file: string) => {
      const scores = readFileSync(file, "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[3])).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      return scores[scores.length >> 1];
    };
    expect(run(["detect", "--model", path("t.lfm"), "--input", path("t-test.csv"), "--scores", path("t-raw.csv"), "--metric-score", "raw", "--json"]).code).toBe(0);
    // the forest's score sits near 0.4-0.5 on normal rows; the likelihood score -log10(p)/10 near 0
    expect(medianScore(path("t-raw.csv"))).toBeGreaterThan(0.3);
    expect(medianScore(path("t-scores.csv"))).toBeLessThan(0.1);
    const d = run(["detect", "--model", path("t.lfm"), "--input", path("t-test.csv"), "--alerts", path("t-aalerts.jsonl"), "--adapt-every", "50", "--metric-recur", "1000000", "--json"]);
    expect(d.code).toBe(0);
    const ev = JSON.parse(run(["evaluate", "--alerts", path("t-aalerts.jsonl"), "--truth", path("t-truth.jsonl"), "--json"]).out);
    expect(ev.incident_recall).toBeGreaterThanOrEqual(0.9);
    const bad = run(["detect", "--model", path("t.lfm"), "--input", path("t-test.csv"), "--adapt-every", "5"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--adapt-every must be 0 or an integer in [10, 1000000], got 5");
    expect(run(["detect", "--model", path("m.lfm"), "--input", path("test.log"), "--adapt-every", "50"]).err).toContain("--adapt-every needs a telemetry model");
  });

  it("detect --retrain on a telemetry stream refreshes, saves the new generation and still catches incidents", () => {
    const saved = path("t-retrained.lfm");
    const d = run(["detect", "--model", path("t.lfm"), "--input", path("t-test.csv"), "--alerts", path("t-ralerts.jsonl"), "--retrain", "--retrain-every", "2000", "--retrain-sample", "5000", "--retrain-save", saved, "--metric-recur", "1000000", "--json"]);
    expect(d.code).toBe(0);
    const s = JSON.parse(d.err);
    // 8,641 lines in parts of 2,000 (the first holds the header): 1,999 + 2,000 rows, then 2,000, 2,000; 641 left over.
    expect(s.retrain.refreshes).toBe(3);
    expect(s.retrain.generation).toBe(s.retrain.refreshes);
    const again = JSON.parse(run(["detect", "--model", saved, "--input", path("t-test.csv"), "--json"]).err);
    expect(again.lines_scored).toBe(8640);
    const ev = JSON.parse(run(["evaluate", "--alerts", path("t-ralerts.jsonl"), "--truth", path("t-truth.jsonl"), "--json"]).out);
    expect(ev.incident_recall).toBeGreaterThanOrEqual(0.9);
  });

  it("refuses --format csv with a model trained on HTTP logs", () => {
    const r = run(["detect", "--model", path("m.lfm"), "--input", path("t-test.csv"), "--format", "csv"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--format csv needs a telemetry model");
  });
});

describe("detect --follow keeps its promise: every line scored exactly once", () => {
  /** Start a follower with --scores; resolves with its JSON summary once stopped with SIGTERM. */
  function follow(log: string, scores: string, positions: string, extra: string[] = []) {
    const child = spawn(process.execPath, [BIN, "detect", "--model", path("m.lfm"), "--follow", log, "--positions", positions, "--from-start", "--scores", scores, "--alerts", path("f-alerts.jsonl"), "--json", ...extra], { cwd: dir });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const done = new Promise<{ code: number | null; summary: { lines_read: number } }>((resolve) =>
      child.on("close", (code) => resolve({ code, summary: JSON.parse(err.trim().split("\n").pop() ?? "{}") })),
    );
    return { stop: () => child.kill("SIGTERM"), done };
  }

  const waitFor = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 300; i++) {
      if (cond()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const scored = (scores: string) =>
    existsSync(scores) ? readFileSync(scores, "utf8").trim().split("\n").slice(1).map((l) => l.split(",").slice(0, 2).join(":")) : [];

  it("across a stop and restart, a burst of appends, a rename rotation and a copytruncate", async () => {
    const source = readFileSync(path("test.log"), "utf8").trim().split("\n");
    const log = path("live.log");
    const scores = path("scores.csv");
    const positions = path("positions.json");
    writeFileSync(log, source.slice(0, 5000).join("\n") + "\n");

    const first = follow(log, scores, positions);
    await waitFor(() => scored(scores).length >= 5000, "the first 5000 lines");
    appendFileSync(log, source.slice(5000, 20000).join("\n") + "\n"); // a burst
    await waitFor(() => scored(scores).length >= 20000, "the burst");
    first.stop();
    const a = await first.done;
    expect(a.code).toBe(0);

    // While no detector runs: more lines, then a rotation and a new file.
    appendFileSync(log, source.slice(20000, 25000).join("\n") + "\n");
    const second = follow(log, scores, positions);
    await waitFor(() => scored(scores).length >= 25000, "the lines written while stopped");
    appendFileSync(log, source.slice(25000, 26000).join("\n") + "\n");
    renameSync(log, `${log}.1`);
    writeFileSync(log, source.slice(26000, 30000).join("\n") + "\n");
    await waitFor(() => scored(scores).length >= 30000, "the rotated and the new file");
    // copytruncate: the file is copied away and truncated in place, then written again.
    writeFileSync(`${log}.2`, readFileSync(log));
    writeFileSync(log, "");
    appendFileSync(log, source.slice(30000, 32000).join("\n") + "\n");
    await waitFor(() => scored(scores).length >= 32000, "the lines after copytruncate");
    second.stop();
    const b = await second.done;

    const rows = scored(scores);
    // Exactly once, in order: the old file's lines 1..26000, then the new file's 1..4000
    // (same path, so its numbers start again).
    expect(rows.length).toBe(32000);
    const lines = rows.map((r) => Number(r.split(":")[1]));
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    expect(lines.slice(0, 26000)).toEqual(upTo(26000));
    expect(lines.slice(26000, 30000)).toEqual(upTo(4000));
    expect(lines.slice(30000)).toEqual(upTo(2000)); // read from the start after the truncation
    expect([a.summary.lines_read, b.summary.lines_read]).toEqual([20000, 12000]);
  }, 120_000);

  it("--rotated-suffix names the rotated copies: a copytruncate to app.log.old while stopped loses nothing", async () => {
    const source = readFileSync(path("test.log"), "utf8").trim().split("\n");
    const log = path("suffix.log");
    const scores = path("suffix-scores.csv");
    const positions = path("suffix-positions.json");
    writeFileSync(log, source.slice(0, 1000).join("\n") + "\n");
    const first = follow(log, scores, positions, ["--rotated-suffix", String.raw`\.old`]);
    await waitFor(() => scored(scores).length >= 1000, "the first 1000 lines");
    first.stop();
    expect((await first.done).code).toBe(0);
    // While stopped: 1000 more lines, copied to suffix.log.old (the default family has no .old) and truncated.
    appendFileSync(log, source.slice(1000, 2000).join("\n") + "\n");
    writeFileSync(`${log}.old`, readFileSync(log));
    writeFileSync(log, source.slice(2000, 2500).join("\n") + "\n");
    const second = follow(log, scores, positions, ["--rotated-suffix", String.raw`\.old`]);
    await waitFor(() => scored(scores).length >= 2500, "the copy's rest and the new lines");
    second.stop();
    expect((await second.done).summary.lines_read).toBe(1500);
    const lines = scored(scores).map((r) => Number(r.split(":")[1]));
    expect(lines).toEqual([...Array.from({ length: 2000 }, (_, i) => i + 1), ...Array.from({ length: 500 }, (_, i) => i + 1)]);
  }, 120_000);

  it("--rotated-suffix is refused without --follow, and a bad expression is named", () => {
    const r = spawnSync(process.execPath, [BIN, "detect", "--model", path("m.lfm"), "--input", path("test.log"), "--rotated-suffix", "x"], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--rotated-suffix applies to --follow only");
    const bad = spawnSync(process.execPath, [BIN, "detect", "--model", path("m.lfm"), "--follow", path("test.log"), "--rotated-suffix", "(", "--duration", "1"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--rotated-suffix must be a regular expression, got "("');
  });
});
