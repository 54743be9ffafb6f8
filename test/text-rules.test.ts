// A rules file's keys for free-text models: mute (templates whose alerts are counted, not
// emitted), disable (text rules not run), cooldownWindows; checked by name when read.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveRules } from "../src/streams/http/rules.js";
import { TextDetector, type TextAlert, type TextDetectOptions } from "../src/streams/text/detect.js";
import { textForest } from "../src/streams/text/kind.js";
import { trainText } from "../src/streams/text/train.js";
import { simulatedText } from "./text-helpers.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-text-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const texts = simulatedText;
const model = trainText(texts(40_000, 5, false, Date.UTC(2026, 11, 5, 0, 0, 0)));
const live = texts(60_000, 6, true, Date.UTC(2026, 11, 5, 6, 0, 0));

function run(options: TextDetectOptions): { alerts: TextAlert[]; muted: number } {
  const d = new TextDetector(model, options);
  const alerts: TextAlert[] = [];
  d.processBatch("svc.log", live, 1, (a) => alerts.push(a));
  d.finish((a) => alerts.push(a));
  return { alerts, muted: d.summary().muted };
}

describe("free-text rules", () => {
  const base = run({});

  it("mute: a template's alerts are counted, not emitted; by id, by /regex/ or by text", () => {
    const onError = base.alerts.filter((a) => a.template?.text.includes("Failed to persist order"));
    expect(onError.length).toBeGreaterThan(0);
    const id = onError[0]?.template?.id ?? "";
    for (const mute of [[id], ["/^Failed to persist order/"], ["remaining connection slots"]]) {
      const r = run({ mute });
      expect(r.alerts.filter((a) => a.template?.text.includes("Failed to persist order"))).toEqual([]);
      expect(r.muted).toBe(onError.length);
      // Every other alert is as before.
      expect(r.alerts.length).toBe(base.alerts.length - onError.length);
    }
  });

  it("disable: the rules named are not run; the others are", () => {
    const rules = new Set(base.alerts.map((a) => a.rule));
    expect(rules.has("heartbeat_stopped")).toBe(true);
    const r = run({ disable: ["heartbeat_stopped", "level_burst"] });
    expect(r.alerts.some((a) => a.rule === "heartbeat_stopped" || a.rule === "level_burst")).toBe(false);
    expect(r.alerts.length).toBe(base.alerts.filter((a) => a.rule !== "heartbeat_stopped" && a.rule !== "level_burst").length);
    expect(() => new TextDetector(model, { disable: ["nope" as never] })).toThrow(/disable must list text rules .*got "nope"/);
  });

  it("a rules file is checked by name and read by detect on a text model", () => {
    expect(() => resolveRules({ mute: "E1" })).toThrow(/rules: mute must be an array of template ids \(E12\), \/regex\/ or text, got "E1"/);
    expect(() => resolveRules({ mute: ["/(/"] })).toThrow(/rules: mute entry "\/\(\/" is not a valid regular expression/);
    expect(() => resolveRules({ disable: ["forest", "slow"] })).toThrow(/rules: disable must be an array of the text rules new_template, .*session, got "slow"/);
    expect(() => resolveRules({ cooldownWindows: -1 })).toThrow(/rules: cooldownWindows must be an integer in \[0, 100000\], got -1/);
    expect(resolveRules({ mute: ["E3"], disable: ["forest"], cooldownWindows: 2 }).text).toEqual({ mute: ["E3"], disable: ["forest"], cooldownWindows: 2 });

    const modelPath = join(dir, "svc.model");
    textForest(model).save(modelPath);
    const log = join(dir, "svc.log");
    writeFileSync(log, `${live.join("\n")}\n`);
    const rulesPath = join(dir, "rules.json");
    writeFileSync(rulesPath, JSON.stringify({ mute: ["/^Heartbeat sent/"], disable: ["level_burst"] }));
    const r = spawnSync(process.execPath, [BIN, "detect", "--input", log, "--model", modelPath, "--rules", rulesPath, "--json"], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const alerts = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { rule: string; record: { template: string | null } });
    const summary = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}") as { alerts: number; muted: number };
    expect(alerts.length).toBe(summary.alerts);
    expect(alerts.some((a) => a.rule === "level_burst")).toBe(false);
    expect(alerts.some((a) => a.record.template?.startsWith("Heartbeat sent") === true)).toBe(false);
    expect(summary.muted).toBe(base.alerts.filter((a) => a.template?.text.startsWith("Heartbeat sent") === true).length);
    expect(summary.muted).toBeGreaterThan(0);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ disable: ["slow"] }));
    const b = spawnSync(process.execPath, [BIN, "detect", "--input", log, "--model", modelPath, "--rules", bad], { encoding: "utf8", timeout: 300_000 });
    expect(b.status).not.toBe(0);
    expect(b.stderr).toContain(`rules file ${bad}: disable must be an array of the text rules`);
  });
});
