/**
 * Feature extraction: LogRecord -> one row of numbers, written straight into the
 * buffer the scorer reads. What to extract (which features, the route vocabulary,
 * each route's learned baseline) is a FeatureSpec learned at training and stored
 * in the model, so detection extracts exactly what training did.
 *
 * Stream context comes from sliding windows over the records' own timestamps:
 * per route (request rate, 5xx share) and per client address (request count,
 * 4xx/5xx share, failures on paths training never saw often). Memory is bounded:
 * routes are the trained vocabulary plus one bucket for unknown routes; client
 * addresses live in a fixed-size table that forgets the least recently seen one.
 *
 * The route vocabulary generalises to long-tail sites: a path becomes a template
 * (ids, UUIDs, hashes and dates as placeholders, static assets grouped by their
 * extension), templates seen often in training are routes of their own, and the
 * rare rest is pooled into learned prefix routes ("GET /blog/*", down to "GET /*").
 * A line whose template is not a route of its own is "novel": that is what a
 * scanner's paths are, but so is a visitor's rare page, so novelty is a feature and
 * a client-level rule, never an alert by itself.
 */
import type { LogRecord } from "./record.js";
import { ALL_FEATURES, LINE_CLOCK_RATE, type ClientPeaks, type FeatureName, type FeatureSpec, type RouteBaseline } from "./feature-spec.js";
import { forEachPrefix, isAssetRoute, isPrefixRoute, normalizeRoute, routeKey } from "./routes.js";
import { WindowCounts } from "./windows.js";

export { ALL_FEATURES, LINE_CLOCK_RATE, type ClientPeaks, type FeatureName, type FeatureSpec, type RouteBaseline } from "./feature-spec.js";
export { forEachPrefix, isAssetRoute, isPrefixRoute, normalizeRoute, routeKey } from "./routes.js";

/** Client addresses tracked at once; past this the least recently seen one is forgotten. */
export const MAX_CLIENTS = 8192;
const BUCKETS = 12;
const TEMPLATE_CACHE = 4096;
const PRIOR = 5;
// Weight of the newest line in a route's moving averages: about the last 1 / TREND_ALPHA lines count.
const TREND_ALPHA = 0.15;
// Requests per route whose clients are remembered (a surge is many clients; a burst of one app or NAT is not).
const RING = 8;
// Weight of the newest line in the all-traffic latency trend: about the last 20 lines.
const RECENT_ALPHA = 0.05;
// Weight of the newest request in a route's recent 5xx share: about its last 10 (a quiet route's burst is few requests).
const ERROR_ALPHA = 0.1;
// z-scores are kept in [-Z_LOW, Z_HIGH]: incidents push latency and size up, and a
// long lower tail (fast cache hits) would only waste the forest's random splits.
const Z_LOW = 3;
const Z_HIGH = 50;
// The route trends take z-scores capped lower, so that one extreme line (a big
// download, one slow request) cannot carry a trend past 2 alone: it takes two.
const TREND_Z_CAP = 10;
// Client window channels: 1 failed (4xx/5xx), 2 failed on a novel path, 3 failed on a route of its own.
const FAILED = 1;
const NOVEL_FAILED = 2;
const KNOWN_FAILED = 4;

/** What the extractor saw of the last record's client, in its window (the record included). */
export interface ClientWindow {
  requests: number;
  failures: number;
  novelFailures: number;
  knownFailures: number;
}

