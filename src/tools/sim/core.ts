/**
 * What every traffic profile shares: weighted choices, addresses, the daily rate
 * curve, the line renderer, and the interface a profile offers the incident layer.
 */
import type { Rng } from "../../forest/random.js";
import type { SimFormat } from "./types.js";

/** A weighted choice with a cumulative table (binary search). */
export class Weighted<T> {
  private readonly cum: number[] = [];
  private readonly total: number;
  constructor(private readonly items: readonly T[], weights: readonly number[]) {
    let s = 0;
    for (const w of weights) this.cum.push((s += w));
    this.total = s;
  }
  /** One item, with probability proportional to its weight. */
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

/** A `Weighted` from [item, weight] pairs. */
export function weighted<T>(pairs: readonly (readonly [T, number])[]): Weighted<T> {
  return new Weighted(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
}

/** A route as incidents see it: its name and its normal response (medians and spreads). */
export interface Route {
  readonly method: string;
  readonly template: string;
  /** Median latency (ms) and log-normal spread. */
  readonly latencyMs: number;
  readonly latencySigma: number;
  /** Median 2xx body size and log-normal spread (0 = a fixed-size file). */
  readonly bytes: number;
  readonly bytesSigma: number;
  /** [status, weight] pairs. */
  readonly statuses: readonly (readonly [number, number])[];
}

/** The fields of one log line, filled in place (one object per run, no allocation per line). */
export interface Fields {
  ts: number;
  method: string;
  route: string;
  status: number;
  latencyMs: number;
  bytes: number;
  ip: string;
  ua: string;
  /** Referer for the combined format ("-" when none). */
  referer: string;
}

/** A fresh, empty `Fields`. */
export function newFields(): Fields {
  return { ts: 0, method: "", route: "", status: 0, latencyMs: 0, bytes: 0, ip: "", ua: "", referer: "-" };
}

/**
 * A profile's normal traffic, as the incident layer drives it. It draws only from
 * its own (traffic) stream and never reads what incidents change, so its lines are
 * the same with or without incidents.
 */
export interface TrafficSource {
  /** Non-monitoring lines per second expected at `t` (epoch ms). */
  baseRate(t: number): number;
  /** Time of the next normal line (epoch ms, not rounded). */
  peek(): number;
  /** Fill `f` with the next normal line (all but `ts`); its route, or null for monitoring that incidents leave alone. */
  emit(f: Fields): Route | null;
  /** Share of non-monitoring lines that go to `route` (0..1). */
  share(route: Route): number;
  /**
   * Fill `f` with one ordinary request to `route` at `t`, drawing from `rng` (an incident's
   * extra request), answered with `status` when given.
   */
  fillRandom(rng: Rng, route: Route, f: Fields, t: number, status?: number): void;
  /** The route named `method template`; throws if the profile has none. */
  route(method: string, template: string): Route;
  /** Routes each incident kind may target, as [method, template]. */
  readonly targets: IncidentTargets;
  /** Addresses in use; incidents add theirs, the source never reads it after it is built. */
  readonly usedIps: Set<string>;
  /** Browser user agents, for requests that should look like ordinary visitors'. */
  readonly browserUas: Weighted<string>;
}

/** [method, template] pairs of the routes each kind of incident may target. */
export interface IncidentTargets {
  spike: readonly (readonly [string, string])[];
  oversize: readonly (readonly [string, string])[];
  surge: readonly (readonly [string, string])[];
  /** Login endpoints a brute force may hammer, with relative weights. */
  login: readonly (readonly [string, string, number])[];
}

// First octets of common public allocations, so addresses look like the open internet.
const FIRST_OCTETS = [24, 31, 37, 45, 50, 66, 73, 77, 81, 86, 92, 98, 104, 109, 151, 176, 185, 188, 212, 217];

/** A random public-looking IPv4 address. */
export function randomIp(rng: Rng): string {
  return `${rng.pick(FIRST_OCTETS)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

/** A random address not in `used`, which it joins. */
export function freshIp(rng: Rng, used: Set<string>): string {
  let ip = randomIp(rng);
  while (used.has(ip)) ip = randomIp(rng);
  used.add(ip);
  return ip;
}

/** Uniform on a log scale between lo and hi. */
export function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)));
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

/** Count mode's mean request rate over a day (lines per second): a small shop, ~1M requests a day. */
export const COUNT_MODE_MEAN_RATE = 12;

/** An exponential gap (ms) of a Poisson process at `perSecond`. */
export function gapMs(rng: Rng, perSecond: number): number {
  return (-Math.log(1 - rng.next()) / perSecond) * 1000;
}

/** Busier hours are a little slower. */
export function loadFactor(t: number): number {
  return 0.9 + 0.1 * dailyRateFactor(t);
}

// ---------------------------------------------------------------------------
// Responses

/** Body size of an error response. */
export function errorBody(rng: Rng, status: number): number {
  if (status === 502) return 552;
  if (status === 503) return 190 + rng.int(10);
  return 110 + rng.int(60);
}

/** Latency of an error response, from the latency the request would have had. */
export function errorLatency(rng: Rng, status: number, usual: number): number {
  if (status === 503) return 0.5 + 2.5 * rng.next(); // shed at the proxy
  if (status === 502) return 0.3 * usual + 1 + 4 * rng.next(); // upstream reset
  return usual * (0.5 + rng.next());
}

// ---------------------------------------------------------------------------
// Rendering

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** One log line of `f` in `format`. */
export function render(format: SimFormat, f: Fields): string {
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
    return `${f.ip} - - [${stamp}] "${f.method} ${f.route} HTTP/1.1" ${f.status} ${f.bytes} "${f.referer}" "${f.ua}" ${(latency / 1000).toFixed(3)}`;
  }
  const level = f.status >= 500 ? "ERROR" : f.status >= 400 ? "WARN" : "INFO";
  return `${date} ${time}.${iso.slice(20, 23)} ${level} ${f.method} ${f.route} ${f.status} ${latency.toFixed(1)}ms`;
}
