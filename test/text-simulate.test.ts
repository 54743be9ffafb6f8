/**
 * The free-text simulator (src/tools/simulate-text.ts): seeded, labelled, and its
 * incidents are what the text rules are for. Trained on a clean run of another seed,
 * the detector raises each incident's alert within its span and nothing outside; the
 * sessions still going on when the input ends are not called incomplete.
 */
import { describe, expect, it } from "vitest";
import { simulateText, TEXT_INCIDENT_KINDS, TEXT_SIM_SESSION_KEY, type TextSimIncident, type TextSimLine } from "../src/tools/simulate-text.js";
import { TextDetector, type TextAlert } from "../src/streams/text/detect.js";
import { trainText } from "../src/streams/text/train.js";
import { SessionTracker, learnSessions } from "../src/streams/text/sessions.js";
import { resolveRules } from "../src/streams/http/rules.js";
import { textForest, textKind } from "../src/streams/text/kind.js";

function collect(count: number, seed: number, incidents = true): { lines: TextSimLine[]; incidents: TextSimIncident[] } {
  const g = simulateText({ count, seed, incidents });
  const lines: TextSimLine[] = [];
  for (let r = g.next(); ; r = g.next()) {
    if (r.done === true) return { lines, incidents: r.value };
    lines.push(r.value);
  }
}

const at = (a: TextAlert): number => Date.parse(a.ts ?? "");

