// Alert sinks (issue 13): --webhook and --exec against real local servers and commands that
// fail, stall, come up late and recover. Every alert ends sent, failed or dropped, counted;
// the --alerts file is the same with or without sinks; scoring never waits for a sink.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { detectFlat } from "./helpers.js";
import { DetectMetrics } from "../src/runtime/metrics.js";
import { DeliveryError, DeliveryQueue, resolveQueueOptions, retryWait, type SinkCounts } from "../src/runtime/sinks/queue.js";
import type { IsolationForest } from "../src/forest/forest.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
let dir = "";
let model = "";
let forest: IsolationForest;
let log = "";
let lines: string[] = [];
/** The alerts file of a run without sinks: every sink run must write the same. */
let plainAlerts = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "logforest-alert-sinks-"));
  model = join(dir, "m.lfm");
  const normal = [...simulate({ count: 8000, seed: 3, incidents: "none" })].map((l) => l.text);
  forest = trainFromLines(normal, { forest: { seed: 3, trees: 50 } }).forest;
  forest.save(model);
  lines = [...simulate({ count: 10_000, seed: 4, incidents: "default" })].map((l) => l.text);
  log = join(dir, "test.log");
  writeFileSync(log, lines.join("\n") + "\n");
  const r = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--input", log, "--alerts", join(dir, "plain.jsonl")], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  plainAlerts = readFileSync(join(dir, "plain.jsonl"), "utf8");
  // Enough alerts that queues fill and order matters.
  expect(plainAlerts.trim().split("\n").length).toBeGreaterThanOrEqual(8);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI without blocking this process (the servers below answer from it). */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => (clearTimeout(kill), resolve({ code, out, err })));
  });
}

/** The --json summary: the last line of stderr. */
function summaryOf(err: string): { lines_scored: number; alerts: number; sinks?: Record<string, SinkCounts> } {
  const last = err.trim().split("\n").at(-1) ?? "";
  return JSON.parse(last) as { lines_scored: number; alerts: number; sinks?: Record<string, SinkCounts> };
}

