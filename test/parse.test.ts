import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import express from "express";
import expressWinston from "express-winston";
import morgan from "morgan";
import pino from "pino";
import { pinoHttp } from "pino-http";
import winston from "winston";
import { describe, expect, it } from "vitest";
import {
  createParser, detectFormat, FAILURE_REASONS, FIELD_NAMES, FORMAT_NAMES, guessLatencyUnit, LATENCY_UNITS, latencyEvidence,
  parseFieldMappings, type FormatName, type LineParser, type ParserOptions,
} from "../src/streams/http/parse.js";
import { emptyTelemetryRow, parseTelemetryHeader, TELEMETRY_FAILURE_REASONS, TelemetryParser } from "../src/streams/metrics/telemetry.js";
import { emptyRecord, type LogRecord } from "../src/streams/http/record.js";
import { daysFromCivil, latencyMs, parseIsoAt, routeOf, scaledDecimal, type LatencyUnit } from "../src/streams/scan.js";
import { simulate } from "../src/tools/simulate.js";
import { mulberry32 } from "./helpers.js";

/** The three formats of the original program (the producers of issue 21 have test/producers.test.ts). */
const CORE = ["json", "combined", "seed"] as const;
type Core = (typeof CORE)[number];


/** Parse `line`, expecting success, and return a copy of the record. */
function ok(format: FormatName, line: string, opts?: ParserOptions): LogRecord {
  const out = emptyRecord();
  const reason = createParser(format, opts).parse(line, out);
  expect(reason, line).toBeNull();
  return { ...out };
}

/** The failure reason for `line`. */
function fail(format: FormatName, line: string, opts?: ParserOptions): string | null {
  return createParser(format, opts).parse(line, emptyRecord());
}

const MONTH = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

describe("scanning helpers", () => {
  it("daysFromCivil agrees with Date.UTC across four centuries and the leap-year edges", () => {
    const r = mulberry32(1);
    const dates: [number, number, number][] = [[1970, 1, 1], [2000, 2, 29], [1900, 3, 1], [2100, 2, 28], [1969, 12, 31], [1600, 1, 1]];
    for (let k = 0; k < 2000; k++) dates.push([1800 + Math.floor(r() * 400), 1 + Math.floor(r() * 12), 1 + Math.floor(r() * 28)]);
    for (const [y, m, d] of dates) expect(daysFromCivil(y, m, d) * 86_400_000, `${y}-${m}-${d}`).toBe(Date.UTC(y, m - 1, d));
  });

  it("parseIsoAt agrees with Date.parse on zoned ISO strings", () => {
    const r = mulberry32(2);
    const cur = { pos: 0 };
    for (let k = 0; k < 500; k++) {
      const iso = new Date(Math.floor(r() * 4e12)).toISOString(); // always ...Z with milliseconds
      expect(parseIsoAt(iso, 0, iso.length, cur, true), iso).toBe(Date.parse(iso));
      expect(cur.pos).toBe(iso.length);
      const offset = iso.slice(0, 19) + "+05:30";
      expect(parseIsoAt(offset, 0, offset.length, cur, true), offset).toBe(Date.parse(offset));
    }
  });

  it("parseIsoAt reads the variants logs use and refuses impossible dates", () => {
    const cur = { pos: 0 };
    const p = (s: string, requireTime = true): number => parseIsoAt(s, 0, s.length, cur, requireTime);
    const base = Date.UTC(2026, 10, 24, 14, 0, 0);
    expect(p("2026-11-24 14:00:00")).toBe(base);
    expect(p("2026-11-24 14:00:00,250")).toBe(base + 250);
    expect(p("2026-11-24T14:00:00.123456Z")).toBe(base + 123);
    expect(p("2026-11-24T14:00:00.5Z")).toBe(base + 500);
    expect(p("2026-11-24T14:00:00-0700")).toBe(base + 7 * 3_600_000);
    expect(p("2026-11-24T14:00:00+02")).toBe(base - 2 * 3_600_000);
    expect(p("2026-11-24T14:00Z")).toBe(base);
    expect(p("2026-11-24", false)).toBe(Date.UTC(2026, 10, 24));
    expect(p("2026-11-24")).toBeNaN();
    for (const bad of ["2026-13-01 00:00:00", "2026-02-29 00:00:00", "2026-04-31 00:00:00", "2026-11-24 24:00:00",
      "2026-11-24 12:60:00", "2026-11-24T12:00:00+25:00", "2026/11/24 12:00:00", "26-11-24 12:00:00", "2026-1-24 12:00:00"]) {
      expect(p(bad), bad).toBeNaN();
    }
    expect(p("2024-02-29 00:00:00")).toBe(Date.UTC(2024, 1, 29));
  });

  it("scaledDecimal matches parseFloat and converts units exactly", () => {
    const r = mulberry32(3);
    for (let k = 0; k < 2000; k++) {
      const digits = Math.floor(r() * 1e6);
      const frac = Math.floor(r() * 5);
      const s = frac === 0 ? String(digits) : (digits / 10 ** frac).toFixed(frac);
      expect(scaledDecimal(s, 0, s.length, 0), s).toBe(parseFloat(s));
    }
    expect(scaledDecimal("0.123", 0, 5, 3)).toBe(123);
    expect(scaledDecimal("12345678901234567.5", 0, 19, 0)).toBe(12345678901234567.5);
    for (const bad of ["", ".", "1.2.3", "-1", "1e3", "12a", " 1"]) expect(scaledDecimal(bad, 0, bad.length, 0), bad).toBeNaN();
  });

  it("latencyMs reads units and refuses bare numbers unless told", () => {
    const l = (s: string, bare: LatencyUnit | null = null): number => latencyMs(s, 0, s.length, bare);
    expect(l("123ms")).toBe(123);
    expect(l("123.4ms")).toBe(123.4);
    expect(l("0.12s")).toBe(120);
    expect(l("1500us")).toBe(1.5);
    expect(l("1500µs")).toBe(1.5);
    expect(l("42")).toBeNaN();
    expect(l("42", "ms")).toBe(42);
    expect(l("42", "s")).toBe(42_000);
    expect(l("42", "us")).toBe(0.042);
    expect(l("0.5s", "us")).toBe(500);
    for (const bad of ["ms", "12m", "12 ms", "12hours", "abc", "1.2.3ms"]) expect(l(bad), bad).toBeNaN();
  });

  it("routeOf strips queries, fragments and scheme+host", () => {
    const r = (s: string): string => routeOf(s, 0, s.length);
    expect(r("/a/b?x=1&y=2")).toBe("/a/b");
    expect(r("/a#frag")).toBe("/a");
    expect(r("/a")).toBe("/a");
    expect(r("https://shop.example:8443/cart/items?id=3")).toBe("/cart/items");
    expect(r("http://example.com")).toBe("/");
    expect(r("http://example.com?q=1")).toBe("/");
    expect(r("/redirect?to=http://evil/x")).toBe("/redirect");
    expect(r("*")).toBe("*");
  });
});