/** Stateful extractor: feed records in stream order, get feature rows. */
export class FeatureExtractor {
  readonly cols: number;
  private readonly spec: FeatureSpec;
  private readonly routeIndex = new Map<string, number>();
  // method -> template -> id, so a lookup needs no "METHOD template" string per line;
  // raw path -> template for the paths seen lately (most repeat; ids make the rest).
  private readonly byMethod = new Map<string, Map<string, number>>();
  private readonly templates = new Map<string, string>();
  private readonly baselines: RouteBaseline[];
  private readonly prefix: Uint8Array;
  private readonly asset: Uint8Array;
  private readonly routeRarity: Float64Array;
  private readonly routes: WindowCounts;
  private readonly clients: WindowCounts;
  private readonly clientSlot = new Map<string, number>();
  private nextSlot = 0;
  private readonly active: Uint8Array;
  private readonly latencyTrend: Float64Array;
  private readonly bytesTrend: Float64Array;
  private readonly errorRecent: Float64Array;
  private readonly errorBits: Uint8Array;
  // Sibling routes ("GET /c/shoes", "GET /c/bags", and "GET /c/*" itself) form a family
  // with a latency trend of its own: a slowdown spread over siblings of a few lines each.
  private readonly familyOf: Int32Array;
  // The client slots of each route's last RING requests (a ring), for how many clients a surge comes from.
  private readonly recentClients: Int32Array;
  private readonly recentAt: Uint8Array;
  private readonly familyTrend: Float64Array;
  /** The families' names ("GET /c/*"), indexed by family id. */
  readonly familyNames: string[];
  private allLatencyTrend = 0;
  private lastSeconds = 0;
  /** Route id of the last record: index into the vocabulary, or -1 for an unknown route. */
  lastRoute = -1;
  /** Whether the last record's path is novel: not a route of its own (a prefix route or unknown). */
  lastNovel = false;
  /** Requests on that route in the window, the last record included. */
  lastRouteCount = 0;
  /** 5xx answers on that route in the window, the last record included. */
  lastRouteErrors = 0;
  /** The route's 5xx share over about its last 10 requests (a moving average: a burst reads while it happens). */
  lastRouteErrorRecent = 0;
  /** Distinct clients among the route's last 8 requests (-1 while the window holds fewer than 8). */
  lastRouteClients = -1;
  /** Family id of the last record's route (see familyNames), or -1. */
  lastFamily = -1;
  /** The latency trend of that family (0 without one). */
  lastFamilyTrend = 0;
  /** How many of the route's last 3 answers (this one included) were 5xx. */
  lastRouteErrorsOfLast3 = 0;
  /** The route's latency trend (route_latency_trend, also when that feature is off). */
  lastRouteLatencyTrend = 0;
  /** The same trend over all traffic (about the last 20 lines): high when everything is slow at once. */
  lastAllLatencyTrend = 0;
  /** The last record's client window. */
  readonly lastClient: ClientWindow = { requests: 0, failures: 0, novelFailures: 0, knownFailures: 0 };
  /** Highest client window counts seen so far, over every client. */
  readonly peaks: ClientPeaks = { requests: 0, knownFailures: 0, novelFailures: 0, distinct: 0 };
  // Per client slot: its highest window requests, known-route failures and novel-path failures.
  private readonly slotPeaks = new Int32Array(3 * MAX_CLIENTS);

  /**
   * The highest client window counts over the clients tracked now, leaving out the
   * addresses in `exclude` (training leaves out clients that look like an incident,
   * so a scanner in the training log does not raise the bar for the next one).
   */
  clientPeaks(exclude: ReadonlySet<string>): ClientPeaks {
    const out: ClientPeaks = { requests: 0, knownFailures: 0, novelFailures: 0, distinct: this.peaks.distinct };
    for (const [ip, k] of this.clientSlot) {
      if (exclude.has(ip)) continue;
      out.requests = Math.max(out.requests, this.slotPeaks[3 * k]);
      out.knownFailures = Math.max(out.knownFailures, this.slotPeaks[3 * k + 1]);
      out.novelFailures = Math.max(out.novelFailures, this.slotPeaks[3 * k + 2]);
    }
    return out;
  }

