/**
 * Sessions (issue 20) on the Hadoop split (Landauer et al., FSE 2024): each session's
 * events rendered as log lines (its template with every `<*>` a fresh number, the
 * container id in the line), read back through the header reader, the miner and the
 * session tracker keyed by `--session-key`. The text path must judge the sessions as
 * the event ids themselves judge them (unseen template, unseen transition, missing
 * step), and every session alert carries its key.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Rng } from "../src/forest/random.js";
import { TextDetector, type TextAlert } from "../src/streams/text/detect.js";
import { learnSessions, SessionTracker } from "../src/streams/text/sessions.js";
import { trainText } from "../src/streams/text/train.js";
import { DATA_DIR, dataFile } from "./data.js";

interface Session { key: string; events: number[] }

const KEY = String.raw`in (container_\d+_\d+_\d+_\d+)$`;

function sessions(name: string): Session[] {
  return readFileSync(dataFile(`sessions/hadoop/${name}`), "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const [key = "", seq = ""] = l.split(",");
    return { key: key.slice(key.indexOf("/") + 1), events: seq.trim().split(" ").map(Number) };
  });
}

/** Sessions as log4j lines, one after another, a second apart. */
function render(list: readonly Session[], templates: readonly string[], seed: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  let t = Date.UTC(2015, 9, 18, 18, 0, 0);
  for (const s of list) {
    for (const e of s.events) {
      const text = (templates[e - 1] ?? `event ${e}`).replace(/<\*>/g, () => String(rng.int(100000)));
      const ts = new Date(t).toISOString().replace("T", " ").replace("Z", "").replace(".", ",");
      out.push(`${ts} INFO [main] org.apache.hadoop.mapreduce.App: ${text} in ${s.key}`);
      t += 1000;
    }
    t += 60_000;
  }
  return out;
}

describe.skipIf(DATA_DIR === null)("sessions on the Hadoop split, read as log lines", () => {
  const templates = DATA_DIR === null ? [] : readFileSync(dataFile("sessions/hadoop/Hadoop_templates.csv"), "utf8").split("\n").map((l) => l.replace(/\r$/, ""));

  it("judges each session through the text path as its event ids judge it, and names the key", () => {
    const train = sessions("hadoop_train");
    const normal = sessions("hadoop_test_normal");
    const abnormal = sessions("hadoop_test_abnormal");
    const model = trainText(render(train, templates, 1), { sessionKey: KEY });
    expect(model.sessions?.sessions).toBe(train.length);

    const test = [...normal, ...abnormal];
    const detector = new TextDetector(model, { minSeverity: 0, sessionAlerts: "each" });
    const alerts: TextAlert[] = [];
    detector.processBatch("hadoop.log", render(test, templates, 2), 1, (a) => alerts.push(a));
    detector.finish((a) => alerts.push(a));
    const flagged = new Set(alerts.filter((a) => a.rule === "session").map((a) => a.session));
    expect(alerts.filter((a) => a.rule === "session").every((a) => typeof a.session === "string" && a.session.startsWith("container_"))).toBe(true);

    // The same judgement on the event ids themselves.
    const byIds = learnSessions(KEY, train.map((s) => ({ ids: s.events, gaps: [] })));
    const tracker = new SessionTracker(byIds, () => undefined);
    const flaggedByIds = new Set(test.filter((s) => {
      const v = tracker.judge(s.key, s.events);
      return v.unseen.length + v.transitions.length + v.missing.length > 0;
    }).map((s) => s.key));
    const agree = test.filter((s) => flagged.has(s.key) === flaggedByIds.has(s.key)).length / test.length;
    expect(agree).toBeGreaterThanOrEqual(0.95);

    const tp = abnormal.filter((s) => flagged.has(s.key)).length;
    const fp = normal.filter((s) => flagged.has(s.key)).length;
    const precision = tp / Math.max(1, tp + fp);
    const recall = tp / abnormal.length;
    console.log(`sessions: agreement with the event ids ${agree.toFixed(3)}; precision ${precision.toFixed(3)} recall ${recall.toFixed(3)} F1 ${((2 * precision * recall) / (precision + recall)).toFixed(3)} (${tp} of ${abnormal.length} abnormal, ${fp} of ${normal.length} normal flagged)`);
  });
});
