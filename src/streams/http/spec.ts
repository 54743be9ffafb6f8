/**
 * Learning the feature spec of a training set: which route keys are routes of their
 * own, their robust baselines (shrunk towards the overall one when they have few
 * lines), the client peaks, and the clock the windows run on.
 */
import { ALL_FEATURES, forEachPrefix, LINE_CLOCK_RATE, type FeatureName, type FeatureSpec, type RouteBaseline } from "./features.js";
import { Columns } from "./columns.js";
import { Tally, type KeyTally } from "./tally.js";

/** A route's lines, failed lines (4xx, 5xx) and 5xx lines in the whole training stream. */
interface WholeCounts {
  count: number;
  fails: number;
  errors: number;
}

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
 * A route's baseline from its held training lines, and its lines, failures and 5xx
 * in the whole stream (`whole`); `answered`: answered (< 400) training lines in all, for its share; `overall`: the whole site's baseline, toward which a
 * route of few lines has its spreads and upper quantiles widened (see SPREAD_PRIOR).
 */
function baselineOf(c: Columns, idx: number[], answered: number, overall: RouteBaseline | undefined, whole: WholeCounts): RouteBaseline {
  const lat: number[] = [];
  const latLog: number[] = [];
  const bytes: number[] = [];
  const bytesLog: number[] = [];
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
  const { count, fails, errors } = whole;
  return {
    count,
    latencyMid,
    latencySpread,
    latencyP99,
    bytesMid,
    bytesSpread,
    bytesP999,
    // Its share of the answered requests: the rate feature compares answered requests (see features.ts).
    share: (count - fails) / Math.max(1, answered),
    errorRate: errors / count,
    failRate: fails / count,
  };
}

/** At most this many routes of their own; the rarer rest fall under prefix routes. */
export const MAX_ROUTES = 2000;

/**
 * A route of its own needs `minRouteCount` lines, and not to look like an incident:
 * a path that only one client asked for, mostly failing, is a probe, not a page
 * (a scanner in the training log must not teach its paths as routes).
 */
export function isProbe(k: KeyTally, distinctClients: number): boolean {
  return distinctClients > 1 && k.clients.length === 1 && k.fails / k.count >= 0.5;
}

/** The held lines' indexes by route key. */
function linesByKey(c: Columns, tally: Tally): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < c.n; i++) {
    const key = `${c.method[i]} ${tally.template(c.route[i])}`;
    let idx = out.get(key);
    if (!idx) out.set(key, (idx = []));
    idx.push(i);
  }
  return out;
}

/** Lines of a prefix route: the held ones, and the whole stream's counts. */
interface Placed {
  idx: number[];
  counts: WholeCounts;
}

/**
 * The feature spec of a training set. The route vocabulary: templates with at least
 * `minRouteCount` lines are routes of their own (the MAX_ROUTES most frequent); the
 * rest are pooled under their deepest prefix ("GET /blog/*", ..., "GET /*") that
 * gathers at least `minRouteCount` of them, so a rare page at detection falls into
 * the prefix its kind lived under in training. `tally`: the counts of the whole stream
 * when `c` holds only a sample of it (the vocabulary, shares and rates come from the
 * counts, the medians and quantiles from the held lines); default: the tally of `c`.
 */
export function learnSpec(c: Columns, windowSeconds: number, minRouteCount: number, wanted?: readonly FeatureName[], tally: Tally = Tally.of(c)): FeatureSpec {
  const held = linesByKey(c, tally);
  const distinctClients = tally.clients.length;
  // A key none of whose lines is held (a rare one, when sampling) is pooled under a prefix.
  const own = [...tally.keys]
    .filter(([key, k]) => k.count >= minRouteCount && !isProbe(k, distinctClients) && held.has(key))
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, MAX_ROUTES);
  const ownKeys = new Set(own.map(([key]) => key));
  const rare = [...tally.keys].filter(([key]) => !ownKeys.has(key));
  // Rare lines: count them under every prefix, then place each key under its deepest prefix with enough of them.
  const underPrefix = new Map<string, number>();
  for (const [, k] of rare) {
    forEachPrefix(k.template, (p) => {
      const pk = `${k.method} ${p}`;
      underPrefix.set(pk, (underPrefix.get(pk) ?? 0) + k.count);
      return false;
    });
  }
  const placed = new Map<string, Placed>();
  for (const [key, k] of rare) {
    forEachPrefix(k.template, (p) => {
      const pk = `${k.method} ${p}`;
      if ((underPrefix.get(pk) ?? 0) < minRouteCount) return false;
      let to = placed.get(pk);
      if (!to) placed.set(pk, (to = { idx: [], counts: { count: 0, fails: 0, errors: 0 } }));
      for (const i of held.get(key) ?? []) to.idx.push(i);
      to.counts.count += k.count;
      to.counts.fails += k.fails;
      to.counts.errors += k.errors;
      return true;
    });
  }
  const routes: Record<string, RouteBaseline> = {};
  const all: number[] = [];
  for (let i = 0; i < c.n; i++) all.push(i);
  const overall = baselineOf(c, all, tally.answered, undefined, { count: tally.n, fails: tally.n - tally.answered, errors: tally.errors });
  for (const [key, k] of own) routes[key] = baselineOf(c, held.get(key) ?? [], tally.answered, overall, k);
  for (const [key, p] of [...placed].sort((a, b) => b[1].counts.count - a[1].counts.count)) {
    if (p.idx.length > 0) routes[key] = baselineOf(c, p.idx, tally.answered, overall, p.counts);
  }
  const methodRarity: Record<string, number> = {};
  for (const [m, n] of tally.methods) methodRarity[m] = -Math.log(n / tally.n);

  const hasLatency = tally.withLatency >= tally.n / 2;
  const features = ALL_FEATURES.filter((f) => (wanted ?? ALL_FEATURES).includes(f) && (hasLatency || !f.includes("latency")));
  return {
    version: 1,
    features,
    windowSeconds,
    routes,
    overall,
    methodRarity,
    unseenRarity: -Math.log(1 / (tally.n + 1)),
    lines: tally.n,
  };
}

/** The clock a tally's lines run on: their timestamps when at least half have one, else line order. */
export function clockOf(t: Tally): { clock: "timestamps" | "lines"; linesPerSecond: number; untimed: number } {
  if (t.timed * 2 < t.n || t.timed === 0) return { clock: "lines", linesPerSecond: LINE_CLOCK_RATE, untimed: t.n - t.timed };
  const seconds = (t.hi - t.lo) / 1000;
  return { clock: "timestamps", linesPerSecond: seconds > 0 ? t.n / seconds : LINE_CLOCK_RATE, untimed: t.n - t.timed };
}

/**
 * The clock of a training set: its own timestamps when at least half the lines have
 * one (lines without take the time of the line before), else line order at
 * LINE_CLOCK_RATE lines per second, written into `c.ts` so the windows can run.
 */
export function setClock(c: Columns, tally: Tally = Tally.of(c)): { clock: "timestamps" | "lines"; linesPerSecond: number; untimed: number } {
  const clock = clockOf(tally);
  if (clock.clock === "lines") for (let i = 0; i < c.n; i++) c.ts[i] = (i * 1000) / LINE_CLOCK_RATE;
  return clock;
}
