// Issue 21: the producers Debian packages beside nginx and Caddy, run for real on 127.0.0.1
// with a few requests each (bounded), and their logs read with no flag: HAProxy's HTTP log
// (`option httplog`, to stdout as syslog would get it), gunicorn's and uvicorn's default
// access logs. Each log is recognised, and every request's line read with its status,
// method, route and (where the producer logs them) latency and size.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParser, detectFormat, type FormatName } from "../src/streams/http/parse.js";
import { emptyRecord, type LogRecord } from "../src/streams/http/record.js";
import { freePort, run } from "./harness/proxies.mjs";

const dir = mkdtempSync(join(tmpdir(), "logforest-servers-"));
const PY = "/usr/bin/python3";
/** Requests sent to each server: path -> status the app answers. */
const REQUESTS: [string, string, number][] = [
  ...Array.from({ length: 24 }, (_, i) => ["GET", `/api/items/${i}?rid=${i}`, 200] as [string, string, number]),
  ["GET", "/missing", 404], ["POST", "/login", 401], ["GET", "/boom", 500], ["GET", "/", 200],
];
let backend: Server;
let backendPort = 0;

beforeAll(async () => {
  // HAProxy's backend: answers as the Python apps below do.
  backend = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    res.statusCode = path === "/missing" ? 404 : path === "/login" ? 401 : path === "/boom" ? 500 : 200;
    res.end("x".repeat(100));
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  backendPort = (backend.address() as { port: number }).port;
  writeFileSync(join(dir, "wsgiapp.py"), `
def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    status = {"/missing": "404 Not Found", "/login": "401 Unauthorized", "/boom": "500 Internal Server Error"}.get(path, "200 OK")
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "100")])
    return [b"x" * 100]
`);
  writeFileSync(join(dir, "asgiapp.py"), `
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    status = {"/missing": 404, "/login": 401, "/boom": 500}.get(scope["path"], 200)
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"100")]})
    await send({"type": "http.response.body", "body": b"x" * 100})
`);
});
afterAll(async () => {
  await new Promise((r) => backend.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Send every request in REQUESTS to `port`, one at a time. */
async function send(port: number): Promise<void> {
  for (const [method, path] of REQUESTS) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { "user-agent": "logforest-test/1.0" } });
    await r.arrayBuffer();
  }
}

/** Start a server writing to `log` (stdout to it when `toStdout`), send the requests, stop it; its lines. */
async function serve(name: string, cmd: string, args: (port: number) => string[], log: string, toStdout: boolean): Promise<string[]> {
  const port = await freePort();
  const fd = openSync(log, "w");
  try {
    const p = await run(name, cmd, args(port), port, "SIGTERM", {}, toStdout ? fd : "ignore");
    try {
      await send(port);
    } finally {
      await p.close();
    }
  } finally {
    closeSync(fd);
  }
  return readFileSync(log, "utf8").split("\n").filter((l) => l.trim() !== "");
}

/** The lines' records by `format`, in order, of the lines it reads. */
function readAll(format: FormatName, lines: readonly string[]): LogRecord[] {
  const p = createParser(format);
  const out: LogRecord[] = [];
  for (const l of lines) {
    const r = emptyRecord();
    if (p.parse(l, r) === null) out.push(r);
  }
  return out;
}

/** Every request was read once, in order, with its method, route and status. */
function expectRequests(records: LogRecord[]): void {
  expect(records.map((r) => [r.method, r.route, r.status])).toEqual(REQUESTS.map(([m, path, s]) => [m, path.split("?")[0], s]));
}

describe("real servers' default access logs, no flags", () => {
  it("HAProxy (option httplog, to stdout): recognised, with Ta in ms and the size", async () => {
    const cfg = join(dir, "haproxy.cfg");
    const lines = await serve("haproxy", "haproxy", (port) => {
      writeFileSync(cfg, `global\n  log stdout format raw local0\ndefaults\n  mode http\n  log global\n  option httplog\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n` +
        `frontend fe\n  bind 127.0.0.1:${port}\n  default_backend be\nbackend be\n  server s1 127.0.0.1:${backendPort}\n`);
      return ["-f", cfg, "-db"];
    }, join(dir, "haproxy.log"), true);
    expect(detectFormat(lines)).toBe("haproxy");
    const records = readAll("haproxy", lines);
    expectRequests(records);
    for (const r of records) {
      expect(r.latencyMs).toBeGreaterThanOrEqual(0);
      expect(r.latencyMs).toBeLessThan(10_000);
      expect(r.bytes).toBeGreaterThanOrEqual(100);
      expect(r.ip).toBe("127.0.0.1");
      expect(Math.abs(r.ts - Date.now())).toBeLessThan(600_000);
    }
  }, 60_000);

  it("gunicorn's default access log is combined: recognised, with time, size and agent", async () => {
    const lines = await serve("gunicorn", PY, (port) => ["-m", "gunicorn", "--bind", `127.0.0.1:${port}`, "--access-logfile", join(dir, "gunicorn.log"), "--chdir", dir, "wsgiapp:app"],
      join(dir, "gunicorn.out"), false);
    expect(lines).toEqual([]);
    const log = readFileSync(join(dir, "gunicorn.log"), "utf8").split("\n").filter((l) => l !== "");
    expect(detectFormat(log)).toBe("combined");
    const records = readAll("combined", log);
    expectRequests(records);
    for (const r of records) {
      expect(r.bytes).toBe(100);
      expect(r.userAgent).toBe("logforest-test/1.0");
      expect(Math.abs(r.ts - Date.now())).toBeLessThan(600_000);
    }
  }, 60_000);

  it("uvicorn's default access log: recognised among its startup lines, status, route and client", async () => {
    const lines = await serve("uvicorn", PY, (port) => ["-m", "uvicorn", "--host", "127.0.0.1", "--port", String(port), "--app-dir", dir, "asgiapp:app"],
      join(dir, "uvicorn.log"), true);
    expect(detectFormat(lines)).toBe("uvicorn");
    const records = readAll("uvicorn", lines);
    expectRequests(records);
    for (const r of records) expect(r.ip).toBe("127.0.0.1");
  }, 60_000);
});
