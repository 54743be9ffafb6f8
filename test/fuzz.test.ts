/**
 * Property-based fuzzing (fast-check, seeded): every line parser on hostile input,
 * the detectors end to end, and the model loaders on damaged and hostile files.
 *
 * CI size by default; `npm run fuzz` runs each property FUZZ_RUNS times (and
 * FUZZ_SEED picks another seed). Inputs tried are counted per target and printed.
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Detector } from "../src/streams/http/detect.js";
import { ExtendedIsolationForest } from "../src/forest/eif.js";
import { IsolationForest } from "../src/forest/forest.js";
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from "../src/streams/scan.js";
import { HEADER, ModelFileError } from "../src/forest/model-file.js";
import { createParser, FAILURE_REASONS, type FormatName } from "../src/streams/http/parse.js";
import { resolveRules } from "../src/streams/http/rules.js";
import { emptyRecord, type LogRecord } from "../src/streams/http/record.js";
import { simulate } from "../src/tools/simulate.js";
import {
  emptyTelemetryRow, parseTelemetryHeader, TELEMETRY_FAILURE_REASONS, TelemetryDetector, TelemetryParser, trainTelemetry,
  type TelemetryRow,
} from "../src/streams/metrics/telemetry.js";
import { simulateTelemetry } from "../src/tools/telemetry-sim.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { clusteredTable, resealed } from "./helpers.js";
import { metaOf, withMetaText } from "./model-bytes.js";
import { PRODUCER_SAMPLES } from "./fixtures/producers.js";

/** Runs per property (CI size unless FUZZ_RUNS says otherwise); the end-to-end ones run a tenth. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const E2E_RUNS = Math.max(20, Math.floor(RUNS / 10));
const opts = (numRuns = RUNS) => ({ seed: SEED, numRuns });
/** Per-test time limit: the suite's 60 s at CI size, more for long runs (about 10 ms a run at most). */
const TIME = Math.max(60_000, RUNS * 10);

/** Inputs tried per target, printed at the end. */
const tried = new Map<string, number>();
const count = (target: string, n = 1): void => void tried.set(target, (tried.get(target) ?? 0) + n);
afterAll(() => {
  const rows = [...tried].map(([k, v]) => `${k}: ${v}`).join(", ");
  console.log(`fuzz inputs tried (seed ${SEED}, ${RUNS} runs per property): ${rows}`);
});

const START = Date.UTC(2026, 10, 25, 6);
const simLines = (format: "json" | "combined" | "seed", n: number, seed: number): string[] =>
  [...simulate({ count: n, seed, incidents: "default", format, start: START })].map((l) => l.text);

/** Lines written by real loggers (express apps on 127.0.0.1; pino-http 11, express-winston 4, morgan 1.10). */
const REAL: Record<"json" | "combined", string[]> = {
  json: [
    '{"level":30,"time":1795643081487,"pid":5339,"hostname":"vm","req":{"id":1,"method":"POST","url":"/login","query":{},"params":{},"headers":{"user-agent":"fuzz-agent/1.0","x-forwarded-for":"203.0.113.0, 10.0.0.1","host":"127.0.0.1:36063","connection":"keep-alive","content-length":"0"},"remoteAddress":"127.0.0.1","remotePort":59332},"res":{"statusCode":401,"headers":{"x-powered-by":"Express","content-type":"text/html; charset=utf-8","content-length":"2","etag":"W/\\"2-/RKGNTVwxXA3mbp2mZMjt8dEewY\\""}},"responseTime":2,"msg":"request completed"}',
    '{"level":"info","message":"HTTP POST /login","meta":{"req":{"headers":{"connection":"keep-alive","content-length":"0","host":"127.0.0.1:37665","user-agent":"fuzz-agent/1.0","x-forwarded-for":"203.0.113.0, 10.0.0.1"},"httpVersion":"1.1","method":"POST","originalUrl":"/login","query":{},"url":"/login"},"res":{"statusCode":401},"responseTime":0},"timestamp":"2026-11-25T21:44:48.631Z"}',
  ],
  combined: [
    '127.0.0.1 - - [25/Nov/2026:21:44:44 +0000] "POST /login HTTP/1.1" 401 2 "-" "fuzz-agent/1.0" 0.937',
    '127.0.0.1 - - [25/Nov/2026:21:44:45 +0000] "GET /api/items/1?q=1 HTTP/1.1" 200 10 "-" "fuzz-agent/1.0" 0.645 ms',
  ],
};

