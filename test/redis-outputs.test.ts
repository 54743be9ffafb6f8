/**
 * `detect --from redis://...` runs through the same loop as `detect --input` (issue 19): with a
 * metric-stream (CSV) model, --scores, --alerts, --webhook, --metrics and --dashboard all work,
 * and what they give equals what `detect --input` gives for the same files. Against a real
 * redis-server on a free loopback port (LOGFOREST_REDIS_TESTS=0 skips).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardOf } from "../src/scale/common.js";
import { freePort, RedisServer, stopChild, waitFor } from "./redis-server.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const ENABLED = process.env.LOGFOREST_REDIS_TESTS !== "0";
const SHARDS = 2;

let dir = "";
const children = new Set<ChildProcess>();

function cliSync(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`logforest ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l !== "") : []);

/** Two file names, one on each shard. */
function spread(bases: readonly string[]): string[] {
  return bases.map((base, shard) => {
    for (let n = 0; n < 1000; n++) if (shardOf(`m${n}_${base}`, SHARDS) === shard) return `m${n}_${base}`;
    throw new Error(`no name for shard ${shard}`);
  });
}

describe.skipIf(!ENABLED)("detect --from: every output of the run loop (a real redis-server)", () => {
  let server: RedisServer;
  let hook: Server;
  let hookUrl = "";
  const received: string[] = [];
  const files = spread(["cpu.csv", "queue.csv"]);

  beforeAll(async () => {
    const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
    if (found.status !== 0) throw new Error("redis-server is not installed (apt-get install redis-server), or set LOGFOREST_REDIS_TESTS=0");
    dir = mkdtempSync(join(tmpdir(), "lf-redis-out-"));
    cliSync(["simulate", "--kind", "telemetry", "--count", "3000", "--seed", "5", "--incidents", "none", "--out", "train.csv"]);
    cliSync(["train", "--format", "csv", "--input", "train.csv", "--model", "m.lfm"]);
    files.forEach((f, i) => cliSync(["simulate", "--kind", "telemetry", "--count", "4000", "--seed", String(101 + i), "--out", f]));
    server = new RedisServer(await freePort(), dir, children);
    await server.start();
    hook = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
    const a = hook.address();
    hookUrl = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}/hook`;
  }, 120_000);

  /** A consumer `c1` of stream `name` with `args`, once it owns both shards (and `ready` holds of its stderr). */
  async function consumer(name: string, args: string[], ready: (err: string) => boolean = () => true): Promise<ChildProcess & { err: () => string }> {
    const c = spawn(process.execPath, [
      BIN, "detect", "--from", `redis://127.0.0.1:${server.port}`, "--stream", name, "--model", "m.lfm", "--shards", String(SHARDS), "--lease-seconds", "2", "--consumer", "c1", ...args,
    ], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    children.add(c);
    let err = "";
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const r = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: null });
    try {
      // Both shards owned before the lines arrive.
      await waitFor("the consumer to own both shards", 30_000, async () => ready(err) && (await Promise.all([0, 1].map((s) => r.get(`${name}:detectors:lease:${s}`)))).every((o) => o === "c1"));
    } finally {
      r.disconnect();
    }
    return Object.assign(c, { err: () => err });
  }

  afterAll(async () => {
    await Promise.all([...children].map((p) => stopChild(p, "SIGKILL", children)));
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("a CSV model with --scores, --alerts, --webhook, --metrics and --dashboard: the same alerts and scores as detect --input", async () => {
    // The reference: each file read whole.
    for (const f of files) cliSync(["detect", "--input", f, "--model", "m.lfm", "--alerts", `${f}.ref.jsonl`, "--scores", `${f}.ref.csv`, "--json"]);
    const refAlerts = files.flatMap((f) => lines(join(dir, `${f}.ref.jsonl`)).map((l) => JSON.parse(l) as { file: string; line: number; rule: string }));
    const refScores = files.flatMap((f) => lines(join(dir, `${f}.ref.csv`)).slice(1));
    expect(refAlerts.length).toBeGreaterThan(3);

    const url = `redis://127.0.0.1:${server.port}`;
    const [metricsPort, dashboardPort] = [await freePort(), await freePort()];
    const c = await consumer("t", [
      "--alerts", "alerts.jsonl", "--scores", "scores.csv", "--webhook", hookUrl, "--metrics", String(metricsPort), "--dashboard", String(dashboardPort),
    ], (err) => err.includes("metrics:"));
    for (const f of files) cliSync(["ship", "--input", f, "--to", url, "--stream", "t", "--shards", String(SHARDS)]);
    const rows = refScores.length;
    await waitFor("every row's score written", 60_000, () => lines(join(dir, "scores.csv")).length - 1 >= rows);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const scored = Number(/^logforest_lines_scored_total (\d+)/m.exec(metrics)?.[1]);
    const state = (await (await fetch(`http://127.0.0.1:${dashboardPort}/api/state`)).json()) as { totals: { lines_scored: number }; model: { kind: string } };
    await waitFor("every alert posted", 30_000, () => received.length >= refAlerts.length);

    await stopChild(c, "SIGTERM", children);
    expect(c.exitCode).toBe(0);

    const alerts = lines(join(dir, "alerts.jsonl")).map((l) => JSON.parse(l) as { id: string; file: string; line: number; rule: string });
    const key = (a: { file: string; line: number; rule: string }) => `${a.file}:${a.line}:${a.rule}`;
    expect(alerts.map(key).sort()).toEqual(refAlerts.map(key).sort());
    expect(alerts.every((a) => /^\d+:\d+-\d+\/\d+$/.test(a.id))).toBe(true); // shard:entry/place: entries hold runs of lines
    expect(lines(join(dir, "scores.csv")).slice(1).sort()).toEqual([...refScores].sort());
    // A webhook is at-least-once (a retried post may have arrived): every alert posted, none but the run's.
    expect([...new Set(received.map((b) => key(JSON.parse(b) as { file: string; line: number; rule: string })))].sort()).toEqual(refAlerts.map(key).sort());
    const scoredRows = refScores.filter((row) => row.endsWith(",")).length; // the headers are skipped rows
    expect(scoredRows).toBe(rows - files.length);
    expect(scored).toBe(scoredRows);
    expect(state.model.kind).toBe("telemetry");
    expect(state.totals.lines_scored).toBe(scoredRows);
    const summary = JSON.parse(c.err().trim().split("\n").at(-1) ?? "{}") as { lines_scored: number; alerts: number; detection: { lines_scored: number; sinks: { webhook: { sent: number } } } };
    expect(summary.lines_scored).toBe(scoredRows);
    expect(summary.alerts).toBe(refAlerts.length);
    expect(summary.detection.lines_scored).toBe(scoredRows);
    expect(summary.detection.sinks.webhook.sent).toBe(refAlerts.length);
  }, 180_000);

  it("--retrain with --from: each source's detector keeps learning (refreshes counted), every row scored once", async () => {
    const url = `redis://127.0.0.1:${server.port}`;
    const c = await consumer("r", ["--retrain", "--retrain-every", "1000", "--retrain-sample", "2000", "--retrain-save", "r.lfm", "--alerts", "r-alerts.jsonl", "--scores", "r-scores.csv"]);
    for (const f of files) cliSync(["ship", "--input", f, "--to", url, "--stream", "r", "--shards", String(SHARDS)]);
    await waitFor("every row's score written", 60_000, () => lines(join(dir, "r-scores.csv")).length - 1 >= 2 * 4001);
    await stopChild(c, "SIGTERM", children);
    expect(c.exitCode).toBe(0);
    const summary = JSON.parse(c.err().trim().split("\n").at(-1) ?? "{}") as { lines_scored: number; detection: { lines_scored: number; retrain: { refreshes: number; generation: number } } };
    expect(summary.lines_scored).toBe(2 * 4000);
    expect(summary.detection.retrain.refreshes).toBeGreaterThanOrEqual(2 * 3); // 4,000 rows per source, a refresh about every 1,000
    expect(summary.detection.retrain.generation).toBeGreaterThanOrEqual(3);
    expect(existsSync(join(dir, "r.lfm"))).toBe(true);
  }, 180_000);
});
