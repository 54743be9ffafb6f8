// The metric-stream switches (bin/detect-metrics.ts) as a user runs them: the built binary on a NAB series.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { telemetryOf } from "../src/streams/metrics/telemetry.js";
import { DATA_DIR, dataFile } from "./data.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-metric-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Telemetry alerts `detect --json` prints for a series under a model, with extra switches. */
function alertsOf(model: string, series: string, extra: string[]): number {
  const r = run(["detect", "--model", model, "--input", series, "--json", ...extra]);
  expect(r.code, r.err).toBe(0);
  return r.out.trim().split("\n").filter((l) => l.includes('"rule":"telemetry"')).length;
}

describe.runIf(DATA_DIR !== null)("metric-stream switches", () => {
  it("train --metric-window sets the rolling window; detect --metric-recur decides whether a recurring daily step keeps alerting", () => {
    // A noise-free daily pattern: its probationary 604 rows (2.1 days) for training, then the whole 14 days.
    const series = dataFile("nab/data/artificialNoAnomaly/art_daily_no_noise.csv");
    writeFileSync(join(dir, "train.csv"), readFileSync(series, "utf8").split("\n").slice(0, 605).join("\n") + "\n");
    expect(run(["train", "--format", "csv", "--input", "train.csv", "--model", "m.model", "--metric-window", "32", "--seed", "1"]).code).toBe(0);
    expect(telemetryOf(IsolationForest.fromBytes(readFileSync(join(dir, "m.model")))).window).toBe(32);
    const alerts = (extra: string[]) => alertsOf("m.model", series, extra);
    // Judged against training alone, every day's step alerts; once it has recurred, the stream's history judges it.
    const always = alerts(["--metric-recur", "1000000"]);
    const recurring = alerts([]);
    expect(always).toBeGreaterThanOrEqual(10);
    expect(recurring * 3).toBeLessThan(always);
  });

  it("detect --no-metric-recur-share lets the tail's extrapolation call a recurred daily step rare again", () => {
    const series = dataFile("nab/data/artificialNoAnomaly/art_daily_no_noise.csv");
    writeFileSync(join(dir, "train16.csv"), readFileSync(series, "utf8").split("\n").slice(0, 605).join("\n") + "\n");
    expect(run(["train", "--format", "csv", "--input", "train16.csv", "--model", "m16.model", "--seed", "1"]).code).toBe(0);
    const alerts = (extra: string[]) => alertsOf("m16.model", series, extra);
    const extrapolated = alerts(["--no-metric-recur-share"]);
    expect(extrapolated).toBeGreaterThanOrEqual(10);
    expect(alerts([]) * 3).toBeLessThan(extrapolated);
  });

  it("refuses a bad value naming the switch, its range and the value", () => {
    const r = run(["detect", "--model", "m.model", "--input", "train.csv", "--metric-hold", "-1"]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--metric-hold must be an integer in \[0, 1000000\], got -1/);
    expect(run(["detect", "--model", "m.model", "--input", "train.csv", "--metric-min-history", "9000"]).err).toMatch(/--metric-min-history must be an integer in \[10, 5000\], got 9000/);
  });
});
