import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Detector, type Alert } from "../src/streams/http/detect.js";
import { evaluate, type TruthLine } from "../src/tools/evaluate.js";
import { routeKey } from "../src/streams/http/features.js";
import { IsolationForest } from "../src/forest/forest.js";
import { DEFAULT_RULES, resolveRules, severityFloor } from "../src/streams/http/rules.js";
import { INCIDENT_KINDS, simulate, type SimFormat, type SimProfile } from "../src/tools/simulate.js";
import { pipelineOf, trainFromLines } from "../src/streams/http/train.js";
import { DATA_DIR, dataFile } from "./data.js";

const START = Date.UTC(2026, 10, 25, 6);

function stream(count: number, seed: number, incidents: "none" | "default", format: SimFormat = "json", start = START, profile?: SimProfile) {
  const lines = [...simulate({ count, seed, incidents, format, start, ...(profile ? { profile } : {}) })];
  const truth: TruthLine[] = [];
  lines.forEach((l, i) => l.kind && l.incident !== null && truth.push({ line: i + 1, kind: l.kind, incident: l.incident }));
  return { text: lines.map((l) => l.text), truth };
}

function detectAll(det: Detector, file: string, text: string[], batch = 4096): Alert[] {
  const alerts: Alert[] = [];
  for (let i = 0; i < text.length; i += batch) det.processBatch(file, text.slice(i, i + batch), i + 1, (a) => alerts.push(a));
  return alerts;
}

const clean = stream(30_000, 11, "none");
const trained = trainFromLines(clean.text, { forest: { seed: 1 } });

describe("rules files", () => {
  it("fill what they leave out from the defaults", () => {
    const r = resolveRules({ minSeverity: 55 });
    expect(r.minSeverity).toBe(55);
    expect(r.conditions).toEqual(DEFAULT_RULES.conditions);
    expect(severityFloor(DEFAULT_RULES)).toBe(30);
  });
  it.each([
    [{ minSeverity: 120 }, /minSeverity must be a number in \[0, 100\], got 120/],
    [{ cooldown: 5 }, /unknown key "cooldown"; the keys are minSeverity, warmupSeconds, cooldownSeconds, conditions/],
    [{ conditions: [] }, /conditions must be a non-empty array/],
    [{ conditions: [{ type: "loud" }] }, /conditions\[0\].type must be one of unknown_route, client_scan, client_failures, client_rate_above, status_at_least/],
    [{ conditions: [{ type: "status_at_least", status: 700 }] }, /conditions\[0\].status must be a number in \[100, 599\], got 700/],
    [{ conditions: [{ type: "any", groupBy: "host" }] }, /groupBy must be one of route, client, none, got "host"/],
  ])("refuse %j", (input, message) => {
    expect(() => resolveRules(input)).toThrow(message);
  });
  it("must be an object", () => {
    expect(() => resolveRules([1])).toThrow(TypeError);
  });
});

