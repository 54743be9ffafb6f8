// detect --listen's honest delivery and guards: a retrying client under overload (429) loses
// nothing; bad payloads get 400 with the reason and are counted; body limits (413), token (401),
// web pages (403), foreign Host (421); TLS; each source keeps its own windows; bad options refused.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detect, type DetectResult } from "../src/runtime/detect.js";
import type { ListenOptions } from "../src/runtime/listen/options.js";
import { DetectMetrics } from "../src/runtime/metrics.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";

let dir = "";
let model = "";
let lines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "logforest-listen-d-"));
  model = join(dir, "m.lfm");
  trainFromLines([...simulate({ count: 6000, seed: 3, incidents: "none", format: "combined" })].map((l) => l.text), { forest: { seed: 3, trees: 30 } }).forest.save(model);
  lines = [...simulate({ count: 6000, seed: 5, incidents: "default", format: "combined" })].map((l) => l.text);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A listening run fed by `send(url)`, stopped once it resolves; the result and the --scores CSV rows. */
async function listening(send: (url: string) => Promise<void>, listen: Partial<ListenOptions> = {}, metrics?: DetectMetrics): Promise<{ result: DetectResult; scores: string[] }> {
  const stop = new AbortController();
  const scores = join(dir, `scores-${Math.random().toString(36).slice(2)}.csv`);
  let ready: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (ready = resolve));
  const run = detect({ input: { listen: { address: "127.0.0.1:0", ...listen, onListening: ready } }, model: { model }, outputs: { out: null, scores, metrics }, signal: stop.signal });
  const sent = url.then(send).finally(() => stop.abort());
  const [result] = await Promise.all([run, sent]);
  return { result, scores: readFileSync(scores, "utf8").trim().split("\n").slice(1) };
}

const ndjsonBody = (part: readonly string[]) => part.map((log) => JSON.stringify({ log })).join("\n");