describe("json parser", () => {
  it("reads logforest simulator lines", () => {
    const r = ok("json", JSON.stringify({
      ts: "2026-11-24T14:00:00.123Z", method: "GET", route: "/api/orders/42", status: 200, latency_ms: 12.5,
      bytes: 512, ip: "10.1.2.3", user_agent: "Mozilla/5.0",
    }));
    expect(r).toEqual({
      ts: Date.UTC(2026, 10, 24, 14, 0, 0, 123), method: "GET", route: "/api/orders/42", status: 200, latencyMs: 12.5,
      bytes: 512, ip: "10.1.2.3", userAgent: "Mozilla/5.0",
    });
  });

  it("reads pino-http lines (epoch ms, nested req/res, header strings)", () => {
    const r = ok("json", JSON.stringify({
      level: 30, time: 1_700_000_000_123, pid: 7, hostname: "web-1",
      req: { id: 1, method: "post", url: "/api/login?next=%2F", headers: { host: "x", "user-agent": "curl/8.4.0" }, remoteAddress: "::1", remotePort: 51234 },
      res: { statusCode: 401, headers: { "content-length": "87" } },
      responseTime: 4, msg: "request completed",
    }));
    expect(r).toEqual({
      ts: 1_700_000_000_123, method: "POST", route: "/api/login", status: 401, latencyMs: 4, bytes: 87, ip: "::1", userAgent: "curl/8.4.0",
    });
  });

  it("reads bunyan-style lines (ISO time, latency or duration)", () => {
    const line = (extra: Record<string, unknown>): string => JSON.stringify({
      name: "api", hostname: "h", pid: 1, level: 30, time: "2015-05-17T10:05:03.250Z", v: 0,
      req: { method: "GET", url: "/healthz", headers: {} }, res: { statusCode: 200 }, ...extra,
    });
    const base = Date.UTC(2015, 4, 17, 10, 5, 3, 250);
    expect(ok("json", line({ latency: 3 }))).toMatchObject({ ts: base, method: "GET", route: "/healthz", status: 200, latencyMs: 3 });
    expect(ok("json", line({ duration: 7.25 })).latencyMs).toBe(7.25);
    expect(ok("json", line({})).latencyMs).toBeNaN();
  });

  it("reads express-winston lines (meta.req / meta.res) and flat winston lines", () => {
    const nested = ok("json", JSON.stringify({
      level: "info", message: "HTTP GET /products/7",
      meta: { req: { url: "/7", originalUrl: "/products/7?ref=home", method: "GET", headers: { "user-agent": "UA" }, httpVersion: "1.1" },
        res: { statusCode: 304 }, responseTime: 9 },
      timestamp: "2024-03-01T08:00:00.000Z",
    }));
    expect(nested).toMatchObject({ ts: Date.UTC(2024, 2, 1, 8), method: "GET", route: "/products/7", status: 304, latencyMs: 9, userAgent: "UA" });
    const flat = ok("json", '{"level":"info","timestamp":"2024-03-01 08:00:00","method":"DELETE","url":"/cart/3","status":204,"responseTime":2}');
    expect(flat).toMatchObject({ ts: Date.UTC(2024, 2, 1, 8), method: "DELETE", route: "/cart/3", status: 204, latencyMs: 2 });
  });

  it("reads common flat aliases", () => {
    const r = ok("json", JSON.stringify({
      "@timestamp": "2024-03-01T08:00:00+01:00", path: "/p", status_code: "503", duration_ms: "120",
      client_ip: "1.2.3.4", userAgent: "bot",
    }));
    expect(r).toMatchObject({ ts: Date.UTC(2024, 2, 1, 7), route: "/p", status: 503, latencyMs: 120, ip: "1.2.3.4", userAgent: "bot" });
    expect(ok("json", '{"url":"/a","statusCode":200,"response_time":5,"remote_addr":"9.9.9.9"}'))
      .toMatchObject({ route: "/a", status: 200, latencyMs: 5, ip: "9.9.9.9" });
  });

  it("prefers the simulator names over the aliases when both are present", () => {
    const r = ok("json", '{"route":"/primary","url":"/alias","status":201,"statusCode":500,"latency_ms":1,"responseTime":99}');
    expect(r).toMatchObject({ route: "/primary", status: 201, latencyMs: 1 });
  });

  it("treats epoch numbers below 1e11 as seconds and larger ones as ms", () => {
    expect(ok("json", '{"route":"/","time":1700000000}').ts).toBe(1_700_000_000_000);
    expect(ok("json", '{"route":"/","time":1700000000.5}').ts).toBe(1_700_000_000_500);
    expect(ok("json", '{"route":"/","time":1700000000000}').ts).toBe(1_700_000_000_000);
    expect(ok("json", '{"route":"/","time":"1700000000"}').ts).toBe(1_700_000_000_000);
    expect(ok("json", '{"route":"/","time":"17/May/2015:10:05:03 +0200"}').ts).toBe(Date.UTC(2015, 4, 17, 8, 5, 3));
  });

  it("strips the query string and a scheme+host from the route", () => {
    expect(ok("json", '{"url":"/search?q=shoes&page=2","status":200}').route).toBe("/search");
    expect(ok("json", '{"url":"https://shop.example.com/cart?x=1","status":200}').route).toBe("/cart");
  });

  it("accepts a route without latency (NaN) and a status without a route", () => {
    const r = ok("json", '{"route":"/x"}');
    expect(r.latencyMs).toBeNaN();
    expect(r.status).toBeNaN();
    expect(ok("json", '{"status":200}').route).toBe("");
  });

  it("lets a mapping override a field's defaults, with dotted and bracketed paths", () => {
    const line = '{"route":"/default","req":{"path":"/mapped?x=1","hdr":{"x.ua":"A"}},"responseTime":50,"t":{"ms":3},"status":200}';
    const fields = { route: "req.path", latency: "t.ms", user_agent: 'req.hdr["x.ua"]' } as const;
    const r = ok("json", line, { fields });
    expect(r).toMatchObject({ route: "/mapped", latencyMs: 3, userAgent: "A", status: 200 });
    // The mapping replaces the defaults: a missing mapped latency is NaN, not responseTime.
    expect(ok("json", '{"route":"/a","responseTime":50}', { fields: { latency: "nope" } }).latencyMs).toBeNaN();
    expect(fail("json", '{"route":"/a","status":200}', { fields: { route: "req.path", status: "code" } })).toBe("no_status_or_route");
  });

  it("returns a reason for each kind of malformed line", () => {
    const cases: [string, string][] = [
      ["", "empty"], ["   \t", "empty"],
      ["hello", "not_json"], ["{", "not_json"], ['{"a":1', "not_json"], ["{'a':1}", "not_json"], ["nul", "not_json"],
      ["[1,2]", "json_not_object"], ["42", "json_not_object"], ['"str"', "json_not_object"], ["null", "json_not_object"],
      ["{}", "no_status_or_route"], ['{"msg":"server listening","time":1}', "no_status_or_route"],
      ['{"route":"","status":null}', "no_status_or_route"], ['{"route":42}', "bad_route"],
      ['{"route":"/a","status":"abc"}', "bad_status"], ['{"route":"/a","status":42}', "bad_status"],
      ['{"route":"/a","status":200.5}', "bad_status"], ['{"status":700}', "bad_status"], ['{"status":true}', "bad_status"],
      ['{"route":"/a","ts":"yesterday"}', "bad_timestamp"], ['{"route":"/a","ts":"2024-13-01T00:00:00Z"}', "bad_timestamp"],
      ['{"route":"/a","ts":"2024-01-01T00:00:00Zjunk"}', "bad_timestamp"], ['{"route":"/a","ts":{}}', "bad_timestamp"],
      ['{"route":"/a","latency_ms":-5}', "bad_latency"], ['{"route":"/a","latency_ms":"fast"}', "bad_latency"],
      ['{"route":"/a","bytes":"many"}', "bad_bytes"], ['{"route":"/a","bytes":-1}', "bad_bytes"],
      // Wrong types and numbers outside what a record may carry (issue 11).
      ['{"route":["/a"],"status":200}', "bad_route"], ['{"route":{},"status":200}', "bad_route"],
      ['{"route":"/a","method":7}', "bad_method"], ['{"route":"/a","method":["GET"]}', "bad_method"],
      ['{"route":"/a","ip":{"v4":"1.2.3.4"}}', "bad_ip"], ['{"route":"/a","user_agent":false}', "bad_user_agent"],
      ['{"route":"/a","req":{"headers":{"x-forwarded-for":[1234]}}}', "bad_ip"],
      ['{"route":"/a","ts":1e20}', "timestamp_out_of_range"], ['{"route":"/a","ts":-1}', "timestamp_out_of_range"],
      ['{"route":"/a","ts":"1e20"}', "timestamp_out_of_range"], ['{"route":"/a","ts":"9999-01-01T00:00:00Z"}', "timestamp_out_of_range"],
      ['{"route":"/a","ts":"1969-12-31T23:59:59Z"}', "timestamp_out_of_range"], ['{"route":"/a","ts":"0x10"}', "bad_timestamp"],
      ['{"route":"/a","ts":true}', "bad_timestamp"], ['{"route":"/a","ts":[1]}', "bad_timestamp"],
      ['{"route":"/a","status":"0xC8"}', "bad_status"], ['{"route":"/a","status":"Infinity"}', "bad_status"],
      ['{"route":"/a","bytes":"1e999"}', "bad_bytes"], ['{"route":"/a","bytes":1e400}', "bad_bytes"],
      ['{"route":"/a","latency_ms":1e400}', "bad_latency"], ['{"route":"/a","latency_ms":"Infinity"}', "bad_latency"],
      [`{"route":"/a","latency_ms":"${"9".repeat(400)}"}`, "bad_latency"], ['{"route":"/a","latency_ms":true}', "bad_latency"],
      ['{"route":"/a","latency_ms":{"v":1}}', "bad_latency"],
    ];
    for (const [line, reason] of cases) expect(fail("json", line), line).toBe(reason);
  });

  it("reads numeric strings, units on latency and '-' placeholders", () => {
    const r = ok("json", '{"route":"/a","status":"200","latency":"0.25s","bytes":"-"}');
    expect(r).toMatchObject({ status: 200, latencyMs: 250 });
    expect(r.bytes).toBeNaN();
    expect(ok("json", '{"route":"/a","latency":"12ms"}').latencyMs).toBe(12);
  });

  it("does not follow prototype keys in paths", () => {
    expect(fail("json", '{"route":"/a"}', { fields: { ts: "constructor" } })).toBeNull();
    expect(ok("json", '{"route":"/a"}', { fields: { ts: "constructor" } }).ts).toBeNaN();
  });
});

