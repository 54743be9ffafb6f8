// The dashboard against hostile input and hostile clients, on a real server on
// 127.0.0.1: log fields carrying markup stay text in a real headless Chromium;
// every response carries the security headers; static paths are an allow-list
// (raw requests, so no client normalises the path); methods, bodies, header size,
// event-stream clients and Host names are limited.
import { existsSync } from "node:fs";
import { get, type ClientRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard, type DashboardState } from "../src/dashboard/server.js";
import type { Alert, ScoredBatch } from "../src/streams/http/detect.js";
import type { TelemetryAlert } from "../src/streams/metrics/telemetry.js";

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Send `raw` bytes as they are on a fresh connection; resolves with the parsed response once the server closes it. */
function rawRequest(port: number, raw: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`no response (got ${JSON.stringify(text)})`));
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const colon = l.indexOf(":");
        headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: text.slice(split + 4) });
    });
    socket.end(raw);
  });
}

/** A GET of `target` exactly as written, with this Host (or none when null). */
function rawGet(port: number, target: string, host: string | null = `127.0.0.1:${port}`, extra = ""): Promise<RawResponse> {
  return rawRequest(port, `GET ${target} HTTP/1.1\r\n${host === null ? "" : `Host: ${host}\r\n`}${extra}Connection: close\r\n\r\n`);
}

/** The headers every response must carry, as the page needs them and no looser. */
function expectSecurityHeaders(r: RawResponse | IncomingMessage, what: string): void {
  const h = (name: string) => {
    const v = r.headers[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
  const csp = h("content-security-policy") ?? "";
  const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
  expect({ what, csp: Object.fromEntries(directives) }).toEqual({
    what,
    csp: {
      "default-src": "'none'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:", "connect-src": "'self'",
      "base-uri": "'none'", "form-action": "'none'", "frame-ancestors": "'none'",
    },
  });
  expect(csp).not.toMatch(/unsafe-|\*/);
  expect([what, h("x-content-type-options"), h("referrer-policy"), h("x-frame-options")]).toEqual([what, "nosniff", "no-referrer", "DENY"]);
  expect([what, h("cache-control")]).toEqual([what, expect.stringMatching(/^no-(store|cache)$/)]);
}

/** Open /api/events and wait for its response head; the stream stays open until `req.destroy()`. */
function openStream(port: number): Promise<{ req: ClientRequest; res: IncomingMessage; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/api/events", agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      const body = new Promise<string>((done) => {
        res.on("data", (c: string) => {
          text += c;
          if (res.statusCode !== 200 || text.includes("\n\n")) done(text);
        });
        res.on("end", () => done(text));
        res.on("close", () => done(text));
      });
      resolve({ req, res, body });
    });
    req.on("error", reject);
  });
}

