/**
 * What real sites do that the simulator's tidy API did not: long-tail pages, static
 * files, crawlers, a proxy address on every line, logs without timestamps; and the
 * client-level incidents (scanner, brute force, a flooding client). A small seeded
 * site written here line by line, so each behaviour is tested on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { countAlert, Detector, zeroCounts, type Alert } from "../src/streams/http/detect.js";
import { FeatureExtractor, LINE_CLOCK_RATE, type FeatureSpec } from "../src/streams/http/features.js";
import { Rng } from "../src/forest/random.js";
import { emptyRecord } from "../src/streams/http/record.js";
import { detectFlat } from "./helpers.js";
import { pipelineOf, trainFromLines } from "../src/streams/http/train.js";

const T0 = Date.UTC(2026, 10, 25, 8);

interface Req {
  ms: number; // line time
  ip: string;
  method: string;
  path: string;
  status: number;
  latency: number;
  bytes: number;
}

/** Normal traffic of a small site: pages, a blog with a long tail of slugs, static files, a health check. */
function site(seed: number, seconds: number, from = T0, slugOffset = 0): Req[] {
  const rng = new Rng(seed);
  const out: Req[] = [];
  const clients = Array.from({ length: 120 }, (_, i) => `10.0.${i >> 4}.${(i * 7) % 250}`);
  const pages = ["/", "/about", "/pricing", "/docs/install", "/docs/api", "/login"];
  const words = ["quiet", "river", "stone", "cloud", "paper", "lamp", "field", "north", "amber", "glass", "orbit", "maple", "tiger", "velvet", "harbor", "ember", "frost", "cedar", "lunar", "meadow"];
  const slug = (k: number) => `${words[k % 20]}-${words[Math.floor(k / 20) % 20]}-${words[Math.floor(k / 400) % 20]}`;
  for (let t = 0; t < seconds * 1000; t += 80 + rng.int(80)) {
    const ms = from + t;
    const ip = clients[rng.int(clients.length)];
    const u = rng.next();
    const lat = (mid: number) => Math.round(mid * Math.exp(0.4 * rng.normal()) * 10) / 10;
    if (u < 0.05) {
      out.push({ ms, ip: "10.9.9.9", method: "GET", path: "/health", status: 200, latency: lat(2), bytes: 15 });
    } else if (u < 0.35) {
      const page = pages[rng.int(pages.length)];
      out.push({ ms, ip, method: "GET", path: page, status: 200, latency: lat(30), bytes: Math.round(8000 * Math.exp(0.3 * rng.normal())) });
    } else if (u < 0.55) {
      // A long tail: most slugs are read once or twice.
      const k = slugOffset + Math.floor(2000 * rng.next() ** 2);
      out.push({ ms, ip, method: "GET", path: `/blog/${slug(k)}`, status: 200, latency: lat(40), bytes: Math.round(12000 * Math.exp(0.3 * rng.normal())) });
    } else if (u < 0.85) {
      const ext = ["js", "css", "png", "svg"][rng.int(4)];
      const status = rng.next() < 0.3 ? 304 : 200;
      out.push({ ms, ip, method: "GET", path: `/static/${rng.int(50)}/asset-${rng.int(30)}.${ext}`, status, latency: lat(3), bytes: status === 304 ? 0 : Math.round(20000 * Math.exp(0.5 * rng.normal())) });
    } else if (u < 0.93) {
      out.push({ ms, ip, method: "GET", path: `/api/items/${rng.int(5000)}`, status: rng.next() < 0.02 ? 404 : 200, latency: lat(15), bytes: Math.round(900 * Math.exp(0.2 * rng.normal())) });
    } else {
      // Logins: a few typos (401), then success.
      out.push({ ms, ip, method: "POST", path: "/login", status: rng.next() < 0.05 ? 401 : 200, latency: lat(60), bytes: 120 });
    }
  }
  return out;
}

function json(r: Req, withTs = true): string {
  const o: Record<string, unknown> = withTs ? { ts: new Date(r.ms).toISOString() } : {};
  return JSON.stringify({ ...o, method: r.method, route: r.path, status: r.status, latency_ms: r.latency, bytes: r.bytes, ip: r.ip });
}

/** Merge extra requests into a stream by time. */
function merged(base: Req[], extra: Req[]): Req[] {
  return [...base, ...extra].sort((a, b) => a.ms - b.ms);
}

function detect(forest: Parameters<typeof pipelineOf>[0], lines: string[]): { alerts: Alert[]; det: Detector } {
  const det = new Detector(forest);
  const alerts: Alert[] = [];
  for (let i = 0; i < lines.length; i += 1000) det.processBatch("t", lines.slice(i, i + 1000), i + 1, (a) => alerts.push(a));
  return { alerts, det };
}