describe("combined parser", () => {
  const UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";
  const line = (tail = "", time = "17/May/2015:10:05:03 +0000", req = "GET /presentations/logstash?x=1 HTTP/1.1", bytes = "203023"): string =>
    `83.149.9.216 - - [${time}] "${req}" 200 ${bytes} "http://semicomplete.com/presentations/" "${UA}"${tail}`;

  it("reads every field of a combined line", () => {
    expect(ok("combined", line())).toEqual({
      ts: Date.UTC(2015, 4, 17, 10, 5, 3), method: "GET", route: "/presentations/logstash", status: 200, latencyMs: NaN,
      bytes: 203023, ip: "83.149.9.216", userAgent: UA,
    });
  });

  it("reads an optional trailing request time in seconds as ms, and tolerates other trailing fields", () => {
    expect(ok("combined", line(" 0.123")).latencyMs).toBe(123);
    expect(ok("combined", line(" 2.5")).latencyMs).toBe(2500);
    expect(ok("combined", line(' "10.0.0.9, 10.0.0.1" 0.004 0.003')).latencyMs).toBe(4);
    expect(ok("combined", line(" rt=0.051 uct=0.000")).latencyMs).toBe(51);
    expect(ok("combined", line(" request_time=1.000")).latencyMs).toBe(1000);
    expect(ok("combined", line(" 12345 example.com")).latencyMs).toBeNaN(); // integers are ambiguous units
    expect(ok("combined", line(" -")).latencyMs).toBeNaN();
  });

  it("reads common log format (no referer or agent)", () => {
    const r = ok("combined", '127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326');
    expect(r).toEqual({
      ts: Date.UTC(2000, 9, 10, 20, 55, 36), method: "GET", route: "/apache_pb.gif", status: 200, latencyMs: NaN,
      bytes: 2326, ip: "127.0.0.1", userAgent: "",
    });
    expect(ok("combined", '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 0.010').latencyMs).toBe(10);
  });

  it("applies the zone offset", () => {
    for (const [zone, minutes] of [["+0000", 0], ["+0200", 120], ["-0700", -420], ["+0530", 330], ["-0930", -570]] as const) {
      expect(ok("combined", line("", `31/Dec/2015:23:59:59 ${zone}`)).ts, zone).toBe(Date.UTC(2015, 11, 31, 23, 59, 59) - minutes * 60_000);
    }
    expect(ok("combined", line("", "29/Feb/2016:00:00:00 +0000")).ts).toBe(Date.UTC(2016, 1, 29));
  });

  it("agrees with Date.UTC on random timestamps in every month", () => {
    const r = mulberry32(4);
    for (let k = 0; k < 300; k++) {
      const t = Math.floor(r() * 2e12);
      const d = new Date(t);
      const p2 = (n: number): string => String(n).padStart(2, "0");
      const stamp = `${p2(d.getUTCDate())}/${MONTH[d.getUTCMonth()] ?? ""}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
      expect(ok("combined", line("", stamp)).ts, stamp).toBe(Math.floor(t / 1000) * 1000);
    }
  });

  it("treats '-' bytes as NaN", () => {
    const r = ok("combined", line("", undefined, undefined, "-"));
    expect(r.bytes).toBeNaN();
    expect(r.status).toBe(200);
  });

  it("handles escaped quotes in quoted fields", () => {
    const r = ok("combined", '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /a\\"b HTTP/1.1" 200 5 "ref \\"r\\"" "Agent \\"quoted\\" \\\\ end" 0.002');
    expect(r.route).toBe('/a\\"b');
    expect(r.userAgent).toBe('Agent "quoted" \\ end');
    expect(r.latencyMs).toBe(2);
  });

  it("reads methods, absolute targets and HTTP/0.9 request lines", () => {
    expect(ok("combined", line("", undefined, "OPTIONS * HTTP/1.1")).route).toBe("*");
    expect(ok("combined", line("", undefined, "PROPFIND /dav/ HTTP/1.1")).method).toBe("PROPFIND");
    expect(ok("combined", line("", undefined, "GET http://example.com/x/y?z HTTP/1.1")).route).toBe("/x/y");
    expect(ok("combined", line("", undefined, "GET /old"))).toMatchObject({ method: "GET", route: "/old" });
    expect(ok("combined", line("", undefined, "GET /with space HTTP/1.1")).route).toBe("/with space");
    expect(ok("combined", "::1 - - [17/May/2015:10:05:03 +0000] \"HEAD / HTTP/2.0\" 204 -")).toMatchObject({ ip: "::1", method: "HEAD", status: 204 });
  });

  it("returns a reason for each kind of malformed line", () => {
    const head = '1.2.3.4 - - [17/May/2015:10:05:03 +0000] ';
    const cases: [string, string][] = [
      ["", "empty"], ["  \r", "empty"],
      ["1.2.3.4", "no_timestamp"], ["1.2.3.4 - - 17/May/2015 \"GET / HTTP/1.1\" 200 1", "no_timestamp"],
      ["1.2.3.4 - - [17/May/2015:10:05:03 +0000", "bad_timestamp"],
      ["1.2.3.4 - - [17/Mai/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["1.2.3.4 - - [32/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["1.2.3.4 - - [29/Feb/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["1.2.3.4 - - [17/May/2015:25:05:03 +0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["1.2.3.4 - - [17/May/2015:10:05:03 0000] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["1.2.3.4 - - [17/May/2015:10:05:03 +0000 junk] \"GET / HTTP/1.1\" 200 1", "bad_timestamp"],
      ["[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok", "bad_timestamp"],
      [head, "no_request"], [head + "GET / HTTP/1.1 200 1", "no_request"],
      [head + "\"GET / HTTP/1.1 200 1", "unterminated_quote"],
      [head + "\"-\" 400 0 \"-\" \"-\"", "bad_request_line"],
      [head + "\"\" 400 0", "bad_request_line"],
      [head + "\"\\x16\\x03\\x01\\x00\\xa5\\x01\" 400 173 \"-\" \"-\"", "bad_request_line"],
      [head + "\"\u0016\u0003\u0001 \u0000\" 400 173", "bad_request_line"],
      [head + "\"get / HTTP/1.1\" 200 1", "bad_request_line"],
      [head + "\"GET\" 200 1", "bad_request_line"],
      [head + "\"GET / FTP/1.1\" 200 1", "bad_request_line"],
      [head + "\"GET  HTTP/1.1\" 200 1", "bad_request_line"],
      [head + "\"GET / HTTP/1.1\"", "no_status"], [head + "\"GET / HTTP/1.1\"200 1", "no_status"],
      [head + "\"GET / HTTP/1.1\" 2000 1", "bad_status"], [head + "\"GET / HTTP/1.1\" abc 1", "bad_status"],
      [head + "\"GET / HTTP/1.1\" 099 1", "bad_status"], [head + "\"GET / HTTP/1.1\" 600 1", "bad_status"],
      [head + "\"GET / HTTP/1.1\" 200", "no_bytes"],
      [head + "\"GET / HTTP/1.1\" 200 12k", "bad_bytes"], [head + "\"GET / HTTP/1.1\" 200 -5", "bad_bytes"],
      [head + "\"GET / HTTP/1.1\" 200 1 \"-\" \"unterminated", "unterminated_quote"],
      [head + "\"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" \"trailing", "unterminated_quote"],
    ];
    for (const [l, reason] of cases) expect(fail("combined", l), l).toBe(reason);
  });

  it("tolerates CRLF line ends", () => {
    expect(ok("combined", line(" 0.010\r")).latencyMs).toBe(10);
  });
});

describe("seed parser", () => {
  const T = Date.UTC(2026, 10, 24, 14, 0, 0);

  it("reads the original program's lines", () => {
    expect(ok("seed", "2026-11-24 14:00:00.123 INFO GET /checkout 200 123.4ms")).toEqual({
      ts: T + 123, method: "GET", route: "/checkout", status: 200, latencyMs: 123.4, bytes: NaN, ip: "", userAgent: "",
    });
  });

  it("accepts the timestamp variants", () => {
    expect(ok("seed", "2026-11-24 14:00:00,250 INFO GET /a 200 1ms").ts).toBe(T + 250);
    expect(ok("seed", "2026-11-24T14:00:00Z GET /a 200 1ms").ts).toBe(T);
    expect(ok("seed", "2026-11-24T14:00:00.5+01:00 GET /a 200 1ms").ts).toBe(T + 500 - 3_600_000);
    expect(ok("seed", "[2026-11-24 14:00:00] GET /a 200 1ms").ts).toBe(T);
    expect(ok("seed", "2026-11-24 14:00:00 /a 200").ts).toBe(T);
  });

  it("accepts ' - ' and '|' separators and no level or method", () => {
    const want = { ts: T, method: "POST", route: "/api/cart", status: 201, latencyMs: 12 };
    expect(ok("seed", "2026-11-24 14:00:00 - INFO - POST /api/cart - 201 - 12ms")).toMatchObject(want);
    expect(ok("seed", "2026-11-24 14:00:00 | INFO | POST | /api/cart | 201 | 12ms")).toMatchObject(want);
    expect(ok("seed", "2026-11-24 14:00:00|INFO|POST|/api/cart|201|12ms")).toMatchObject(want);
    expect(ok("seed", "2026-11-24 14:00:00\tINFO\tPOST\t/api/cart\t201\t12ms")).toMatchObject(want);
    const bare = ok("seed", "2026-11-24 14:00:00 /api/cart 201 12ms");
    expect(bare).toMatchObject({ route: "/api/cart", status: 201, latencyMs: 12, method: "" });
  });

  it("reads every latency spelling", () => {
    const lat = (tail: string): number => ok("seed", `2026-11-24 14:00:00 INFO GET /a 200 ${tail}`).latencyMs;
    expect(lat("123ms")).toBe(123);
    expect(lat("0.12s")).toBe(120);
    expect(lat("latency=123")).toBe(123);
    expect(lat("latency_ms=45.5")).toBe(45.5);
    expect(lat("latency=0.5s")).toBe(500);
    expect(lat("took 123ms")).toBe(123);
    expect(lat("took 77")).toBe(77);
    expect(lat("duration=8")).toBe(8);
    expect(lat("750us")).toBe(0.75);
    expect(lat("")).toBeNaN();
    expect(lat("fast")).toBeNaN();
    expect(ok("seed", "2026-11-24 14:00:00 latency=9 GET /a 200").latencyMs).toBe(9);
  });

  it("strips the query string and reads key=value extras", () => {
    const r = ok("seed", "2026-11-24 14:00:00 WARN 10.0.0.7 GET /search?q=x 404 3ms bytes=120");
    expect(r).toMatchObject({ route: "/search", status: 404, latencyMs: 3, bytes: 120, ip: "10.0.0.7", method: "GET" });
    expect(ok("seed", "2026-11-24 14:00:00 INFO method=PUT path=/k status=202 ip=::1")).toMatchObject({ method: "PUT", route: "/k", status: 202, ip: "::1" });
  });

  it("does not take a level word for the method", () => {
    expect(ok("seed", "2026-11-24 14:00:00 TRACE /a 200 1ms").method).toBe("TRACE"); // token before the route is a method
    expect(ok("seed", "2026-11-24 14:00:00 TRACE GET /a 200 1ms").method).toBe("GET");
    expect(ok("seed", "2026-11-24 14:00:00 ERROR /a 500 1ms").method).toBe("");
  });

  it("takes the first status after the route and skips 3-digit numbers before it", () => {
    expect(ok("seed", "2026-11-24 14:00:00 INFO 123 GET /a 503 1ms").status).toBe(503);
    expect(ok("seed", "2026-11-24 14:00:00 INFO GET /a 999 200 1ms").status).toBe(200);
  });

  it("returns a reason for each kind of malformed line", () => {
    const cases: [string, string][] = [
      ["", "empty"], [" \r\n", "empty"],
      ["INFO GET /a 200 1ms", "no_timestamp"], ["081109 203615 148 INFO dfs.DataNode", "no_timestamp"],
      ["Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user", "no_timestamp"],
      ["2026-13-24 14:00:00 GET /a 200", "bad_timestamp"], ["2026-11-24 GET /a 200", "bad_timestamp"],
      ["2026-11-24 14:00:00x GET /a 200", "bad_timestamp"], ["2026-11-24T25:00:00Z GET /a 200", "bad_timestamp"],
      ["2026-11-24 14:00:00 INFO GET 200 1ms", "no_route"], ["2026-11-24 14:00:00", "no_route"],
      ["2026-11-24 14:00:00 INFO GET /a 1ms", "no_status"], ["2026-11-24 14:00:00 INFO 200 GET /a", "no_status"],
      ["2026-11-24 14:00:00 INFO GET /a 2000", "no_status"],
      ["2026-11-24 14:00:00 INFO GET /a 700 1ms", "bad_status"], ["2026-11-24 14:00:00 INFO GET /a 099", "bad_status"],
    ];
    for (const [line, reason] of cases) expect(fail("seed", line), line).toBe(reason);
  });
});

describe("robustness", () => {
  const VALID: Record<Core, string> = {
    json: '{"ts":"2026-11-24T14:00:00.123Z","method":"GET","route":"/a?b=1","status":200,"latency_ms":1.5,"bytes":10,"ip":"1.1.1.1","user_agent":"x \\"y\\""}',
    combined: '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /a\\"?b=1 HTTP/1.1" 200 10 "-" "ua \\"q\\"" 0.015',
    seed: "2026-11-24 14:00:00.123 INFO GET /a?b=1 200 1.5ms",
  };
  const ALPHABET = ' "\\[]{}:,./-+=|?#0123456789abcdefGHTPSZ\t\r\n\u0000\u0016\u00b5\u00e9\u2028\ud83d\ude00\ud800';

  /** Random strings from an alphabet of separators, digits and awkward code units. */
  function garbage(r: () => number, n: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < n; k++) {
      const len = Math.floor(r() * 120);
      let s = "";
      for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)] ?? "";
      out.push(s);
    }
    return out;
  }

  /** Valid lines cut, spliced and overwritten at random positions. */
  function mutations(r: () => number, line: string, n: number): string[] {
    const out: string[] = [];
    for (let k = 0; k < n; k++) {
      const at = Math.floor(r() * (line.length + 1));
      const ch = ALPHABET[Math.floor(r() * ALPHABET.length)] ?? "";
      const op = Math.floor(r() * 4);
      if (op === 0) out.push(line.slice(0, at));
      else if (op === 1) out.push(line.slice(0, at) + ch + line.slice(at));
      else if (op === 2) out.push(line.slice(0, at) + ch + line.slice(at + 1));
      else out.push(line.slice(0, at) + line.slice(at + 1 + Math.floor(r() * 10)));
    }
    return out;
  }

  /** Whatever a parser returns, it is a known reason or a record of the right shape. */
  function checkParser(p: LineParser, lines: readonly string[]): number {
    const out = emptyRecord();
    let parsed = 0;
    for (const line of lines) {
      let reason: string | null;
      try {
        reason = p.parse(line, out);
      } catch (e) {
        throw new Error(`${p.format} parser threw on ${JSON.stringify(line)}: ${String(e)}`);
      }
      if (reason === null) {
        parsed++;
        expect(Number.isNaN(out.status) || (Number.isInteger(out.status) && out.status >= 100 && out.status <= 599), line).toBe(true);
        expect(Number.isNaN(out.latencyMs) || out.latencyMs >= 0, line).toBe(true);
        expect(Number.isNaN(out.bytes) || (Number.isInteger(out.bytes) && out.bytes >= 0), line).toBe(true);
        expect(typeof out.route === "string" && typeof out.method === "string" && typeof out.ip === "string", line).toBe(true);
        expect(out.route.includes("?"), line).toBe(false);
      } else {
        expect(FAILURE_REASONS, line).toContain(reason);
        expect(reason).toMatch(/^[a-z]+(_[a-z]+)*$/);
      }
    }
    return parsed;
  }

  it("never throws on seeded random garbage, and returns only known reasons", () => {
    const lines = garbage(mulberry32(5), 3000);
    for (const format of FORMAT_NAMES) checkParser(createParser(format), lines);
  });

  it("never throws on mutated valid lines of every format", () => {
    const r = mulberry32(6);
    for (const source of CORE) {
      const lines = mutations(r, VALID[source], 1500);
      for (const format of FORMAT_NAMES) {
        const parsed = checkParser(createParser(format), lines);
        // Another format's lines never parse; some of a format's own mutated lines do (so the field checks ran).
        if (format !== source) expect(parsed, `${format} on mutated ${source}`).toBe(0);
        else expect(parsed, `${format} on its own mutated lines`).toBeGreaterThan(0);
      }
    }
  });

  it("fills a reused record without leaking fields from the previous line", () => {
    for (const format of CORE) {
      const p = createParser(format);
      const out = emptyRecord();
      expect(p.parse(VALID[format], out)).toBeNull();
      const minimal = format === "json" ? '{"route":"/z"}'
        : format === "combined" ? '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /z HTTP/1.1" 200 -'
          : "2026-11-24 14:00:00 /z 200";
      expect(p.parse(minimal, out)).toBeNull();
      expect(out.route).toBe("/z");
      expect(out.latencyMs, format).toBeNaN();
      expect(out.bytes, format).toBeNaN();
      expect(out.userAgent, format).toBe("");
      if (format !== "combined") expect(out.ip, format).toBe("");
    }
  });
});

describe("timestamp memo", () => {
  // Parsers remember the last minute; a shared parser must answer exactly as a fresh one.
  function sameAsFresh(format: FormatName, lines: readonly string[]): void {
    const shared = createParser(format);
    const a = emptyRecord();
    for (const line of lines) {
      const b = emptyRecord();
      const ra = shared.parse(line, a);
      const rb = createParser(format).parse(line, b);
      expect(ra, line).toBe(rb);
      if (ra === null) expect(a.ts, line).toBe(b.ts);
    }
  }

  it("combined: same minute with other seconds, zones, a missing zone and bad seconds", () => {
    const at = (t: string): string => `1.2.3.4 - - [${t}] "GET / HTTP/1.1" 200 1`;
    const lines = ["17/May/2015:10:05:03 +0000", "17/May/2015:10:05:59 +0000", "17/May/2015:10:05:60 +0000",
      "17/May/2015:10:05:61 +0000", "17/May/2015:10:05:0x +0000", "17/May/2015:10:05:07 +0200", "17/May/2015:10:05:07 -0200",
      "17/May/2015:10:05:07", "17/May/2015:10:05:08", "17/May/2015:10:05:08 +0200", "17/May/2015:10:05:08 +02000",
      "17/May/2015:10:06:00 +0000", "17/May/2015:10:05-08 +0000", "17/May/2015:10:05:09 +0000"].map(at);
    sameAsFresh("combined", lines);
    expect(ok("combined", lines[1] ?? "").ts).toBe(Date.UTC(2015, 4, 17, 10, 5, 59));
  });

  it("seed and json: same minute with other seconds, fractions, zones and separators", () => {
    const stamps = ["2026-11-24 14:00:01.500", "2026-11-24 14:00:02", "2026-11-24 14:00", "2026-11-24 14:00:61",
      "2026-11-24 14:00:03Z", "2026-11-24 14:00:03+05:30", "2026-11-24 14:00:03-01", "2026-11-24 14:00:3",
      "2026-11-24T14:00:04.25Z", "2026-11-24 14:00:05,125", "2026-11-24 14:01:00", "2026-11-24 14:00:06", "2026-11-24",
      "2026-11-24 14:00:07+99:00"];
    sameAsFresh("seed", stamps.map((t) => `${t} INFO GET /a 200 1ms`));
    sameAsFresh("json", stamps.map((t) => JSON.stringify({ ts: t, route: "/a" })));
  });
});

describe("detectFormat", () => {
  const samples: Record<Core, string[]> = {
    json: [],
    combined: [],
    seed: [],
  };
  for (let i = 0; i < 60; i++) {
    const sec = String(i % 60).padStart(2, "0");
    samples.json.push(JSON.stringify({ ts: `2026-11-24T14:00:${sec}Z`, method: "GET", route: `/r/${i}`, status: 200, latency_ms: i }));
    samples.combined.push(`10.0.0.${i} - - [24/Nov/2026:14:00:${sec} +0000] "GET /r/${i} HTTP/1.1" 200 ${i} "-" "ua"`);
    samples.seed.push(`2026-11-24 14:00:${sec}.000 INFO GET /r/${i} 200 ${i}ms`);
  }

  it("recognises each format", () => {
    for (const format of CORE) expect(detectFormat(samples[format])).toBe(format);
  });

  it("ignores blank lines and tolerates a minority of bad lines", () => {
    const mixed = ["", "  ", ...samples.combined.slice(0, 10).flatMap((l) => [l, "garbage line"]), "x"];
    // 10 parse out of 21 non-blank lines: less than half.
    expect(detectFormat(mixed)).toBeNull();
    expect(detectFormat(["", ...samples.seed.slice(0, 10), ...Array.from({ length: 10 }, () => "noise"), "\n"])).toBe("seed");
  });

  it("looks only at the first 50 non-blank lines", () => {
    const lines = [...samples.seed.slice(0, 50), ...samples.json];
    expect(detectFormat(lines)).toBe("seed");
    const late = [...Array.from({ length: 50 }, (_, i) => `noise ${i}`), ...samples.json];
    expect(detectFormat(late)).toBeNull();
  });

  it("returns null for nothing, blank lines and non-access logs", () => {
    expect(detectFormat([])).toBeNull();
    expect(detectFormat(["", " ", "\t"])).toBeNull();
    expect(detectFormat([
      "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
      "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
      "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
    ])).toBeNull();
  });

  it("agrees with the simulator's three renderings of the same traffic", () => {
    const render = (format: Core): string[] => Array.from(simulate({ count: 300, seed: 11, incidents: "none", format }), (l) => l.text);
    const byFormat = { json: render("json"), combined: render("combined"), seed: render("seed") };
    const parsed: Record<Core, LogRecord[]> = { json: [], combined: [], seed: [] };
    for (const format of CORE) {
      const lines = byFormat[format];
      expect(detectFormat(lines)).toBe(format);
      const p = createParser(format);
      for (const line of lines) {
        const out = emptyRecord();
        expect(p.parse(line, out), line).toBeNull();
        parsed[format].push(out);
      }
    }
    parsed.json.forEach((j, k) => {
      const c = parsed.combined[k];
      const s = parsed.seed[k];
      if (c === undefined || s === undefined) throw new Error(`line ${k} missing`);
      for (const other of [c, s]) {
        expect(other.method).toBe(j.method);
        expect(other.route).toBe(j.route.split("?")[0]);
        expect(other.status).toBe(j.status);
      }
      expect(s.ts).toBe(j.ts);
      expect(c.ts).toBe(Math.floor(j.ts / 1000) * 1000); // %t has whole seconds
      expect(s.latencyMs).toBeCloseTo(j.latencyMs, 6);
      expect(Math.abs(c.latencyMs - j.latencyMs)).toBeLessThanOrEqual(0.5); // rendered as seconds with ms
      expect(c.bytes).toBe(j.bytes);
      expect(c.ip).toBe(j.ip);
    });
  });
});

describe("options", () => {
  it("createParser refuses unknown formats and bad field mappings", () => {
    expect(() => createParser("xml" as FormatName)).toThrow(RangeError);
    expect(() => createParser("xml" as FormatName)).toThrow(/format must be one of json, combined, seed, nginx-json, .*, got "xml"/);
    expect(() => createParser("json", { fields: { speed: "x" } as unknown as ParserOptions["fields"] })).toThrow(/got "speed"/);
    expect(() => createParser("json", { fields: { latency: 5 } as unknown as ParserOptions["fields"] })).toThrow(TypeError);
    expect(() => createParser("json", { fields: { latency: "" } })).toThrow(RangeError);
    expect(() => createParser("json", { fields: { latency: "a..b" } })).toThrow(/a\.\.b/);
    expect(() => createParser("json", { fields: { latency: 'a["b' } })).toThrow(/unclosed/);
    expect(() => createParser("combined", { fields: { latency: "x" } })).toThrow(/only to format json, got format combined/);
    expect(() => createParser("json", null as unknown as ParserOptions)).toThrow(TypeError);
    expect(createParser("combined", { fields: {} }).format).toBe("combined");
  });

  it("parseFieldMappings builds a mapping and names the bad spec", () => {
    expect(parseFieldMappings(["latency=responseTime", " route = req.path ", 'user_agent=req.headers["user-agent"]'])).toEqual({
      latency: "responseTime", route: "req.path", user_agent: 'req.headers["user-agent"]',
    });
    expect(parseFieldMappings([])).toEqual({});
    expect(() => parseFieldMappings(["latency"])).toThrow(/field=path, got "latency"/);
    expect(() => parseFieldMappings(["speed=x"])).toThrow(RangeError);
    expect(() => parseFieldMappings(["speed=x"])).toThrow(/"speed=x".*got "speed"/);
    expect(() => parseFieldMappings(["latency="])).toThrow(/"latency="/);
    expect(() => parseFieldMappings(["latency=a", "latency=b"])).toThrow(/"latency=b".*already mapped by "latency=a"/);
    expect(() => parseFieldMappings([3 as unknown as string])).toThrow(TypeError);
    expect(() => parseFieldMappings("latency=x" as unknown as string[])).toThrow(TypeError);
    for (const name of FIELD_NAMES) expect(parseFieldMappings([`${name}=a.b`])).toEqual({ [name]: "a.b" });
  });

  it("a parsed mapping drives the json parser", () => {
    const fields = parseFieldMappings(["latency=timing.total", "status=code"]);
    expect(ok("json", '{"url":"/x","code":201,"timing":{"total":8}}', { fields })).toMatchObject({ route: "/x", status: 201, latencyMs: 8 });
  });
});

// Real logs, read from LOGFOREST_DATA: skipped when it is unset, failing when a file is missing.
describe("a bad line is a skipped line (issue 11)", () => {
  const head = '1.2.3.4 - - [';
  const tail = '] "GET /a HTTP/1.1" 200 1 "-" "ua"';

  it("combined: a time outside [1970, 2200) is timestamp_out_of_range, the edges are in", () => {
    expect(fail("combined", `${head}17/May/9999:10:05:03 +0000${tail}`)).toBe("timestamp_out_of_range");
    expect(fail("combined", `${head}31/Dec/1969:23:59:59 +0000${tail}`)).toBe("timestamp_out_of_range");
    expect(fail("combined", `${head}01/Jan/1970:00:30:00 +0100${tail}`)).toBe("timestamp_out_of_range");
    expect(fail("combined", `${head}01/Jan/2200:00:00:00 +0000${tail}`)).toBe("timestamp_out_of_range");
    expect(ok("combined", `${head}01/Jan/1970:00:00:00 +0000${tail}`).ts).toBe(0);
    expect(ok("combined", `${head}31/Dec/2199:23:59:59 +0000${tail}`).ts).toBe(Date.UTC(2199, 11, 31, 23, 59, 59));
  });

  it("combined: a trailing number too long to be finite is no latency", () => {
    expect(ok("combined", `${head}17/May/2015:10:05:03 +0000${tail} ${"9".repeat(400)}.5`).latencyMs).toBeNaN();
    expect(ok("combined", `${head}17/May/2015:10:05:03 +0000${tail} rt=${"9".repeat(400)}`).latencyMs).toBeNaN();
    expect(ok("combined", `${head}17/May/2015:10:05:03 +0000${tail} ${"9".repeat(400)}`, { latencyUnit: "s" }).latencyMs).toBeNaN();
  });

  it("seed: out-of-range times, and latency, status or bytes keys with a value that is not a valid number", () => {
    const cases: [string, string][] = [
      ["9999-12-31 23:59:59 GET /a 200", "timestamp_out_of_range"], ["1969-12-31T23:59:59Z GET /a 200", "timestamp_out_of_range"],
      ["2200-01-01 00:00:00 GET /a 200", "timestamp_out_of_range"],
      [`2026-11-24 14:00:00 GET /a 200 latency=${"9".repeat(400)}`, "bad_latency"],
      ["2026-11-24 14:00:00 GET /a 200 latency=abc", "bad_latency"], ["2026-11-24 14:00:00 GET /a 200 took=-3ms", "bad_latency"],
      ["2026-11-24 14:00:00 GET /a 200 status=700", "bad_status"], ["2026-11-24 14:00:00 GET /a status=2e2", "bad_status"],
      ["2026-11-24 14:00:00 GET /a 200 bytes=12k", "bad_bytes"], [`2026-11-24 14:00:00 GET /a 200 bytes=${"9".repeat(16)}`, "bad_bytes"],
    ];
    for (const [line, reason] of cases) expect(fail("seed", line), line).toBe(reason);
    // "-" or nothing after the "=" is absent, not bad.
    const r = ok("seed", "2026-11-24 14:00:00 GET /a 200 latency=- bytes= status=-");
    expect(r.latencyMs).toBeNaN();
    expect(r.bytes).toBeNaN();
    expect(r.status).toBe(200);
  });

  it("every reason a parser returns is listed in FAILURE_REASONS", () => {
    for (const reason of ["timestamp_out_of_range", "bad_route", "bad_method", "bad_ip", "bad_user_agent"]) {
      expect(FAILURE_REASONS).toContain(reason);
    }
  });

  it("telemetry CSV: a timestamp that parses to a number outside [1970, 2200) is timestamp_out_of_range", () => {
    const p = new TelemetryParser(parseTelemetryHeader("ts,cpu"));
    const row = emptyTelemetryRow(1);
    for (const line of ["1e20,1", "-5,1", "9999-01-01T00:00:00Z,1", "7258118400000,1", "1e15,1"]) {
      expect(p.parse(line, row), line).toBe("timestamp_out_of_range");
    }
    expect(TELEMETRY_FAILURE_REASONS).toContain("timestamp_out_of_range");
    expect(p.parse("1700000000,1e308", row)).toBeNull();
    expect(p.parse(`1700000000,${"9".repeat(400)}`, row)).toBe("not_a_number");
    expect(p.parse("1700000000,1e999", row)).toBe("not_a_number");
    expect(p.parse("1700000000,Infinity", row)).toBe("not_a_number");
  });
});

describe("latency units (issue 10)", () => {
  const UA = "Mozilla/5.0";
  const cl = (t: string): string => `10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /a HTTP/1.1" 200 5 "-" "${UA}"${t}`;

  it("createParser validates latencyUnit, naming it, the allowed values and the value", () => {
    expect(() => createParser("combined", { latencyUnit: "min" as LatencyUnit })).toThrow(RangeError);
    expect(() => createParser("json", { latencyUnit: "sec" as LatencyUnit })).toThrow(/latencyUnit must be one of ms, s, us, got "sec"/);
    expect(() => createParser("seed", { latencyUnit: 5 as unknown as LatencyUnit })).toThrow(/latencyUnit .* got 5/);
    for (const u of LATENCY_UNITS) expect(createParser("combined", { latencyUnit: u }).format).toBe("combined");
  });

  it("combined: a bare trailing number is in latencyUnit; without it a decimal is s and an integer none", () => {
    expect(ok("combined", cl(" 573.123")).latencyMs).toBe(573_123);
    expect(ok("combined", cl(" 573.123"), { latencyUnit: "ms" }).latencyMs).toBe(573.123);
    expect(ok("combined", cl(" 1500"), { latencyUnit: "us" }).latencyMs).toBe(1.5);
    expect(ok("combined", cl(" 2"), { latencyUnit: "s" }).latencyMs).toBe(2000);
    expect(ok("combined", cl(" 1500")).latencyMs).toBeNaN();
    // the first bare number is the one, quoted fields skipped
    expect(ok("combined", cl(' "x, y" 12 0.5'), { latencyUnit: "ms" }).latencyMs).toBe(12);
  });

  it("combined: a unit on the number or in the next token wins, and rt= is seconds whatever latencyUnit says", () => {
    expect(ok("combined", cl(" 573.123 ms")).latencyMs).toBe(573.123);
    expect(ok("combined", cl(" 573.123 ms"), { latencyUnit: "s" }).latencyMs).toBe(573.123);
    expect(ok("combined", cl(" 12ms")).latencyMs).toBe(12);
    expect(ok("combined", cl(" 0.5s"), { latencyUnit: "us" }).latencyMs).toBe(500);
    expect(ok("combined", cl(" 300us")).latencyMs).toBe(0.3);
    expect(ok("combined", cl(" rt=0.051"), { latencyUnit: "ms" }).latencyMs).toBe(51);
    expect(ok("combined", cl(" request_time=2"), { latencyUnit: "us" }).latencyMs).toBe(2000);
  });

  it("json and seed: bare numbers are ms by default and in latencyUnit when given; a unit in the text wins", () => {
    const j = '{"route":"/a","status":200,"responseTime":1.5}';
    expect(ok("json", j).latencyMs).toBe(1.5);
    expect(ok("json", j, { latencyUnit: "s" }).latencyMs).toBe(1500);
    expect(ok("json", j, { latencyUnit: "us" }).latencyMs).toBe(0.0015);
    expect(ok("json", '{"route":"/a","duration":"250"}', { latencyUnit: "us" }).latencyMs).toBe(0.25);
    expect(ok("json", '{"route":"/a","duration":"2ms"}', { latencyUnit: "s" }).latencyMs).toBe(2);
    expect(fail("json", '{"route":"/a","duration":1e306}', { latencyUnit: "s" })).toBe("bad_latency");
    expect(ok("seed", "2026-11-24 14:00:00 GET /a 200 latency=3", { latencyUnit: "s" }).latencyMs).toBe(3000);
    expect(ok("seed", "2026-11-24 14:00:00 GET /a 200 took 3", { latencyUnit: "us" }).latencyMs).toBe(0.003);
    expect(ok("seed", "2026-11-24 14:00:00 GET /a 200 4ms", { latencyUnit: "s" }).latencyMs).toBe(4);
  });

  /** n lines with trailing fields from `tail(k)`, on a seeded generator. */
  const sample = (n: number, tail: (r: () => number, k: number) => string, seed = 7): string[] => {
    const r = mulberry32(seed);
    return Array.from({ length: n }, (_, k) => cl(tail(r, k)));
  };
  const logNormal = (r: () => number, mu: number, sigma: number): number => {
    const u = Math.max(1e-12, r());
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()));
  };

  it("guessLatencyUnit: nginx $request_time (s, 3 decimals, cache hits at 0.00x) is s", () => {
    // 20% static files and cache hits at 0-9 ms, the rest proxied at a median of 120 ms.
    const lines = sample(500, (r) => ` ${(r() < 0.2 ? r() * 0.009 : logNormal(r, Math.log(0.12), 0.8)).toFixed(3)}`);
    const ev = latencyEvidence(lines);
    expect(ev).toMatchObject({ lines: 500, bare: 500, decimals: 500, unit: "s" });
    expect(ev.belowHundredth).toBeGreaterThanOrEqual(0.05);
    expect(guessLatencyUnit(lines)).toBe("s");
  });

  it("guessLatencyUnit: Apache %D (µs integers) is us, %T (whole seconds) is s, integer ms cannot be told", () => {
    expect(guessLatencyUnit(sample(300, (r) => ` ${Math.round(logNormal(r, Math.log(8000), 1))}`))).toBe("us");
    expect(guessLatencyUnit(sample(300, (r) => ` ${r() < 0.9 ? 0 : 1 + Math.floor(r() * 3)}`))).toBe("s");
    const ms = latencyEvidence(sample(300, (r) => ` ${Math.round(logNormal(r, Math.log(40), 0.7))}`));
    expect(ms.bare).toBe(300);
    expect(ms.unit).toBeNull();
  });

  it("guessLatencyUnit: null without bare numbers (bare 0) and with too few of them", () => {
    const none = latencyEvidence(sample(100, () => ""));
    expect(none).toMatchObject({ lines: 100, bare: 0, unit: null });
    expect(latencyEvidence(sample(100, () => " rt=0.120")).bare).toBe(0);
    expect(latencyEvidence(sample(100, () => " 0.120 ms")).bare).toBe(0);
    expect(guessLatencyUnit(sample(10, (r) => ` ${(r() * 0.005).toFixed(3)}`))).toBeNull();
    expect(guessLatencyUnit(sample(40, (r) => ` ${(r() * 0.005).toFixed(3)}`))).toBe("s");
  });
});

/** Run an express app on 127.0.0.1 logging with `use`, send the requests, and return the logged lines. */
async function realLogLines(
  use: (app: express.Express, out: PassThrough) => void,
  requests: readonly { path: string; method?: string; xff?: string }[],
): Promise<string[]> {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const app = express();
  use(app, out);
  app.get("/api/items/:id", (req, res) => {
    // A handler that takes 2-8 ms, like one with a database call.
    setTimeout(() => res.json({ id: req.params.id }), 2 + (Number(req.params.id) % 7));
  });
  app.post("/login", (_req, res) => res.status(401).send("no"));
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const q of requests) {
      const headers: Record<string, string> = { "user-agent": "probe/1.0" };
      if (q.xff !== undefined) headers["x-forwarded-for"] = q.xff;
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: q.path, method: q.method ?? "GET", headers }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        });
        req.on("error", reject);
        req.end();
      });
    }
    // Loggers write on the response's finish; let them flush.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return text.split("\n").filter((l) => l !== "");
}

