// One harness run end to end: plan the traffic, start the apps with their
// loggers, send the load, close everything, then map every log line to its
// request by the `rid` in its URL and write logforest's truth file per logger.
import { fork } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOGGER_NAMES } from "./app.mjs";
import { ALL_LOGGERS } from "./servers.mjs";
import { runLoad } from "./load.mjs";
import { watchStalls } from "./stalls.mjs";
import { buildPlan } from "./traffic.mjs";

/**
 * @typedef {object} LoggerLog
 * @property {string} log     the log file the logger wrote
 * @property {string} truth   logforest truth file: one {"line","kind","incident"} per labelled line
 * @property {number} lines
 * @property {number} labelled
 * @property {Record<string, number>} statuses  count of logged responses per status class ("2xx" ...)
 */

/**
 * @typedef {object} HarnessRun
 * @property {Record<string, LoggerLog>} logs  per logger variant
 * @property {import("./traffic.mjs").PlannedRequest[]} plan  every request, in rid order
 * @property {number} requests        planned requests (normal traffic and incidents)
 * @property {{ incident: number, kind: string, requests: number }[]} incidents
 * @property {import("./load.mjs").LoadResult} load
 * @property {Record<string, [number, number][]>} stalls  per logger: moments its server's event loop was held up (stalls.mjs; wall-clock ms)
 * @property {[number, number][]} clientStalls  the same for the load generator's process
 * @property {Record<string, Set<number>>} stalledLines  per logger: log lines whose request was in flight during a stall of either
 * @property {Record<string, number>} serverBusy  per logger: share of the run its server's event loop was working (1 = saturated)
 */

const SERVER = new URL("./server-process.mjs", import.meta.url).pathname;

/** The next message of `type` from `child`; rejects on an error message, on exit, or after `ms`. */
function message(child, type, ms) {
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      fn(v);
    };
    const onMessage = (m) => {
      if (m.type === "error") done(reject, new Error(`server process: ${m.message}`));
      else if (m.type === type) done(resolve, m);
    };
    const onExit = (code) => done(reject, new Error(`server process exited (${code}) while waiting for "${type}"`));
    const timer = setTimeout(() => done(reject, new Error(`server process sent no "${type}" within ${ms} ms`)), ms);
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

const RID = /[?&]rid=(\d+)/;

/** The lines of `file` (none for an empty file). */
function linesOf(file) {
  const text = readFileSync(file, "utf8");
  if (text === "") return [];
  return text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
}

/** Throws unless every sent-and-answered request has exactly one line (`seen[rid]`). */
function checkOnePerRequest(file, plan, answered, seen) {
  const problems = [];
  for (let rid = 1; rid <= plan.length; rid++) {
    if (answered[rid - 1] !== 0 && seen[rid] !== 1) problems.push(`rid ${rid} (${plan[rid - 1].method} ${plan[rid - 1].path}) has ${seen[rid]} lines`);
  }
  if (problems.length > 0) throw new Error(`${file}: ${problems.length} answered requests without exactly one line, e.g. ${problems.slice(0, 5).join("; ")}`);
}

/** The rid in `text`'s URL, checked against the plan; throws naming `where` when there is none. */
function ridIn(text, plan, where) {
  const m = RID.exec(text);
  if (m === null) throw new Error(`${where} names no request (no rid): ${text.slice(0, 200)}`);
  const rid = Number(m[1]);
  if (rid < 1 || rid > plan.length) throw new Error(`${where}: rid ${rid} was never planned`);
  return rid;
}

/**
 * Map log lines to requests: line n (1-based) names rid `rids[n-1]`. Throws when a
 * line names no request, or a sent-and-answered request has not exactly one line.
 */
export function mapLines(file, plan, answered) {
  const seen = new Int32Array(plan.length + 1);
  const rids = linesOf(file).map((line, i) => {
    const rid = ridIn(line, plan, `${file} line ${i + 1}`);
    seen[rid]++;
    return rid;
  });
  checkOnePerRequest(file, plan, answered, seen);
  return rids;
}

/**
 * mapLines for Fastify's pairs: a request is scored on its "request completed" line, which
 * has no URL: it takes the rid of its "incoming request" line (same pid and reqId). Lines
 * that score no request (incoming lines, the server's own messages) map to 0.
 */
export function mapPairs(file, plan, answered) {
  const seen = new Int32Array(plan.length + 1);
  const open = new Map();
  const rids = linesOf(file).map((line, i) => {
    const o = JSON.parse(line);
    if (o.reqId === undefined) return 0;
    const key = `${o.pid}:${o.reqId}`;
    if (o.res === undefined) {
      open.set(key, ridIn(String(o.req?.url ?? ""), plan, `${file} line ${i + 1}`));
      return 0;
    }
    const rid = open.get(key);
    if (rid === undefined) throw new Error(`${file} line ${i + 1}: a completion without its incoming line: ${line.slice(0, 200)}`);
    open.delete(key);
    seen[rid]++;
    return rid;
  });
  checkOnePerRequest(file, plan, answered, seen);
  return rids;
}