const train = site(1, 1800);
const trained = trainFromLines(train.map((r) => json(r)), { forest: { seed: 1 } });
const spec = pipelineOf(trained.forest).spec;
const START = T0 + 3_600_000;

function burst(ip: string, at: number, n: number, every: number, make: (i: number) => Pick<Req, "method" | "path" | "status">): Req[] {
  return Array.from({ length: n }, (_, i) => ({ ms: at + i * every, ip, latency: 4, bytes: 200, ...make(i) }));
}

describe("routes that generalise", () => {
  it("pools rare paths under learned prefix routes and static files by extension", () => {
    const keys = Object.keys(spec.routes);
    expect(keys).toContain("GET /blog/*");
    expect(keys).toContain("GET /*.png");
    expect(keys.filter((k) => k.startsWith("GET /blog/")).length).toBeLessThan(100);
    const fx = new FeatureExtractor(spec as FeatureSpec);
    const blog = fx.lookupRoute("GET", "/blog/a-post-never-seen");
    expect(fx.isPrefix(blog)).toBe(true);
    expect(fx.lookupRoute("GET", "/static/new/folder/x.png")).toBe(fx.routeId("GET /*.png"));
    expect(fx.isPrefix(fx.lookupRoute("GET", "/pricing"))).toBe(false);
  });

  it("raises no alert on normal traffic full of pages never seen in training", () => {
    const later = site(2, 1200, START, 2000); // every slug is new
    const { alerts } = detect(trained.forest, later.map((r) => json(r)));
    expect(alerts.map((a) => `${a.rule} ${a.record.route}`)).toEqual([]);
  });

  it("learns no route from a probe in training (one client, mostly failing), and warns", () => {
    const probe = burst("66.6.6.6", T0 + 600_000, 40, 200, (i) => ({ method: "GET", path: i % 2 ? "/wp-login.php" : "/.env", status: 404 }));
    const t = trainFromLines(merged(train, probe).map((r) => json(r)), { forest: { seed: 1, trees: 20 } });
    const keys = Object.keys(pipelineOf(t.forest).spec.routes);
    expect(keys).not.toContain("GET /wp-login.php");
    expect(t.summary.warnings.join("\n")).toMatch(/only from one client and mostly failing/);
  });
});

describe("client-level incidents", () => {
  it("a scanner and a brute force in the training log are said, and set no bar for the next ones", () => {
    const scan = burst("66.6.6.1", T0 + 600_000, 150, 60, (i) => ({ method: "GET", path: `/old/${i}/x.php`, status: 404 }));
    const brute = burst("66.6.6.2", T0 + 900_000, 120, 100, () => ({ method: "POST", path: "/login", status: 401 }));
    const dirty = trainFromLines(merged(train, [...scan, ...brute]).map((r) => json(r)), { forest: { seed: 1 } });
    expect(dirty.summary.warnings.join("\n")).toMatch(/2 clients with 20\+ failed requests.*66\.6\.6\.1, 66\.6\.6\.2.*Left out of the bars/);
    const peaks = pipelineOf(dirty.forest).spec.clients;
    expect(peaks?.novelFailures).toBeLessThan(10);
    expect(peaks?.knownFailures).toBeLessThan(10);
    const later = merged(site(3, 600, START), [
      ...burst("203.0.113.9", START + 200_000, 150, 60, (i) => ({ method: "GET", path: `/probe/f${i}.php`, status: 404 })),
      ...burst("198.51.100.7", START + 400_000, 120, 100, () => ({ method: "POST", path: "/login", status: 401 })),
    ]);
    const rules = detect(dirty.forest, later.map((r) => json(r))).alerts.map((a) => a.rule);
    expect(rules).toContain("scanner");
    expect(rules).toContain("brute_force");
  });

  const base = site(3, 600, START);

  it("a scanner: one client with many failing paths never seen, one alert per cooldown, named scanner", () => {
    const scan = burst("203.0.113.9", START + 200_000, 150, 60, (i) => ({ method: "GET", path: `/probe/${["wp-admin", "phpmyadmin", "cgi-bin", ".git"][i % 4]}/f${i}.php`, status: 404 }));
    const { alerts } = detect(trained.forest, merged(base, scan).map((r) => json(r)));
    const mine = alerts.filter((a) => a.record.ip === "203.0.113.9");
    expect(mine.map((a) => a.rule)).toContain("scanner");
    // 150 lines in 9 s: grouped per client, so one alert (the cooldown holds the rest).
    expect(mine.filter((a) => a.rule === "scanner").length).toBe(1);
    const text = mine.find((a) => a.rule === "scanner")?.reasons?.map((r) => r.text).join("; ") ?? "";
    expect(text).toMatch(/client 203\.0\.113\.9 made \d+ requests in 30 s, \d+ failed/);
    expect(alerts.filter((a) => a.record.ip !== "203.0.113.9")).toEqual([]);
  });

  it("a brute-force login: one client collecting 401s on a known route", () => {
    const brute = burst("198.51.100.7", START + 300_000, 120, 100, () => ({ method: "POST", path: "/login", status: 401 }));
    const { alerts } = detect(trained.forest, merged(base, brute).map((r) => json(r)));
    const mine = alerts.filter((a) => a.record.ip === "198.51.100.7");
    expect(mine.map((a) => a.rule)).toContain("brute_force");
    expect(alerts.filter((a) => a.record.ip !== "198.51.100.7")).toEqual([]);
  });

  it("a client flooding: far more requests than any training client", () => {
    const peak = spec.clients?.requests ?? 0;
    expect(peak).toBeGreaterThan(0);
    const n = Math.max(120, 4 * peak);
    const flood = burst("192.0.2.50", START + 100_000, n, Math.floor(20_000 / n), () => ({ method: "GET", path: "/pricing", status: 200 }));
    const { alerts } = detect(trained.forest, merged(base, flood).map((r) => json(r)));
    expect(alerts.filter((a) => a.record.ip === "192.0.2.50").map((a) => a.rule)).toContain("client_flood");
  });
});