interface Receiver {
  port: number;
  /** Every body received, in arrival order, with the status answered (null: never answered). */
  got: Array<{ body: string; status: number | null }>;
  /** Most requests open at once. */
  maxOpen: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A webhook receiver on 127.0.0.1 (on `port`, or any free one); `answer` gives the status of request n (0-based), or null to stall. */
async function receiver(answer: (n: number) => number | null, port = 0, make: (h: Handler) => Server = (h) => createServer(h)): Promise<Receiver> {
  let open = 0;
  const r: Receiver = { port: 0, got: [], maxOpen: 0, close: async () => undefined };
  const server = make((req, res) => {
    open++;
    r.maxOpen = Math.max(r.maxOpen, open);
    res.on("close", () => open--);
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const status = answer(r.got.length);
      r.got.push({ body, status });
      if (status === null) return; // stall: never answer
      res.statusCode = status;
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  r.port = (server.address() as AddressInfo).port;
  r.close = () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections()));
  return r;
}

const alertLines = (text: string) => text.trim().split("\n").filter((l) => l !== "");

describe("--webhook", () => {
  it("a server answering 500 then recovering: every alert delivered exactly as its JSON line, the retries counted, --alerts unchanged", async () => {
    const failures = 5;
    const srv = await receiver((n) => (n < failures ? 500 : 200));
    try {
      const alerts = join(dir, "retry.jsonl");
      const r = await cli(["--input", log, "--alerts", alerts, "--json", "--webhook", `http://127.0.0.1:${srv.port}/hook`]);
      expect(r.code, r.err).toBe(0);
      expect(readFileSync(alerts, "utf8")).toBe(plainAlerts);
      const expected = alertLines(plainAlerts);
      const delivered = srv.got.filter((g) => g.status === 200).map((g) => g.body);
      expect(delivered.sort()).toEqual([...expected].sort());
      expect(srv.got.filter((g) => g.status === 500)).toHaveLength(failures);
      const s = summaryOf(r.err);
      expect(s.sinks?.webhook).toEqual({ alerts: expected.length, sent: expected.length, retried: failures, failed: 0, dropped: 0, dropped_at_stop: 0, ...(failures > 0 ? { first_error: "HTTP 500" } : {}) });
      expect(srv.maxOpen).toBeLessThanOrEqual(2);
    } finally {
      await srv.close();
    }
  });

  it("a server that stalls: the run ends anyway (timeout, bounded queue, drain), drops counted in the summary and on stderr", async () => {
    const srv = await receiver(() => null);
    try {
      const alerts = join(dir, "stall.jsonl");
      const r = await cli(["--input", log, "--alerts", alerts, "--json", "--webhook", `http://127.0.0.1:${srv.port}/`,
        "--webhook-timeout", "30", "--webhook-queue", "3", "--sink-drain", "0.5"]);
      expect(r.code, r.err).toBe(0);
      expect(readFileSync(alerts, "utf8")).toBe(plainAlerts);
      const s = summaryOf(r.err);
      expect(s.lines_scored).toBe(lines.length);
      // Nothing is answered within the run: 2 in flight, 3 waiting, the rest dropped as they came; at stop the 5 are given up.
      const n = alertLines(plainAlerts).length;
      expect(s.sinks?.webhook).toEqual({ alerts: n, sent: 0, retried: 0, failed: 0, dropped: n, dropped_at_stop: 5 });
      expect(srv.got).toHaveLength(2);
      expect(r.err).toContain("webhook: queue full (3 alerts waiting)");
      expect(r.err).toContain(`warning: webhook dropped ${n} alerts (${n - 5} on a full queue, 5 left at stop)`);
    } finally {
      await srv.close();
    }
  });

  it("a server that is down, then comes up: alerts queued meanwhile are delivered once it answers", async () => {
    // A port nothing listens on (yet).
    const probe = await receiver(() => 200);
    const port = probe.port;
    await probe.close();
    const metrics = new DetectMetrics();
    const stdin = new PassThrough();
    const run = detectFlat({
      model: forest, stdin, out: null, metrics, sinkDrainMs: 20_000, onSinkProblem: () => undefined,
      webhook: { url: `http://127.0.0.1:${port}/`, backoffMs: 50, maxBackoffMs: 200, attempts: 20, seed: 7 },
    });
    stdin.write(lines.join("\n") + "\n");
    const retries = async () => Number(/logforest_sink_retries_total\{sink="webhook"\} (\d+)/.exec(await metrics.text())?.[1] ?? 0);
    const deadline = Date.now() + 20_000;
    while ((await retries()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(await retries()).toBeGreaterThanOrEqual(3);
    const up = await receiver(() => 200, port);
    try {
      stdin.end();
      const { summary } = await run;
      const c = summary.sinks?.webhook;
      expect(c?.alerts).toBe(summary.alerts);
      expect(c?.sent).toBe(summary.alerts);
      expect(c?.failed).toBe(0);
      expect(c?.retried).toBeGreaterThanOrEqual(3);
      expect(new Set(up.got.map((g) => g.body)).size).toBe(summary.alerts);
    } finally {
      await up.close();
    }
  });

  it("--webhook-format slack: {text, blocks} naming severity, rule, file:line and the reasons", async () => {
    const srv = await receiver(() => 200);
    try {
      const r = await cli(["--input", log, "--alerts", join(dir, "slack.jsonl"), "--json", "--webhook", `http://127.0.0.1:${srv.port}/`, "--webhook-format", "slack"]);
      expect(r.code, r.err).toBe(0);
      const alerts = alertLines(plainAlerts).map((l) => JSON.parse(l) as { file: string; line: number; rule: string; severity: number; reasons?: Array<{ text: string }> });
      expect(srv.got).toHaveLength(alerts.length);
      const bodies = srv.got.map((g) => JSON.parse(g.body) as { text: string; blocks: Array<{ type: string; text: { type: string; text: string } }> });
      const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      for (const a of alerts) {
        const where = `${a.file}:${a.line}`;
        const b = bodies.find((x) => x.text.includes(`${where}`));
        expect(b, where).toBeDefined();
        if (b === undefined) continue;
        expect(Object.keys(b).sort()).toEqual(["blocks", "text"]);
        expect(b.text).toContain(`severity ${Math.round(a.severity)}, rule ${a.rule}`);
        expect(b.blocks).toHaveLength(1);
        expect(b.blocks[0].type).toBe("section");
        expect(b.blocks[0].text.type).toBe("mrkdwn");
        expect(b.blocks[0].text.text).toContain(`*Severity ${Math.round(a.severity)}*`);
        expect(b.text + b.blocks[0].text.text).not.toMatch(/[<>]/); // escaped: no link or mention can be injected
        for (const reason of a.reasons ?? []) expect(unescape(b.blocks[0].text.text)).toContain(reason.text);
      }
      expect(alerts.some((a) => (a.reasons ?? []).length > 0)).toBe(true);
    } finally {
      await srv.close();
    }
  });

  const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" }).status === 0;

  it.runIf(openssl)("https with a certificate the system trusts (NODE_EXTRA_CA_CERTS): delivered; untrusted: failed at once, never retried", async () => {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    const srv = await receiver(() => 200, 0, (h) => createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, h));
    try {
      const url = `https://127.0.0.1:${srv.port}/hook`;
      const n = alertLines(plainAlerts).length;
      const trusted = await cli(["--input", log, "--alerts", join(dir, "https.jsonl"), "--json", "--webhook", url], { ...process.env, NODE_EXTRA_CA_CERTS: cert });
      expect(trusted.code, trusted.err).toBe(0);
      expect(summaryOf(trusted.err).sinks?.webhook).toEqual({ alerts: n, sent: n, retried: 0, failed: 0, dropped: 0, dropped_at_stop: 0 });
      expect(srv.got.map((g) => g.body).sort()).toEqual(alertLines(plainAlerts).sort());
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const refused = await cli(["--input", log, "--alerts", join(dir, "https2.jsonl"), "--json", "--webhook", url], env);
      expect(refused.code, refused.err).toBe(0);
      expect(summaryOf(refused.err).sinks?.webhook).toEqual({ alerts: n, sent: 0, retried: 0, failed: n, dropped: 0, dropped_at_stop: 0, first_error: expect.stringMatching(/CERT/) });
      expect(refused.err).toMatch(/webhook: delivery failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/);
      expect(srv.got).toHaveLength(n); // the refused runs never got as far as a request
    } finally {
      await srv.close();
    }
  });

  it("a 4xx answer fails the alert at once (trying again cannot help)", async () => {
    const srv = await receiver(() => 404);
    try {
      const r = await cli(["--input", log, "--alerts", join(dir, "404.jsonl"), "--json", "--webhook", `http://127.0.0.1:${srv.port}/`]);
      const n = alertLines(plainAlerts).length;
      expect(summaryOf(r.err).sinks?.webhook).toEqual({ alerts: n, sent: 0, retried: 0, failed: n, dropped: 0, dropped_at_stop: 0, first_error: "HTTP 404" });
      expect(srv.got).toHaveLength(n);
      expect(r.err).toContain("webhook: delivery failed (HTTP 404)");
    } finally {
      await srv.close();
    }
  });

  it("refuses a bad URL and bad queue, retry and timeout values by option, range and value", async () => {
    const cases: Array<[string[], string]> = [
      [["--webhook", "ftp://example.com/x"], '--webhook must be an http:// or https:// URL, got the scheme "ftp:"'],
      [["--webhook", "not a url"], '--webhook must be an http:// or https:// URL, got "not a url"'],
      [["--webhook", "http://127.0.0.1:9/", "--webhook-queue", "0"], "--webhook-queue must be an integer in [1, 1000000], got 0"],
      [["--webhook", "http://127.0.0.1:9/", "--webhook-retries", "2.5"], "--webhook-retries must be an integer in [0, 19], got 2.5"],
      [["--webhook", "http://127.0.0.1:9/", "--webhook-timeout", "0"], "--webhook-timeout must be a number of seconds in [0.001, 600], got 0"],
      [["--exec", "true", "--exec-concurrency", "0"], "--exec-concurrency must be an integer in [1, 64], got 0"],
      [["--exec", " "], '--exec must be a non-empty command, got " "'],
      [["--sink-drain", "-1"], "--sink-drain must be a number of seconds in [0, 600], got -1"],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["--input", log, "--alerts", join(dir, "bad.jsonl"), ...args]);
      expect(r.code, args.join(" ")).toBe(2); // a usage error
      expect(r.err).toContain(message);
    }
  });
});

describe("--exec", () => {
  it("runs the command once per alert with the alert as one JSON line on stdin (and its rule in the environment)", async () => {
    const out = join(dir, "exec-out.jsonl");
    const rules = join(dir, "exec-rules.txt");
    const r = await cli(["--input", log, "--alerts", join(dir, "exec.jsonl"), "--json", "--exec", `cat >> '${out}'; printf '%s\\n' "$LOGFOREST_RULE" >> '${rules}'`]);
    expect(r.code, r.err).toBe(0);
    const expected = alertLines(plainAlerts);
    const got = alertLines(readFileSync(out, "utf8"));
    for (const l of got) expect(() => JSON.parse(l)).not.toThrow();
    expect([...got].sort()).toEqual([...expected].sort());
    expect(alertLines(readFileSync(rules, "utf8")).sort()).toEqual(expected.map((l) => (JSON.parse(l) as { rule: string }).rule).sort());
    expect(summaryOf(r.err).sinks?.exec).toEqual({ alerts: expected.length, sent: expected.length, retried: 0, failed: 0, dropped: 0, dropped_at_stop: 0 });
  });

  it("a failing command, and one past its timeout, count as failed; the alerts output is untouched", async () => {
    const n = alertLines(plainAlerts).length;
    const failing = await cli(["--input", log, "--alerts", join(dir, "exec-fail.jsonl"), "--json", "--exec", "cat > /dev/null; exit 3"]);
    expect(failing.code, failing.err).toBe(0);
    expect(readFileSync(join(dir, "exec-fail.jsonl"), "utf8")).toBe(plainAlerts);
    expect(summaryOf(failing.err).sinks?.exec).toEqual({ alerts: n, sent: 0, retried: 0, failed: n, dropped: 0, dropped_at_stop: 0, first_error: "exit code 3" });
    expect(failing.err).toContain("exec: delivery failed after 1 tries (exit code 3)");
    const slow = await cli(["--input", log, "--alerts", join(dir, "exec-slow.jsonl"), "--json", "--exec", "sleep 30", "--exec-timeout", "0.2", "--exec-queue", "100"]);
    expect(slow.code, slow.err).toBe(0);
    expect(summaryOf(slow.err).sinks?.exec).toEqual({ alerts: n, sent: 0, retried: 0, failed: n, dropped: 0, dropped_at_stop: 0, first_error: expect.stringMatching(/still running after 200 ms/) });
    expect(slow.err).toContain("still running after 200 ms (killed)");
  });
});

describe("stopping", () => {
  it("SIGTERM while following: the queue is drained for --sink-drain, then what is left is counted as dropped", async () => {
    const srv = await receiver(() => null);
    const alerts = join(dir, "term.jsonl");
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--follow", log, "--from-start", "--alerts", alerts, "--json",
      "--webhook", `http://127.0.0.1:${srv.port}/`, "--webhook-timeout", "60", "--webhook-queue", "3", "--sink-drain", "0.5"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    try {
      const n = alertLines(plainAlerts).length;
      const deadline = Date.now() + 30_000;
      const written = () => alertLines(readFileSync(alerts, { encoding: "utf8", flag: "a+" })).length;
      while (written() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(written()).toBe(n);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(summaryOf(err).sinks?.webhook).toEqual({ alerts: n, sent: 0, retried: 0, failed: 0, dropped: n, dropped_at_stop: 5 });
      expect(readFileSync(alerts, "utf8")).toBe(plainAlerts);
    } finally {
      child.kill("SIGKILL");
      await srv.close();
    }
  });
});

describe("DeliveryQueue", () => {
  /** An attempt the test settles by hand: each call waits for its verdict. */
  function manual() {
    const calls: Array<{ payload: string; settle: (err?: Error) => void }> = [];
    const attempt = (payload: string, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ payload, settle: (err) => (err ? reject(err) : resolve()) });
        signal.addEventListener("abort", () => reject(new Error("aborted")));
      });
    return { calls, attempt };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it("keeps `concurrency` in flight, drops the newest when full, and ends every alert as sent, failed or dropped", async () => {
    const m = manual();
    const problems: string[] = [];
    const q = new DeliveryQueue("test", m.attempt, resolveQueueOptions({ capacity: 2, concurrency: 2, attempts: 2, backoffMs: 0 }), (p) => problems.push(p));
    for (const p of ["a", "b", "c", "d", "e", "f"]) q.offer(p);
    // a, b in flight; c, d waiting; e, f dropped (the newest), reported once.
    expect(m.calls.map((c) => c.payload)).toEqual(["a", "b"]);
    expect(q.counts()).toMatchObject({ alerts: 6, dropped: 2 });
    expect(problems).toHaveLength(1);
    m.calls[0].settle(); // a sent
    m.calls[1].settle(new DeliveryError("HTTP 400", false)); // b failed, not retried
    await tick();
    expect(m.calls.map((c) => c.payload)).toEqual(["a", "b", "c", "d"]);
    m.calls[2].settle(new DeliveryError("HTTP 503", true)); // c retried ...
    await tick();
    await tick();
    expect(m.calls.map((c) => c.payload)).toEqual(["a", "b", "c", "d", "c"]);
    m.calls[4].settle(new DeliveryError("HTTP 503", true)); // ... and failed after its 2 tries
    m.calls[3].settle(); // d sent
    await tick();
    const end = await q.close(1000);
    expect(end).toEqual({ alerts: 6, sent: 2, retried: 1, failed: 2, dropped: 2, dropped_at_stop: 0, first_error: expect.any(String) });
    expect(end.sent + end.failed + end.dropped).toBe(end.alerts);
    expect(problems[1]).toBe("test: delivery failed (HTTP 400); further failures are counted in the summary");
  });

  it("close(): drains what it can within the time, then aborts what is in flight and counts it and the rest as dropped at stop", async () => {
    const m = manual();
    const q = new DeliveryQueue("test", m.attempt, resolveQueueOptions({ capacity: 10, concurrency: 1 }));
    for (const p of ["a", "b", "c"]) q.offer(p);
    const closing = q.close(50);
    m.calls[0].settle(); // a delivered during the drain; b then stalls past it
    const end = await closing;
    expect(end).toEqual({ alerts: 3, sent: 1, retried: 0, failed: 0, dropped: 2, dropped_at_stop: 2 });
    q.offer("late");
    expect(q.counts()).toMatchObject({ alerts: 4, dropped: 3 });
  });

  it("waits before retry n between d/2 and d, d doubling from backoffMs up to maxBackoffMs", () => {
    const o = { backoffMs: 500, maxBackoffMs: 8000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => retryWait(n, o, 0))).toEqual([250, 500, 1000, 2000, 4000, 4000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => retryWait(n, o, 1))).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
    expect(retryWait(2, o, 0.5)).toBe(750);
  });

  it("refuses bad queue options by name, range and value", () => {
    expect(() => resolveQueueOptions({ capacity: 0 }, { capacity: "--webhook-queue" })).toThrow(new RangeError("--webhook-queue must be an integer in [1, 1000000], got 0"));
    expect(() => resolveQueueOptions({ concurrency: 65 })).toThrow(new RangeError("concurrency must be an integer in [1, 64], got 65"));
    expect(() => resolveQueueOptions({ seed: 0.5 })).toThrow(new RangeError("seed must be a safe integer, got 0.5"));
  });
});