/** POST until answered 2xx, waiting as Retry-After says (scaled down: the test need not wait whole seconds); the 429s seen. */
async function postRetrying(url: string, body: string): Promise<number> {
  let refused = 0;
  for (;;) {
    const r = await fetch(url, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
    await r.text();
    if (r.ok) return refused;
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    refused++;
    await new Promise((resolve) => setTimeout(resolve, 5 * Number(r.headers.get("retry-after"))));
  }
}

describe("detect --listen: delivery", () => {
  it("a full queue answers 429 with Retry-After; 12 clients retrying lose nothing, each line scored once", async () => {
    let seen429 = 0;
    const { result, scores } = await listening(async (url) => {
      const clients = Array.from({ length: 12 }, (_, c) => (async () => {
        // Client c sends its own source, 250 lines a request.
        const mine = lines.slice(c * 500, (c + 1) * 500);
        for (let i = 0; i < mine.length; i += 250) {
          const refused = await postRetrying(`${url}/ndjson?source=client${c}`, ndjsonBody(mine.slice(i, i + 250)));
          seen429 += refused;
        }
      })());
      await Promise.all(clients);
    }, { queueRecords: 300 });
    expect(seen429).toBeGreaterThan(0);
    expect(result.listen?.refused.overloaded).toBe(seen429);
    expect(result.listen?.records).toBe(6000);
    expect(result.summary.lines_read).toBe(6000);
    // Every source's lines 1..500, once each.
    const seen = new Set(scores.map((r) => r.split(",").slice(0, 2).join(",")));
    expect(scores.length).toBe(6000);
    for (let c = 0; c < 12; c++) for (let n = 1; n <= 500; n++) expect(seen.has(`client${c},${n}`)).toBe(true);
  }, 120_000);

  it("bad payloads: 400 naming what is wrong, counted, nothing of the request scored", async () => {
    const answers: Array<[number, string]> = [];
    const post = async (url: string, path: string, type: string, body: string | Uint8Array, extra: Record<string, string> = {}) => {
      const r = await fetch(url + path, { method: "POST", headers: { "content-type": type, ...extra }, body });
      answers.push([r.status, await r.text()]);
    };
    const { result } = await listening(async (url) => {
      await post(url, "/ndjson", "application/x-ndjson", `${JSON.stringify({ log: lines[0] })}\n{"log": broken\n`);
      await post(url, "/v1/logs", "application/json", `{"resourceLogs": {}}`);
      await post(url, "/v1/logs", "application/x-protobuf", new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]));
      await post(url, "/loki/api/v1/push", "application/json", `{"streams":[{"stream":{"app":"x"},"values":[["1"]]}]}`);
      await post(url, "/loki/api/v1/push", "application/x-protobuf", "not snappy at all");
      await post(url, "/ndjson", "application/x-ndjson", "not gzip", { "content-encoding": "gzip" });
      await post(url, "/v1/logs", "text/plain", "{}");
    });
    expect(answers.map((a) => a[0])).toEqual([400, 400, 400, 400, 400, 400, 415]);
    expect(answers[0][1]).toMatch(/line 2 is not JSON/);
    expect(answers[1][1]).toMatch(/resourceLogs is not an array/);
    expect(answers[2][1]).toMatch(/not a protobuf ExportLogsServiceRequest/);
    expect(answers[3][1]).toMatch(/streams\[0\]\.values\[0\] is not \[timestamp, line\]/);
    expect(answers[4][1]).toMatch(/not a snappy block/);
    expect(answers[5][1]).toMatch(/not gzip/);
    expect(result.listen?.refused).toEqual({ bad_payload: 6, unsupported_media: 1 });
    expect(result.summary.lines_read).toBe(0);
  }, 60_000);

  it("body limits before and after gzip (413), the token (401), web pages (403), a foreign Host (421), GET (405)", async () => {
    const token = "a-long-enough-secret-token";
    const statuses: number[] = [];
    const metrics = new DetectMetrics();
    const { result } = await listening(async (url) => {
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" };
      const big = ndjsonBody(lines.slice(0, 200)); // about 36 KB
      for (const [headers, body] of [
        [auth, ndjsonBody(lines.slice(0, 10))],
        [auth, big],
        [{ ...auth, "content-encoding": "gzip" }, gzipSync(big)],
        [{ "content-type": "application/x-ndjson" }, "{}"],
        [{ ...auth, authorization: "Bearer wrong-token-of-some-length" }, "{}"],
        [{ ...auth, origin: "https://example.com" }, "{}"],
      ] as Array<[Record<string, string>, string | Buffer]>) {
        const r = await fetch(`${url}/ndjson`, { method: "POST", headers, body });
        await r.text();
        statuses.push(r.status);
      }
      const host = new URL(url);
      const foreign = await new Promise<number>((resolve, reject) => {
        httpRequest({ host: host.hostname, port: host.port, path: "/ndjson", method: "POST", headers: { ...auth, host: "attacker.example" } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on("error", reject).end("{}");
      });
      statuses.push(foreign);
      const get = await fetch(`${url}/v1/logs`, { headers: auth });
      statuses.push(get.status);
    }, { token, maxBodyBytes: 16 * 1024 }, metrics);
    expect(statuses).toEqual([200, 413, 413, 401, 401, 403, 421, 405]);
    const text = await metrics.text();
    expect(text).toMatch(/^logforest_received_records_total 10$/m);
    expect(text).toMatch(/^logforest_received_refused_total\{reason="too_large"\} 2$/m);
    expect(result.listen?.records).toBe(10);
    expect(result.listen?.refused).toMatchObject({ too_large: 2, unauthorized: 2, forbidden: 2, bad_method: 1 });
  }, 60_000);

  it("TLS with a given certificate; the sources of one OTLP request keep their own windows and names", async () => {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const resource = (name: string, part: readonly string[]) => ({
      resource: { attributes: [{ key: "service.name", value: { stringValue: name } }] },
      scopeLogs: [{ logRecords: part.map((l) => ({ body: { stringValue: l } })) }],
    });
    const body = JSON.stringify({ resourceLogs: [resource("a", lines.slice(0, 300)), resource("b", lines.slice(300, 500)), {}] });
    let status = 0;
    const { scores } = await listening(async (url) => {
      expect(url).toMatch(/^https:/);
      status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${url}/v1/logs`, { method: "POST", ca: readFileSync(cert), headers: { "content-type": "application/json" } }, (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on("error", reject).end(body);
      });
    }, { tlsCert: cert, tlsKey: key });
    expect(status).toBe(200);
    const count = (src: string) => scores.filter((r) => r.startsWith(`${src},`)).length;
    expect([count("a"), count("b")]).toEqual([300, 200]);
    expect(scores.filter((r) => r.startsWith("b,")).map((r) => Number(r.split(",")[1]))[0]).toBe(1);
  }, 60_000);

  it("the CLI: prints where it listens, scores what it gets, on SIGTERM prints what it received and the summary", async () => {
    const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
    const child = spawn(process.execPath, [BIN, "detect", "--model", model, "--listen", "0", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (m) resolve(m[1]);
      });
      child.on("exit", () => reject(new Error(err)));
    });
    const r = await fetch(`${url}/ndjson?source=cli`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: ndjsonBody(lines.slice(0, 50)) });
    expect(r.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(err).toContain('received: {"requests":1,"records":50,"refused":{}}');
    expect(JSON.parse(err.trim().split("\n").pop() ?? "").lines_read).toBe(50);
    const refused = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--listen", "0.0.0.0:0"], { encoding: "utf8", env: { ...process.env, LOGFOREST_LISTEN_TOKEN: "" } });
    expect(refused.status).toBe(2); // a usage error
    expect(refused.stderr).toMatch(/--listen on 0\.0\.0\.0 .*needs --listen-token/);
    const alone = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--tls-cert", "c.pem", "--input", model], { encoding: "utf8" });
    expect(alone.stderr).toMatch(/--tls-cert needs --listen/);
  }, 60_000);

  it("past --listen-max-sources the source unheard from longest is dropped: its windows start again, its counts stay", async () => {
    const send = (maxSources: number) => listening(async (url) => {
      for (const [source, from] of [["a", 0], ["b", 2000], ["a", 1000], ["b", 3000]] as const) {
        const r = await fetch(`${url}/ndjson?source=${source}`, { method: "POST", body: ndjsonBody(lines.slice(from, from + 1000)) });
        expect(r.status).toBe(200);
      }
    }, { maxSources });
    const kept = await send(2);
    const dropped = await send(1);
    expect(kept.result.summary.lines_read).toBe(4000);
    expect(dropped.result.summary.lines_read).toBe(4000);
    // Each return after a drop warms up again; with both kept only the first lines of each do.
    expect(dropped.result.summary.suppressed.warmup).toBeGreaterThan(kept.result.summary.suppressed.warmup);
    // Line numbers go on across a drop: a's second request is its lines 1001-2000.
    expect(dropped.scores.filter((r) => r.startsWith("a,")).map((r) => Number(r.split(",")[1])).at(-1)).toBe(2000);
  }, 60_000);

  it("refuses bad options with a RangeError naming the option", async () => {
    const bad: Array<[ListenOptions, RegExp]> = [
      [{ address: "0.0.0.0:4318" }, /--listen on 0\.0\.0\.0 .*needs --listen-token/],
      [{ address: "70000" }, /--listen must be \[HOST:\]PORT with PORT in \[0, 65535\], got "70000"/],
      [{ address: "4318", token: "short" }, /--listen-token must be at least 16 characters/],
      [{ address: "4318", maxBodyBytes: 10 }, /--listen-max-body must be .* got 10/],
      [{ address: "4318", queueRecords: 0 }, /--listen-queue must be .* got 0/],
      [{ address: "4318", maxSources: 0 }, /--listen-max-sources must be .* got 0/],
      [{ address: "4318", tlsCert: "c.pem" }, /--tls-cert and --tls-key go together/],
    ];
    for (const [listen, message] of bad) await expect(detect({ input: { listen }, model: { model } })).rejects.toThrow(message);
  });
});