  constructor(spec: FeatureSpec) {
    this.spec = spec;
    this.cols = spec.features.length;
    const names = Object.keys(spec.routes);
    this.baselines = names.map((n) => spec.routes[n]);
    this.prefix = Uint8Array.from(names, (n) => (isPrefixRoute(n) ? 1 : 0));
    this.asset = Uint8Array.from(names, (n) => (isAssetRoute(n) ? 1 : 0));
    names.forEach((n, i) => {
      this.routeIndex.set(n, i);
      const space = n.indexOf(" ");
      const method = n.slice(0, space);
      let m = this.byMethod.get(method);
      if (!m) this.byMethod.set(method, (m = new Map()));
      m.set(n.slice(space + 1), i);
    });
    this.routeRarity = new Float64Array(names.length + 1);
    names.forEach((n, i) => (this.routeRarity[i] = -Math.log(spec.routes[n].count / spec.lines)));
    this.routeRarity[names.length] = spec.unseenRarity;
    const bucketSeconds = spec.windowSeconds / BUCKETS;
    this.routes = new WindowCounts(names.length + 2, BUCKETS, bucketSeconds, 3); // + unknown, + all traffic
    this.latencyTrend = new Float64Array(names.length + 1);
    this.bytesTrend = new Float64Array(names.length + 1);
    this.errorRecent = new Float64Array(names.length + 1);
    this.errorBits = new Uint8Array(names.length + 1);
    const families = familiesOf(names);
    this.familyNames = families.names;
    this.familyOf = families.of;
    this.familyTrend = new Float64Array(families.names.length);
    this.recentClients = new Int32Array((names.length + 1) * RING).fill(-1);
    this.recentAt = new Uint8Array(names.length + 1);
    this.clients = new WindowCounts(MAX_CLIENTS, BUCKETS, bucketSeconds, 4);
    this.active = new Uint8Array(ALL_FEATURES.length);
    for (const f of spec.features) this.active[ALL_FEATURES.indexOf(f)] = 1;
  }

  /** Baseline of route id k (-1: the overall baseline). */
  baseline(k: number): RouteBaseline {
    return k >= 0 ? this.baselines[k] : this.spec.overall;
  }

  /** Route id of a route key, -1 when unknown. */
  routeId(route: string): number {
    return this.routeIndex.get(route) ?? -1;
  }

  /** Whether route id k is the static assets of one extension. */
  isAsset(k: number): boolean {
    return k >= 0 && this.asset[k] === 1;
  }

  /** Whether route id k is a learned prefix route. */
  isPrefix(k: number): boolean {
    return k >= 0 && this.prefix[k] === 1;
  }

  /** Route id of a request: its own route, else its deepest learned prefix route, else -1. */
  lookupRoute(method: string, path: string): number {
    const m = this.byMethod.get(method);
    if (m === undefined) return -1;
    let template = this.templates.get(path);
    if (template === undefined) {
      template = normalizeRoute(path);
      if (this.templates.size >= TEMPLATE_CACHE) this.templates.clear();
      this.templates.set(path, template);
    }
    const own = m.get(template);
    if (own !== undefined) return own;
    let found = -1;
    forEachPrefix(template, (p) => {
      found = m.get(p) ?? -1;
      return found >= 0;
    });
    return found;
  }