describe("dashboard HTTP hardening", () => {
  let d: Dashboard;
  beforeAll(async () => {
    d = await startDashboard({ port: 0 });
  });
  afterAll(() => d.close());

  it("puts the security headers on every response: page, assets, API, event stream and every refusal", async () => {
    const p = d.port;
    const responses: Array<[string, RawResponse]> = [];
    for (const path of ["/", "/page.html", "/page.js", "/page.css", "/uplot.js", "/uplot.css", "/api/state", "/nope"]) responses.push([path, await rawGet(p, path)]);
    const etag = responses[2][1].headers.etag;
    expect(etag).toMatch(/^"[\w-]+"$/);
    responses.push(["304", await rawGet(p, "/page.js", `127.0.0.1:${p}`, `If-None-Match: ${etag}\r\n`)]);
    responses.push(["HEAD /api/events", await rawRequest(p, `HEAD /api/events HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: close\r\n\r\n`)]);
    responses.push(["POST", await rawRequest(p, `POST /api/state HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)]);
    responses.push(["body", await rawRequest(p, `GET /api/state HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`)]);
    responses.push(["host", await rawGet(p, "/", "attacker.example")]);
    responses.push(["target", await rawGet(p, "http://[")]);
    responses.push(["headers", await rawGet(p, "/", `127.0.0.1:${p}`, `X-Big: ${"a".repeat(20_000)}\r\n`)]);
    responses.push(["CONNECT", await rawRequest(p, `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`)]);
    responses.push(["malformed", await rawRequest(p, "GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")]);
    expect(responses.map(([what, r]) => [what, r.status])).toEqual([
      ["/", 200], ["/page.html", 200], ["/page.js", 200], ["/page.css", 200], ["/uplot.js", 200], ["/uplot.css", 200], ["/api/state", 200], ["/nope", 404], ["304", 304],
      ["HEAD /api/events", 200], ["POST", 405], ["body", 413], ["host", 421], ["target", 400], ["headers", 431], ["CONNECT", 405], ["malformed", 400],
    ]);
    for (const [what, r] of responses) expectSecurityHeaders(r, what);
    const stream = await openStream(p);
    try {
      expect(stream.res.statusCode).toBe(200);
      expect(stream.res.headers["content-type"]).toMatch(/^text\/event-stream/);
      expectSecurityHeaders(stream.res, "GET /api/events");
    } finally {
      stream.req.destroy();
    }
  });

  it("serves only the allow-list: traversal in every spelling, absolute targets, backslashes and NUL name nothing", async () => {
    const p = d.port;
    const page = (await rawGet(p, "/page.js")).body;
    const targets = [
      "/../package.json", "/../../../../etc/passwd", "/%2e%2e/package.json", "/%2E%2E/%2E%2E/etc/passwd", "/.%2e/package.json",
      "/..%2fpackage.json", "/..%2Fsrc%2Fdashboard%2Fserver.ts", "/%252e%252e/package.json", "/%252e%252e%252fpackage.json",
      "/..\\..\\package.json", "/\\..\\package.json", "/page.js%00", "/page.js%00.html", "/page.js/", "/page.js/..", "/./page.js",
      "/%70age.js", "/PAGE.JS", "/page.ts", "/server.ts", "/aggregate.ts", "/node_modules/uplot/package.json", "/etc/passwd",
      "/api/state/../../package.json", "/api/../page.js", "/__proto__", "/constructor", "/hasOwnProperty", "/.git/config",
    ];
    for (const target of targets) {
      const r = await rawGet(p, target);
      expect([target, r.status]).toEqual([target, 404]);
      expect(r.body).toBe("not found\n");
    }
    // Absolute, authority and asterisk forms, and a raw NUL: refused without being looked up.
    for (const target of ["http://127.0.0.1/page.js", `http://127.0.0.1:${p}/../etc/passwd`, "//etc/passwd", "//127.0.0.1/page.js", "*", "file:///etc/passwd", "http://["]) {
      const r = await rawGet(p, target);
      expect([target, r.status]).toEqual([target, 400]);
      expect(r.body).not.toContain("root:");
    }
    expect([400, 404]).toContain((await rawRequest(p, Buffer.from(`GET /page.js\0/../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: close\r\n\r\n`, "latin1"))).status);
    // The files that are served: byte for byte the same under both names of the page.
    expect((await rawGet(p, "/")).body).toBe((await rawGet(p, "/page.html")).body);
    expect(page).toContain("textContent");
    // Still serving after all that (a malformed target used to end the whole detector).
    expect((await rawGet(p, "/api/state")).status).toBe(200);
  });

  it("changes nothing: other methods get 405, a body gets 413, and the state is the same after them", async () => {
    const p = d.port;
    d.hooks.onAlert(alertWith("/checkout", "10.0.0.9", "curl/8"));
    const before = JSON.parse((await rawGet(p, "/api/state")).body) as DashboardState;
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]) {
      const r = await rawRequest(p, `${method} /api/state HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, "GET, HEAD"]);
    }
    const tunnel = await rawRequest(p, `CONNECT 127.0.0.1:${p} HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`);
    expect([tunnel.status, tunnel.headers.allow]).toEqual([405, "GET, HEAD"]);
    const withBody = [
      `GET /api/state HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 5\r\n\r\nhello`,
      `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      `HEAD / HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nContent-Length: 1\r\n\r\nx`,
    ];
    for (const raw of withBody) {
      const r = await rawRequest(p, raw);
      expect([raw.split("\r\n")[0], r.status, r.headers.connection]).toEqual([raw.split("\r\n")[0], 413, "close"]);
    }
    const after = JSON.parse((await rawGet(p, "/api/state")).body) as DashboardState;
    expect({ ...after, stamp: 0 }).toEqual({ ...before, stamp: 0, totals: { ...before.totals, lines_per_second: after.totals.lines_per_second } });
    expect(d.size().clients).toBe(0);
  });

  it("refuses request headers beyond 16 KiB with 431 and serves those within", async () => {
    const p = d.port;
    expect((await rawGet(p, "/api/state", `127.0.0.1:${p}`, `X-Pad: ${"a".repeat(12_000)}\r\n`)).status).toBe(200);
    expect((await rawGet(p, "/api/state", `127.0.0.1:${p}`, `X-Pad: ${"a".repeat(17 * 1024)}\r\n`)).status).toBe(431);
    // Many small headers add up the same way, and a long query (the route parameter) too.
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"b".repeat(40)}\r\n`).join("");
    expect((await rawGet(p, "/api/state", `127.0.0.1:${p}`, many)).status).toBe(431);
    expect((await rawGet(p, `/api/state?route=${"c".repeat(17 * 1024)}`)).status).toBe(431);
    expect((await rawGet(p, "/api/state")).status).toBe(200);
  });

  it("answers only loopback Host names with its port when bound to 127.0.0.1 (DNS rebinding)", async () => {
    const p = d.port;
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `LOCALHOST:${p}`, `[::1]:${p}`]) {
      expect([host, (await rawGet(p, "/api/state", host)).status]).toEqual([host, 200]);
    }
    const refused = ["attacker.example", `attacker.example:${p}`, `localhost.attacker.example:${p}`, `127.0.0.1.nip.io:${p}`, `127.0.0.2:${p}`,
      `localhost:${p + 1}`, "127.0.0.1", "localhost", `[::2]:${p}`, "", `127.0.0.1:${p}@attacker.example`];
    for (const host of refused) {
      const r = await rawGet(p, "/api/state", host);
      expect([host, r.status]).toEqual([host, 421]);
      expect(r.body).not.toContain("totals");
    }
    // HTTP/1.0 without any Host, and the event stream and the page behind the same check.
    expect((await rawRequest(p, "GET /api/state HTTP/1.0\r\n\r\n")).status).toBe(421);
    expect((await rawGet(p, "/api/events", `attacker.example:${p}`)).status).toBe(421);
    expect((await rawGet(p, "/", `attacker.example:${p}`)).status).toBe(421);
    expect(d.size().clients).toBe(0);
  });

  it("accepts any Host when the user binds to every address (--host 0.0.0.0): exposure was their choice", async () => {
    const open = await startDashboard({ port: 0, host: "0.0.0.0" });
    try {
      for (const host of ["dashboard.lan", `192.0.2.7:${open.port}`, `localhost:${open.port}`]) {
        expect([host, (await rawGet(open.port, "/api/state", host)).status]).toEqual([host, 200]);
      }
    } finally {
      await open.close();
    }
  });

  it("serves at most 32 event streams at once: the next gets 503 with a reason, and a freed place is served again", async () => {
    const p = d.port;
    const streams: Awaited<ReturnType<typeof openStream>>[] = [];
    try {
      for (let i = 0; i < 32; i++) streams.push(await openStream(p));
      expect(streams.map((s) => s.res.statusCode)).toEqual(Array(32).fill(200));
      for (const s of streams) expect(await s.body).toContain("retry:");
      expect(d.size().clients).toBe(32);
      const refused = await openStream(p);
      expect(refused.res.statusCode).toBe(503);
      expect(refused.res.headers["retry-after"]).toBe("10");
      expect(await refused.body).toBe("too many live pages: 32 event streams are open; close one and reload\n");
      expectSecurityHeaders(refused.res, "503");
      // The state is still served to everyone; only streams are capped.
      expect((await rawGet(p, "/api/state")).status).toBe(200);
      streams.shift()?.req.destroy();
      await expect.poll(() => d.size().clients, { timeout: 5000 }).toBe(31);
      const again = await openStream(p);
      streams.push(again);
      expect(again.res.statusCode).toBe(200);
      expect(d.size().clients).toBe(32);
    } finally {
      for (const s of streams) s.req.destroy();
    }
    await expect.poll(() => d.size().clients, { timeout: 5000 }).toBe(0);
  });

  it("refuses a bad cap on event streams by name, range and value", async () => {
    await expect(startDashboard({ port: 0, maxEventClients: 0 })).rejects.toThrow("maxEventClients must be an integer in [1, 1024], got 0");
  });
});

// Markup in every field a log line can carry. Each would set window.__pwned or add an
// element if it were parsed as HTML anywhere.
const PAYLOADS = {
  img: `<img src=x onerror="window.__pwned='img'">`,
  script: `</script><script>window.__pwned='script'</script>`,
  js: `javascript:window.__pwned='js'`,
  svg: `"><svg onload="window.__pwned='svg'">`,
  iframe: `'><iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>`,
  tag: `<b id="injected">bold</b>&amp;&lt;`,
};
const ROUTE_NAMES = [`GET /search/${PAYLOADS.img}`, `POST ${PAYLOADS.svg}`, `GET ${PAYLOADS.js}`];

function alertWith(route: string, ip: string, userAgent: string, method = "GET", seq = 1): Alert {
  const ts = new Date(Date.UTC(2026, 10, 25, 12, 0, seq)).toISOString();
  return {
    line: seq, file: `/var/log/${PAYLOADS.tag}.log`, ts, score: 0.71, severity: 92, rule: `rule ${PAYLOADS.script}`,
    record: { ts, method, route, status: 500, latency_ms: 1234, bytes: 10, ip, user_agent: userAgent },
    reasons: [{ feature: `latency ${PAYLOADS.img}`, share: 1, text: `typical on ${PAYLOADS.svg}` }],
  };
}

function hostileAlerts(): Array<Alert | TelemetryAlert> {
  const ts = new Date(Date.UTC(2026, 10, 25, 12, 0, 9)).toISOString();
  const telemetry: TelemetryAlert = {
    line: 9, file: "metrics.csv", ts, score: 0.66, severity: 80, rule: "telemetry",
    record: { ts, values: { [PAYLOADS.img]: 97, [PAYLOADS.iframe]: 3 } },
    reasons: [{ feature: PAYLOADS.img, share: 0.7, text: PAYLOADS.script }, { feature: PAYLOADS.iframe, share: 0.3, text: PAYLOADS.js }],
  };
  return [
    alertWith(`/search?q=${PAYLOADS.img}`, PAYLOADS.svg, PAYLOADS.script, "GET", 1),
    alertWith(PAYLOADS.js, PAYLOADS.iframe, PAYLOADS.img, PAYLOADS.tag, 2),
    alertWith(PAYLOADS.script, `${PAYLOADS.js}`, PAYLOADS.svg, `<${PAYLOADS.img}`, 3),
    telemetry,
  ];
}

/** A batch of scored lines on the hostile route names, so that they reach the route selector. */
function hostileBatch(): ScoredBatch {
  const n = ROUTE_NAMES.length * 5;
  const second = Date.UTC(2026, 10, 25, 12, 0, 0) / 1000;
  return {
    file: "hostile.log", count: n, lineNo: Int32Array.from({ length: n }, (_, i) => i + 1), seconds: Float64Array.from({ length: n }, (_, i) => second + i),
    route: Int32Array.from({ length: n }, (_, i) => i % ROUTE_NAMES.length), latencyMs: new Float64Array(n).fill(20), status: new Float64Array(n).fill(200),
    scores: new Float64Array(n).fill(0.5), routeNames: ROUTE_NAMES, skipped: [],
  };
}

describe("dashboard page with markup in the logs", () => {
  const chromiumPath = "/usr/bin/chromium";

  it("shows every hostile field as text in the table, the record, the route list and the URL's route: no script runs, no element is injected", async () => {
    if (!existsSync(chromiumPath)) {
      if (process.env.LOGFOREST_BROWSER_TESTS === "0") return; // explicitly turned off
      throw new Error(`${chromiumPath} is missing: install it (apt-get install -y chromium; .ci/run does) or set LOGFOREST_BROWSER_TESTS=0 to skip the browser test`);
    }
    const { chromium } = await import("playwright-core");
    const d = await startDashboard({ port: 0, pushMs: 50 });
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
    try {
      d.hooks.onScored(hostileBatch());
      const alerts = hostileAlerts();
      for (const a of alerts) d.hooks.onAlert(a);
      // With the page's own Content-Security-Policy, and without it (bypassCSP): the page
      // itself must keep data out of markup, the policy is a second wall.
      for (const bypassCSP of [false, true]) {
        const context = await browser.newContext({ bypassCSP, viewport: { width: 1400, height: 900 } });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on("pageerror", (e) => problems.push(`error: ${e.message}`));
        page.on("console", (m) => {
          if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
        });
        page.on("dialog", (dlg) => (problems.push(`dialog: ${dlg.message()}`), void dlg.dismiss()));
        await page.goto(`${d.url}?route=${encodeURIComponent(PAYLOADS.svg)}`);
        const rows = page.locator("#alerts tbody tr");
        await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(alerts.length);

        // Newest first: the telemetry alert, then the three log alerts.
        const cells = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
        expect(cells[0].slice(2, 4)).toEqual([`${PAYLOADS.img}, ${PAYLOADS.iframe}`, "97, 3"]);
        for (const [i, a] of (alerts.slice(0, 3) as Alert[]).reverse().entries()) {
          expect(cells[i + 1][2]).toBe(`${a.record.method} ${a.record.route}`);
          expect(cells[i + 1][6]).toBe(a.rule);
        }
        // Opened, each record reads back exactly as sent.
        for (let i = 0; i < alerts.length; i++) {
          await rows.nth(i).click();
          expect(JSON.parse((await page.locator("#detail").textContent()) ?? "")).toEqual(alerts[alerts.length - 1 - i]);
        }
        // The route list holds the hostile route names, and the URL's hostile route, as text.
        const options = await page.locator("#route option").allTextContents();
        for (const name of [...ROUTE_NAMES, PAYLOADS.svg]) expect(options.some((o) => o.startsWith(`${name} (`))).toBe(true);
        expect(await page.locator("#route").inputValue()).toBe(PAYLOADS.svg);

        // Nothing ran and nothing was added: no payload element or handler attribute anywhere,
        // the only scripts are the page's two files, the page never navigated.
        await page.waitForTimeout(300); // a few pushes after the last click
        const dom = await page.evaluate(`(() => ({
          pwned: window.__pwned ?? null,
          injected: document.querySelectorAll("img, svg, iframe, object, embed, a, #injected").length,
          handlers: [...document.querySelectorAll("*")].flatMap((el) => [...el.attributes].map((a) => a.name)).filter((n) => n.startsWith("on")),
          scripts: [...document.scripts].map((s) => s.getAttribute("src")),
          text: document.body.innerText,
        }))()`) as { pwned: string | null; injected: number; handlers: string[]; scripts: Array<string | null>; text: string };
        expect({ bypassCSP, pwned: dom.pwned, injected: dom.injected, handlers: dom.handlers, scripts: dom.scripts })
          .toEqual({ bypassCSP, pwned: null, injected: 0, handlers: [], scripts: ["/uplot.js", "/page.js"] });
        // The markup is visible as characters on the page.
        for (const p of [PAYLOADS.img, PAYLOADS.js, PAYLOADS.tag]) expect(dom.text).toContain(p);
        expect(new URL(page.url()).pathname).toBe("/");
        expect({ bypassCSP, problems }).toEqual({ bypassCSP, problems: [] });
        await context.close();
      }
    } finally {
      await browser.close();
      await d.close();
    }
  }, 120_000);
});