describe("the detector", () => {
  it("refuses a model that was not trained on logs", () => {
    const plain = IsolationForest.fit([[1], [2], [3]]);
    expect(() => new Detector(plain)).toThrow(/not trained on logs/);
  });

  it("round-trips the feature spec through the model file", () => {
    const back = IsolationForest.fromBytes(trained.forest.toBytes());
    expect(pipelineOf(back)).toEqual(pipelineOf(trained.forest));
  });

  it("counts malformed lines by reason, keeps examples, and never stops", () => {
    const det = new Detector(trained.forest);
    const lines = [clean.text[0], "", "not json at all", "[1,2]", '{"ts":"2026-11-25T06:00:00Z"}', clean.text[1], "\u0000\u0001garbage{"];
    det.processBatch("mixed.log", lines, 1, () => {});
    const s = det.summary();
    expect(s.lines_read).toBe(7);
    expect(s.lines_scored).toBe(2);
    expect(Object.values(s.skipped).reduce((a, b) => a + b, 0)).toBe(5);
    expect(s.skipped.empty).toBe(1);
    expect(s.skipped_examples.map((e) => e.line).sort()).toEqual([2, 3, 4, 5, 7]);
  });

  it("gives the same alerts whatever the batch boundaries", () => {
    const test = stream(40_000, 5, "default");
    const a = detectAll(new Detector(trained.forest), "t", test.text, 4096).map((x) => `${x.line}:${x.rule}:${x.severity}`);
    const b = detectAll(new Detector(trained.forest), "t", test.text, 777).map((x) => `${x.line}:${x.rule}:${x.severity}`);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it("writes alerts with line, file, ts, score, severity, rule and the parsed record", () => {
    const test = stream(40_000, 5, "default");
    const alerts = detectAll(new Detector(trained.forest), "app.log", test.text);
    for (const a of alerts) {
      expect(a.file).toBe("app.log");
      const raw = JSON.parse(test.text[a.line - 1]);
      expect(a.record.route).toBe(raw.route.split("?")[0]);
      expect(a.record.status).toBe(raw.status);
      expect(a.ts).toBe(raw.ts);
      expect(a.severity).toBeGreaterThanOrEqual(severityFloor(DEFAULT_RULES));
      expect(a.severity).toBeLessThanOrEqual(100);
      expect(a.score).toBeGreaterThan(0);
      expect(DEFAULT_RULES.conditions.map((c) => c.name)).toContain(a.rule);
    }
  });

  it("holds back repeats within the cooldown and everything in the warm-up", () => {
    const test = stream(40_000, 5, "default");
    const none = detectAll(new Detector(trained.forest, { rules: resolveRules({ cooldownSeconds: 0 }) }), "t", test.text);
    const some = detectAll(new Detector(trained.forest), "t", test.text);
    expect(none.length).toBeGreaterThan(some.length);
    // With the default cooldown no rule alerts twice for one route within 30 s of line time.
    const last = new Map<string, number>();
    for (const a of some) {
      const key = `${a.rule} ${a.rule === "unknown_route" ? a.record.ip : routeKey(a.record.method, a.record.route)}`;
      const t = Date.parse(a.ts ?? "");
      const prev = last.get(key);
      if (prev !== undefined) expect(t - prev).toBeGreaterThanOrEqual(30_000);
      last.set(key, t);
    }
    const warm = detectAll(new Detector(trained.forest, { rules: resolveRules({ warmupSeconds: 86_400 }) }), "t", test.text);
    expect(warm).toEqual([]);
  });
});

describe("quality on the simulator's incidents (train on clean traffic, detect on traffic with incidents)", () => {
  it.each([
    ["realistic", "json", 2],
    ["realistic", "json", 3],
    ["realistic", "combined", 2],
    ["classic", "json", 2],
    ["classic", "combined", 2],
    ["classic", "seed", 2],
  ] as Array<[SimProfile, SimFormat, number]>)("%s %s, seed %i: every kind caught, incident recall >= 0.95, precision >= 0.8", (profile, format, seed) => {
    const model = profile === "realistic" && format === "json" ? trained : trainFromLines(stream(30_000, 11, "none", format, START, profile).text, { forest: { seed: 1 } });
    const test = stream(200_000, 20 + seed, "default", format, START, profile);
    // The seed format has no response size and no client address: an oversized response
    // and a brute force (one client's failed logins) cannot be seen there.
    const unseen = format === "seed" ? ["oversized", "brute_force"] : [];
    const truth = test.truth.filter((t) => !unseen.includes(t.kind));
    const e = evaluate(detectAll(new Detector(model.forest), "t", test.text), truth);
    for (const [kind, k] of Object.entries(e.by_kind)) expect(k.caught, kind).toBeGreaterThan(0);
    expect(Object.keys(e.by_kind).sort()).toEqual(INCIDENT_KINDS.filter((k) => !unseen.includes(k)).sort());
    expect(e.incident_recall).toBeGreaterThanOrEqual(0.95);
    expect(e.precision).toBeGreaterThanOrEqual(0.8);
  }, 60_000);

  it("raises almost nothing on clean traffic", () => {
    const quiet = stream(100_000, 44, "none", "json", START + 86_400_000);
    const alerts = detectAll(new Detector(trained.forest), "t", quiet.text);
    expect(alerts.length).toBeLessThanOrEqual(5);
  }, 60_000);
});

describe.skipIf(DATA_DIR === null)("the real combined-format sample", () => {
  it("trains and detects on it without a latency field, counting every line", () => {
    const text = readFileSync(dataFile("logs/apache_combined_3k.log"), "utf8").split("\n").filter((l) => l !== "");
    const { forest, summary } = trainFromLines(text, { forest: { seed: 1 } });
    expect(summary.format).toBe("combined");
    expect(summary.features.some((f) => f.includes("latency"))).toBe(false);
    const det = new Detector(forest);
    const alerts = detectAll(det, "apache.log", text, 500);
    const s = det.summary();
    expect(s.lines_read).toBe(text.length);
    expect(s.lines_scored + Object.values(s.skipped).reduce((a, b) => a + b, 0)).toBe(text.length);
    expect(alerts.length).toBeLessThan(text.length * 0.05);
  });

  it("raises at most 2 alerts on its last 1,000 lines when trained on its first 2,000 (real visitors, rare pages)", () => {
    const text = readFileSync(dataFile("logs/apache_combined_3k.log"), "utf8").split("\n").filter((l) => l !== "");
    const { forest } = trainFromLines(text.slice(0, 2000));
    const alerts = detectAll(new Detector(forest), "apache.log", text.slice(2000), 500);
    console.log(`apache_combined_3k, train 1-2,000, detect 2,001-3,000: ${alerts.length} alerts (${alerts.map((a) => `${a.rule} ${a.record.route}`).join("; ")})`);
    expect(alerts.length).toBeLessThanOrEqual(2);
  });

  it("says no known format for a log that is not an access log", () => {
    const text = readFileSync(dataFile("logs/HDFS_2k.log"), "utf8").split("\n");
    expect(() => trainFromLines(text)).toThrow(/could not recognise the log format/);
  });
});

describe("alert reasons on the simulator's incidents", () => {
  it("name the incident's kind first for >= 90% of alerted incident lines", () => {
    const test = stream(300_000, 31, "default");
    const alerts = detectAll(new Detector(trained.forest), "t", test.text);
    const kindOf = new Map(test.truth.map((t) => [t.line, t.kind]));
    const expected: Record<string, string[]> = {
      latency_spike: ["latency"],
      error_burst: ["errors"],
      scanner: ["route", "client"], // a scanner is a client walking unknown routes
      brute_force: ["client", "errors"], // one client collecting failed logins
      oversized: ["size"],
      surge: ["rate"],
    };
    let hits = 0;
    let strict = 0;
    let n = 0;
    for (const a of alerts) {
      const kind = kindOf.get(a.line);
      if (!kind) continue;
      n++;
      const top = a.reasons?.[0]?.feature ?? "";
      if (expected[kind].includes(top)) hits++;
      if (expected[kind][0] === top) strict++;
      const shares = (a.reasons ?? []).map((r) => r.share);
      expect(shares.every((s, i) => i === 0 || s <= shares[i - 1])).toBe(true);
    }
    expect(n).toBeGreaterThan(20);
    expect(hits / n).toBeGreaterThanOrEqual(0.9);
    console.log(`top reason matches the incident kind: ${hits}/${n} (scanner as route only: ${strict}/${n})`);
  }, 60_000);
});
