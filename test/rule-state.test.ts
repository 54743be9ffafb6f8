// The rules' own state (cooldowns per group, runs of a condition) stays bounded on a long
// stream that meets ever new alerting clients, and pruning it changes no alert.
import { describe, expect, it } from "vitest";
import { Detector, type Alert } from "../src/streams/http/detect.js";
import { PRUNE_AT } from "../src/streams/http/judge.js";
import { resolveRules } from "../src/streams/http/rules.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";

const START = Date.UTC(2026, 10, 26, 0, 0, 0);

/** `n` lines, one every 100 ms, each from a new client (a different address every line). */
function manyClients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({
    ts: new Date(START + i * 100).toISOString(), method: "GET", route: `/api/products/${1000 + (i % 500)}`, status: 200, latency_ms: 20, bytes: 2000,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  }));
}

describe("rule state on a long stream", () => {
  const train = [...simulate({ count: 3000, seed: 5, incidents: "none" })].map((l) => l.text);
  const { forest } = trainFromLines(train, { forest: { seed: 1, trees: 50 } });
  // Every line alerts, once per client per 30 s: one cooldown entry per client.
  const perClient = resolveRules({ minSeverity: 0, warmupSeconds: 0, cooldownSeconds: 30, conditions: [{ type: "any", groupBy: "client" }] });

  it("keeps at most about PRUNE_AT cooldowns while 3x that many clients alert, and alerts on every one", () => {
    const lines = manyClients(3 * PRUNE_AT);
    const det = new Detector(forest, { format: "json", rules: perClient });
    const alerts: Alert[] = [];
    let most = 0;
    for (let i = 0; i < lines.length; i += 500) {
      det.processBatch("a.log", lines.slice(i, i + 500), i + 1, (a) => alerts.push(a as Alert));
      most = Math.max(most, det.trackedRuleKeys);
    }
    // every client alerted once (nobody twice: each address appears once)
    expect(alerts).toHaveLength(lines.length);
    expect(new Set(alerts.map((a) => a.record.ip)).size).toBe(lines.length);
    // 30 s of clients at 10 lines/s is 300 live cooldowns; the rest were let go
    expect(most).toBeLessThanOrEqual(PRUNE_AT);
    expect(det.trackedRuleKeys).toBeLessThan(PRUNE_AT);
  });

  it("still holds back a client alerting again within the cooldown, after pruning", () => {
    const lines = manyClients(2 * PRUNE_AT);
    // the last client comes back 10 s later (within its 30 s cooldown), and again 40 s later (past it)
    const last = JSON.parse(lines[lines.length - 1]) as { ts: string };
    const again = (s: number) => lines[lines.length - 1].replace(last.ts, new Date(Date.parse(last.ts) + s * 1000).toISOString());
    const det = new Detector(forest, { format: "json", rules: perClient });
    const alerts: Alert[] = [];
    det.processBatch("b.log", [...lines, again(10), again(40)], 1, (a) => alerts.push(a as Alert));
    expect(alerts).toHaveLength(lines.length + 1);
    expect(alerts[alerts.length - 1].line).toBe(lines.length + 2);
    expect(det.summary().suppressed.cooldown).toBe(1);
  });
});