describe("free-text simulator", () => {
  it("is seeded: the same seed gives the same lines, another seed other lines; bad options are named", () => {
    const a = collect(2_000, 1).lines.map((l) => l.text);
    expect(collect(2_000, 1).lines.map((l) => l.text)).toEqual(a);
    expect(collect(2_000, 2).lines.map((l) => l.text)).not.toEqual(a);
    expect(a).toHaveLength(2_000);
    expect(() => simulateText({ count: 0 }).next()).toThrow(/count must be an integer >= 1, got 0/);
    expect(() => simulateText({ count: 10, seed: 1.5 }).next()).toThrow(/seed must be an integer, got 1.5/);
  });

  it("labels every line an incident adds or changes, and only those", () => {
    const clean = collect(120_000, 4, false);
    const run = collect(120_000, 4);
    expect(clean.incidents).toEqual([]);
    expect(run.incidents.map((i) => i.kind)).toEqual([...TEXT_INCIDENT_KINDS]);
    const labelled = new Set(run.lines.filter((l) => l.incident !== undefined).map((l) => l.incident));
    // A stopped heartbeat removes lines: it labels none.
    expect([...labelled].sort()).toEqual(TEXT_INCIDENT_KINDS.filter((k) => k !== "heartbeat_stopped").sort());
    const cleanSet = new Set(clean.lines.map((l) => l.text));
    const beats = (ls: TextSimLine[], i: TextSimIncident): number => ls.filter((l) => l.text.includes("Heartbeat sent") && Date.parse(l.text.slice(0, 23).replace(" ", "T").replace(",", ".") + "Z") >= i.start && Date.parse(l.text.slice(0, 23).replace(" ", "T").replace(",", ".") + "Z") < i.end).length;
    const stop = run.incidents.find((i) => i.kind === "heartbeat_stopped")!;
    expect(beats(clean.lines, stop)).toBeGreaterThan(20);
    expect(beats(run.lines, stop)).toBe(0);
    // Unlabelled lines before the first incident are the clean run's lines.
    const first = run.incidents[0]!.start;
    const before = run.lines.filter((l) => Date.parse(l.text.slice(0, 23).replace(" ", "T").replace(",", ".") + "Z") < first);
    expect(before.length).toBeGreaterThan(1000);
    expect(before.every((l) => cleanSet.has(l.text))).toBe(true);
  });

  it("trained on a clean run, the detector alerts within every incident and nowhere else", () => {
    const train = collect(150_000, 3, false).lines.map((l) => l.text);
    const model = trainText(train, { sessionKey: TEXT_SIM_SESSION_KEY });
    const run = collect(150_000, 4);
    const detector = new TextDetector(model, {});
    const alerts: TextAlert[] = [];
    detector.processBatch("sim.log", run.lines.map((l) => l.text), 1, (a) => alerts.push(a));
    detector.finish((a) => alerts.push(a));
    // A window's alert comes when the window closes (60 s) and a heartbeat's after several intervals.
    const within = (a: TextAlert, i: TextSimIncident): boolean => at(a) >= i.start && at(a) < i.end + 120_000;
    const rulesOf = (kind: string): string[] => alerts.filter((a) => within(a, run.incidents.find((i) => i.kind === kind)!)).map((a) => a.rule);
    expect(rulesOf("new_error")).toContain("new_template");
    expect(rulesOf("warn_burst").some((r) => r === "rate_spike" || r === "level_burst")).toBe(true);
    expect(rulesOf("heartbeat_stopped")).toContain("heartbeat_stopped");
    expect(rulesOf("slow_param")).toContain("param_range");
    expect(rulesOf("missing_step")).toContain("session");
    const outside = alerts.filter((a) => !run.incidents.some((i) => within(a, i)));
    expect(outside.map((a) => `${a.rule} ${a.ts} ${a.now}`)).toEqual([]);
    const missing = alerts.filter((a) => a.rule === "session" && within(a, run.incidents.find((i) => i.kind === "missing_step")!));
    expect(missing.every((a) => /^[0-9a-f]{8}$/.test(a.session ?? ""))).toBe(true);
    // Hundreds of orders skipped payment for the same reason: one alert per cooldown, every session counted.
    expect(missing.length).toBeGreaterThanOrEqual(1);
    expect(missing.length).toBeLessThanOrEqual(3);
    expect(detector.summary().sessions_flagged).toBeGreaterThan(200);
    // Audit mode: every unusual session its own alert.
    const each = new TextDetector(model, { sessionAlerts: "each" });
    let sessions = 0;
    each.processBatch("sim.log", run.lines.map((l) => l.text), 1, (a) => (sessions += a.rule === "session" ? 1 : 0));
    each.finish((a) => (sessions += a.rule === "session" ? 1 : 0));
    expect(sessions).toBe(each.summary().sessions_flagged);
    expect(sessions).toBe(detector.summary().sessions_flagged);
    expect(() => new TextDetector(model, { sessionAlerts: "all" as "each" })).toThrow(/sessionAlerts must be "grouped" or "each", got "all"/);
    expect(() => resolveRules({ sessionAlerts: "all" })).toThrow(/sessionAlerts must be "grouped" or "each", got "all"/);
    expect(resolveRules({ sessionAlerts: "each" }).sessionAlerts).toBe("each");
  });

  it("a session still going on when the input ends is judged on what it has, not on how it ended", () => {
    const model = learnSessions("s=(\\w+)", [{ ids: [1, 2, 3], gaps: [10, 10] }, { ids: [1, 2, 3], gaps: [10, 10] }]);
    const verdicts: { key: string; transitions: string[]; missing: number[] }[] = [];
    const t = new SessionTracker(model, (v) => verdicts.push(v));
    t.add("old", 1, 0); // idle since 0: over
    t.add("live", 1, 95);
    t.add("live", 2, 100); // within the idle time (20) of the end: still going on
    t.closeAll(100);
    const byKey = Object.fromEntries(verdicts.map((v) => [v.key, v]));
    expect(byKey.old).toMatchObject({ transitions: ["1>0"], missing: [2, 3] });
    expect(byKey.live).toMatchObject({ transitions: [], missing: [] });
    // Without the time of the end, every session is judged whole.
    const whole: { missing: number[] }[] = [];
    const t2 = new SessionTracker(model, (v) => whole.push(v));
    t2.add("live", 1, 95);
    t2.closeAll();
    expect(whole[0]?.missing).toEqual([2, 3]);
  });

  it("a rules file sets the text detector's minSeverity only when it gives one (not access logs' default 40)", () => {
    const model = textForest(trainText(collect(20_000, 3, false).lines.map((l) => l.text), {}));
    const lines = collect(20_000, 4, false).lines.map((l) => l.text);
    // A new INFO template (severity 55): counted, not emitted, under the text default of 60.
    lines.splice(10_000, 0, `${lines[10_000]!.slice(0, 24)} INFO  [main] com.acme.orders.Migrations - Applied schema migration V42 in 12 ms`);
    const newTemplates = (rules: unknown): number => {
      const d = textKind.create(model, { rules });
      let n = 0;
      d.processBatch("sim.log", lines, 1, (a) => (n += a.rule === "new_template" ? 1 : 0));
      d.endOfInput?.((a) => (n += a.rule === "new_template" ? 1 : 0));
      return n;
    };
    expect(newTemplates(undefined)).toBe(0);
    expect(newTemplates(resolveRules({ sessionAlerts: "each" }))).toBe(0);
    expect(newTemplates(resolveRules({ minSeverity: 40 }))).toBe(1);
  });

  it("trains on more lines than a call's arguments can hold", () => {
    const lines = collect(200_000, 5, false).lines.map((l) => l.text);
    const model = trainText(lines, {});
    expect(model.lines).toBe(200_000);
    expect(model.span).toBeGreaterThan(0);
  });
});
