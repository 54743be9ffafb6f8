/**
 * A simulator of realistic HTTP application traffic with labelled incidents,
 * used to feed demos and to measure the detector against known ground truth.
 *
 * Two seeded random streams keep labels honest: the normal traffic (including
 * the health checker) draws only from `traffic`, everything an incident adds or
 * changes draws only from `chaos`. So the unlabelled lines of a run with incidents
 * are exactly the lines of the same seed without them: traffic goes on around
 * each incident, and only what an incident touched carries its label.
 */
import { open, stat } from "node:fs/promises";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Rng } from "./random.js";

/** The kinds of incident the simulator can inject. */
export type IncidentKind = "latency_spike" | "error_burst" | "scanner" | "oversized" | "surge";

/** Every incident kind, in a fixed order. */
export const INCIDENT_KINDS: readonly IncidentKind[] = ["latency_spike", "error_burst", "scanner", "oversized", "surge"];

/** Output line formats: JSON lines, Apache/nginx combined (+ request time), or the original plain style. */
export type SimFormat = "json" | "combined" | "seed";

/** Every output format. */
export const SIM_FORMATS: readonly SimFormat[] = ["json", "combined", "seed"];

/** Options of `simulate`; see `SIMULATE_DEFAULTS` for the defaults. */
export interface SimulateOptions {
  /** Number of lines to generate (count mode; the default mode). */
  count?: number;
  /** Mean lines per second at the start time (rate mode, with `duration`). */
  rate?: number;
  /** Simulated seconds to cover (rate mode). */
  duration?: number;
  /** Seed of every random choice. */
  seed?: number;
  /** "default" (every kind), "none", or a list of kinds (array or comma-separated string). */
  incidents?: string | readonly string[];
  /** Time of the first line: epoch milliseconds or an ISO 8601 date string. */
  start?: number | string;
  /** Line format. */
  format?: SimFormat;
}

/** Options of `writeSimulation`: the generator's plus where and how to write. */
export interface WriteSimulationOptions extends SimulateOptions {
  /** File to append the log to; stdout when absent. */
  out?: string;
  /** File for the ground truth, one JSON line per labelled log line. */
  truth?: string;
  /** Pace lines in wall-clock time (rate mode only); `start` defaults to now. */
  realtime?: boolean;
}

/** Every default in one place. */
export const SIMULATE_DEFAULTS = {
  count: 20000,
  rate: 50,
  duration: 60,
  seed: 1,
  incidents: "default",
  // A Tuesday morning: 20k lines cover the ramp from night into the working day.
  start: Date.UTC(2026, 10, 24, 6, 0, 0),
  format: "json",
  realtime: false,
} as const;

/** One generated line; `kind`/`incident` are set only on lines an incident injected or altered. */
export interface SimLine {
  /** The log line, without the newline. */
  text: string;
  /** Its timestamp, epoch milliseconds. */
  ts: number;
  /** Kind of the incident that produced or changed it, or null for normal traffic. */
  kind: IncidentKind | null;
  /** Id (1, 2, ...) of that incident, or null. */
  incident: number | null;
}

/** What happened in one incident (the generator's return value). */
export interface SimIncident {
  /** 1-based incident id. */
  id: number;
  /** Its kind. */
  kind: IncidentKind;
  /** Start, epoch ms. */
  start: number;
  /** Planned end, epoch ms (the stream may stop earlier). */
  end: number;
  /** Labelled lines it produced. */
  lines: number;
  /** Human-readable target and strength, e.g. "GET /api/search latency x12.3". */
  detail: string;
}

/** What `writeSimulation` wrote. */
export interface Summary {
  /** Log lines written by this run. */
  lines: number;
  /** 1-based line number (in the output) of the first line written. */
  firstLine: number;
  /** How many of them carry an incident label. */
  labelled: number;
  /** Incidents that started, in order. */
  incidents: SimIncident[];
  /** The log file, or null for stdout. */
  out: string | null;
  /** The truth file, or null. */
  truth: string | null;
  /** False when the reader went away (EPIPE) before the end. */
  complete: boolean;
}