const VALID: Record<FormatName, string[]> = {
  json: [...simLines("json", 300, 3), ...REAL.json],
  combined: [...simLines("combined", 300, 3), ...REAL.combined],
  seed: simLines("seed", 300, 3),
  // Issue 21's producers: their documented lines (test/fixtures/producers.ts).
  ...(Object.fromEntries(Object.entries(PRODUCER_SAMPLES).map(([f, pairs]) => [f, pairs.map(([l]) => l)])) as Record<keyof typeof PRODUCER_SAMPLES, string[]>),
};

// ---------------------------------------------------------------- generators

/** Pieces that have broken parsers somewhere: NUL, CR/LF, quotes, escapes, lone surrogates, huge numbers, prototype names. */
const NASTY = [
  "\u0000", "\r", "\r\n", "\n", '"', "\\", '\\"', "\\\\", "\uFFFD", "\uD800", "\uDFFF", " ", "\t", "[", "]", "{", "}", ",",
  "-", "=", ".", "9".repeat(400), "1e20", "1e400", "-1", "-0", "NaN", "Infinity", "0x1F", "__proto__", "constructor",
  "\u2028", "é", "%2e%2e", "rt=", "ms", "99999999999999999999", "1e308", "0.000", "2199", "9999", "1969",
];
const nasty = fc.constantFrom(...NASTY);
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
  fc.array(fc.oneof(nasty, fc.string({ maxLength: 4 })), { maxLength: 12 }).map((a) => a.join("")),
);
/** Arbitrary bytes decoded as Node decodes a log file: invalid UTF-8 becomes U+FFFD. */
const badUtf8 = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString("utf8"));

/** Edits to a valid line: insert, delete, truncate, replace a number, duplicate a span. */
type Edit = [op: number, at: number, len: number, piece: string];
const edits = fc.array(
  fc.tuple(fc.nat(5), fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(40), fc.oneof(nasty, fc.string({ unit: "binary", maxLength: 6 }))),
  { minLength: 1, maxLength: 4 },
);

function mutate(line: string, ops: readonly Edit[]): string {
  let s = line;
  for (const [op, at, len, piece] of ops) {
    const i = Math.floor(at * s.length);
    switch (op) {
      case 0: s = s.slice(0, i) + piece + s.slice(i); break;
      case 1: s = s.slice(0, i) + s.slice(i + len); break;
      case 2: s = s.slice(0, i); break;
      case 3: {
        // Replace the number at or after i: huge, negative, exotic.
        const m = /\d+(\.\d+)?/.exec(s.slice(i));
        if (m) s = s.slice(0, i + m.index) + piece + s.slice(i + m.index + m[0].length);
        break;
      }
      case 4: s = s.slice(0, i) + s.slice(i, i + len) + s.slice(i); break;
      default: s = s.slice(0, i) + piece + s.slice(i + len);
    }
  }
  return s;
}

const mutated = (format: FormatName) => fc.tuple(fc.constantFrom(...VALID[format]), edits).map(([l, e]) => mutate(l, e));

/** A line of `format` from anywhere on the spectrum: valid, mutated, garbage, bytes. */
const lineOf = (format: FormatName) => fc.oneof(
  { arbitrary: fc.constantFrom(...VALID[format]), weight: 1 },
  { arbitrary: mutated(format), weight: 4 },
  { arbitrary: anyText, weight: 1 },
  { arbitrary: badUtf8, weight: 1 },
);