  /** Update the windows with r and write its features to out[offset ..]. */
  extract(r: LogRecord, out: Float64Array, offset: number): void {
    const seconds = Number.isFinite(r.ts) ? r.ts / 1000 : this.lastSeconds;
    if (seconds > this.lastSeconds) this.lastSeconds = seconds;
    const routeId = this.lookupRoute(r.method, r.route);
    const novel = routeId < 0 || this.prefix[routeId] === 1;
    this.lastRoute = routeId;
    this.lastNovel = novel;
    const rk = routeId >= 0 ? routeId : this.baselines.length;
    const b = this.baseline(routeId);
    const status = Number.isFinite(r.status) ? r.status : 0;
    const serverError = status >= 500;
    const failed = status >= 400;
    // Route channels: 1 a 5xx answer, 2 a failed one (4xx/5xx).
    const routeFlags = (serverError ? 1 : 0) | (failed ? 2 : 0);
    this.routes.add(rk, seconds, routeFlags);
    const all = this.baselines.length + 1;
    this.routes.add(all, seconds, routeFlags);
    const ck = this.client(r.ip);
    this.clients.add(ck, seconds, failed ? FAILED | (novel ? NOVEL_FAILED : KNOWN_FAILED) : 0);
    const cw = this.lastClient;
    cw.requests = this.clients.total(ck);
    cw.failures = this.clients.totalOf(ck, 1);
    cw.novelFailures = this.clients.totalOf(ck, 2);
    cw.knownFailures = this.clients.totalOf(ck, 3);
    const pk = this.peaks;
    if (cw.requests > pk.requests) pk.requests = cw.requests;
    if (cw.novelFailures > pk.novelFailures) pk.novelFailures = cw.novelFailures;
    if (cw.knownFailures > pk.knownFailures) pk.knownFailures = cw.knownFailures;
    const sp = 3 * ck;
    if (cw.requests > this.slotPeaks[sp]) this.slotPeaks[sp] = cw.requests;
    if (cw.knownFailures > this.slotPeaks[sp + 1]) this.slotPeaks[sp + 1] = cw.knownFailures;
    if (cw.novelFailures > this.slotPeaks[sp + 2]) this.slotPeaks[sp + 2] = cw.novelFailures;

    // A line without a latency reads as typical for its route (not as "very fast").
    const hasLatency = Number.isFinite(r.latencyMs) && r.latencyMs >= 0;
    const latencyLog = hasLatency ? Math.log1p(r.latencyMs) : Number.isFinite(b.latencyMid) ? b.latencyMid : 0;
    const bytesLog = Math.log1p(Number.isFinite(r.bytes) && r.bytes > 0 ? r.bytes : 0);
    const routeCount = this.routes.total(rk);
    this.lastRouteCount = routeCount;
    this.lastRouteErrors = this.routes.totalOf(rk, 1);
    const latencyZ = robustZ(latencyLog, b.latencyMid, b.latencySpread);
    // A response without a body (304, 204, HEAD), a redirect or an error page says nothing about the route's size.
    const bytesZ = bytesLog > 0 && status >= 200 && status < 300 ? robustZ(bytesLog, b.bytesMid, b.bytesSpread) : 0;
    this.latencyTrend[rk] += TREND_ALPHA * (Math.min(TREND_Z_CAP, latencyZ) - this.latencyTrend[rk]);
    this.bytesTrend[rk] += TREND_ALPHA * (Math.min(TREND_Z_CAP, bytesZ) - this.bytesTrend[rk]);
    this.errorRecent[rk] += ERROR_ALPHA * ((serverError ? 1 : 0) - this.errorRecent[rk]);
    this.allLatencyTrend += RECENT_ALPHA * (Math.min(TREND_Z_CAP, latencyZ) - this.allLatencyTrend);
    this.lastRouteErrorRecent = this.errorRecent[rk];
    const family = routeId >= 0 ? this.familyOf[routeId] : -1;
    this.lastFamily = family;
    if (family >= 0) {
      this.familyTrend[family] += TREND_ALPHA * (Math.min(TREND_Z_CAP, latencyZ) - this.familyTrend[family]);
      this.lastFamilyTrend = this.familyTrend[family];
    } else {
      this.lastFamilyTrend = 0;
    }
    const bits = ((this.errorBits[rk] << 1) | (serverError ? 1 : 0)) & 7;
    this.errorBits[rk] = bits;
    this.lastRouteErrorsOfLast3 = (bits & 1) + ((bits >> 1) & 1) + (bits >> 2);
    this.lastRouteLatencyTrend = this.latencyTrend[rk];
    this.lastAllLatencyTrend = this.allLatencyTrend;
    const a = this.active;
    let o = offset;
    if (a[0]) out[o++] = latencyLog;
    if (a[1]) out[o++] = latencyZ;
    if (a[2]) out[o++] = this.latencyTrend[rk];
    if (a[3]) out[o++] = Math.floor(status / 100);
    if (a[4]) out[o++] = serverError ? 1 : 0;
    // Window shares are smoothed toward the training share (PRIOR pseudo-lines), so a
    // window holding two requests does not read as a 50% error rate.
    if (a[5]) out[o++] = (this.routes.totalOf(rk, 1) + PRIOR * b.errorRate) / (routeCount + PRIOR);
    if (a[6]) out[o++] = bytesLog;
    if (a[7]) out[o++] = bytesZ;
    if (a[8]) out[o++] = this.bytesTrend[rk];
    if (a[9]) out[o++] = this.spec.methodRarity[r.method] ?? this.spec.unseenRarity;
    if (a[10]) out[o++] = this.routeRarity[rk];
    // The route's answered requests against the rest of the window's, over the same odds
    // in training: a surge of xk on one route reads as k, while the daily rise and
    // fall of all traffic cancels out. Failed requests are left out: a flood of them
    // (a brute force, a scanner, an outage) is the client rules' and error_burst's.
    if (a[11]) {
      // A novel path has no training rate of its own to compare with (a prefix route's
      // share moves with how many of its pages were new): neutral, route_rarity speaks for it.
      // The route's and the whole traffic's windows expire apart: after a clock jump the
      // route can hold more than "all" for a moment, so both counts are kept >= 0.
      const ok = Math.max(0, routeCount - this.routes.totalOf(rk, 2));
      const others = Math.max(0, this.routes.total(all) - this.routes.totalOf(all, 2) - ok);
      out[o++] = novel ? 0 : Math.log((ok + 1) / (others + 1) / (b.share / Math.max(1e-4, 1 - b.share) + 1e-4));
    }
    // The route's last RING clients; how many distinct, counted only when the rules may ask (a rate well up).
    const ring = rk * RING;
    this.recentClients[ring + this.recentAt[rk]] = ck;
    this.recentAt[rk] = (this.recentAt[rk] + 1) % RING;
    this.lastRouteClients = routeCount >= RING ? distinct(this.recentClients, ring) : -1;
    if (a[12]) out[o++] = Math.log1p(cw.requests);
    if (a[13]) out[o++] = (cw.failures + PRIOR * this.spec.overall.failRate) / (cw.requests + PRIOR);
    if (a[14]) out[o++] = Math.log1p(cw.novelFailures);
  }

