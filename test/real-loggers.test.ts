// Issue 10's targets on real loggers' output, not the simulator: an Express shop on
// 127.0.0.1 logging with pino-http, morgan (combined, and combined + :response-time)
// and express-winston (with and without a timestamp), a clean training run and a
// detection run with labelled incidents, then the CLI as a user runs it.
// The larger version of this is `npm run quality:real`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGGERS, LOGGER_NAMES } from "./harness/app.mjs";
import { generateLogs, type HarnessRun } from "./harness/logs.mjs";
import { runLogger } from "./harness/pipeline.mjs";
import { DEFAULT_KINDS, buildPlan, scheduleIncidents } from "./harness/traffic.mjs";

const SEED = 7;
// Detection must outlast logforest's 10 s warm-up and the 13 s brute force: 8,000
// requests at 300/s (26.7 s). Training at the same rate: faster, and on a busy
// 2-core machine the training run's latencies become those of an overloaded server
// (winston's apps then learned 10-96 ms as typical for a 5-17 ms route and missed the spike).
const TEST = { requests: 8000, rate: 300 };
const TRAIN = { requests: 5000, rate: 300 };

const dir = mkdtempSync(join(tmpdir(), "logforest-real-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let train: HarnessRun;
let test: HarnessRun;

beforeAll(async () => {
  train = await generateLogs({ dir, prefix: "train", seed: SEED, stream: 1, ...TRAIN });
  const incidents = scheduleIncidents(DEFAULT_KINDS, TEST.requests / TEST.rate);
  test = await generateLogs({ dir, prefix: "test", seed: SEED, stream: 2, ...TEST, incidents });
}, 180_000); // a hang guard on a busy machine, not a speed goal

describe("real-logger harness", () => {
  it("plans the same requests and labels for a seed, others for another seed", () => {
    const incidents = scheduleIncidents(DEFAULT_KINDS, 30);
    const a = buildPlan({ seed: 3, stream: 2, requests: 9000, rate: 300, incidents });
    expect(buildPlan({ seed: 3, stream: 2, requests: 9000, rate: 300, incidents })).toEqual(a);
    expect(buildPlan({ seed: 4, stream: 2, requests: 9000, rate: 300, incidents }).map((r) => r.path)).not.toEqual(a.map((r) => r.path));
    const of = (kind: string) => a.filter((r) => r.label?.kind === kind);
    // One scanner client with 300 distinct paths, one brute-force client with 300 logins.
    expect(new Set(of("scanner").map((r) => r.path)).size).toBe(300);
    expect(new Set(of("scanner").map((r) => r.ip)).size).toBe(1);
    expect(of("brute_force").length).toBe(300);
    expect(new Set(of("brute_force").map((r) => r.ip)).size).toBe(1);
    expect(of("brute_force").every((r) => r.method === "POST" && r.path === "/login")).toBe(true);
    // The attackers are nobody else: their addresses never appear unlabelled.
    const attackers = new Set([...of("scanner"), ...of("brute_force")].map((r) => r.ip));
    expect(a.some((r) => r.label === null && attackers.has(r.ip))).toBe(false);
  });

  it("serves what the plan asks: 401 for the brute force, 404 for the scanner, 500 for the burst", () => {
    const got = (kind: string) => new Set(test.plan.filter((r) => r.label?.kind === kind).map((r) => test.load.status[0][r.rid - 1]));
    expect(got("brute_force")).toEqual(new Set([401]));
    expect(got("scanner")).toEqual(new Set([404]));
    expect(got("error_burst")).toEqual(new Set([500]));
    // Ordinary traffic: mostly 2xx, a few normal 4xx (typos, deleted pages, mistyped passwords), rare 5xx.
    const normal = test.plan.filter((r) => r.label === null).map((r) => test.load.status[0][r.rid - 1]);
    const share = (lo: number) => normal.filter((s) => s >= lo && s < lo + 100).length / normal.length;
    expect(share(200)).toBeGreaterThan(0.97);
    expect(share(400)).toBeGreaterThan(0.002);
    expect(share(500)).toBeLessThan(0.005);
  });

  it("gives every answered request exactly one line in every logger's file, labels from the plan", () => {
    // generateLogs throws when a request has no line or two; here the counts add up.
    for (const name of LOGGER_NAMES) {
      const answered = test.load.status[LOGGER_NAMES.indexOf(name)].filter((s) => s !== 0).length;
      expect(test.logs[name].lines).toBe(answered);
      expect(test.logs[name].labelled).toBe(test.logs[LOGGER_NAMES[0]].labelled);
    }
    expect(test.load.failed).toBe(0);
    expect(test.incidents.map((i) => i.kind).sort()).toEqual([...DEFAULT_KINDS].sort());
    expect(train.incidents).toEqual([]);
  });
});

describe.each(LOGGER_NAMES)("logforest on %s output", (name) => {
  it("catches every incident its fields allow, with at most 1 false alert per 5,000 normal lines", () => {
    const r = runLogger({ dir, logger: name, train, test });
    // morgan's combined format has no response time: a latency spike cannot be seen there.
    const required = DEFAULT_KINDS.filter((k) => k !== "latency_spike" || LOGGERS[name].latency);
    const missed = required.filter((k) => (r.caught[k]?.caught ?? 0) < (r.caught[k]?.incidents ?? 1));
    // Latency alerts on requests in flight while a harness process stalled (a busy
    // machine: a GC pause or no CPU for >= 40 ms) are slowness the logs rightly show,
    // not a flaw of the detector; they are reported but not held against it.
    const falseAlerts = r.falseAlerts - r.falseDuringStalls;
    const allowed = Math.max(1, r.normalLines / 5000);
    const detail = JSON.stringify({ missed, falseAlerts, allowed, stalled: r.falseDuringStalls, by_rule: r.evaluation.false_alerts_by_rule, samples: r.falseSamples.slice(0, 5) });
    expect(missed, detail).toEqual([]);
    expect(falseAlerts, detail).toBeLessThanOrEqual(allowed);
  });
});