/** Wrong JSON values: every type, huge and exotic numbers, exotic strings. */
const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(1e20, -1, 1e308, -1e308, 1.5, 0, 2 ** 53, 7258118400000, -0, "1e400", "1e20", "-", "", "NaN",
    "Infinity", "0x1F", " 200 ", "200.0", "9".repeat(400), [], {}, true, false, null, ["GET"], { __proto__: 1 }),
  fc.double(),
);

/** Every path (list of keys) to a value inside `v`, the root's children first. */
function pathsOf(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof v !== "object" || v === null) return out;
  for (const k of Object.keys(v)) {
    const p = [...prefix, k];
    out.push(p);
    pathsOf((v as Record<string, unknown>)[k], p, out);
  }
  return out;
}

function setAt(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur: Record<string, unknown> = root;
  for (let k = 0; k < path.length - 1; k++) cur = cur[path[k]] as Record<string, unknown>;
  Object.defineProperty(cur, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
}

const JSON_DOCS = VALID.json.map((l) => JSON.parse(l) as Record<string, unknown>);
/** A valid JSON line with one field (at any depth) given a wrong value, or a `__proto__` key added. */
const wrongTypedJson = fc.tuple(fc.nat(JSON_DOCS.length - 1), fc.nat(10_000), wrongValue, fc.boolean()).map(([d, p, v, proto]) => {
  const doc = structuredClone(JSON_DOCS[d]);
  const paths = pathsOf(doc);
  setAt(doc, paths[p % paths.length], v);
  const text = JSON.stringify(doc);
  return proto ? text.replace("{", `{"__proto__":${JSON.stringify(v) ?? "null"},`) : text;
});

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mai", "", "MAY"];
const pad = (n: number, w: number) => String(n).padStart(w, "0");
/** Combined lines built field by field, each field sometimes hostile. */
const combinedLine = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.ipV6(), anyText),
  day: fc.nat(40), mon: fc.constantFrom(...MONTHS), year: fc.oneof(fc.nat(9999), fc.integer({ min: 1965, max: 2205 })),
  h: fc.nat(30), mi: fc.nat(70), sec: fc.nat(70), zone: fc.constantFrom(" +0000", " -1200", " +2400", "", " 0000", " +05:30"),
  method: fc.constantFrom("GET", "POST", "get", "VERSION-CONTROL", "", "G\"ET", "\u0000"),
  target: fc.oneof(fc.webPath(), anyText.map((s) => s.replace(/"/g, '\\"'))),
  proto: fc.constantFrom(" HTTP/1.1", "", " FTP/1", " HTTP/"),
  status: fc.oneof(fc.integer({ min: 0, max: 1000 }).map(String), anyText),
  bytes: fc.oneof(fc.nat().map(String), fc.constantFrom("-", "9".repeat(30), "-5", "1e3")),
  referer: fc.oneof(fc.constant("-"), anyText.map((s) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')), anyText),
  ua: fc.oneof(fc.constant("Mozilla/5.0"), anyText.map((s) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')), anyText),
  trailing: fc.array(fc.oneof(
    fc.double({ min: 0, max: 1e6, noNaN: true }).map((v) => v.toFixed(3)),
    fc.nat().map(String), nasty, fc.constantFrom("ms", "s", "us", "rt=0.1", "request_time=1e400", '"a \\" b"', "12ms", "0.5s"),
  ), { maxLength: 4 }),
}).map((f) => `${f.ip} - - [${pad(f.day, 2)}/${f.mon}/${pad(f.year, 4)}:${pad(f.h, 2)}:${pad(f.mi, 2)}:${pad(f.sec, 2)}${f.zone}] `
  + `"${f.method} ${f.target}${f.proto}" ${f.status} ${f.bytes} "${f.referer}" "${f.ua}"${f.trailing.map((t) => ` ${t}`).join("")}`);

const SEED_WORDS = [
  "INFO", "WARN", "GET", "POST", "/checkout", "/api/orders/42?x=1", "200", "503", "999", "123.4ms", "0.2s", "450us",
  "latency=12", "latency=abc", `latency=${"9".repeat(400)}`, "took", "9".repeat(30), "status=200", "status=7", "bytes=12",
  "bytes=-", "ip=10.0.0.1", "path=/x", "method=PUT", "size=huge", "|", "-", "10.0.0.1", "duration=1e400",
];
/** Seed-format lines: a timestamp of any year, zone and fraction, then tokens. */
const seedLine = fc.record({
  y: fc.oneof(fc.nat(9999), fc.integer({ min: 1965, max: 2205 })), mo: fc.nat(13), d: fc.nat(32), h: fc.nat(25), mi: fc.nat(61), s: fc.nat(61),
  frac: fc.constantFrom("", ".123", ",5", ".123456789123"), sep: fc.constantFrom("T", " ", "t", "_"),
  zone: fc.constantFrom("", "Z", "+01:00", "-0530", "+24:00", "+05"),
  words: fc.array(fc.oneof(fc.constantFrom(...SEED_WORDS), nasty, fc.string({ maxLength: 5 })), { maxLength: 10 }),
  bracket: fc.boolean(),
}).map((f) => {
  const ts = `${pad(f.y, 4)}-${pad(f.mo, 2)}-${pad(f.d, 2)}${f.sep}${pad(f.h, 2)}:${pad(f.mi, 2)}:${pad(f.s, 2)}${f.frac}${f.zone}`;
  return `${f.bracket ? `[${ts}]` : ts} ${f.words.join(" ")}`;
});

// ---------------------------------------------------------------- sanity

const inRange = (ts: number) => Number.isNaN(ts) || (ts >= MIN_TIMESTAMP_MS && ts < MAX_TIMESTAMP_MS);
const absentOr = (v: number, ok: (v: number) => boolean) => Number.isNaN(v) || (Number.isFinite(v) && ok(v));

/** A record after a successful parse: finite numbers or NaN for absent, strings for strings. */
function expectSane(r: LogRecord, line: string): void {
  const bad = [
    !inRange(r.ts) && `ts ${r.ts}`,
    !absentOr(r.status, (s) => Number.isInteger(s) && s >= 100 && s <= 599) && `status ${r.status}`,
    !absentOr(r.latencyMs, (l) => l >= 0) && `latencyMs ${r.latencyMs}`,
    !absentOr(r.bytes, (b) => Number.isInteger(b) && b >= 0) && `bytes ${r.bytes}`,
    ...(["method", "route", "ip", "userAgent"] as const).map((k) => typeof r[k] !== "string" && `${k} ${String(r[k])}`),
  ].filter((x) => x !== false);
  expect(bad, JSON.stringify(line)).toEqual([]);
}

function checkParser(format: FormatName, arb: fc.Arbitrary<string>, target: string, numRuns = RUNS): void {
  const parser = createParser(format);
  const rec = emptyRecord();
  fc.assert(fc.property(arb, (line) => {
    count(target);
    const reason = parser.parse(line, rec);
    if (reason === null) expectSane(rec, line);
    else expect(FAILURE_REASONS, line).toContain(reason);
    // Variants a file reader hands over: a CR from CRLF, a NUL.
    for (const v of [`${line}\r`, `\u0000${line}`]) {
      count(target);
      const again = parser.parse(v, rec);
      if (again === null) expectSane(rec, v);
      else expect(FAILURE_REASONS).toContain(again);
    }
  }), opts(numRuns));
}

describe("line parsers never throw and fill only sane records", () => {
  for (const format of ["json", "combined", "seed"] as const) {
    it(`${format}: arbitrary strings, invalid UTF-8, mutated valid lines`, () => {
      checkParser(format, lineOf(format), format);
    }, TIME);
  }
  it("each producer's format: mutated documented lines, arbitrary strings, invalid UTF-8", () => {
    for (const format of Object.keys(PRODUCER_SAMPLES) as (keyof typeof PRODUCER_SAMPLES)[]) checkParser(format, lineOf(format), format, 150);
  }, TIME);
  it("json: a wrong value at every field path, __proto__ keys", () => {
    checkParser("json", wrongTypedJson, "json");
  }, TIME);
  it("combined: lines built field by field with hostile fields, quotes and escapes", () => {
    checkParser("combined", combinedLine, "combined");
  }, TIME);
  it("seed: every timestamp shape and hostile tokens", () => {
    checkParser("seed", seedLine, "seed");
  }, TIME);
  it("every format's parser on every other format's lines", () => {
    for (const format of ["json", "combined", "seed"] as const) {
      checkParser(format, fc.oneof(lineOf("json"), lineOf("combined"), lineOf("seed")), format, Math.ceil(RUNS / 3));
    }
  }, TIME);
});

// ---------------------------------------------------------------- CSV

const CSV_HEADER = "ts,cpu_pct,latency_ms,queue_depth";
const csvValue = fc.oneof(
  fc.double().map(String), fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => v.toExponential()),
  fc.integer().map(String), fc.constantFrom("", " ", "-", "NaN", "nan", "inf", "Infinity", "1e400", "9".repeat(400), "0x1F",
    '"1.5"', '"', "1,5", "1e20", "-1e308", "+.5", "1.", ".", "e5", "1e+99999"),
  anyText,
);
const csvTime = fc.oneof(
  fc.integer({ min: -1e12, max: 1e16 }).map(String), fc.double().map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("1e20", "-5", "9999-01-01T00:00:00Z", "2026-11-25 06:00:00", "2026-02-30T00:00:00Z", "", "\u0000"),
);
const csvLine = fc.oneof(
  fc.tuple(csvTime, csvValue, csvValue, csvValue).map((f) => f.join(",")),
  fc.array(fc.oneof(csvTime, csvValue), { maxLength: 7 }).map((f) => f.join(",")),
  fc.tuple(csvTime, csvValue, csvValue, csvValue, fc.constantFrom("\r", "\r\n", " ", "\u0000")).map((f) => f.slice(0, 4).join(",") + f[4]),
  anyText, badUtf8, fc.constant(CSV_HEADER), fc.constant("ts,cpu_pct"), fc.constant("time,queue_depth,cpu_pct,latency_ms,extra"),
);

function expectSaneRow(row: TelemetryRow, line: string): void {
  expect(inRange(row.ts) && Number.isFinite(row.ts), `ts ${row.ts} of ${JSON.stringify(line)}`).toBe(true);
  for (const v of row.values) expect(Number.isFinite(v), `value ${v} of ${JSON.stringify(line)}`).toBe(true);
}

describe("telemetry CSV parsing never throws and fills only finite rows", () => {
  it("data lines of every shape", () => {
    const parser = new TelemetryParser(parseTelemetryHeader(CSV_HEADER));
    const row = emptyTelemetryRow(3);
    fc.assert(fc.property(csvLine, (line) => {
      count("csv");
      const reason = parser.parse(line, row);
      if (reason === null) expectSaneRow(row, line);
      else expect(TELEMETRY_FAILURE_REASONS, line).toContain(reason);
    }), opts());
  }, TIME);
  it("header lines: a RangeError saying what is wrong, or a header", () => {
    fc.assert(fc.property(fc.oneof(csvLine, fc.array(fc.oneof(anyText, fc.constantFrom("ts", "time", "cpu", '"ts"')), { maxLength: 5 }).map((a) => a.join(","))), (line) => {
      count("csv header");
      try {
        const h = parseTelemetryHeader(line);
        expect(h.series.length).toBeGreaterThan(0);
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
      }
    }), opts());
  }, TIME);
});

// ---------------------------------------------------------------- end to end

/** Lines in order with hostile ones mixed in, plus valid lines dated far from the rest (in range). */
const batchOf = (format: FormatName) => fc.array(fc.oneof(
  { arbitrary: fc.nat(VALID[format].length - 1).map((i) => VALID[format][i]), weight: 3 },
  { arbitrary: lineOf(format), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom(...VALID[format]), fc.constantFrom("2199", "1970", "2025", "2027")).map(([l, y]) => l.replace("2026", y)), weight: 1 },
  ...(format === "json" ? [{ arbitrary: wrongTypedJson, weight: 2 }] : format === "combined" ? [{ arbitrary: combinedLine, weight: 2 }] : [{ arbitrary: seedLine, weight: 2 }]),
), { minLength: 1, maxLength: 120, size: "max" });

/** Every scored line alerts: each one goes through the alert path (times written as ISO 8601, reasons). */
const ALERT_ALL = resolveRules({ minSeverity: 0, warmupSeconds: 0, cooldownSeconds: 0, conditions: [{ type: "any" }] });

/** Every alert's time is an ISO 8601 string or null, and its numbers finite. */
function expectSaneAlert(a: { ts: string | null; score: number; severity: number }): void {
  expect(a.ts === null || !Number.isNaN(Date.parse(a.ts)), String(a.ts)).toBe(true);
  expect(Number.isFinite(a.score) && Number.isFinite(a.severity)).toBe(true);
}

describe("detectors never throw on fuzzed batches and account for every line", () => {
  const trained = trainFromLines(simLines("json", 3000, 21), { forest: { seed: 1, trees: 50 } });

  it("a line dated far ahead, then older lines of a route: every feature stays finite (was route_rate_ratio Infinity)", () => {
    const line = (ts: string, route: string, method = "GET") => JSON.stringify({ ts, method, route, status: 200, latency_ms: 12, bytes: 2000, ip: "10.0.0.1" });
    const det = new Detector(trained.forest, { format: "json", rules: ALERT_ALL });
    det.processBatch("f.log", [
      line("2026-11-25T06:00:12Z", "/api/products/4958"), line("2026-11-25T06:00:03Z", "/api/products/9106"),
      line("2199-11-25T06:00:00Z", "/api/login", "POST"), line("2026-11-25T06:00:19Z", "/api/products/8273"),
    ], 1, expectSaneAlert);
    expect(det.summary().lines_scored).toBe(4);
  }, TIME);

  // Found by `npm run fuzz` (seed 9): WindowCounts.advance took a negative modulo for a
  // bucket in the epoch's first window, read the previous client slot's counts and gave
  // client_requests -Infinity; fixed with a non-negative modulo.
  it("a new client's line dated in the epoch's first window: every feature stays finite (was client_requests -Infinity)", () => {
    const line = (ts: string | number, route: string, ip: string) => JSON.stringify({ ts, method: "GET", route, status: 200, latency_ms: 3, bytes: 184312, ip });
    const det = new Detector(trained.forest, { format: "json", rules: ALERT_ALL });
    det.processBatch("f.log", [
      line("2026-11-25T06:00:26.984Z", "/", "185.62.58.109"), line("2026-11-25T06:00:40.348Z", "/static/app.js", "185.62.58.109"),
      line(0, "/static/app.js", "185.244.88.5"), line("2199-11-25T06:00:03.704Z", "/static/app.js", "185.244.88.5"),
    ], 1, expectSaneAlert);
    expect(det.summary().lines_scored).toBe(4);
  }, TIME);

  for (const format of ["json", "combined", "seed"] as const) {
    it(`Detector, ${format} lines: lines_scored + skipped == lines_read`, () => {
      fc.assert(fc.property(fc.array(batchOf(format), { minLength: 1, maxLength: 3 }), (batches) => {
        const det = new Detector(trained.forest, { format, rules: ALERT_ALL, onScored: (sb) => count(`scored ${format}`, sb.scores.length) });
        let read = 0;
        for (const b of batches) {
          det.processBatch("fuzz.log", b, read + 1, expectSaneAlert);
          read += b.length;
          count(`detector ${format}`, b.length);
        }
        const s = det.summary();
        const skipped = Object.values(s.skipped).reduce((a, b) => a + b, 0);
        expect(s.lines_read).toBe(read);
        expect(s.lines_scored + skipped).toBe(s.lines_read);
      }), opts(E2E_RUNS));
    }, TIME);
  }

  const csvTrain = (() => {
    const gen = simulateTelemetry({ count: 1500, seed: 1, incidents: "none", start: START });
    const lines: string[] = [];
    for (let r = gen.next(); !r.done; r = gen.next()) lines.push(r.value.text);
    return lines;
  })();
  const telemetry = trainTelemetry(csvTrain, { forest: { seed: 1, trees: 50 } });

  it("TelemetryDetector, CSV lines: lines_scored + skipped == lines_read", () => {
    const valid = csvTrain.slice(1, 400);
    const csvBatch = fc.array(fc.oneof(
      { arbitrary: fc.nat(valid.length - 1).map((i) => valid[i]), weight: 3 },
      { arbitrary: csvLine, weight: 3 },
      { arbitrary: fc.tuple(fc.constantFrom(...valid), edits).map(([l, e]) => mutate(l, e)), weight: 3 },
    ), { minLength: 1, maxLength: 120, size: "max" });
    fc.assert(fc.property(fc.array(csvBatch, { minLength: 1, maxLength: 3 }), (batches) => {
      const det = new TelemetryDetector(telemetry.forest, { minSeverity: 0, warmup: 0, cooldownSeconds: 0, onScored: (sb) => count("scored csv", sb.scores.length) });
      let read = 0;
      for (const b of batches) {
        det.processBatch("fuzz.csv", b, read + 1, expectSaneAlert);
        read += b.length;
        count("detector csv", b.length);
      }
      const s = det.summary();
      const skipped = Object.values(s.skipped).reduce((a, b) => a + b, 0);
      expect(s.lines_read).toBe(read);
      expect(s.lines_scored + skipped).toBe(s.lines_read);
    }), opts(E2E_RUNS));
  }, TIME);
});

// ---------------------------------------------------------------- model files

const { X } = clusteredTable(5, 600, 4, 6);
const FOREST = IsolationForest.fit(X, { seed: 3, trees: 20, sampleSize: 64, featureNames: ["a", "b", "c", "d"] });
FOREST.metadata = { pipeline: { note: "kept" } };
const EIF = ExtendedIsolationForest.fit(X, { seed: 3, trees: 20, sampleSize: 64 });
const MODELS = [
  { name: "forest", bytes: FOREST.toBytes(), load: (b: Uint8Array) => IsolationForest.fromBytes(b) },
  { name: "eif", bytes: EIF.toBytes(), load: (b: Uint8Array) => ExtendedIsolationForest.fromBytes(b) },
];
const PROBE = clusteredTable(9, 20, 4, 2).X;

/** Load `bytes`: a ModelFileError, or a model whose scores are finite and in (0, 1] on a few rows. */
function loadsSanelyOrRefuses(load: (b: Uint8Array) => { score(X: number[][], o?: { backend?: "wasm" | "js" }): Float64Array; cols: number }, bytes: Uint8Array): "refused" | "loaded" {
  let m;
  try {
    m = load(bytes);
  } catch (e) {
    if (e instanceof ModelFileError) return "refused";
    throw e;
  }
  const rows = PROBE.map((r) => Array.from({ length: m.cols }, (_, j) => r[j % r.length]));
  for (const backend of ["wasm", "js"] as const) {
    for (const s of m.score(rows, { backend })) expect(s > 0 && s <= 1, `score ${s}`).toBe(true);
  }
  return "loaded";
}

describe("model loaders refuse damaged and hostile files with a ModelFileError", () => {
  for (const model of MODELS) {
    it(`${model.name}: bit flips, truncations, appended and overwritten bytes`, () => {
      const n = model.bytes.length;
      const damage = fc.oneof(
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(7)), { minLength: 1, maxLength: 8 }).map((flips) => {
          const b = model.bytes.slice();
          for (const [i, bit] of flips) b[i] ^= 1 << bit;
          return b;
        }),
        fc.nat(n - 1).map((len) => model.bytes.slice(0, len)),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => Uint8Array.from([...model.bytes, ...extra])),
      );
      fc.assert(fc.property(damage, (b) => {
        count(`model ${model.name} damaged`);
        if (b.length === n && b.every((x, i) => x === model.bytes[i])) return; // flips that cancelled out
        expect(() => model.load(b)).toThrow(ModelFileError);
      }), opts());
    }, TIME);

    it(`${model.name}: valid CRC over flipped bytes and hostile header counts`, () => {
      const n = model.bytes.length;
      const hostile = fc.oneof(
        fc.array(fc.tuple(fc.nat(n - 5), fc.nat(7)), { minLength: 1, maxLength: 8 }).map((flips) => {
          const b = model.bytes.slice();
          for (const [i, bit] of flips) b[i] ^= 1 << bit;
          return resealed(b);
        }),
        fc.tuple(fc.constantFrom(8, 12, 16, 20, 24, 28), fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x80000000), fc.nat())).map(([at, v]) => {
          const b = model.bytes.slice();
          new DataView(b.buffer).setUint32(at, v >>> 0, true);
          return resealed(b);
        }),
        // treeStart, node and coefficient sections overwritten with hostile u32s
        fc.tuple(fc.nat(n - 1), fc.constantFrom(0xffffffff, 0x80000000, 0x7fffffff, 65536, 1 << 20)).map(([at, v]) => {
          const b = model.bytes.slice();
          const dv = new DataView(b.buffer);
          const metaEnd = HEADER + dv.getUint32(16, true);
          const o = metaEnd + 4 * Math.floor(((at % (n - metaEnd - 8)) + 0) / 4);
          dv.setUint32(o, v, true);
          return resealed(b);
        }),
      );
      fc.assert(fc.property(hostile, (b) => {
        count(`model ${model.name} hostile`);
        loadsSanelyOrRefuses(model.load, b);
      }), opts());
    }, TIME);

    it(`${model.name}: hostile metadata (__proto__ keys, huge counts, wrong types, enormous strings)`, () => {
      const meta = metaOf(model.bytes);
      const keys = pathsOf(meta);
      const hostileMeta = fc.oneof(
        fc.tuple(fc.nat(keys.length - 1), wrongValue).map(([k, v]) => {
          const m = structuredClone(meta);
          setAt(m, keys[k], v);
          return JSON.stringify(m);
        }),
        fc.tuple(fc.constantFrom("cols", "sampleSize", "height", "trainedRows"), fc.constantFrom(2 ** 31, 2 ** 32, 1e15, 1e300, 65537, 0, -1)).map(([k, v]) => JSON.stringify({ ...meta, [k]: v })),
        fc.constantFrom("trees", "sampleSize", "maxFeatures", "seed", "contamination", "extensionLevel").chain((k) =>
          wrongValue.map((v) => JSON.stringify({ ...meta, options: { ...(meta.options as object), [k]: v } }))),
        fc.constant(JSON.stringify(meta).replace("{", '{"__proto__":{"cols":1,"polluted":true},')),
        fc.constant(JSON.stringify({ ...meta, metadata: { __proto__: { pipeline: 1 } } }).replace('"metadata":{}', '"metadata":{"__proto__":{"pipeline":{"x":1}}}')),
        fc.constant(JSON.stringify({ ...meta, featureNames: ["x".repeat(1 << 20), "b", "c", "d"] })),
        fc.constant(JSON.stringify({ ...meta, createdAt: "y".repeat(1 << 20) })),
        fc.constant(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
        fc.constant(JSON.stringify({ ...meta, featureNames: [1, 2, 3, 4] })),
        fc.constant(JSON.stringify({ ...meta, metadata: [1, 2] })),
      );
      fc.assert(fc.property(hostileMeta, (text) => {
        count(`model ${model.name} metadata`);
        const b = withMetaText(model.bytes, text);
        if (loadsSanelyOrRefuses(model.load, b) === "loaded") {
          // What loads must be what a forest could have saved: options fit would accept.
          const m = model.load(b);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(m.featureNames === null || m.featureNames.every((x) => typeof x === "string")).toBe(true);
        }
      }), opts(Math.ceil(RUNS / 2)));
    }, TIME);
  }
});