  private client(ip: string): number {
    const slot = this.clientSlot.get(ip);
    if (slot !== undefined) return slot;
    this.peaks.distinct++;
    // Slots are handed out round-robin; a reused slot forgets its old address.
    const k = this.nextSlot;
    this.nextSlot = (this.nextSlot + 1) % MAX_CLIENTS;
    if (this.clientSlot.size >= MAX_CLIENTS) {
      for (const [oldIp, s] of this.clientSlot) {
        if (s === k) {
          this.clientSlot.delete(oldIp);
          break;
        }
      }
    }
    this.clients.reset(k);
    this.slotPeaks.fill(0, 3 * k, 3 * k + 3);
    this.clientSlot.set(ip, k);
    return k;
  }
}

/**
 * Families of sibling routes: routes of their own whose templates differ only in the
 * last segment ("GET /c/shoes", "GET /c/bags"), with the prefix route of that parent if
 * there is one ("GET /c/*"); families of at least two routes, static assets left out.
 */
function familiesOf(names: readonly string[]): { names: string[]; of: Int32Array } {
  const members = new Map<string, number[]>();
  names.forEach((n, i) => {
    if (isAssetRoute(n)) return;
    const slash = n.lastIndexOf("/");
    if (slash < 0 || n.indexOf(" ") < 0) return;
    const parent = isPrefixRoute(n) ? n : `${n.slice(0, slash)}/*`;
    let list = members.get(parent);
    if (!list) members.set(parent, (list = []));
    list.push(i);
  });
  const of = new Int32Array(names.length).fill(-1);
  const out: string[] = [];
  for (const [parent, list] of members) {
    if (list.length < 2) continue;
    for (const i of list) of[i] = out.length;
    out.push(parent);
  }
  return { names: out, of };
}

/** Whether row[from, from + n) holds only finite numbers (what the scorer takes). */
export function finiteRow(row: Float64Array, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (!Number.isFinite(row[i])) return false;
  return true;
}

/** Distinct values among a[from, from + RING) (-1 marks an empty place and is not counted). */
function distinct(a: Int32Array, from: number): number {
  let n = 0;
  for (let i = from; i < from + RING; i++) {
    if (a[i] < 0) continue;
    let seen = false;
    for (let k = from; k < i; k++) {
      if (a[k] === a[i]) {
        seen = true;
        break;
      }
    }
    if (!seen) n++;
  }
  return n;
}

function robustZ(x: number, mid: number, spread: number): number {
  if (!Number.isFinite(mid)) return 0;
  return Math.max(-Z_LOW, Math.min(Z_HIGH, (x - mid) / spread));
}
