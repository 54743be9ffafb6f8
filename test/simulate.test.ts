import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_INCIDENT_KINDS,
  INCIDENT_KINDS,
  dailyRateFactor,
  simulate,
  writeSimulation,
  type IncidentKind,
  type SimIncident,
  type SimLine,
  type SimulateOptions,
} from "../src/tools/simulate.js";

interface JsonLine {
  ts: string;
  method: string;
  route: string;
  status: number;
  latency_ms: number;
  bytes: number;
  ip: string;
  user_agent: string;
}

const KEYS = ["ts", "method", "route", "status", "latency_ms", "bytes", "ip", "user_agent"];

/** Every line and incident of a run; the classic profile unless `opts` names one (most tests here read its 14 routes). */
function collect(opts: SimulateOptions): { lines: SimLine[]; incidents: SimIncident[] } {
  const gen = simulate({ profile: "classic", ...opts });
  const lines: SimLine[] = [];
  for (;;) {
    const r = gen.next();
    if (r.done === true) return { lines, incidents: r.value };
    lines.push(r.value);
  }
}

const parse = (text: string): JsonLine => JSON.parse(text) as JsonLine;

/** "GET /api/orders/:id" for "GET /api/orders/1834?x=1": the test's own route grouping. */
const templateOf = (l: JsonLine): string =>
  `${l.method} ${(l.route.split("?")[0] ?? "").replace(/\/\d+(?=\/|$)/g, "/:id")}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g === undefined) m.set(k, [x]);
    else g.push(x);
  }
  return m;
}

/** Lines that are not well-formed JSON log lines in time order (the 8 keys, in order, with sane values). */
function badJsonLines(lines: SimLine[]): string[] {
  let prev = -Infinity;
  const bad: string[] = [];
  for (const l of lines) {
    const j = JSON.parse(l.text) as Record<string, unknown>;
    const ok =
      JSON.stringify(Object.keys(j)) === JSON.stringify(KEYS) &&
      typeof j.ts === "string" &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(j.ts) &&
      Date.parse(j.ts) === l.ts &&
      l.ts >= prev &&
      typeof j.method === "string" &&
      ["GET", "POST", "HEAD"].includes(j.method) &&
      typeof j.route === "string" &&
      j.route.startsWith("/") &&
      !/\s/.test(j.route) &&
      Number.isInteger(j.status) &&
      typeof j.status === "number" &&
      j.status >= 100 &&
      j.status <= 599 &&
      typeof j.latency_ms === "number" &&
      j.latency_ms > 0 &&
      Math.abs(Math.round(j.latency_ms * 10) / 10 - j.latency_ms) < 1e-9 &&
      Number.isInteger(j.bytes) &&
      typeof j.bytes === "number" &&
      j.bytes >= 0 &&
      typeof j.ip === "string" &&
      /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(j.ip) &&
      j.ip.split(".").every((o) => Number(o) <= 255) &&
      typeof j.user_agent === "string" &&
      j.user_agent.length > 0;
    if (!ok) bad.push(l.text);
    prev = l.ts;
  }
  return bad;
}

/**
 * Lines of `run` that break "traffic goes on around incidents": with the lines an incident
 * added taken out, every line is the clean run's, unlabelled ones unchanged, altered ones
 * the same request (time, client, path) answered differently. Also counts the altered lines.
 */
function aroundIncidents(run: SimLine[], cleanRun: SimLine[]): { mismatched: number[]; altered: number; kept: number } {
  // scanner and brute_force add requests, and so does a surge (from addresses the clean run
  // never uses); a surge also labels the route's regular requests, unchanged; the other
  // kinds change responses to requests that happen anyway.
  const cleanIpSet = new Set(cleanRun.map((l) => parse(l.text).ip));
  const kept = run.filter((l) => l.kind !== "scanner" && l.kind !== "brute_force" &&
    !(l.kind === "surge" && !cleanIpSet.has(parse(l.text).ip)));
  let altered = 0;
  const mismatched: number[] = [];
  kept.forEach((l, i) => {
    const c = cleanRun[i];
    if (c === undefined) return;
    if (l.incident === null || l.kind === "surge") {
      if (l.text !== c.text) mismatched.push(i);
      return;
    }
    altered++;
    const [a, b] = [parse(l.text), parse(c.text)];
    if (l.text === c.text || a.ts !== b.ts || a.ip !== b.ip || a.route !== b.route) mismatched.push(i);
  });
  return { mismatched, altered, kept: kept.length };
}

let dir = "";
let base: { lines: SimLine[]; incidents: SimIncident[] };
let clean: { lines: SimLine[]; incidents: SimIncident[] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "logforest-sim-"));
  base = collect({ count: 20000 });
  clean = collect({ count: 20000, incidents: "none" });
});

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("simulate: determinism and shape", () => {
  it("gives the same output for the same seed and a different one for another seed", () => {
    const a = collect({ count: 3000, seed: 5 }).lines.map((l) => l.text);
    const b = collect({ count: 3000, seed: 5 }).lines.map((l) => l.text);
    const c = collect({ count: 3000, seed: 6 }).lines.map((l) => l.text);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.filter((t, i) => t === c[i]).length).toBeLessThan(30);
  });

  it("writes valid JSON lines with exactly the 8 keys in order and sane types", () => {
    expect(badJsonLines(base.lines)).toEqual([]);
    expect(base.lines.length).toBe(20000);
  });

  it("looks like a real service: many routes, mostly 2xx, ordered latencies, login 401s, a health checker", () => {
    const rows = clean.lines.map((l) => parse(l.text));
    const byRoute = groupBy(rows, templateOf);
    expect(byRoute.size).toBeGreaterThanOrEqual(10);
    expect(byRoute.size).toBeLessThanOrEqual(16);
    const ok2xx = rows.filter((r) => r.status >= 200 && r.status < 300).length / rows.length;
    expect(ok2xx).toBeGreaterThan(0.85);
    expect(rows.some((r) => r.status >= 300 && r.status < 400)).toBe(true);
    expect(rows.some((r) => r.status >= 400 && r.status < 500)).toBe(true);
    const lat = (k: string): number => median((byRoute.get(k) ?? []).map((r) => r.latency_ms));
    expect(lat("GET /health")).toBeLessThan(lat("GET /api/search"));
    expect(lat("GET /api/search")).toBeLessThan(lat("POST /checkout"));
    const rate401 = (k: string): number => {
      const g = byRoute.get(k) ?? [];
      return g.filter((r) => r.status === 401).length / g.length;
    };
    expect(rate401("POST /api/login")).toBeGreaterThan(2 * rate401("GET /api/users/me"));
    const health = byRoute.get("GET /health") ?? [];
    expect(health.length).toBeGreaterThan(10);
    expect(new Set(health.map((r) => r.user_agent)).size).toBe(1);
    expect(new Set(rows.map((r) => r.ip)).size).toBeGreaterThan(50);
    // Ids in paths vary like real ids, not a single placeholder.
    const productIds = new Set((byRoute.get("GET /api/products/:id") ?? []).map((r) => r.route));
    expect(productIds.size).toBeGreaterThan(100);
  });

  it("follows a daily curve: quiet at night, busy in the day", () => {
    let sum = 0;
    for (let m = 0; m < 1440; m++) sum += dailyRateFactor(Date.UTC(2026, 0, 1, 0, m));
    expect(sum / 1440).toBeCloseTo(1, 9);
    expect(dailyRateFactor(Date.UTC(2026, 0, 1, 3))).toBeLessThan(0.5 * dailyRateFactor(Date.UTC(2026, 0, 1, 12)));
    const span = (start: string): number => {
      const { lines } = collect({ count: 5000, start, incidents: "none" });
      return (lines[lines.length - 1]?.ts ?? NaN) - (lines[0]?.ts ?? NaN);
    };
    expect(span("2026-11-24T03:00:00Z")).toBeGreaterThan(2 * span("2026-11-24T12:00:00Z"));
  });

  it("in rate mode covers exactly the duration at about the rate", () => {
    const start = Date.UTC(2026, 10, 24, 12);
    const { lines } = collect({ rate: 20, duration: 300, start, incidents: "none" });
    expect(lines.every((l) => l.ts >= start && l.ts < start + 300000)).toBe(true);
    expect(lines.length).toBeGreaterThan(3000);
    expect(lines.length).toBeLessThan(12000);
  });
});

describe("simulate: incidents", () => {
  it("labels nothing with incidents none", () => {
    expect(clean.lines.filter((l) => l.kind !== null || l.incident !== null)).toEqual([]);
    expect(clean.incidents).toEqual([]);
  });

  it("has every default kind in a default run of 20,000 lines, with consecutive ids and one kind per id", () => {
    const labelled = base.lines.filter((l) => l.incident !== null);
    expect(new Set(labelled.map((l) => l.kind))).toEqual(new Set(DEFAULT_INCIDENT_KINDS));
    const ids = [...new Set(labelled.map((l) => l.incident))].sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    for (const [, g] of groupBy(labelled, (l) => String(l.incident))) {
      expect(new Set(g.map((l) => l.kind)).size).toBe(1);
    }
    expect(base.incidents.map((i) => i.id)).toEqual(ids);
    expect(base.incidents.map((i) => i.lines)).toEqual(ids.map((id) => labelled.filter((l) => l.incident === id).length));
  });

  it("keeps incidents bounded in time and not overlapping", () => {
    const spans = [...groupBy(base.lines.filter((l) => l.incident !== null), (l) => String(l.incident)).values()].map(
      (g) => ({ first: g[0]?.ts ?? NaN, last: g[g.length - 1]?.ts ?? NaN, id: g[0]?.incident ?? 0 }),
    );
    spans.sort((a, b) => a.id - b.id);
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      if (s === undefined) continue;
      expect(s.last - s.first).toBeLessThanOrEqual(90000);
      const next = spans[i + 1];
      if (next !== undefined) expect(next.first).toBeGreaterThan(s.last);
    }
    for (const inc of base.incidents) expect(inc.end - inc.start).toBeLessThanOrEqual(90000);
  });

  it("keeps normal traffic going around incidents: without injected lines it is the clean run, some altered", () => {
    const r = aroundIncidents(base.lines, clean.lines);
    expect(r.kept).toBeLessThan(20000);
    expect(r.mismatched).toEqual([]);
    expect(r.altered).toBeGreaterThan(0);
  });

  it("injects only the kinds asked for", () => {
    const only = collect({ count: 20000, incidents: ["scanner"] }).lines.filter((l) => l.kind !== null);
    expect(new Set(only.map((l) => l.kind))).toEqual(new Set<IncidentKind>(["scanner"]));
    const two = collect({ count: 20000, incidents: "surge,error_burst" }).lines.filter((l) => l.kind !== null);
    expect(new Set(two.map((l) => l.kind))).toEqual(new Set<IncidentKind>(["surge", "error_burst"]));
  });
});

describe("simulate: brute_force", () => {
  const brute = collect({ count: 20000, incidents: "brute_force" });

  it("is a kind of its own, in the default set and in \"all\"", () => {
    expect(INCIDENT_KINDS).toContain("brute_force");
    expect(DEFAULT_INCIDENT_KINDS).toContain("brute_force");
    expect(base.lines.some((l) => l.kind === "brute_force")).toBe(true);
    const all = collect({ count: 20000, seed: 3, incidents: "all" }).lines;
    expect(new Set(all.filter((l) => l.kind !== null).map((l) => l.kind))).toEqual(new Set(INCIDENT_KINDS));
  });

  it("is one new client failing to log in 150-400 times within 30 s, every attempt labelled", () => {
    expect(brute.incidents.map((i) => i.kind)).toEqual(["brute_force"]);
    const rows = brute.lines.filter((l) => l.kind === "brute_force").map((l) => parse(l.text));
    expect(brute.incidents[0]?.lines).toBe(rows.length);
    // A Poisson count around the planned 150-400 attempts.
    expect(rows.length).toBeGreaterThan(120);
    expect(rows.length).toBeLessThan(450);
    expect(new Set(rows.map((r) => r.ip)).size).toBe(1);
    expect(new Set(clean.lines.map((l) => parse(l.text).ip)).has(rows[0]?.ip ?? "")).toBe(false);
    expect(new Set(rows.map((r) => `${r.method} ${r.route}`))).toEqual(new Set(["POST /api/login"]));
    expect(rows.every((r) => r.status === 401 || r.status === 403)).toBe(true);
    expect(rows.filter((r) => r.status === 401).length / rows.length).toBeGreaterThan(0.5);
    const ts = rows.map((r) => Date.parse(r.ts));
    expect(Math.max(...ts) - Math.min(...ts)).toBeLessThanOrEqual(30000);
    // In 30 s it fails more than five times as often as any normal client does in the whole run.
    const perIp = groupBy(clean.lines.map((l) => parse(l.text)), (r) => r.ip);
    const failed = (g: JsonLine[]): number => g.filter((r) => r.route === "/api/login" && r.status >= 400).length;
    expect(failed(rows)).toBeGreaterThan(5 * Math.max(...[...perIp.values()].map(failed)));
  });

  it("leaves the normal traffic as it was: the unlabelled lines are the clean run's", () => {
    const kept = brute.lines.filter((l) => l.kind === null).map((l) => l.text);
    expect(kept).toEqual(clean.lines.slice(0, kept.length).map((l) => l.text));
  });
});

describe("writeSimulation: files and truth", () => {
  it("appends to --out, numbers truth lines in the file, and the truth lines show each incident", async () => {
    const out = join(dir, "app.log");
    const truthPath = join(dir, "truth.jsonl");
    await writeFile(out, "existing 1\nexisting 2\nexisting 3\n");
    const summary = await writeSimulation({ count: 20000, out, truth: truthPath, profile: "classic" });
    expect(summary.firstLine).toBe(4);
    expect(summary.lines).toBe(20000);
    expect(summary.complete).toBe(true);

    const file = (await readFile(out, "utf8")).split("\n");
    expect(file.pop()).toBe("");
    expect(file.length).toBe(20003);
    expect(file.slice(0, 3)).toEqual(["existing 1", "existing 2", "existing 3"]);
    expect(file.slice(3)).toEqual(base.lines.map((l) => l.text));

    const truth = (await readFile(truthPath, "utf8"))
      .trim()
      .split("\n")
      .map((t) => JSON.parse(t) as { line: number; kind: IncidentKind; incident: number });
    expect(Object.keys(truth[0] ?? {})).toEqual(["line", "kind", "incident"]);
    const expected = base.lines.flatMap((l, i) =>
      l.incident === null ? [] : [{ line: i + 4, kind: l.kind, incident: l.incident }],
    );
    expect(truth).toEqual(expected);
    expect(summary.labelled).toBe(truth.length);

    // Judge each incident from the file alone, against the file's own unlabelled lines.
    const labelledNos = new Set(truth.map((t) => t.line));
    const cleanRows = file.slice(3).flatMap((t, i) => (labelledNos.has(i + 4) ? [] : [parse(t)]));
    const cleanByRoute = groupBy(cleanRows, templateOf);
    const cleanIps = new Set(cleanRows.map((r) => r.ip));
    const rowsOf = new Map<number, JsonLine[]>();
    const kindOf = new Map<number, IncidentKind>();
    for (const t of truth) {
      const row = parse(file[t.line - 1] ?? "");
      rowsOf.set(t.incident, [...(rowsOf.get(t.incident) ?? []), row]);
      kindOf.set(t.incident, t.kind);
    }
    const seenKinds = new Set<IncidentKind>();
    for (const [id, rows] of rowsOf) {
      const kind = kindOf.get(id);
      if (kind === undefined) continue;
      seenKinds.add(kind);
      const routes = new Set(rows.map(templateOf));
      const cleanOf = (route: string): JsonLine[] => cleanByRoute.get(route) ?? [];
      if (kind === "brute_force") {
        // One new client failing to log in.
        expect(new Set(rows.map((r) => r.ip)).size).toBe(1);
        expect(cleanIps.has(rows[0]?.ip ?? "")).toBe(false);
        expect(rows.every((r) => r.method === "POST" && r.route.endsWith("/login") && (r.status === 401 || r.status === 403))).toBe(true);
      } else if (kind === "scanner") {
        expect(new Set(rows.map((r) => r.ip)).size).toBe(1);
        expect(cleanIps.has(rows[0]?.ip ?? "")).toBe(false);
        expect(new Set(rows.map((r) => r.user_agent)).size).toBe(1);
        for (const r of routes) expect(cleanByRoute.has(r)).toBe(false);
        expect(rows.filter((r) => r.status === 404).length / rows.length).toBeGreaterThan(0.75);
      } else {
        // Every other kind hits one route of the normal service.
        expect(routes.size).toBe(1);
        const route = [...routes][0] ?? "";
        expect(cleanOf(route).length).toBeGreaterThan(20);
        if (kind === "latency_spike") {
          const normal = median(cleanOf(route).map((r) => r.latency_ms));
          expect(median(rows.map((r) => r.latency_ms))).toBeGreaterThan(3 * normal);
        } else if (kind === "error_burst") {
          expect(rows.every((r) => [500, 502, 503].includes(r.status))).toBe(true);
        } else if (kind === "oversized") {
          const normal = median(cleanOf(route).filter((r) => r.status < 300).map((r) => r.bytes));
          expect(Math.min(...rows.map((r) => r.bytes))).toBeGreaterThan(10 * normal);
        } else {
          // surge: every request to the route while it lasts, the extra ones from many new
          // addresses, well above the route's own rate meanwhile.
          const ips = new Set(rows.map((r) => r.ip));
          expect([...ips].filter((ip) => !cleanIps.has(ip)).length).toBeGreaterThanOrEqual(10);
          const from = Math.min(...rows.map((r) => Date.parse(r.ts)));
          const to = Math.max(...rows.map((r) => Date.parse(r.ts)));
          const during = cleanOf(route).filter((r) => Date.parse(r.ts) >= from && Date.parse(r.ts) <= to);
          expect(rows.length).toBeGreaterThan(3 * during.length);
        }
      }
    }
    expect(seenKinds).toEqual(new Set(DEFAULT_INCIDENT_KINDS));
  });

  it("counts existing lines on a second append, including a last line without a newline", async () => {
    const out = join(dir, "twice.log");
    const truthPath = join(dir, "twice.truth");
    await writeFile(out, "first\nunterminated");
    const a = await writeSimulation({ count: 500, seed: 3, out, truth: truthPath, incidents: ["scanner"], profile: "classic" });
    const b = await writeSimulation({ count: 700, seed: 4, out, truth: truthPath, incidents: ["scanner"], profile: "classic" });
    expect(a.firstLine).toBe(3);
    expect(b.firstLine).toBe(3 + 500);
    const file = (await readFile(out, "utf8")).split("\n");
    expect(file.pop()).toBe("");
    expect(file.length).toBe(2 + 500 + 700);
    expect(file.slice(0, 2)).toEqual(["first", "unterminated"]);
    const truth = (await readFile(truthPath, "utf8"))
      .trim()
      .split("\n")
      .map((t) => JSON.parse(t) as { line: number; kind: string });
    expect(truth.length).toBe(a.labelled + b.labelled);
    expect(b.labelled).toBeGreaterThan(0);
    expect(truth.slice(a.labelled).every((t) => t.line >= b.firstLine)).toBe(true);
    // Every truth line points at a scanner request (an unknown route answered 4xx).
    for (const t of truth) {
      const row = parse(file[t.line - 1] ?? "");
      expect(t.kind).toBe("scanner");
      expect(row.status).toBeGreaterThanOrEqual(400);
      expect(row.status).toBeLessThan(500);
    }
  });

  it("stamps realtime lines with wall-clock time", async () => {
    const out = join(dir, "live.log");
    const before = Date.now();
    const s = await writeSimulation({ rate: 100, duration: 0.4, realtime: true, out, incidents: "none" });
    const after = Date.now();
    const ts = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((t) => Date.parse(parse(t).ts));
    expect(ts.length).toBe(s.lines);
    expect(ts.length).toBeGreaterThan(0);
    expect(ts.every((t) => t >= before && t <= after)).toBe(true);
  });
});

describe("simulate: formats", () => {
  const json = collect({ count: 3000, seed: 9 }).lines.map((l) => parse(l.text));

  it("writes the combined format with a trailing request time, field for field like the JSON", () => {
    const re =
      /^(\d{1,3}(?:\.\d{1,3}){3}) - - \[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d:\d\d:\d\d) \+0000\] "([A-Z]+) (\S+) HTTP\/1\.1" (\d{3}) (\d+) "-" "([^"]+)" (\d+\.\d{3})$/;
    const lines = collect({ count: 3000, seed: 9, format: "combined" }).lines;
    lines.forEach((l, i) => {
      const m = re.exec(l.text);
      const j = json[i];
      expect(m).not.toBeNull();
      if (m === null || j === undefined) return;
      expect([m[1], m[6], m[7], Number(m[8]), Number(m[9]), m[10]]).toEqual([
        j.ip, j.method, j.route, j.status, j.bytes, j.user_agent,
      ]);
      expect(Math.abs(Number(m[11]) - j.latency_ms / 1000)).toBeLessThanOrEqual(0.0005 + 1e-9);
      expect(`${m[4]}-${m[3]}-${m[2]}T${m[5]}`).toBe(
        `${j.ts.slice(0, 4)}-${new Date(j.ts).toUTCString().slice(8, 11)}-${j.ts.slice(8, 10)}T${j.ts.slice(11, 19)}`,
      );
    });
  });

  it("writes the seed format with a level that follows the status", () => {
    const re = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) (INFO|WARN|ERROR) ([A-Z]+) (\S+) (\d{3}) (\d+\.\d)ms$/;
    const lines = collect({ count: 3000, seed: 9, format: "seed" }).lines;
    lines.forEach((l, i) => {
      const m = re.exec(l.text);
      const j = json[i];
      expect(m).not.toBeNull();
      if (m === null || j === undefined) return;
      const status = Number(m[5]);
      expect(m[2]).toBe(status >= 500 ? "ERROR" : status >= 400 ? "WARN" : "INFO");
      expect([m[1], m[3], m[4], status, Number(m[6])]).toEqual([
        j.ts.replace("T", " ").replace("Z", ""), j.method, j.route, j.status, j.latency_ms,
      ]);
    });
  });
});

describe("simulate: the realistic profile", () => {
  const real = collect({ count: 60000, seed: 4, profile: "realistic" });
  const realClean = collect({ count: 60000, seed: 4, profile: "realistic", incidents: "none" });
  const rows = realClean.lines.map((l) => parse(l.text));
  const path = (r: JsonLine): string => r.route.split("?")[0] ?? "";
  const isBrowser = (r: JsonLine): boolean => r.user_agent.startsWith("Mozilla/5.0 (") && !/compatible|bot/i.test(r.user_agent);
  const byIp = groupBy(rows, (r) => r.ip);

  it("is deterministic per seed, valid JSON lines, and the default profile", () => {
    const a = collect({ count: 5000, seed: 8, profile: "realistic" }).lines.map((l) => l.text);
    expect(collect({ count: 5000, seed: 8, profile: "realistic" }).lines.map((l) => l.text)).toEqual(a);
    const c = collect({ count: 5000, seed: 9, profile: "realistic" }).lines.map((l) => l.text);
    expect(a.filter((t, i) => t === c[i]).length).toBeLessThan(50);
    expect(badJsonLines(real.lines)).toEqual([]);
    // Another seed is other visitors on the same site: the same assets, posts and crawlers.
    const other = collect({ count: 20000, seed: 77, profile: "realistic" }).lines.map((l) => parse(l.text));
    const scripts = (rs: JsonLine[]): Set<string> => new Set(rs.filter((r) => r.route.startsWith("/static/js/app.")).map((r) => r.route));
    expect(scripts(other)).toEqual(scripts(rows));
    const bots = (rs: JsonLine[]): Set<string> => new Set(rs.filter((r) => r.user_agent.includes("Googlebot")).map((r) => r.ip));
    expect(bots(other)).toEqual(bots(rows));
    const posts = new Set(rows.filter((r) => r.route.startsWith("/blog/20")).map((r) => r.route));
    const otherPosts = other.filter((r) => r.route.startsWith("/blog/20"));
    expect(otherPosts.filter((r) => posts.has(r.route)).length).toBeGreaterThan(0.8 * otherPosts.length);
    expect([...simulate({ count: 3000, seed: 5 })]).toEqual(collect({ count: 3000, seed: 5, profile: "realistic" }).lines);
  });

  it("has a long tail: thousands of distinct paths, most seen once, dated posts, Zipf-popular products", () => {
    const counts = groupBy(rows, (r) => r.route);
    expect(counts.size).toBeGreaterThan(5000);
    expect([...counts.values()].filter((g) => g.length === 1).length).toBeGreaterThan(counts.size / 3);
    expect(rows.some((r) => /^\/blog\/20\d\d\/\d\d\/\d\d\/[a-z0-9-]+$/.test(r.route))).toBe(true);
    expect(rows.some((r) => /^\/docs\/[a-z-]+\/[a-z-]+$/.test(r.route))).toBe(true);
    expect(rows.some((r) => /^\/files\/[a-z0-9-]+\/docs\/man\/[a-z0-9.-]+\.html$/.test(r.route))).toBe(true);
    const products = [...groupBy(rows.filter((r) => /^\/products\/\d+-[a-z0-9-]+$/.test(r.route)), (r) => r.route).values()]
      .map((g) => g.length).sort((a, b) => b - a);
    expect(products.length).toBeGreaterThan(500);
    // A static or cached page is the same file every time: one size per path.
    const staticPages = rows.filter((r) => r.status === 200 && /^\/(blog\/20|docs\/|files\/)/.test(r.route));
    expect(staticPages.length).toBeGreaterThan(1000);
    for (const g of groupBy(staticPages, (r) => r.route).values()) expect(new Set(g.map((r) => r.bytes)).size).toBe(1);
    // Blog slugs are unique, dates or not.
    const posts = new Set(rows.filter((r) => /^\/blog\/20/.test(r.route)).map((r) => r.route));
    expect(new Set([...posts].map((p) => p.split("/").pop())).size).toBe(posts.size);
    expect(products[0]).toBeGreaterThan(10 * (products[Math.floor(products.length / 2)] ?? 0));
  });

  it("loads static files (hashed names, 304s) right after a page view of the same client", () => {
    const statics = rows.filter((r) => /^\/static\/(js|css)\/[a-z-]+\.[0-9a-f]{8}\.(js|css)$/.test(r.route));
    expect(statics.length).toBeGreaterThan(1000);
    for (const ext of [".woff2", ".webp", ".svg", "/favicon.ico"]) expect(rows.some((r) => path(r).endsWith(ext))).toBe(true);
    expect(rows.filter((r) => /^\/(img|static|fonts)\//.test(r.route) && r.status === 304).length).toBeGreaterThan(100);
    // Every script or style a browser fetches follows one of its page views by at most a few seconds.
    const lastPage = new Map<string, number>();
    const orphans: JsonLine[] = [];
    for (const r of rows) {
      if (!isBrowser(r)) continue;
      const key = `${r.ip} ${r.user_agent}`;
      if (!/^\/(static|img|fonts|api)\/|\.(ico|webmanifest|png)$/.test(path(r))) lastPage.set(key, Date.parse(r.ts));
      else if (/^\/static\//.test(r.route) && !(Date.parse(r.ts) - (lastPage.get(key) ?? -Infinity) < 5000)) orphans.push(r);
    }
    expect(orphans).toEqual([]);
  });

  it("has crawlers walking distinct pages at a steady pace, steady API clients, a NAT, monitors", () => {
    const googlebot = rows.filter((r) => r.user_agent.includes("Googlebot"));
    for (const g of groupBy(googlebot, (r) => r.ip).values()) {
      expect(new Set(g.map((r) => r.route)).size).toBeGreaterThan(0.9 * g.length);
    }
    expect(googlebot.some((r) => r.route === "/robots.txt")).toBe(true);
    expect(rows.some((r) => r.user_agent.includes("bingbot"))).toBe(true);
    // One crawler address: gaps far more regular than a Poisson stream's (coefficient of variation 1).
    const one = byIp.get(googlebot[0]?.ip ?? "") ?? [];
    const gaps = one.slice(1).map((r, i) => Date.parse(r.ts) - Date.parse(one[i]?.ts ?? ""));
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    expect(gaps.length).toBeGreaterThan(100);
    expect(sd / mean).toBeLessThan(0.4);
    // API integrations: busy, few routes.
    const sync = rows.filter((r) => r.user_agent.startsWith("inventory-sync/"));
    expect(new Set(sync.map((r) => r.ip)).size).toBe(1);
    expect(new Set(sync.map((r) => `${r.method} ${path(r)}`)).size).toBeLessThanOrEqual(2);
    expect(sync.length).toBeGreaterThan(Math.max(...[...byIp.values()].filter((g) => g.every(isBrowser)).map((g) => g.length)) / 2);
    // Shared NAT: one address, many browsers.
    const uas = [...byIp.values()].map((g) => new Set(g.map((r) => r.user_agent)).size);
    expect(Math.max(...uas)).toBeGreaterThanOrEqual(8);
    expect(rows.filter((r) => r.route === "/health").length).toBeGreaterThan(100);
    expect(rows.some((r) => r.method === "HEAD" && r.user_agent.includes("UptimeRobot"))).toBe(true);
  });

  it("has everyday noise: mistyped passwords then success, one-off probes, stale links, 499 and 502", () => {
    const logins = rows.filter((r) => r.method === "POST" && r.route === "/login");
    const failed = new Set(logins.filter((r) => r.status === 401).map((r) => r.ip));
    expect(failed.size).toBeGreaterThan(3);
    // People who mistype get in a few tries later; nobody fails more than twice in a row.
    for (const ip of failed) {
      const mine = logins.filter((r) => r.ip === ip).map((r) => r.status);
      expect(mine).toContain(302);
      expect(mine.join(",")).not.toMatch(/401,401,401/);
    }
    const probes = rows.filter((r) => ["/wp-login.php", "/.env", "/xmlrpc.php", "/apple-touch-icon.png"].includes(r.route) && !isBrowser(r));
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expect((byIp.get(p.ip) ?? []).length).toBeLessThanOrEqual(2);
    expect(rows.filter((r) => r.status === 404 && /bot/i.test(r.user_agent)).length).toBeGreaterThan(10);
    expect(rows.some((r) => r.status === 499)).toBe(true);
    const errors = rows.filter((r) => r.status >= 500).length / rows.length;
    expect(errors).toBeGreaterThan(0);
    expect(errors).toBeLessThan(0.005);
    const ok = rows.filter((r) => r.status < 400).length / rows.length;
    expect(ok).toBeGreaterThan(0.95);
  });

  it("keeps normal traffic going around every kind of incident", () => {
    const labelled = real.lines.filter((l) => l.kind !== null);
    expect(new Set(labelled.map((l) => l.kind))).toEqual(new Set(DEFAULT_INCIDENT_KINDS));
    const r = aroundIncidents(real.lines, realClean.lines);
    expect(r.mismatched).toEqual([]);
    expect(r.altered).toBeGreaterThan(0);
    const all = collect({ count: 60000, seed: 4, profile: "realistic", incidents: "all" }).lines;
    expect(aroundIncidents(all, realClean.lines).mismatched).toEqual([]);
    const spans = [...groupBy(all.filter((l) => l.incident !== null), (l) => String(l.incident)).values()]
      .map((g) => [g[0]?.ts ?? NaN, g[g.length - 1]?.ts ?? NaN] as const).sort((a, b) => a[0] - b[0]);
    expect(spans.length).toBe(INCIDENT_KINDS.length);
    spans.forEach(([first, last], i) => {
      expect(last - first).toBeLessThanOrEqual(90000);
      expect(first).toBeGreaterThan(spans[i - 1]?.[1] ?? -Infinity);
    });
    const brute = all.filter((l) => l.kind === "brute_force").map((l) => parse(l.text));
    expect(brute.length).toBeGreaterThan(120);
    expect(new Set(brute.map((b) => b.ip)).size).toBe(1);
    expect(["POST /login", "POST /api/login"]).toContain(`${brute[0]?.method} ${brute[0]?.route}`);
    expect(brute.every((b) => b.status === 401 || b.status === 403)).toBe(true);
  });

  it("covers the duration at about the rate in rate mode, and writes referers in the combined format", () => {
    const start = Date.UTC(2026, 10, 24, 12);
    const { lines } = collect({ rate: 20, duration: 300, start, incidents: "none", profile: "realistic" });
    expect(lines.every((l) => l.ts >= start && l.ts < start + 300000)).toBe(true);
    expect(lines.length).toBeGreaterThan(3000);
    expect(lines.length).toBeLessThan(12000);
    const json = collect({ count: 3000, seed: 9, profile: "realistic" }).lines.map((l) => parse(l.text));
    const combined = collect({ count: 3000, seed: 9, profile: "realistic", format: "combined" }).lines;
    const re = /^(\S+) - - \[[^\]]+\] "([A-Z]+) (\S+) HTTP\/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]+)" \d+\.\d{3}$/;
    combined.forEach((l, i) => {
      const m = re.exec(l.text);
      const j = json[i];
      expect(m).not.toBeNull();
      if (m === null || j === undefined) return;
      expect([m[1], m[2], m[3], Number(m[4]), Number(m[5]), m[7]]).toEqual([j.ip, j.method, j.route, j.status, j.bytes, j.user_agent]);
    });
    const referers = combined.map((l) => re.exec(l.text)?.[6] ?? "");
    expect(referers.filter((r) => r.startsWith("https://www.shop.example/")).length).toBeGreaterThan(300);
    const seed = collect({ count: 3000, seed: 9, profile: "realistic", format: "seed" }).lines;
    expect(seed.every((l, i) => l.text.includes(` ${json[i]?.method} ${json[i]?.route} ${json[i]?.status} `))).toBe(true);
  });
});

describe("simulate: option errors", () => {
  const cases: [SimulateOptions & { realtime?: boolean }, RegExp][] = [
    [{ count: 0 }, /^count must be an integer in \[1, 1e9\], got 0$/],
    [{ count: 1.5 }, /count .*got 1\.5/],
    [{ rate: -3 }, /^rate must be a number in \(0, 1e6\], got -3$/],
    [{ rate: Number.NaN }, /rate .*got NaN/],
    [{ duration: 0 }, /^duration must be .*got 0$/],
    [{ count: 10, rate: 5 }, /^count cannot be combined with rate\/duration/],
    [{ seed: 0.5 }, /^seed must be a safe integer, got 0\.5$/],
    [{ incidents: ["scanner", "meteor"] }, /^incidents must be .*got "meteor"$/],
    [{ incidents: "bogus" }, /^incidents must be .*got "bogus"$/],
    [{ start: "yesterday" }, /^start must be .*got "yesterday"$/],
    [{ format: "xml" as "json" }, /^format must be one of json, combined, seed; got "xml"$/],
    [{ profile: "busy" as "classic" }, /^profile must be one of classic, realistic; got "busy"$/],
  ];
  it.each(cases)("rejects %o", (opts, message) => {
    // Validation is eager: the error comes from the call, not the first next().
    expect(() => simulate(opts)).toThrow(RangeError);
    expect(() => simulate(opts)).toThrow(message);
  });

  it("rejects realtime outside rate mode, and bad options in writeSimulation before writing", async () => {
    await expect(writeSimulation({ count: 10, realtime: true, out: join(dir, "never.log") })).rejects.toThrow(
      /^realtime needs rate mode/,
    );
    await expect(writeSimulation({ rate: 0, out: join(dir, "never.log") })).rejects.toThrow(RangeError);
    await expect(readFile(join(dir, "never.log"))).rejects.toThrow(/ENOENT/);
  });

  it("accepts epoch milliseconds and ISO dates for start", () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5);
    const a = collect({ count: 5, start: ms }).lines.map((l) => l.text);
    const b = collect({ count: 5, start: "2026-01-02T03:04:05Z" }).lines.map((l) => l.text);
    const c = collect({ count: 5, start: String(ms) }).lines.map((l) => l.text);
    expect(a).toEqual(b);
    expect(a).toEqual(c);
    expect(parse(a[0] ?? "").ts.startsWith("2026-01-02T03:04:0")).toBe(true);
  });
});