describe("sane floors and true reasons", () => {
  it("never calls a request under 50 ms slow, and never prints a negative typical range", () => {
    // /health at ~2 ms turns 9 ms for a minute: 4x its p99, but no one waits on 9 ms.
    const base = site(4, 600, START);
    const slowish = base.map((r) => (r.path === "/health" && r.ms > START + 200_000 && r.ms < START + 260_000 ? { ...r, latency: 9 } : r));
    const { alerts } = detect(trained.forest, slowish.map((r) => json(r)));
    expect(alerts.filter((a) => a.rule === "slow")).toEqual([]);
    const spike = base.map((r) => (r.path === "/pricing" && r.ms > START + 200_000 && r.ms < START + 260_000 ? { ...r, latency: 900 } : r));
    const caught = detect(trained.forest, spike.map((r) => json(r))).alerts;
    expect(caught.map((a) => a.rule)).toContain("slow");
    for (const a of [...alerts, ...caught]) for (const r of a.reasons ?? []) expect(r.text).not.toMatch(/typical -|[ (]-\d/);
  });

  it("an error burst alerts while it happens, and a lone 5xx after it does not", () => {
    const base = site(7, 600, START);
    const at = START + 200_000;
    const rng = new Rng(9);
    // /api/items answers 500 to 80% of its requests for 20 s; 15 s later (inside the 30 s window) one ordinary 500.
    const burst = base.map((r) => (r.path.startsWith("/api/items/") && r.ms >= at && r.ms < at + 20_000 && rng.next() < 0.8 ? { ...r, status: 500 } : r));
    const lone = burst.findIndex((r) => r.path.startsWith("/api/items/") && r.ms > at + 35_000);
    burst[lone] = { ...burst[lone], status: 500 };
    const { alerts } = detect(trained.forest, burst.map((r) => json(r)));
    const bursts = alerts.filter((a) => a.rule === "error_burst");
    expect(bursts.length).toBeGreaterThan(0);
    for (const a of bursts) expect(Date.parse(a.ts ?? "")).toBeLessThan(at + 20_000);
  });

  it("everything slow at once is one slow_everywhere alert, not a slow alert per route", () => {
    const base = site(8, 600, START);
    const at = START + 200_000;
    // The whole process stalls for 20 s: every request takes 20x longer.
    const stalled = base.map((r) => (r.ms >= at && r.ms < at + 20_000 ? { ...r, latency: r.latency * 20 + 60 } : r));
    const { alerts } = detect(trained.forest, stalled.map((r) => json(r)));
    expect(alerts.filter((a) => a.rule === "slow")).toEqual([]);
    expect(alerts.filter((a) => a.rule === "slow_everywhere").length).toBe(1);
  });

  it("counts alerts below severity 50 in their own band", () => {
    const c = zeroCounts();
    countAlert(c, "scanner", 44);
    countAlert(c, "slow", 50);
    expect(c.alerts_by_severity).toEqual({ "0-49": 1, "50-74": 1, "75-89": 0, "90-100": 0 });
  });
});

describe("never silent", () => {
  it("a log without timestamps: line order as the clock, with a warning at training and at detection", () => {
    const t = trainFromLines(train.map((r) => json(r, false)), { forest: { seed: 1 } });
    expect(t.summary.warnings.join("\n")).toMatch(/no usable timestamps/);
    expect(pipelineOf(t.forest).spec.clock).toBe("lines");
    const base = site(3, 600, START);
    const scan = burst("203.0.113.9", START + 200_000, 150, 60, (i) => ({ method: "GET", path: `/probe/f${i}.php`, status: 404 }));
    const lines = merged(base, scan).map((r) => json(r, false));
    const { alerts, det } = detect(t.forest, lines);
    const s = det.summary();
    expect(s.lines_without_timestamp).toBe(lines.length);
    // The warm-up is 10 s of the line clock: 10 x LINE_CLOCK_RATE lines, not the whole log.
    expect(s.suppressed.warmup).toBeLessThanOrEqual(10 * LINE_CLOCK_RATE);
    expect(s.warnings.join("\n")).toMatch(/without timestamps/);
    expect(alerts.map((a) => a.rule)).toContain("scanner");
    expect(alerts.every((a) => a.ts === null)).toBe(true);
  });

  it("a model with timestamps reading lines without: line order at the training rate, said in the summary", () => {
    const { det } = detect(trained.forest, site(5, 120, START).map((r) => json(r, false)));
    const s = det.summary();
    expect(s.lines_without_timestamp).toBe(s.lines_scored);
    expect(s.warnings.join("\n")).toMatch(/no usable timestamp: windows used line order/);
  });

  it("following a file whose lines have no timestamp: each line is timed by its arrival, said in the summary", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logforest-untimed-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "app.log");
    const lines = site(6, 60, START).map((r) => json(r, false));
    writeFileSync(file, `${lines.join("\n")}\n`);
    const { summary } = await detectFlat({ model: trained.forest, follow: [file], start: "beginning", durationSeconds: 1, out: null });
    expect(summary.lines_scored).toBe(lines.length);
    expect((summary.warnings ?? []).join("\n")).toMatch(/windows used the time each line was read/);
  });

  it("says what the training data leaves undetectable", () => {
    const proxy = train.map((r) => ({ ...r, ip: "127.0.0.1" }));
    const t = trainFromLines(proxy.map((r) => JSON.stringify({ ts: new Date(r.ms).toISOString(), method: r.method, route: r.path, status: r.status, ip: r.ip })), { forest: { seed: 1, trees: 10 } });
    const w = t.summary.warnings.join("\n");
    expect(w).toMatch(/no latency field: slow requests cannot be seen/);
    expect(w).toMatch(/no response size/);
    expect(w).toMatch(/same client address \(127\.0\.0\.1\)/);
    expect(trained.summary.warnings).toEqual([]);
  });
});

