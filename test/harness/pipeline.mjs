// logforest's CLI as a user runs it (the built dist/bin/logforest.js) on a
// harness run: train on the clean log, detect on the one with incidents,
// evaluate against the truth, and list the false alerts with their reasons.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const BIN = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;

/** Rules that alert on latency alone (src/streams/http/rules.ts): what a stall of the harness can set off. */
const LATENCY_RULES = new Set(["slow", "slow_everywhere"]);

/**
 * @typedef {object} FalseAlert
 * @property {number} line
 * @property {string} rule
 * @property {number} severity
 * @property {string} request  method, route and status as the parser read them
 * @property {string} ip
 * @property {string[]} reasons
 * @property {boolean} stalled  the request was in flight during a server stall
 */

/**
 * @typedef {object} PipelineResult
 * @property {string} logger
 * @property {{ code: number | null, summary: unknown, stderr: string }} train
 * @property {{ code: number | null, summary: unknown, stderr: string }} detect
 * @property {any} evaluation       what `evaluate --json` printed
 * @property {number} lines         lines of the detection log
 * @property {number} normalLines   of which unlabelled
 * @property {number} falseAlerts
 * @property {number} falseDuringStalls  of which latency alerts (slow, slow_everywhere) on requests in flight while a process of the harness stalled (the machine, not the app)
 * @property {number} falsePer5k    false alerts per 5,000 normal lines
 * @property {Record<string, { incidents: number, caught: number }>} caught  per incident kind
 * @property {FalseAlert[]} falseSamples  up to 20 false alerts
 */

/** Run the CLI with `args`; throws when the binary is missing. */
export function runCli(args, cwd) {
  for (let attempt = 1; ; attempt++) {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build"`);
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 300_000 });
    // A rebuild of dist/ running meanwhile (several people share the tree) leaves the
    // module or its WASM half-written for a few seconds: try again, at most 3 times.
    const midBuild = r.status !== 0 && /WebAssembly|Cannot find module|SyntaxError|ERR_MODULE_NOT_FOUND/.test(r.stderr ?? "");
    if (!midBuild || attempt === 3) return { code: r.status, out: r.stdout, err: r.stderr };
    spawnSync("sleep", ["10"]);
  }
}

/** The last line of `text` that parses as a JSON object, or null. */
function lastJson(text) {
  const lines = text.trim().split("\n").reverse();
  for (const l of lines) {
    try {
      const v = JSON.parse(l);
      if (typeof v === "object" && v !== null) return v;
    } catch {
      // not the summary line
    }
  }
  return null;
}

/**
 * train -> detect -> evaluate for one logger.
 * @param {{ logger: string, dir: string, trainLog: string, testLog: string, truth: string, lines: number, labelled: number, stalled?: Set<number>, extra?: string[] }} o
 * @returns {PipelineResult}
 */
export function runPipeline(o) {
  const model = join(o.dir, `${o.logger}.model`);
  const alerts = join(o.dir, `${o.logger}.alerts.jsonl`);
  // detect appends: start from an empty file (also what evaluate reads when nothing alerts).
  writeFileSync(alerts, "");
  const extra = o.extra ?? [];
  const t = runCli(["train", "--input", o.trainLog, "--model", model, "--json", ...extra], o.dir);
  if (t.code !== 0) throw new Error(`train failed for ${o.logger} (exit ${t.code}): ${t.err.slice(0, 2000)}`);
  const d = runCli(["detect", "--model", model, "--input", o.testLog, "--alerts", alerts, "--json", ...extra], o.dir);
  if (d.code !== 0) throw new Error(`detect failed for ${o.logger} (exit ${d.code}): ${d.err.slice(0, 2000)}`);
  const alertText = readFileSync(alerts, "utf8");
  const e = runCli(["evaluate", "--alerts", alerts, "--truth", o.truth, "--json"], o.dir);
  if (e.code !== 0) throw new Error(`evaluate failed for ${o.logger} (exit ${e.code}): ${e.err.slice(0, 2000)}`);
  const evaluation = JSON.parse(e.out);

  const truthLines = new Set(
    readFileSync(o.truth, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l).line),
  );
  const falseSamples = [];
  let falseAlerts = 0;
  let falseDuringStalls = 0;
  for (const l of alertText.split("\n")) {
    if (l.trim() === "") continue;
    const a = JSON.parse(l);
    if (truthLines.has(a.line)) continue;
    falseAlerts++;
    const stalled = o.stalled?.has(a.line) ?? false;
    if (stalled && LATENCY_RULES.has(a.rule)) falseDuringStalls++;
    if (falseSamples.length < 20) {
      const r = a.record ?? {};
      falseSamples.push({
        line: a.line,
        rule: a.rule,
        severity: a.severity,
        request: `${r.method} ${r.route} ${r.status}${r.latency_ms !== undefined ? ` ${r.latency_ms} ms` : ""}`,
        ip: r.ip,
        reasons: (a.reasons ?? []).map((x) => x.text),
        stalled,
      });
    }
  }
  const caught = {};
  for (const [kind, k] of Object.entries(evaluation.by_kind)) caught[kind] = { incidents: k.incidents, caught: k.caught };
  const normalLines = o.lines - o.labelled;
  return {
    logger: o.logger,
    train: { code: t.code, summary: lastJson(t.out), stderr: t.err.trim() },
    detect: { code: d.code, summary: lastJson(d.err), stderr: d.err.trim().split("\n").filter((l) => !l.startsWith("{")).join("\n") },
    evaluation,
    lines: o.lines,
    normalLines,
    falseAlerts,
    falseDuringStalls,
    falsePer5k: normalLines > 0 ? (falseAlerts * 5000) / normalLines : 0,
    caught,
    falseSamples,
  };
}

/**
 * runPipeline for one logger of two harness runs: train on `train`'s log, detect
 * and evaluate on `test`'s.
 * @param {{ dir: string, logger: string, train: import("./logs.mjs").HarnessRun, test: import("./logs.mjs").HarnessRun, extra?: string[] }} o
 * @returns {PipelineResult}
 */
export function runLogger(o) {
  const t = o.test.logs[o.logger];
  return runPipeline({
    logger: o.logger,
    dir: o.dir,
    trainLog: o.train.logs[o.logger].log,
    testLog: t.log,
    truth: t.truth,
    lines: t.lines,
    labelled: t.labelled,
    stalled: o.test.stalledLines[o.logger],
    extra: o.extra,
  });
}