describe("real loggers' output (issue 10)", () => {
  const REQS = [
    { path: "/api/items/1?q=1", xff: "203.0.113.7, 10.0.0.1" },
    { path: "/api/items/2", xff: " 198.51.100.4 " },
    { path: "/api/items/3" },
    { path: "/login", method: "POST", xff: "192.0.2.9,10.0.0.2,10.0.0.1" },
  ];
  const WANT_IPS = ["203.0.113.7", "198.51.100.4", "", "192.0.2.9"];

  it("pino-http: the client is the first x-forwarded-for address, else req.remoteAddress; a mapping wins", async () => {
    const lines = await realLogLines((app, out) => app.use(pinoHttp({ logger: pino(out) })), REQS);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('"x-forwarded-for":"203.0.113.7, 10.0.0.1"');
    const recs = lines.map((l) => ok("json", l));
    expect(recs.map((r) => r.ip)).toEqual(WANT_IPS.map((ip) => ip || "127.0.0.1"));
    expect(recs.map((r) => `${r.method} ${r.route} ${r.status}`)).toEqual(["GET /api/items/1 200", "GET /api/items/2 200", "GET /api/items/3 200", "POST /login 401"]);
    for (const r of recs) expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(lines.map((l) => ok("json", l, { fields: { ip: "req.remoteAddress" } }).ip)).toEqual(["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"]);
  });

  it("express-winston: the client is the first meta.req.headers x-forwarded-for address; it logs no remote address", async () => {
    const lines = await realLogLines((app, out) => app.use(expressWinston.logger({
      transports: [new winston.transports.Stream({ stream: out })],
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    })), REQS);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain('"meta":{"req":{');
    const recs = lines.map((l) => ok("json", l));
    expect(recs.map((r) => r.ip)).toEqual(WANT_IPS);
    expect(recs.map((r) => r.status)).toEqual([200, 200, 200, 401]);
    for (const r of recs) expect(Number.isFinite(r.ts)).toBe(true);
  });

  it("morgan combined with :response-time: ms, told by guessLatencyUnit and read with it", async () => {
    const reqs = Array.from({ length: 40 }, (_, k) => ({ path: `/api/items/${k}` }));
    const fmt = ':remote-addr - :remote-user [:date[clf]] ":method :url HTTP/:http-version" :status :res[content-length] ":referrer" ":user-agent" :response-time';
    const lines = await realLogLines((app, out) => app.use(morgan(fmt, { stream: out })), reqs);
    expect(lines).toHaveLength(40);
    expect(guessLatencyUnit(lines)).toBe("ms");
    const p = createParser("combined", { latencyUnit: "ms" });
    const rec = emptyRecord();
    for (const line of lines) {
      expect(p.parse(line, rec), line).toBeNull();
      // every handler waits 2-8 ms (a timer may fire up to 1 ms early against the clock morgan
      // reads, so 1.3 ms has been seen): read as ms it stays well under 500; read as seconds it
      // would be 1,000 or more
      expect(rec.latencyMs, line).toBeGreaterThan(0.5);
      expect(rec.latencyMs, line).toBeLessThan(500);
      expect(line.endsWith(` ${rec.latencyMs.toFixed(3)}`), line).toBe(true);
    }
    // and ":response-time ms" says its unit itself
    const withUnit = await realLogLines((app, out) => app.use(morgan(`${fmt} ms`, { stream: out })), reqs.slice(0, 3));
    for (const line of withUnit) {
      expect(p.parse(line, rec)).toBeNull();
      expect(ok("combined", line).latencyMs).toBe(rec.latencyMs);
    }
    expect(latencyEvidence(withUnit).bare).toBe(0);
  });
});