describe("latency units in combined logs", () => {
  const clf = (r: Req, tail: string) => {
    const d = new Date(r.ms);
    const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
    const p2 = (n: number) => String(n).padStart(2, "0");
    const t = `${p2(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`;
    return `${r.ip} - - [${t}] "${r.method} ${r.path} HTTP/1.1" ${r.status} ${r.bytes} "-" "Mozilla/5.0"${tail}`;
  };

  it("reads morgan's trailing response time as ms (guessed from the training lines)", () => {
    const lines = train.slice(0, 3000).map((r) => clf(r, ` ${(r.latency + 0.123).toFixed(3)}`));
    const t = trainFromLines(lines, { forest: { seed: 1, trees: 10 } });
    expect(t.summary.latencyUnit).toEqual({ unit: "ms", how: "guessed" });
    const b = pipelineOf(t.forest).spec.routes["GET /pricing"];
    // The pages take ~30 ms: read as ms, not as 30 s.
    expect(Math.expm1(b.latencyMid)).toBeGreaterThan(10);
    expect(Math.expm1(b.latencyMid)).toBeLessThan(100);
  });

  it("asks for --latency-unit when a trailing number cannot be told, and takes it when given", () => {
    // Integers, median below 1000 and rarely 0: integer ms, Apache %D of a fast server and %{ms}T look alike.
    const lines = train.slice(0, 3000).map((r) => clf(r, ` ${Math.round(r.latency) + 1}`));
    expect(() => trainFromLines(lines, { forest: { seed: 1, trees: 10 } })).toThrow(/--latency-unit ms\|s\|us/);
    const t = trainFromLines(lines, { forest: { seed: 1, trees: 10 }, latencyUnit: "ms" });
    expect(t.summary.latencyUnit).toEqual({ unit: "ms", how: "given" });
    expect(() => trainFromLines(lines, { latencyUnit: "min" as "ms" })).toThrow(/latencyUnit must be one of ms, s, us, got "min"/);
  });
});