/** Options after validation, with defaults applied. */
export interface ResolvedSimulateOptions {
  mode: "count" | "rate";
  count: number;
  rate: number;
  duration: number;
  seed: number;
  kinds: IncidentKind[];
  start: number;
  startGiven: boolean;
  format: SimFormat;
  out: string | null;
  truth: string | null;
  realtime: boolean;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function parseStart(v: number | string): number {
  let ms = Number.NaN;
  if (typeof v === "number") ms = v;
  else if (/^-?\d+$/.test(v.trim())) ms = Number(v.trim());
  else if (/^\d{4}-\d\d-\d\d/.test(v.trim())) ms = Date.parse(v.trim());
  if (!Number.isInteger(ms) || Math.abs(ms) > 8.64e15) {
    throw new RangeError(`start must be epoch milliseconds or an ISO 8601 date, got ${show(v)}`);
  }
  return ms;
}

function parseKinds(v: string | readonly string[]): IncidentKind[] {
  const list = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : [...v];
  if (typeof v === "string" && (v.trim() === "default" || v.trim() === "all")) return [...INCIDENT_KINDS];
  if (typeof v === "string" && v.trim() === "none") return [];
  const kinds: IncidentKind[] = [];
  for (const k of list) {
    const kind = INCIDENT_KINDS.find((x) => x === k);
    if (kind === undefined) {
      throw new RangeError(
        `incidents must be "default", "none" or a list of ${INCIDENT_KINDS.join(", ")}; got ${show(k)}`,
      );
    }
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

/** Validate every option (RangeError naming the option, its range and the value) and apply defaults. */
export function resolveSimulateOptions(opts: WriteSimulationOptions = {}): ResolvedSimulateOptions {
  const d = SIMULATE_DEFAULTS;
  const rateMode = opts.rate !== undefined || opts.duration !== undefined;
  if (rateMode && opts.count !== undefined) {
    throw new RangeError(
      `count cannot be combined with rate/duration (count mode or rate mode), got count=${show(opts.count)}, ` +
        `rate=${show(opts.rate)}, duration=${show(opts.duration)}`,
    );
  }
  const count = opts.count ?? d.count;
  if (!Number.isInteger(count) || count < 1 || count > 1e9) {
    throw new RangeError(`count must be an integer in [1, 1e9], got ${show(count)}`);
  }
  const rate = opts.rate ?? d.rate;
  if (typeof rate !== "number" || !(rate > 0 && rate <= 1e6)) {
    throw new RangeError(`rate must be a number in (0, 1e6], got ${show(rate)}`);
  }
  const duration = opts.duration ?? d.duration;
  if (typeof duration !== "number" || !(duration > 0 && duration <= 31536000)) {
    throw new RangeError(`duration must be a number of seconds in (0, 31536000], got ${show(duration)}`);
  }
  const seed = opts.seed ?? d.seed;
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${show(seed)}`);
  }
  const kinds = parseKinds(opts.incidents ?? d.incidents);
  const start = opts.start === undefined ? d.start : parseStart(opts.start);
  const format = opts.format ?? d.format;
  if (!SIM_FORMATS.includes(format)) {
    throw new RangeError(`format must be one of ${SIM_FORMATS.join(", ")}; got ${show(format)}`);
  }
  for (const name of ["out", "truth"] as const) {
    const v = opts[name];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new RangeError(`${name} must be a non-empty file path, got ${show(v)}`);
    }
  }
  const realtime = opts.realtime ?? d.realtime;
  if (realtime && !rateMode) {
    throw new RangeError(`realtime needs rate mode (rate/duration), got count mode with count=${show(count)}`);
  }
  return {
    mode: rateMode ? "rate" : "count",
    count,
    rate,
    duration,
    seed,
    kinds,
    start,
    startGiven: opts.start !== undefined,
    format,
    out: opts.out ?? null,
    truth: opts.truth ?? null,
    realtime,
  };
}

// ---------------------------------------------------------------------------
// The service model

type ClientKind = "browser" | "api" | "bot";

interface RouteSpec {
  readonly method: string;
  readonly template: string;
  /** Relative request weight for each kind of client (0 = never). */
  readonly weight: Readonly<Record<ClientKind, number>>;
  /** Median latency (ms) and log-normal spread. */
  readonly latencyMs: number;
  readonly latencySigma: number;
  /** Median 2xx body size and log-normal spread (0 = a fixed-size file). */
  readonly bytes: number;
  readonly bytesSigma: number;
  /** [status, weight] pairs. */
  readonly statuses: readonly (readonly [number, number])[];
  readonly path: (rng: Rng, catalogue: readonly number[]) => string;
}

const CATEGORIES = ["shoes", "jackets", "electronics", "kitchen", "books", "toys", "garden", "sports", "beauty", "office"];
const SEARCH_TERMS = [
  "running shoes", "usb-c cable", "coffee grinder", "desk lamp", "wireless earbuds", "rain jacket",
  "yoga mat", "laptop stand", "water bottle", "phone case", "backpack", "air fryer", "hdmi", "socks",
  "lego", "standing desk", "monitor 27", "kettle", "sunglasses", "gift card", "dog bed", "notebook",
  "mechanical keyboard", "hiking boots", "tent", "bluetooth speaker", "iphone charger", "face cream",
];

function templated(prefix: string) {
  return (rng: Rng, catalogue: readonly number[]): string => {
    // Popularity is skewed: a few products get most views.
    const i = Math.floor(catalogue.length * rng.next() ** 2.5);
    return `${prefix}${catalogue[i] ?? 1}`;
  };
}

const ROUTES: readonly RouteSpec[] = [
  {
    method: "GET", template: "/", weight: { browser: 6, api: 0, bot: 3 },
    latencyMs: 18, latencySigma: 0.35, bytes: 14820, bytesSigma: 0.04,
    statuses: [[200, 96], [304, 4]], path: () => "/",
  },
  {
    method: "GET", template: "/static/app.js", weight: { browser: 6, api: 0, bot: 0.5 },
    latencyMs: 1.8, latencySigma: 0.4, bytes: 184312, bytesSigma: 0,
    statuses: [[200, 55], [304, 45]], path: () => "/static/app.js",
  },
  {
    method: "GET", template: "/static/styles.css", weight: { browser: 5, api: 0, bot: 0.5 },
    latencyMs: 1.5, latencySigma: 0.4, bytes: 41877, bytesSigma: 0,
    statuses: [[200, 55], [304, 45]], path: () => "/static/styles.css",
  },
  {
    method: "GET", template: "/favicon.ico", weight: { browser: 2, api: 0, bot: 0.3 },
    latencyMs: 0.9, latencySigma: 0.3, bytes: 5430, bytesSigma: 0,
    statuses: [[200, 60], [304, 40]], path: () => "/favicon.ico",
  },
  {
    method: "GET", template: "/api/products", weight: { browser: 10, api: 10, bot: 4 },
    latencyMs: 38, latencySigma: 0.45, bytes: 9200, bytesSigma: 0.35,
    statuses: [[200, 99.2], [400, 0.5], [500, 0.2], [503, 0.1]],
    path: (rng) => {
      const u = rng.next();
      if (u < 0.5) return "/api/products";
      const cat = rng.pick(CATEGORIES);
      return u < 0.8 ? `/api/products?category=${cat}` : `/api/products?category=${cat}&page=${2 + rng.int(8)}`;
    },
  },
  {
    method: "GET", template: "/api/products/:id", weight: { browser: 16, api: 12, bot: 6 },
    latencyMs: 16, latencySigma: 0.5, bytes: 2300, bytesSigma: 0.3,
    statuses: [[200, 96.5], [404, 3.3], [500, 0.15], [502, 0.05]], path: templated("/api/products/"),
  },
  {
    method: "GET", template: "/api/search", weight: { browser: 8, api: 3, bot: 0 },
    latencyMs: 80, latencySigma: 0.6, bytes: 6400, bytesSigma: 0.7,
    statuses: [[200, 98.3], [400, 1.2], [500, 0.3], [503, 0.2]],
    path: (rng) => {
      const q = rng.pick(SEARCH_TERMS).replace(/ /g, "+");
      return rng.next() < 0.2 ? `/api/search?q=${q}&page=${2 + rng.int(4)}` : `/api/search?q=${q}`;
    },
  },
  {
    method: "GET", template: "/api/cart", weight: { browser: 5, api: 2, bot: 0 },
    latencyMs: 22, latencySigma: 0.4, bytes: 1400, bytesSigma: 0.5,
    statuses: [[200, 96], [401, 3.8], [500, 0.2]], path: () => "/api/cart",
  },
  {
    method: "POST", template: "/api/cart", weight: { browser: 4, api: 2, bot: 0 },
    latencyMs: 45, latencySigma: 0.45, bytes: 640, bytesSigma: 0.2,
    statuses: [[201, 93], [400, 3], [401, 2], [409, 1.8], [500, 0.2]], path: () => "/api/cart",
  },
  {
    method: "POST", template: "/checkout", weight: { browser: 1.5, api: 0.5, bot: 0 },
    latencyMs: 250, latencySigma: 0.45, bytes: 980, bytesSigma: 0.15,
    statuses: [[200, 93], [400, 2], [402, 3.5], [409, 1], [500, 0.4], [502, 0.1]], path: () => "/checkout",
  },
  {
    // Password hashing makes login slow and steady; mistyped passwords make many 401s.
    method: "POST", template: "/api/login", weight: { browser: 2.5, api: 2, bot: 0 },
    latencyMs: 140, latencySigma: 0.25, bytes: 380, bytesSigma: 0.1,
    statuses: [[200, 79], [401, 19], [429, 1.5], [500, 0.5]], path: () => "/api/login",
  },
  {
    method: "GET", template: "/api/orders/:id", weight: { browser: 3, api: 4, bot: 0 },
    latencyMs: 35, latencySigma: 0.5, bytes: 3100, bytesSigma: 0.4,
    statuses: [[200, 94], [401, 1.3], [403, 1.5], [404, 3], [500, 0.2]],
    path: (rng) => `/api/orders/${10000 + rng.int(50000)}`,
  },
  {
    method: "GET", template: "/api/users/me", weight: { browser: 4, api: 3, bot: 0 },
    latencyMs: 12, latencySigma: 0.4, bytes: 720, bytesSigma: 0.1,
    statuses: [[200, 93], [401, 6.8], [500, 0.2]], path: () => "/api/users/me",
  },
  {
    method: "GET", template: "/robots.txt", weight: { browser: 0, api: 0, bot: 1.5 },
    latencyMs: 0.8, latencySigma: 0.3, bytes: 68, bytesSigma: 0,
    statuses: [[200, 100]], path: () => "/robots.txt",
  },
];

// The health checker is periodic, not Poisson, and never sees the daily curve.
const HEALTH = {
  intervalMs: 10000, ip: "10.244.0.1", ua: "kube-probe/1.31", latencyMs: 2, latencySigma: 0.3, bytes: 15,
} as const;

const BROWSER_UAS: readonly (readonly [string, number])[] = [
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 12],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 8],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 7],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 6],
  ["Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 16],
  ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36", 11],
  ["Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", 4],
  ["Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 3],
];
const API_UAS: readonly (readonly [string, number])[] = [
  ["ShopApp/5.3.1 (iPhone; iOS 18.1; Scale/3.00)", 10],
  ["ShopApp/5.3.0 (Android 14) okhttp/4.12.0", 8],
  ["curl/8.5.0", 3],
  ["python-requests/2.32.3", 3],
  ["Go-http-client/2.0", 1],
];
const BOT_UAS: readonly (readonly [string, number])[] = [
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 5],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 2],
  ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 1],
];
const SCANNER_UAS = [
  "Mozilla/5.0 zgrab/0.x",
  "Nikto/2.5.0",
  "sqlmap/1.8.11#stable (https://sqlmap.org)",
  "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
  "gobuster/3.6",
];
const SCANNER_PATHS = [
  "/wp-admin/", "/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/index.php", "/admin.php", "/xmlrpc.php",
  "/config.json", "/.aws/credentials", "/server-status", "/actuator/env", "/cgi-bin/luci", "/.DS_Store",
  "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/boaform/admin/formLogin", "/HNAP1/", "/backup.zip",
  "/solr/admin/info/system", "/db.sql", "/owa/auth/logon.aspx", "/login.action", "/console/", "/.svn/entries",
  "/_ignition/execute-solution", "/wp-content/plugins/revslider/readme.txt", "/api/v1/pods", "/telescope/requests",
];
const SCANNER_DIRS = ["admin", "backup", "old", "test", "wp", "pma", "phpMyAdmin", "cgi-bin", "dev", "tmp"];
const SCANNER_FILES = ["config.php", "setup.php", "index.php", ".env", "install.php", "shell.php", "info.php", "web.config"];
// First octets of common public allocations, so addresses look like the open internet.
const FIRST_OCTETS = [24, 31, 37, 45, 50, 66, 73, 77, 81, 86, 92, 98, 104, 109, 151, 176, 185, 188, 212, 217];

/** A weighted choice with a cumulative table (binary search). */
class Weighted<T> {
  private readonly cum: number[] = [];
  private readonly total: number;
  constructor(private readonly items: readonly T[], weights: readonly number[]) {
    let s = 0;
    for (const w of weights) this.cum.push((s += w));
    this.total = s;
  }
  pick(rng: Rng): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }
}

function weighted<T>(pairs: readonly (readonly [T, number])[]): Weighted<T> {
  return new Weighted(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
}

interface Client {
  ip: string;
  ua: string;
  kind: ClientKind;
}

/** Per-run service state: clients, catalogue and choice tables (built from the traffic stream). */
interface Model {
  clients: Weighted<Client>;
  routesFor: Record<ClientKind, Weighted<RouteSpec>>;
  statusFor: Map<RouteSpec, Weighted<number>>;
  /** Share of non-health traffic each route gets. */
  share: Map<RouteSpec, number>;
  catalogue: number[];
  browserUas: Weighted<string>;
  usedIps: Set<string>;
}

function randomIp(rng: Rng): string {
  return `${rng.pick(FIRST_OCTETS)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

function freshIp(rng: Rng, used: Set<string>): string {
  let ip = randomIp(rng);
  while (used.has(ip)) ip = randomIp(rng);
  used.add(ip);
  return ip;
}

function buildModel(rng: Rng): Model {
  const usedIps = new Set<string>([HEALTH.ip]);
  const kinds = weighted<ClientKind>([["browser", 88], ["api", 8], ["bot", 4]]);
  const uas: Record<ClientKind, Weighted<string>> = {
    browser: weighted(BROWSER_UAS), api: weighted(API_UAS), bot: weighted(BOT_UAS),
  };
  const clients: Client[] = [];
  const activity: number[] = [];
  const kindActivity: Record<ClientKind, number> = { browser: 0, api: 0, bot: 0 };
  for (let i = 0; i < 600; i++) {
    const kind = kinds.pick(rng);
    clients.push({ ip: freshIp(rng, usedIps), ua: uas[kind].pick(rng), kind });
    // Zipf-like activity: a few clients (offices behind NAT, busy apps) send much of the traffic.
    const a = 1 / (i + 1) ** 0.9;
    activity.push(a);
    kindActivity[kind] += a;
  }
  const totalActivity = activity.reduce((s, a) => s + a, 0);
  const share = new Map<RouteSpec, number>(ROUTES.map((r) => [r, 0]));
  const tableFor = (kind: ClientKind): Weighted<RouteSpec> => {
    const w = ROUTES.map((r) => r.weight[kind]);
    const sum = w.reduce((s, x) => s + x, 0);
    ROUTES.forEach((r, i) => {
      share.set(r, (share.get(r) ?? 0) + ((kindActivity[kind] / totalActivity) * w[i]) / sum);
    });
    return new Weighted(ROUTES, w);
  };
  const routesFor: Record<ClientKind, Weighted<RouteSpec>> = {
    browser: tableFor("browser"), api: tableFor("api"), bot: tableFor("bot"),
  };
  const ids = new Set<number>();
  while (ids.size < 2000) ids.add(1 + rng.int(12000));
  return {
    clients: new Weighted(clients, activity),
    routesFor,
    statusFor: new Map(ROUTES.map((r) => [r, weighted(r.statuses)])),
    share,
    catalogue: [...ids],
    browserUas: uas.browser,
    usedIps,
  };
}

// ---------------------------------------------------------------------------
// Time: a daily curve and a Poisson process following it

function dailyShape(hourUtc: number): number {
  const bump = (centre: number, width: number): number => {
    const d = Math.min(Math.abs(hourUtc - centre), 24 - Math.abs(hourUtc - centre));
    return Math.exp(-0.5 * (d / width) ** 2);
  };
  // Quiet small hours, a late-morning peak, an afternoon shoulder and the evening peak.
  return 0.12 + 0.85 * bump(11, 3) + 0.3 * bump(15, 2) + 1.0 * bump(20, 2.5);
}

const SHAPE_MEAN = (() => {
  let s = 0;
  for (let m = 0; m < 1440; m++) s += dailyShape(m / 60);
  return s / 1440;
})();

/** Relative request rate at `ts` (epoch ms, UTC hour of day); averages 1 over a day. */
export function dailyRateFactor(ts: number): number {
  const hour = (((ts / 3600000) % 24) + 24) % 24;
  return dailyShape(hour) / SHAPE_MEAN;
}

// Count mode's mean request rate over a day (lines per second): a small shop, ~1M requests a day.
const COUNT_MODE_MEAN_RATE = 12;

function gapMs(rng: Rng, perSecond: number): number {
  return (-Math.log(1 - rng.next()) / perSecond) * 1000;
}

// ---------------------------------------------------------------------------
// Rendering

interface Fields {
  ts: number;
  method: string;
  route: string;
  status: number;
  latencyMs: number;
  bytes: number;
  ip: string;
  ua: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function render(format: SimFormat, f: Fields): string {
  const latency = Math.max(0.1, Math.round(f.latencyMs * 10) / 10);
  const iso = new Date(f.ts).toISOString();
  if (format === "json") {
    return JSON.stringify({
      ts: iso, method: f.method, route: f.route, status: f.status, latency_ms: latency,
      bytes: f.bytes, ip: f.ip, user_agent: f.ua,
    });
  }
  // iso = YYYY-MM-DDTHH:MM:SS.mmmZ
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  if (format === "combined") {
    const stamp = `${iso.slice(8, 10)}/${MONTHS[Number(iso.slice(5, 7)) - 1] ?? "Jan"}/${iso.slice(0, 4)}:${time} +0000`;
    return `${f.ip} - - [${stamp}] "${f.method} ${f.route} HTTP/1.1" ${f.status} ${f.bytes} "-" "${f.ua}" ${(latency / 1000).toFixed(3)}`;
  }
  const level = f.status >= 500 ? "ERROR" : f.status >= 400 ? "WARN" : "INFO";
  return `${date} ${time}.${iso.slice(20, 23)} ${level} ${f.method} ${f.route} ${f.status} ${latency.toFixed(1)}ms`;
}

// ---------------------------------------------------------------------------
// Request generation

function errorBody(rng: Rng, status: number): number {
  if (status === 502) return 552;
  if (status === 503) return 190 + rng.int(10);
  return 110 + rng.int(60);
}

function errorLatency(rng: Rng, status: number, usual: number): number {
  if (status === 503) return 0.5 + 2.5 * rng.next(); // shed at the proxy
  if (status === 502) return 0.3 * usual + 1 + 4 * rng.next(); // upstream reset
  return usual * (0.5 + rng.next());
}

/** Fill method, route, status, latency and bytes of an ordinary request to `route`. */
function fillRequest(rng: Rng, model: Model, route: RouteSpec, f: Fields, load: number): void {
  f.method = route.method;
  f.route = route.path(rng, model.catalogue);
  const statuses = model.statusFor.get(route);
  const status = statuses === undefined ? 200 : statuses.pick(rng);
  f.status = status;
  let latency = route.latencyMs * Math.exp(route.latencySigma * rng.normal()) * load;
  let bytes = route.bytesSigma > 0 ? route.bytes * Math.exp(route.bytesSigma * rng.normal()) : route.bytes;
  if (status === 304) {
    bytes = 0;
    latency *= 0.5;
  } else if (status >= 500) {
    bytes = errorBody(rng, status);
    latency = errorLatency(rng, status, latency);
  } else if (status >= 400) {
    bytes = 40 + rng.int(80);
    latency *= 0.6;
  }
  // A rare slow tail (GC pause, cold cache) that is part of normal life.
  if (rng.next() < 0.003) latency *= 3 + 7 * rng.next();
  f.latencyMs = latency;
  f.bytes = Math.max(0, Math.round(bytes));
}

function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
}

function routeNamed(method: string, template: string): RouteSpec {
  const r = ROUTES.find((x) => x.method === method && x.template === template);
  if (r === undefined) throw new Error(`internal: no route ${method} ${template}`);
  return r;
}

// Routes each incident kind may target: the app's dynamic endpoints, not static files.
const SPIKE_TARGETS = [
  ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"], ["GET", "/api/cart"],
  ["POST", "/api/cart"], ["POST", "/checkout"], ["POST", "/api/login"], ["GET", "/api/orders/:id"], ["GET", "/api/users/me"],
] as const;
const OVERSIZE_TARGETS = [
  ["GET", "/"], ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"],
  ["GET", "/api/cart"], ["GET", "/api/orders/:id"], ["GET", "/api/users/me"],
] as const;
const SURGE_TARGETS = [["GET", "/"], ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"]] as const;

interface PlannedIncident {
  kind: IncidentKind;
  /** Progress (0..1 of lines in count mode, of time in rate mode) at which it may start. */
  at: number;
  seconds: number;
}

interface ActiveIncident {
  report: SimIncident;
  /** Exact end time (the report's is rounded down to the millisecond). */
  end: number;
  route: RouteSpec | null;
  factor: number;
  ip: string;
  ua: string;
  ips: string[];
  /** Extra requests per second for scanner (fixed); surge uses the route's share instead. */
  extraRate: number;
  nextExtra: number;
}

function planIncidents(chaos: Rng, o: ResolvedSimulateOptions, expectedLines: number): PlannedIncident[] {
  if (o.kinds.length === 0) return [];
  // One round of every chosen kind per ~100k lines (at least one), each round in a shuffled order:
  // dense enough to evaluate on, sparse enough that most of a long run is normal.
  const rounds = Math.max(1, Math.floor(expectedLines / 100000));
  const kinds: IncidentKind[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = [...o.kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = chaos.int(i + 1);
      [round[i], round[j]] = [round[j], round[i]];
    }
    kinds.push(...round);
  }
  // Each incident gets its own slot and starts early in it, so they spread out and rarely queue.
  return kinds.map((kind, i) => ({
    kind,
    at: (i + 0.05 + 0.3 * chaos.next()) / kinds.length,
    seconds: 20 + 70 * chaos.next(),
  }));
}

// ---------------------------------------------------------------------------
// The generator

/** Validate `opts` now, then lazily generate the lines; the generator returns the incidents. */
export function simulate(opts: SimulateOptions = {}): Generator<SimLine, SimIncident[], undefined> {
  return run(resolveSimulateOptions(opts));
}

function* run(o: ResolvedSimulateOptions): Generator<SimLine, SimIncident[], undefined> {
  const traffic = new Rng(o.seed);
  // A separate stream for incidents; the constant just decorrelates it from `traffic`.
  const chaos = new Rng((o.seed + 0x2545f491) % Number.MAX_SAFE_INTEGER);
  const model = buildModel(traffic);
  const rateMode = o.mode === "rate";
  const endTs = rateMode ? o.start + o.duration * 1000 : Infinity;
  const expectedLines = rateMode ? o.rate * o.duration : o.count;
  const startFactor = dailyRateFactor(o.start);
  const baseRate = (t: number): number =>
    rateMode ? (o.rate * dailyRateFactor(t)) / startFactor : COUNT_MODE_MEAN_RATE * dailyRateFactor(t);
  const plan = planIncidents(chaos, o, expectedLines);
  const slotLines = plan.length > 0 ? expectedLines / plan.length : expectedLines;
  const slotSeconds = rateMode && plan.length > 0 ? o.duration / plan.length : Infinity;

  const f: Fields = { ts: 0, method: "", route: "", status: 0, latencyMs: 0, bytes: 0, ip: "", ua: "" };
  const incidents: SimIncident[] = [];
  let active: ActiveIncident | null = null;
  let nextPlanned = 0;
  let lastEnd = -Infinity;
  let emitted = 0;
  let t = o.start;
  let nextBase = t + gapMs(traffic, baseRate(t));
  let nextHealth = t + traffic.next() * HEALTH.intervalMs;

  const extraRate = (inc: ActiveIncident, at: number): number =>
    inc.report.kind === "surge" && inc.route !== null
      ? (inc.factor - 1) * (model.share.get(inc.route) ?? 0) * baseRate(at)
      : inc.extraRate;

  // Busy routes are likelier targets, and a route too quiet to see ~12 requests in the
  // incident's time is skipped, so every incident leaves a visible trace.
  const target = (targets: readonly (readonly [string, string])[], at: number, seconds: number): RouteSpec => {
    const routes = targets.map(([m, tpl]) => routeNamed(m, tpl));
    const share = (r: RouteSpec): number => model.share.get(r) ?? 0;
    const busy = routes.filter((r) => share(r) * baseRate(at) * seconds >= 12);
    if (busy.length === 0) return routes.reduce((a, b) => (share(b) > share(a) ? b : a));
    return new Weighted(busy, busy.map(share)).pick(chaos);
  };
  const name = (r: RouteSpec): string => `${r.method} ${r.template}`;

  const begin = (p: PlannedIncident, at: number): ActiveIncident => {
    const kind = p.kind;
    const inc: ActiveIncident = {
      report: { id: incidents.length + 1, kind, start: Math.floor(at), end: Math.floor(at), lines: 0, detail: "" },
      end: at, route: null, factor: 1, ip: "", ua: "", ips: [], extraRate: 0, nextExtra: Infinity,
    };
    // Bound the incident so it fits well inside its slot, however slow or short the run.
    const fit = (perSecond: number): number =>
      Math.max(1, Math.min(p.seconds, (0.5 * slotLines) / perSecond, 0.5 * slotSeconds));
    const planned = fit(baseRate(at));
    if (kind === "latency_spike" || kind === "error_burst") {
      const route = target(SPIKE_TARGETS, at, planned);
      inc.route = route;
      inc.factor = kind === "latency_spike" ? logUniform(chaos, 5, 30) : 0.75 + 0.2 * chaos.next();
      inc.report.detail = kind === "latency_spike"
        ? `${name(route)} latency x${inc.factor.toFixed(1)}`
        : `${name(route)} ${Math.round(inc.factor * 100)}% 5xx`;
    } else if (kind === "oversized") {
      const route = target(OVERSIZE_TARGETS, at, planned);
      inc.route = route;
      inc.factor = logUniform(chaos, 20, 200);
      inc.report.detail = `${name(route)} bodies x${inc.factor.toFixed(0)}`;
    } else if (kind === "scanner") {
      inc.ip = freshIp(chaos, model.usedIps);
      inc.ua = chaos.pick(SCANNER_UAS);
      inc.extraRate = 4 + 11 * chaos.next();
      inc.report.detail = `${inc.ip} "${inc.ua}" ${inc.extraRate.toFixed(1)} req/s`;
    } else {
      const route = target(SURGE_TARGETS, at, planned);
      inc.route = route;
      inc.factor = 5 + 5 * chaos.next();
      const n = 30 + chaos.int(120);
      for (let i = 0; i < n; i++) inc.ips.push(freshIp(chaos, model.usedIps));
      inc.report.detail = `${name(route)} rate x${inc.factor.toFixed(1)} from ${n} IPs`;
    }
    const seconds = fit(baseRate(at) + extraRate(inc, at));
    const end = at + seconds * 1000;
    inc.report.end = Math.floor(end);
    inc.end = end;
    if (kind === "scanner" || kind === "surge") inc.nextExtra = at + gapMs(chaos, Math.max(1e-9, extraRate(inc, at)));
    incidents.push(inc.report);
    return inc;
  };

  for (;;) {
    if (!rateMode && emitted >= o.count) break;
    if (active !== null && Math.min(nextBase, nextHealth, active.nextExtra) >= active.end) {
      lastEnd = active.end;
      active = null;
    }
    const planned = plan[nextPlanned];
    if (active === null && planned !== undefined) {
      const progress = rateMode ? (t - o.start) / (o.duration * 1000) : emitted / o.count;
      if (progress >= planned.at) {
        active = begin(planned, Math.max(t, lastEnd));
        nextPlanned++;
      }
    }

    let labelled = false;
    const extra = active === null ? Infinity : active.nextExtra;
    if (active !== null && extra < nextBase && extra < nextHealth) {
      t = extra;
      if (t >= endTs) break;
      const inc: ActiveIncident = active;
      if (inc.report.kind === "scanner") {
        scannerRequest(chaos, inc, f);
      } else if (inc.route !== null) {
        f.ip = chaos.pick(inc.ips);
        f.ua = model.browserUas.pick(chaos);
        fillRequest(chaos, model, inc.route, f, loadFactor(t));
      }
      inc.nextExtra = t + gapMs(chaos, Math.max(1e-9, extraRate(inc, t)));
      labelled = true;
    } else if (nextHealth < nextBase) {
      t = nextHealth;
      if (t >= endTs) break;
      f.ip = HEALTH.ip;
      f.ua = HEALTH.ua;
      f.method = "GET";
      f.route = "/health";
      f.status = 200;
      f.latencyMs = HEALTH.latencyMs * Math.exp(HEALTH.latencySigma * traffic.normal());
      f.bytes = HEALTH.bytes;
      nextHealth += HEALTH.intervalMs + (traffic.next() - 0.5) * 100;
    } else {
      t = nextBase;
      if (t >= endTs) break;
      const client = model.clients.pick(traffic);
      const route = model.routesFor[client.kind].pick(traffic);
      f.ip = client.ip;
      f.ua = client.ua;
      fillRequest(traffic, model, route, f, loadFactor(t));
      nextBase = t + gapMs(traffic, baseRate(t));
      if (active !== null && active.route === route) labelled = alter(chaos, active, route, f);
    }
    f.ts = Math.floor(t);
    emitted++;
    if (labelled && active !== null) {
      active.report.lines++;
      yield { text: render(o.format, f), ts: f.ts, kind: active.report.kind, incident: active.report.id };
    } else {
      yield { text: render(o.format, f), ts: f.ts, kind: null, incident: null };
    }
  }
  return incidents;
}

/** Busier hours are a little slower. */
function loadFactor(t: number): number {
  return 0.9 + 0.1 * dailyRateFactor(t);
}

/** Apply the active incident to a normal request on its route; true when the line changed. */
function alter(chaos: Rng, inc: ActiveIncident, route: RouteSpec, f: Fields): boolean {
  switch (inc.report.kind) {
    case "latency_spike":
      f.latencyMs *= inc.factor * Math.exp(0.15 * chaos.normal());
      return true;
    case "error_burst": {
      if (chaos.next() >= inc.factor) return false;
      const u = chaos.next();
      f.status = u < 0.5 ? 500 : u < 0.8 ? 502 : 503;
      f.bytes = errorBody(chaos, f.status);
      f.latencyMs = errorLatency(chaos, f.status, f.latencyMs);
      return true;
    }
    case "oversized": {
      if (f.status < 200 || f.status >= 300) return false;
      // Relative to the route's normal (median) size, held inside the documented 20-200x.
      const k = Math.min(200, Math.max(20, inc.factor * Math.exp(0.25 * chaos.normal())));
      f.bytes = Math.round(route.bytes * k);
      // Bigger bodies take a little longer to serialise and send.
      f.latencyMs *= 1 + 0.2 * Math.log10(k);
      return true;
    }
    case "surge":
      // The route's regular requests during a surge cannot be told apart from the
      // extra ones: every request to the surging route is part of the incident.
      return true;
    default:
      return false;
  }
}

function scannerRequest(chaos: Rng, inc: ActiveIncident, f: Fields): void {
  f.ip = inc.ip;
  f.ua = inc.ua;
  const u = chaos.next();
  f.method = u < 0.88 ? "GET" : u < 0.96 ? "POST" : "HEAD";
  f.route = chaos.next() < 0.7
    ? chaos.pick(SCANNER_PATHS)
    : `/${chaos.pick(SCANNER_DIRS)}/${chaos.pick(SCANNER_FILES)}`;
  const s = chaos.next();
  f.status = s < 0.86 ? 404 : s < 0.94 ? 403 : s < 0.97 ? 400 : 405;
  f.latencyMs = 1.4 * Math.exp(0.4 * chaos.normal());
  f.bytes = f.method === "HEAD" ? 0 : 146 + chaos.int(20);
}

// ---------------------------------------------------------------------------
// Writing

// Chunk size of writes: big enough to be fast, small enough to keep memory flat.
const CHUNK_CHARS = 1 << 16;

/** A writable with its first error remembered and drain waits that cannot hang on error. */
class Sink {
  private failure: (Error & { code?: string }) | null = null;
  private readonly onError = (e: Error): void => {
    if (this.failure === null) this.failure = e;
  };

  constructor(private readonly stream: Writable) {
    stream.on("error", this.onError);
  }

  get error(): (Error & { code?: string }) | null {
    return this.failure;
  }

  async write(chunk: string): Promise<void> {
    if (this.failure !== null || chunk === "") return;
    if (!this.stream.write(chunk)) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
    });
  }

  /** End an owned stream (file) and wait for it; let a shared one (stdout) drain, then detach. */
  async close(owned: boolean): Promise<void> {
    // A late EPIPE can only come from a pending write, so stay subscribed until none is left.
    if (!owned && this.failure === null && this.stream.writableLength > 0) await this.drained();
    if (owned && this.failure === null) {
      this.stream.end();
      await finished(this.stream).catch((e: unknown) => {
        if (this.failure === null && e instanceof Error) this.failure = e;
      });
    }
    this.stream.off("error", this.onError);
  }
}

/** Lines already in `path` (a trailing partial line counts) and whether it ends without a newline. */
async function existingLines(path: string): Promise<{ lines: number; unterminated: boolean }> {
  try {
    const st = await stat(path);
    if (st.size === 0) return { lines: 0, unterminated: false };
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return { lines: 0, unterminated: false };
    throw e;
  }
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let last = 10;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let i = buf.indexOf(10, 0);
      while (i !== -1 && i < bytesRead) {
        lines++;
        i = buf.indexOf(10, i + 1);
      }
      last = buf[bytesRead - 1] ?? 10;
    }
    return last === 10 ? { lines, unterminated: false } : { lines: lines + 1, unterminated: true };
  } finally {
    await fh.close();
  }
}

async function openAppend(path: string, flags: "a" | "w"): Promise<Writable> {
  const fh = await open(path, flags);
  return fh.createWriteStream();
}

/**
 * Generate a simulation and write it to `out` (appending) or stdout, with the truth file if asked.
 * In realtime rate mode lines are paced to the wall clock and flushed as they fall due.
 * A closed stdout (EPIPE, e.g. `| head`) ends the run quietly with `complete: false`.
 */
export async function writeSimulation(opts: WriteSimulationOptions = {}): Promise<Summary> {
  const o = resolveSimulateOptions(opts);
  if (o.realtime && !o.startGiven) o.start = Date.now();

  const before = o.out === null ? { lines: 0, unterminated: false } : await existingLines(o.out);
  const outStream = o.out === null ? process.stdout : await openAppend(o.out, "a");
  // The truth mirrors the log: appended with it, rewritten when the log goes to stdout.
  const truthStream = o.truth === null ? null : await openAppend(o.truth, o.out === null ? "w" : "a");
  const out = new Sink(outStream);
  const truth = truthStream === null ? null : new Sink(truthStream);

  let lineNo = before.lines;
  let chunk = before.unterminated ? "\n" : "";
  let truthChunk = "";
  const seen = new Map<number, SimIncident>();
  let labelled = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    await out.write(chunk);
    chunk = "";
    if (truth !== null) await truth.write(truthChunk);
    truthChunk = "";
  };

  const gen = run(o);
  const wall0 = Date.now();
  let incidents: SimIncident[] | null = null;
  try {
    for (;;) {
      const r = gen.next();
      if (r.done === true) {
        incidents = r.value;
        break;
      }
      const line = r.value;
      if (o.realtime) {
        const wait = wall0 + (line.ts - o.start) - Date.now();
        if (wait > 0) {
          await flush();
          if (out.error !== null) break;
          await sleep(wait);
        }
      }
      lineNo++;
      written++;
      chunk += line.text + "\n";
      if (line.incident !== null && line.kind !== null) {
        labelled++;
        truthChunk += JSON.stringify({ line: lineNo, kind: line.kind, incident: line.incident }) + "\n";
        const s = seen.get(line.incident);
        if (s === undefined) {
          seen.set(line.incident, { id: line.incident, kind: line.kind, start: line.ts, end: line.ts, lines: 1, detail: "" });
        } else {
          s.end = line.ts;
          s.lines++;
        }
      }
      if (chunk.length >= CHUNK_CHARS) {
        await flush();
        if (out.error !== null) break;
      }
    }
    await flush();
  } finally {
    await out.close(o.out !== null);
    if (truth !== null) await truth.close(true);
  }
  const err = out.error ?? truth?.error ?? null;
  const broken = err !== null && err.code === "EPIPE" && o.out === null;
  if (err !== null && !broken) throw err;
  return {
    lines: written,
    firstLine: before.lines + 1,
    labelled,
    incidents: incidents ?? [...seen.values()],
    out: o.out,
    truth: o.truth,
    complete: !broken,
  };
}

/** A short human-readable account of a run, for the CLI's stderr. */
export function formatSummary(s: Summary): string {
  const where = s.out === null ? "stdout" : s.out;
  const range = s.lines > 0 ? ` (lines ${s.firstLine}..${s.firstLine + s.lines - 1})` : "";
  const out = [`wrote ${s.lines} lines to ${where}${range}, ${s.labelled} labelled${s.complete ? "" : " (reader closed early)"}`];
  for (const i of s.incidents) {
    const detail = i.detail === "" ? "" : ` ${i.detail}`;
    out.push(`  incident ${i.id} ${i.kind}${detail}: ${i.lines} lines from ${new Date(i.start).toISOString()}`);
  }
  if (s.truth !== null) out.push(`truth: ${s.truth}`);
  return out.join("\n") + "\n";
}