const DATA = process.env.LOGFOREST_DATA;
function dataLines(name: string): string[] {
  if (DATA === undefined) throw new Error("LOGFOREST_DATA is not set");
  const path = join(DATA, "logs", name);
  if (!existsSync(path)) throw new Error(`LOGFOREST_DATA is set to ${DATA} but logs/${name} is missing`);
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
}

describe.skipIf(DATA === undefined)("real logs (LOGFOREST_DATA)", () => {
  // An independent reading of each line, to check the hand-written scanner against.
  const REF = /^(\S+) \S+ \S+ \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "(\S+) (\S+?)(?:\?\S*)? HTTP\/[\d.]+" (\d{3}) (\d+|-) "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$/;

  it("parses at least 99% of the real combined sample and matches an independent reading", () => {
    const lines = dataLines("apache_combined_3k.log");
    expect(lines.length).toBeGreaterThan(2000);
    expect(detectFormat(lines)).toBe("combined");
    const p = createParser("combined");
    const out = emptyRecord();
    const failures: Record<string, number> = {};
    let parsed = 0;
    let checked = 0;
    for (const line of lines) {
      const reason = p.parse(line, out);
      if (reason !== null) {
        failures[reason] = (failures[reason] ?? 0) + 1;
        continue;
      }
      parsed++;
      const m = REF.exec(line);
      if (m === null) continue;
      checked++;
      const [, ip, dd, mon, yyyy, hh, mi, ss, sign, oh, om, method, route, status, bytes, ua] = m;
      const offset = (Number(oh) * 60 + Number(om)) * (sign === "-" ? -1 : 1);
      expect(out.ip).toBe(ip);
      expect(out.ts, line).toBe(Date.UTC(Number(yyyy), MONTH.indexOf(mon ?? ""), Number(dd), Number(hh), Number(mi), Number(ss)) - offset * 60_000);
      expect(out.method).toBe(method);
      expect(out.route, line).toBe(route);
      expect(out.status).toBe(Number(status));
      if (bytes === "-") expect(out.bytes).toBeNaN();
      else expect(out.bytes).toBe(Number(bytes));
      expect(out.userAgent).toBe((ua ?? "").replace(/\\(["\\])/g, "$1"));
      expect(out.latencyMs).toBeNaN();
    }
    console.info(`apache_combined_3k.log: ${parsed}/${lines.length} parsed; failures by reason: ${JSON.stringify(failures)}; ${checked} checked against the reference regex`);
    expect(parsed / lines.length).toBeGreaterThanOrEqual(0.99);
    expect(checked / parsed).toBeGreaterThanOrEqual(0.99);
  });

  it("spot-checks lines against their raw text", () => {
    const lines = dataLines("apache_combined_3k.log");
    const first = ok("combined", lines[0] ?? "");
    const raw = lines[0] ?? "";
    expect(raw.startsWith(`${first.ip} `)).toBe(true);
    expect(raw).toContain(`"${first.method} ${first.route}`);
    expect(raw).toContain(`" ${first.status} ${first.bytes} "`);
    expect(raw.endsWith(`"${first.userAgent}"`)).toBe(true);
    // Lines with a query string keep only the path.
    const withQuery = lines.find((l) => /"GET \/[^ ?"]*\?[^ "]* HTTP/.test(l));
    expect(withQuery).toBeDefined();
    const q = ok("combined", withQuery ?? "");
    expect(withQuery).toContain(`"GET ${q.route}?`);
  });

  for (const name of ["Apache_2k.log", "BGL_2k.log", "HDFS_2k.log", "OpenSSH_2k.log"]) {
    it(`does not mistake ${name} for an access log, and counts its lines as malformed`, () => {
      const lines = dataLines(name);
      expect(detectFormat(lines)).toBeNull();
      for (const format of FORMAT_NAMES) {
        const p = createParser(format);
        const out = emptyRecord();
        const failures: Record<string, number> = {};
        let parsed = 0;
        for (const line of lines) {
          const reason = p.parse(line, out);
          if (reason === null) parsed++;
          else failures[reason] = (failures[reason] ?? 0) + 1;
        }
        console.info(`${name} as ${format}: ${parsed} parsed; failures by reason: ${JSON.stringify(failures)}`);
        expect(parsed, `${name} as ${format}`).toBe(0);
        expect(Object.values(failures).reduce((a, b) => a + b, 0)).toBe(lines.length);
      }
    });
  }
});
