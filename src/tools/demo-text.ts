/**
 * `logforest demo --kind text`: the free-text job on built-in defaults. Simulate a clean
 * stretch of the order service's log (src/tools/simulate-text.ts) and train on it with
 * its session key; then write a log with the five incidents into a file, fast, while the
 * detector follows it, printing alerts as they fire; then the summary and which
 * incidents were caught (an alert within the incident or the two minutes after it; any
 * other alert counts as false).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { detect } from "../runtime/detect.js";
import type { StreamAlert } from "../streams/stream.js";
import { textForest, textKind, type TextStreamAlert } from "../streams/text/kind.js";
import { trainText } from "../streams/text/train.js";
import { writeLive, type DemoOptions } from "./demo.js";
import { simulateText, TEXT_SIM_SESSION_KEY, type TextIncidentKind, type TextSimIncident } from "./simulate-text.js";

/** The HTTP demo's options that apply here. */
export type TextDemoOptions = Pick<DemoOptions, "seed" | "trainLines" | "liveLines" | "rate" | "keep" | "json" | "signal" | "print" | "dashboard">;

export const TEXT_DEMO_DEFAULTS = { seed: 1, trainLines: 100_000, liveLines: 150_000, rate: 20_000 };

export interface TextDemoResult {
  alerts: TextStreamAlert[];
  incidents: { kind: TextIncidentKind; caught: boolean; rules: string[] }[];
  falseAlerts: number;
}

/** After an incident ends, alerts this long after still belong to it (a window closes every 60 s). */
const GRACE_MS = 120_000;

/** Run the free-text demo; resolves when the live log has been written and judged. */
export async function runTextDemo(options: Partial<TextDemoOptions>): Promise<TextDemoResult> {
  const o = { ...TEXT_DEMO_DEFAULTS, keep: false, json: false, ...options };
  const int = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int("seed", o.seed, 0, 2 ** 31 - 1);
  int("trainLines", o.trainLines, 20_000, 10_000_000);
  // Incidents sit at fractions of the run and last a minute or five: shorter runs would overlap them.
  int("liveLines", o.liveLines, 100_000, 10_000_000);
  if (!(o.rate > 0 && o.rate <= 1_000_000)) throw new RangeError(`rate must be a number in (0, 1000000] lines/s, got ${o.rate}`);
  const print = o.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), "logforest-demo-text-"));
  const log = join(dir, "orders.log");
  try {
    const start = Date.UTC(2026, 11, 5, 6, 0, 0);
    const clean = lines(simulateText({ count: o.trainLines, seed: o.seed, incidents: false, start: start - 6 * 3600_000 }));
    const t0 = performance.now();
    const model = trainText(clean.lines, { seed: o.seed, sessionKey: TEXT_SIM_SESSION_KEY });
    if (!o.json) {
      print(`trained on ${o.trainLines.toLocaleString("en-US")} lines of a clean service log in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${model.miner.templates.length} templates, sessions by ${TEXT_SIM_SESSION_KEY}`);
    }
    const live = lines(simulateText({ count: o.liveLines, seed: o.seed + 1, start }));
    writeFileSync(log, "");
    if (!o.json) print(`following ${basename(log)}: ${o.liveLines.toLocaleString("en-US")} lines arriving at ${o.rate.toLocaleString("en-US")} lines/s, with ${live.incidents.length} incidents`);

    const alerts: TextStreamAlert[] = [];
    const stop = new AbortController();
    const detection = detect({
      input: { follow: [log], start: "beginning" },
      model: { model: textForest(model) },
      signal: stop.signal,
      outputs: {
        out: null,
        onAlert: (a: StreamAlert) => {
          const t = a as TextStreamAlert;
          alerts.push(t);
          print(o.json ? JSON.stringify(t) : `${String(Math.round(t.severity)).padStart(3)}  ${t.ts ?? "-"}  ${t.rule.padEnd(17)} ${textKind.alertText(t)}  (${t.reasons[0]?.text ?? ""})`);
          o.dashboard?.onAlert(a);
        },
        onStart: o.dashboard?.onStart,
        onScored: o.dashboard?.onScored,
      },
    });
    await writeLive(log, live.lines, o.rate, o.signal);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const { summary } = await detection;
    const within = (a: TextStreamAlert, i: TextSimIncident): boolean => {
      const t = Date.parse(a.ts ?? "");
      return t >= i.start && t < i.end + GRACE_MS;
    };
    const incidents = live.incidents.map((i) => {
      const rules = [...new Set(alerts.filter((a) => within(a, i)).map((a) => a.rule))];
      return { kind: i.kind, caught: rules.length > 0, rules };
    });
    const falseAlerts = alerts.filter((a) => !live.incidents.some((i) => within(a, i))).length;
    if (o.json) print(JSON.stringify({ summary, incidents, false_alerts: falseAlerts }));
    else {
      print(`scored ${summary.lines_scored.toLocaleString("en-US")} lines; alerts: ${alerts.length}`);
      print(`incidents caught: ${incidents.filter((i) => i.caught).length}/${incidents.length} (${incidents.map((i) => `${i.kind} ${i.caught ? `by ${i.rules.join("+")}` : "missed"}`).join(", ")}); false alerts: ${falseAlerts}`);
      if (o.keep) print(`kept ${dir} (orders.log)`);
    }
    return { alerts, incidents, falseAlerts };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

function lines(g: ReturnType<typeof simulateText>): { lines: string[]; incidents: TextSimIncident[] } {
  const out: string[] = [];
  for (let r = g.next(); ; r = g.next()) {
    if (r.done === true) return { lines: out, incidents: r.value };
    out.push(r.value.text);
  }
}
