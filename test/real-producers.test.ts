// Issue 21's targets on real producers with defaults only: nginx (Debian's, an escape=json
// log_format as guides give it) and Caddy (Debian's, its default JSON access log) as reverse
// proxies in front of the shop, and the shop on Fastify (npm, its default pino request
// logging: two lines per request). A clean training run, then a detection run with all six
// incident kinds; logforest is run as a user runs it, with no flag naming the format.
// The larger version: `node test/perf/quality-real.mjs --loggers nginx-json,caddy,fastify --all-kinds`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateLogs, type HarnessRun } from "./harness/logs.mjs";
import { runLogger } from "./harness/pipeline.mjs";
import { PRODUCERS, PRODUCER_NAMES } from "./harness/servers.mjs";
import { DEFAULT_KINDS, scheduleIncidents } from "./harness/traffic.mjs";

const SEED = 7;
// Six incidents after the 12 s warm-up, the 15 s surge the longest: 7,000 requests at 200/s (35 s).
// A proxy's request_time/duration holds the app's queueing too: at 300/s for three proxied apps
// at once on a loaded 2-core machine that queueing (search p99 4 s for a 25 ms route) hid the
// 20x latency spike; at 200/s it stands out as it does in the apps' own loggers.
const TEST = { requests: 7000, rate: 200 };
const TRAIN = { requests: 5000, rate: 200 };
const KINDS = [...DEFAULT_KINDS, "surge", "oversized"] as const;

const dir = mkdtempSync(join(tmpdir(), "logforest-producers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let train: HarnessRun;
let test: HarnessRun;

beforeAll(async () => {
  const loggers = [...PRODUCER_NAMES];
  train = await generateLogs({ dir, prefix: "train", loggers, seed: SEED, stream: 1, ...TRAIN });
  const incidents = scheduleIncidents([...KINDS], TEST.requests / TEST.rate);
  test = await generateLogs({ dir, prefix: "test", loggers, seed: SEED, stream: 2, ...TEST, incidents });
}, 300_000); // a hang guard on a busy machine, not a speed goal

describe.each(PRODUCER_NAMES)("logforest on %s's own log, no flags", (name) => {
  it("recognises the producer, catches 90% of the incidents its fields allow, at most 1 false alert per 1,000 normal lines", () => {
    const r = runLogger({ dir, logger: name, train, test });
    expect(r.train.summary?.format).toBe(name);
    // Fastify logs no response size: an oversized response cannot be seen there (train says so).
    // A proxy's latency holds the app's queueing: when most of the run's requests were in flight
    // during a stall of the harness's own processes (a machine busy with other work), a route's
    // 20x spike no longer stands out in the log itself, for any detector; it is then reported,
    // not required (the stall share is measured by the harness, test/harness/stalls.mjs).
    const stalledShare = test.stalledLines[name].size / Math.max(1, test.logs[name].lines);
    const calm = stalledShare < 0.5;
    if (!calm) console.warn(`${name}: ${Math.round(stalledShare * 100)}% of the detection run's requests were in flight during a harness stall; latency_spike caught ${r.caught.latency_spike?.caught ?? 0}/1, not required`);
    const required = KINDS.filter((k) => (k !== "oversized" || PRODUCERS[name].bytes) && (k !== "latency_spike" || calm));
    const caught = required.reduce((n, k) => n + (r.caught[k]?.caught ?? 0), 0);
    const incidents = required.reduce((n, k) => n + (r.caught[k]?.incidents ?? 0), 0);
    // Latency alerts on requests in flight while a harness process stalled (a busy machine) are not held against it.
    const falseAlerts = r.falseAlerts - r.falseDuringStalls;
    const detail = JSON.stringify({ caught: r.caught, falseAlerts, stalled: r.falseDuringStalls, by_rule: r.evaluation.false_alerts_by_rule, samples: r.falseSamples.slice(0, 5) });
    expect(incidents, detail).toBe(required.length);
    expect(required.length, detail).toBeGreaterThanOrEqual(4);
    expect(caught / incidents, detail).toBeGreaterThanOrEqual(0.9);
    expect(falseAlerts, detail).toBeLessThanOrEqual(Math.max(1, r.normalLines / 1000));
    if (!PRODUCERS[name].bytes) expect(JSON.stringify(r.train.summary?.warnings)).toContain("oversized responses cannot be seen");
  });
});
