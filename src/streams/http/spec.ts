/**
 * Learning the feature spec of a training set: which route keys are routes of their
 * own, their robust baselines (shrunk towards the overall one when they have few
 * lines), the client peaks, and the clock the windows run on.
 */
import { ALL_FEATURES, forEachPrefix, LINE_CLOCK_RATE, normalizeRoute, type FeatureName, type FeatureSpec, type RouteBaseline } from "./features.js";
import { Columns } from "./columns.js";

function sortedOf(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function q(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median and 1.4826 MAD (floored at `floor`) of the values. */
function robust(values: number[], floor: number): [number, number] {
  if (values.length === 0) return [NaN, floor];
  const s = sortedOf(values);
  const mid = q(s, 0.5);
  const dev = sortedOf(values.map((v) => Math.abs(v - mid)));
  return [mid, Math.max(floor, 1.4826 * q(dev, 0.5))];
}

/**
 * Pseudo-lines of the whole site's spread mixed into a route's: a route seen 12 times
 * has a spread (and so a p99) measured on 12 lines, too narrow to call a line outside it
 * an incident; a route of thousands of lines keeps its own.
 */
const SPREAD_PRIOR = 20;

/** A spread shrunk toward the overall one by SPREAD_PRIOR pseudo-lines (never below its own). */
function shrunk(spread: number, n: number, overall: number): number {
  if (!Number.isFinite(overall) || n <= 0) return spread;
  return Math.max(spread, Math.sqrt((n * spread * spread + SPREAD_PRIOR * overall * overall) / (n + SPREAD_PRIOR)));
}

/**
 * A route's baseline from its training lines; `answered`: answered (< 400) training
 * lines in all, for its share; `overall`: the whole site's baseline, toward which a
 * route of few lines has its spreads and upper quantiles widened (see SPREAD_PRIOR).
 */
function baselineOf(c: Columns, idx: number[], answered: number, overall?: RouteBaseline): RouteBaseline {
  const lat: number[] = [];
  const latLog: number[] = [];
  const bytes: number[] = [];
  const bytesLog: number[] = [];
  let errors = 0;
  let fails = 0;
  for (const i of idx) {
    const l = c.latency[i];
    if (Number.isFinite(l)) {
      lat.push(l);
      latLog.push(Math.log1p(Math.max(0, l)));
    }
    const b = Number.isFinite(c.bytes[i]) ? Math.max(0, c.bytes[i]) : 0;
    bytes.push(b);
    // The size baseline is of successful responses: a redirect's or an error page's body says nothing of a page's size.
    if (b > 0 && c.status[i] >= 200 && c.status[i] < 300) bytesLog.push(Math.log1p(b));
    const st = c.status[i];
    if (st >= 500) errors++;
    if (st >= 400) fails++;
  }
  // Latency is often logged in whole milliseconds: on a 1-2 ms route half the lines
  // share one value, the MAD collapses, and a 5 ms line would look extreme. The floor
  // of 0.3 (a 35% change) keeps a x5 spike (ln 5 = 1.6) clearly out.
  let [latencyMid, latencySpread] = robust(latLog, 0.3);
  let [bytesMid, bytesSpread] = robust(bytesLog, 0.1);
  let latencyP99 = q(sortedOf(lat), 0.99);
  let bytesP999 = q(sortedOf(bytes), 0.999);
  if (overall) {
    latencySpread = shrunk(latencySpread, latLog.length, overall.latencySpread);
    bytesSpread = shrunk(bytesSpread, bytesLog.length, overall.bytesSpread);
    // The quantiles a rule compares with: at least what the widened spread puts there (z 2.33 and 3.09).
    if (Number.isFinite(latencyMid)) latencyP99 = Math.max(latencyP99, Math.expm1(latencyMid + 2.33 * latencySpread));
    if (Number.isFinite(bytesMid)) bytesP999 = Math.max(bytesP999, Math.expm1(bytesMid + 3.09 * bytesSpread));
  }
  return {
    count: idx.length,
    latencyMid,
    latencySpread,
    latencyP99,
    bytesMid,
    bytesSpread,
    bytesP999,
    // Its share of the answered requests: the rate feature compares answered requests (see features.ts).
    share: (idx.length - fails) / Math.max(1, answered),
    errorRate: errors / idx.length,
    failRate: fails / idx.length,
  };
}

/** At most this many routes of their own; the rarer rest fall under prefix routes. */
export const MAX_ROUTES = 2000;

/** Per route key of the training lines: line indexes, up to two client addresses, failures. */
interface KeyStats {
  idx: number[];
  clients: string[];
  fails: number;
}

/** The training lines by route key, each line's template, and the distinct clients (counted up to 2). */
export function keyStats(c: Columns): { byKey: Map<string, KeyStats>; templates: string[]; clients: number } {
  const byKey = new Map<string, KeyStats>();
  const templates: string[] = new Array<string>(c.n);
  const clients = new Set<string>();
  for (let i = 0; i < c.n; i++) {
    const t = normalizeRoute(c.route[i]);
    templates[i] = t;
    const key = `${c.method[i]} ${t}`;
    let k = byKey.get(key);
    if (!k) byKey.set(key, (k = { idx: [], clients: [], fails: 0 }));
    k.idx.push(i);
    if (k.clients.length < 2 && !k.clients.includes(c.ip[i])) k.clients.push(c.ip[i]);
    if (c.status[i] >= 400) k.fails++;
    if (clients.size < 2) clients.add(c.ip[i]);
  }
  return { byKey, templates, clients: clients.size };
}

/**
 * A route of its own needs `minRouteCount` lines, and not to look like an incident:
 * a path that only one client asked for, mostly failing, is a probe, not a page
 * (a scanner in the training log must not teach its paths as routes).
 */
export function isProbe(k: KeyStats, distinctClients: number): boolean {
  return distinctClients > 1 && k.clients.length === 1 && k.fails / k.idx.length >= 0.5;
}

/**
 * The feature spec of a training set. The route vocabulary: templates with at least
 * `minRouteCount` lines are routes of their own (the MAX_ROUTES most frequent); the
 * rest are pooled under their deepest prefix ("GET /blog/*", ..., "GET /*") that
 * gathers at least `minRouteCount` of them, so a rare page at detection falls into
 * the prefix its kind lived under in training.
 */
export function learnSpec(c: Columns, windowSeconds: number, minRouteCount: number, wanted?: readonly FeatureName[]): FeatureSpec {
  let withLatency = 0;
  for (let i = 0; i < c.n; i++) if (Number.isFinite(c.latency[i])) withLatency++;

  const { byKey, templates, clients } = keyStats(c);
  const methods = new Map<string, number>();
  const all: number[] = [];
  for (let i = 0; i < c.n; i++) {
    methods.set(c.method[i], (methods.get(c.method[i]) ?? 0) + 1);
    all.push(i);
  }
  const own = [...byKey]
    .filter(([, k]) => k.idx.length >= minRouteCount && !isProbe(k, clients))
    .sort((a, b) => b[1].idx.length - a[1].idx.length)
    .slice(0, MAX_ROUTES);
  const ownKeys = new Set(own.map(([key]) => key));
  // Rare lines: count them under every prefix, then place each under its deepest prefix with enough of them.
  const rare: number[] = [];
  const underPrefix = new Map<string, number>();
  for (const [key, k] of byKey) {
    if (ownKeys.has(key)) continue;
    for (const i of k.idx) {
      rare.push(i);
      forEachPrefix(templates[i], (p) => {
        const pk = `${c.method[i]} ${p}`;
        underPrefix.set(pk, (underPrefix.get(pk) ?? 0) + 1);
        return false;
      });
    }
  }
  const placed = new Map<string, number[]>();
  for (const i of rare) {
    forEachPrefix(templates[i], (p) => {
      const pk = `${c.method[i]} ${p}`;
      if ((underPrefix.get(pk) ?? 0) < minRouteCount) return false;
      let list = placed.get(pk);
      if (!list) placed.set(pk, (list = []));
      list.push(i);
      return true;
    });
  }
  const routes: Record<string, RouteBaseline> = {};
  let answered = 0;
  for (let i = 0; i < c.n; i++) if (!(c.status[i] >= 400)) answered++;
  const overall = baselineOf(c, all, answered);
  for (const [key, k] of own) routes[key] = baselineOf(c, k.idx, answered, overall);
  for (const [key, idx] of [...placed].sort((a, b) => b[1].length - a[1].length)) routes[key] = baselineOf(c, idx, answered, overall);
  const methodRarity: Record<string, number> = {};
  for (const [m, n] of methods) methodRarity[m] = -Math.log(n / c.n);

  const hasLatency = withLatency >= c.n / 2;
  const features = ALL_FEATURES.filter((f) => (wanted ?? ALL_FEATURES).includes(f) && (hasLatency || !f.includes("latency")));
  return {
    version: 1,
    features,
    windowSeconds,
    routes,
    overall,
    methodRarity,
    unseenRarity: -Math.log(1 / (c.n + 1)),
    lines: c.n,
  };
}

/**
 * The clock of a training set: its own timestamps when at least half the lines have
 * one (lines without take the time of the line before), else line order at
 * LINE_CLOCK_RATE lines per second, written into `c.ts` so the windows can run.
 */
export function setClock(c: Columns): { clock: "timestamps" | "lines"; linesPerSecond: number; untimed: number } {
  let timed = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < c.n; i++) {
    const t = c.ts[i];
    if (!Number.isFinite(t)) continue;
    timed++;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  if (timed * 2 < c.n || timed === 0) {
    for (let i = 0; i < c.n; i++) c.ts[i] = (i * 1000) / LINE_CLOCK_RATE;
    return { clock: "lines", linesPerSecond: LINE_CLOCK_RATE, untimed: c.n - timed };
  }
  const seconds = (hi - lo) / 1000;
  return { clock: "timestamps", linesPerSecond: seconds > 0 ? c.n / seconds : LINE_CLOCK_RATE, untimed: c.n - timed };
}
