// Detection quality on real loggers' output (issue 10): a small Express shop on
// 127.0.0.1 logging with pino-http, morgan (combined, and combined + :response-time)
// and express-winston (with and without a timestamp), driven by the harness's load
// generator; a clean training run and a detection run with labelled incidents, then
// the real CLI: train, detect, evaluate. Run `npm run build` first.
//   node test/perf/quality-real.mjs [--seed 1] [--train 25000] [--test 30000] [--rate 600] [--train-rate R]
//        [--loggers pino-http,morgan-combined,...,nginx-json,caddy,fastify] [--surge] [--oversized] [--all-kinds]
//        [--spike-route search] [--burst-route product]
//        [--dirty-train] [--json] [--keep]
// The producers (nginx-json and caddy in front of the shop, the shop on fastify) run only when
// named in --loggers; --all-kinds injects all six incident kinds (surge and oversized too).
// --dirty-train puts a scanner and a brute force (other clients than the detection run's) in the training
// run as well. Writes everything under a temp dir (printed); --keep leaves it there. --rate is per
// app: each logger's app has its own process and gets every request, so 600/s is
// 3,000 requests/s for the five servers and the generator on a 2-core machine.
// Latency false alerts (slow, slow_everywhere) on requests in flight while a harness
// process stalled (a busy machine) are counted apart: "false (in stalls)".
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOGGER_NAMES } from "../harness/app.mjs";
import { ALL_LOGGERS } from "../harness/servers.mjs";
import { generateLogs } from "../harness/logs.mjs";
import { runLogger } from "../harness/pipeline.mjs";
import { STALL_MS } from "../harness/stalls.mjs";
import { DEFAULT_KINDS, scheduleIncidents } from "../harness/traffic.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const num = (name, dflt, lo, hi) => {
  const v = Number(opt(name, dflt));
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${opt(name, dflt)}`);
  return v;
};
/** Every option, checked; a bad one is a RangeError naming the option, the range and the value. */
function options() {
  const seed = num("seed", 1, 0, 2 ** 28);
  const trainN = num("train", 25000, 1000, 1_000_000);
  const testN = num("test", 30000, 1000, 1_000_000);
  const rate = num("rate", 600, 50, 5000);
  const trainRate = num("train-rate", rate, 50, 5000);
  const loggers = String(opt("loggers", LOGGER_NAMES.join(","))).split(",");
  for (const l of loggers) if (!(l in ALL_LOGGERS)) throw new RangeError(`loggers must be a list of ${Object.keys(ALL_LOGGERS).join(", ")}, got ${l}`);
  const all = args.includes("--all-kinds");
  const kinds = [...DEFAULT_KINDS, ...(all || args.includes("--surge") ? ["surge"] : []), ...(all || args.includes("--oversized") ? ["oversized"] : [])];
  const routes = {};
  if (opt("spike-route", null) !== null) routes.latency_spike = opt("spike-route", null);
  if (opt("burst-route", null) !== null) routes.error_burst = opt("burst-route", null);
  // Incidents after logforest's warm-up, spread over the detection run (a RangeError when it is too short).
  const incidents = scheduleIncidents(kinds, testN / rate, routes);
  // --dirty-train: the training log holds a scanner and a brute force too (train should say so).
  const trainIncidents = args.includes("--dirty-train") ? scheduleIncidents(["scanner", "brute_force"], trainN / trainRate) : [];
  return { seed, trainN, testN, rate, trainRate, loggers, kinds, incidents, trainIncidents };
}
let o;
try {
  o = options();
} catch (e) {
  if (!(e instanceof RangeError)) throw e;
  console.error(`quality-real: ${e.message}`);
  process.exit(2);
}
const { seed, trainN, testN, rate, trainRate, loggers, kinds, incidents, trainIncidents } = o;
const json = args.includes("--json");
const say = (s) => (json ? process.stderr : process.stdout).write(s + "\n");

const dir = mkdtempSync(join(tmpdir(), "logforest-quality-real-"));
say(`working in ${dir}`);
const t0 = performance.now();
const train = await generateLogs({ dir, prefix: "train", loggers, seed, stream: 1, requests: trainN, rate: trainRate, incidents: trainIncidents });
say(`training run: ${train.requests} requests in ${(train.load.durationMs / 1000).toFixed(1)} s (latest start ${Math.round(train.load.maxLagMs)} ms late)`);
const test = await generateLogs({ dir, prefix: "test", loggers, seed, stream: 2, requests: testN, rate, incidents });
const stallText = (run) => {
  const busy = Object.entries(run.serverBusy).map(([n, b]) => `${n} ${Math.round(b * 100)}%`).join(", ");
  const server = Object.values(run.stalls).reduce((n, s) => n + s.length, 0);
  const longest = Math.max(0, ...[...Object.values(run.stalls).flat(), ...run.clientStalls].map(([a, b]) => b - a));
  const stalled = Object.values(run.stalledLines).reduce((n, s) => n + s.size, 0);
  const lines = Object.values(run.logs).reduce((n, l) => n + l.lines, 0);
  return `servers busy ${busy}; ${server} server and ${run.clientStalls.length} client stalls >= ${STALL_MS} ms (longest ${longest} ms; ${((100 * stalled) / Math.max(1, lines)).toFixed(1)}% of lines in flight during one); ${run.load.failed} requests unanswered`;
};
say(`training run: ${stallText(train)}`);
say(`detection run: ${test.requests} requests in ${(test.load.durationMs / 1000).toFixed(1)} s (latest start ${Math.round(test.load.maxLagMs)} ms late, ${stallText(test)}); incidents: ${test.incidents.map((i) => `${i.incident} ${i.kind} (${i.requests} requests)`).join(", ")}`);

const results = loggers.map((logger) => runLogger({ dir, logger, train, test }));

const warningsOf = (step) => {
  const w = Array.isArray(step.summary?.warnings) ? step.summary.warnings.map(String) : [];
  return [...w, ...(step.stderr ? [step.stderr] : [])];
};
const short = (s) => s.replace(/\s+/g, " ").replace(/\|/g, "/").slice(0, 160);
const out = [];
out.push(`| logger | ${kinds.join(" | ")} | alerts | false (in stalls) | false per 5k normal | train says | detect says |`);
out.push(`|---|${kinds.map(() => "---").join("|")}|---|---|---|---|---|`);
for (const r of results) {
  const cells = kinds.map((k) => (r.caught[k] ? `${r.caught[k].caught}/${r.caught[k].incidents}` : "-"));
  const tw = warningsOf(r.train).map(short).join("; ") || "-";
  const dw = warningsOf(r.detect).filter((l) => !l.startsWith("{")).map(short).join("; ") || "-";
  out.push(`| ${r.logger} | ${cells.join(" | ")} | ${r.evaluation.alerts} | ${r.falseAlerts} (${r.falseDuringStalls}) | ${r.falsePer5k.toFixed(2)} | ${tw} | ${dw} |`);
}
out.push("");
for (const r of results) {
  if (r.falseAlerts === 0) continue;
  out.push(`${r.logger}: false alerts by rule ${JSON.stringify(r.evaluation.false_alerts_by_rule)}`);
  for (const f of r.falseSamples.slice(0, 8)) out.push(`  line ${f.line} ${f.rule} sev ${f.severity}${f.stalled ? " [in a server stall]" : ""} ${f.request} ip ${f.ip}: ${f.reasons.join("; ")}`);
}
const report = {
  date: new Date().toISOString(),
  command: `node test/perf/quality-real.mjs ${args.join(" ")}`.trim(),
  seed,
  rate,
  train_rate: trainRate,
  train_requests: train.requests,
  test_requests: test.requests,
  incidents: test.incidents,
  schedule: incidents,
  train_incidents: train.incidents,
  stalls: { train: train.stalls, test: test.stalls, train_client: train.clientStalls, test_client: test.clientStalls },
  server_busy: { train: train.serverBusy, test: test.serverBusy },
  max_lag_ms: { train: train.load.maxLagMs, test: test.load.maxLagMs },
  seconds: Math.round((performance.now() - t0) / 100) / 10,
  dir,
  results: results.map((r) => ({
    logger: r.logger,
    lines: r.lines,
    normal_lines: r.normalLines,
    caught: r.caught,
    alerts: r.evaluation.alerts,
    false_alerts: r.falseAlerts,
    false_alerts_during_stalls: r.falseDuringStalls,
    false_per_5k: r.falsePer5k,
    false_alerts_by_rule: r.evaluation.false_alerts_by_rule,
    precision: r.evaluation.precision,
    train_warnings: warningsOf(r.train),
    detect_warnings: warningsOf(r.detect),
    detect_summary: r.detect.summary,
    false_samples: r.falseSamples,
  })),
};
writeFileSync(join(dir, "quality-real.json"), JSON.stringify(report, null, 2));
if (json) console.log(JSON.stringify(report));
else console.log(out.join("\n"));
say(`${report.seconds} s; JSON in ${join(dir, "quality-real.json")}`);
if (!args.includes("--keep")) {
  rmSync(dir, { recursive: true, force: true });
  say(`(removed ${dir}; --keep keeps it)`);
}