/** Wait until `file` holds at least `n` lines (a logger may flush after its close event), at most `ms`. */
async function waitForLines(file, n, ms) {
  const until = Date.now() + ms;
  for (;;) {
    let count = 0;
    try {
      const t = readFileSync(file, "utf8");
      for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) === 10) count++;
    } catch {
      count = 0;
    }
    if (count >= n || Date.now() > until) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fork a server process with one app per group of loggers; resolves with its apps' ports and files. */
async function startServer(groups, o, faults) {
  const child = fork(SERVER, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    child.send({ type: "start", groups, dir: o.dir, prefix: o.prefix, seed: o.seed, faults });
    return { child, apps: (await message(child, "started", 30_000)).apps };
  } catch (e) {
    await stopServer(child);
    throw e;
  }
}

/** Close a server process's apps (flushing the logs); resolves with its stalls and busy share. */
async function closeServer(child) {
  child.send({ type: "close" });
  return message(child, "closed", 30_000);
}

/** Wait for a server process to exit (it does when we disconnect), killing it (by its own handle) after 5 s. */
async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill(), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Plan a run, serve it with every logger in `loggers` at once (each logger's app
 * in a process of its own, each request sent to every app) and label the logs.
 * Throws when the time limit cut the run or a log does not match its requests.
 * @param {{ dir: string, prefix: string, loggers?: string[], seed: number, stream: number, requests: number, rate: number,
 *   incidents?: import("./traffic.mjs").IncidentSpec[], users?: number, concurrency?: number, timeLimitMs?: number }} o
 * @returns {Promise<HarnessRun>}
 */
export async function generateLogs(o) {
  const loggers = o.loggers ?? LOGGER_NAMES;
  for (const name of loggers) if (!(name in ALL_LOGGERS)) throw new RangeError(`logger must be one of ${Object.keys(ALL_LOGGERS).join(", ")}, got ${name}`);
  const plan = buildPlan({ seed: o.seed, stream: o.stream, requests: o.requests, rate: o.rate, incidents: o.incidents, users: o.users });
  const faults = [];
  for (const r of plan) if (r.fault !== null) faults.push([r.rid, r.fault]);
  // One app per logger, as in a real deployment: a request's logged time holds
  // only its own logger's work, and the processes spread over the machine's cores.
  const servers = [];
  let load;
  let clientStalls = [];
  const closed = [];
  try {
    for (const name of loggers) servers.push(await startServer([[name]], o, faults));
    const planned = plan.length > 0 ? plan[plan.length - 1].t : 0;
    const watch = watchStalls();
    load = await runLoad({ plan, ports: servers.map((s) => s.apps[0].port), concurrency: o.concurrency, timeLimitMs: o.timeLimitMs ?? planned * 3 + 20_000 });
    clientStalls = watch.stop().stalls;
    for (const s of servers) closed.push(await closeServer(s.child));
  } finally {
    for (const s of servers) await stopServer(s.child);
  }
  if (load.timedOut) throw new Error(`load run hit its time limit after ${Math.round(load.durationMs)} ms (${load.sent} of ${plan.length * servers.length} requests sent)`);

  const logs = {};
  const stalledLines = {};
  const stalls = {};
  const serverBusy = {};
  for (const [k, name] of loggers.entries()) {
    const answered = load.status[k];
    const expected = answered.filter((s) => s !== 0).length;
    const file = servers[k].apps[0].files[name];
    await waitForLines(file, expected, 5000);
    const rids = name === "fastify" ? mapPairs(file, plan, answered) : mapLines(file, plan, answered);
    // A stall of either process slows the requests in flight: the server's handlers,
    // or the client reading a large response.
    stalls[name] = closed[k].stalls;
    serverBusy[name] = closed[k].busy;
    const both = [...closed[k].stalls, ...clientStalls];
    const stalled = new Set();
    rids.forEach((rid, i) => {
      if (rid === 0) return;
      const from = load.sentAt[k][rid - 1];
      const to = load.doneAt[k][rid - 1];
      if (both.some(([a, b]) => a < to && b > from)) stalled.add(i + 1);
    });
    stalledLines[name] = stalled;
    let out = "";
    let labelled = 0;
    const statuses = {};
    rids.forEach((rid, i) => {
      if (rid === 0) return;
      const cls = `${String(answered[rid - 1])[0]}xx`;
      statuses[cls] = (statuses[cls] ?? 0) + 1;
      const l = plan[rid - 1].label;
      if (l === null) return;
      labelled++;
      out += JSON.stringify({ line: i + 1, kind: l.kind, incident: l.incident }) + "\n";
    });
    const truth = join(o.dir, `${o.prefix}.${name}.truth.jsonl`);
    writeFileSync(truth, out);
    // Lines that score a request (a Fastify pair is one).
    logs[name] = { log: file, truth, lines: rids.filter((r) => r !== 0).length, labelled, statuses };
  }
  const byIncident = new Map();
  for (const r of plan) {
    if (r.label === null) continue;
    const e = byIncident.get(r.label.incident) ?? { incident: r.label.incident, kind: r.label.kind, requests: 0 };
    e.requests++;
    byIncident.set(r.label.incident, e);
  }
  return { plan, logs, requests: plan.length, incidents: [...byIncident.values()], load, stalls, clientStalls, stalledLines, serverBusy };
}
