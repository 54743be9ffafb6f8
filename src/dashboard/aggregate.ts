/**
 * Server-side aggregation for the dashboard: every scored line goes into a
 * per-second bucket (by the line's own time) for its route and for all routes;
 * the page only ever sees buckets, never lines. Memory stays flat whatever the
 * line rate: a bounded window of seconds, a fixed latency histogram per bucket,
 * and a ring of the latest alerts.
 *
 * Updates are found by stamp: every cell touched since the last `seal()` carries
 * the open stamp, so a client that has seen stamp s is sent the cells with a
 * larger stamp (and the alerts with a larger sequence number).
 */
import type { Alert, ScoredBatch } from "../detect.js";

/** Latency histogram: log-spaced bins from 0.1 ms to 1000 s, BINS_PER_DECADE per decade. */
const BINS_PER_DECADE = 12;
const LOWEST_DECADE = -1;
const BINS = 7 * BINS_PER_DECADE;

/** The histogram bin of a latency in milliseconds (values outside the range go to the end bins). */
export function latencyBin(ms: number): number {
  if (!(ms > 0)) return 0;
  const b = Math.floor((Math.log10(ms) - LOWEST_DECADE) * BINS_PER_DECADE);
  return b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
}

/** The value a bin stands for: its geometric centre, in milliseconds. */
export function binCentre(bin: number): number {
  return 10 ** ((bin + 0.5) / BINS_PER_DECADE + LOWEST_DECADE);
}

/** Quantile q of a histogram (the centre of the bin holding rank ceil(q * n)); NaN when empty. */
export function histogramQuantile(h: Uint32Array, n: number, q: number): number {
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    seen += h[b];
    if (seen >= rank) return binCentre(b);
  }
  return binCentre(h.length - 1);
}

/** One route's (or all routes') lines in one second. */
class Cell {
  count = 0;
  errors = 0;
  scoreSum = 0;
  scoreMax = 0;
  timed = 0;
  readonly latency = new Uint32Array(BINS);
  constructor(public stamp: number) {}

  add(score: number, status: number, latencyMs: number): void {
    this.count++;
    if (status >= 500) this.errors++;
    this.scoreSum += score;
    if (score > this.scoreMax) this.scoreMax = score;
    if (Number.isFinite(latencyMs)) {
      this.latency[latencyBin(latencyMs)]++;
      this.timed++;
    }
  }

  row(second: number): BucketRow {
    const q = (p: number) => (this.timed > 0 ? round3(histogramQuantile(this.latency, this.timed, p)) : null);
    return [second, this.count, this.errors, q(0.5), q(0.99), round6(this.scoreSum / this.count), round6(this.scoreMax)];
  }
}

/** One second of one route: [second, lines, errors (5xx), p50 ms, p99 ms, mean score, max score]. */
export type BucketRow = [number, number, number, number | null, number | null, number, number];

/** A route as the page lists it. */
export interface RouteInfo {
  /** "all", a trained route's name ("GET /api/orders/:id"), or OTHER_ROUTE. */
  key: string;
  /** Lines seen on it since the start. */
  lines: number;
}

/** Key of the lines whose route is outside the trained vocabulary. */
export const OTHER_ROUTE = "(untrained routes)";
/** Key of every route together. */
export const ALL_ROUTES = "all";

/** An alert with its sequence number (the page's handle on it). */
export interface NumberedAlert {
  seq: number;
  alert: Alert;
}

/** Bounds of an Aggregator. */
export interface AggregatorOptions {
  /** Seconds of line time kept, counted back from the newest line. */
  windowSeconds: number;
  /** Alerts kept (the newest). */
  maxAlerts: number;
}

/** Per-second buckets per route and overall, plus the latest alerts, in a bounded window. */
export class Aggregator {
  /** second -> route key -> cell ("all" included). */
  private readonly seconds = new Map<number, Map<string, Cell>>();
  private readonly routeLines = new Map<string, number>();
  private readonly alerts: NumberedAlert[] = [];
  private alertSeq = 0;
  private openStamp = 1;
  private newest = -Infinity;
  /** Lines whose time is older than the window when they arrive (not charted). */
  late = 0;
  /** Lines with no time at all (not charted). */
  untimed = 0;

  constructor(readonly opts: AggregatorOptions) {}

  /** Add every scored line of a batch. */
  addBatch(b: ScoredBatch): void {
    for (let i = 0; i < b.count; i++) {
      const t = b.seconds[i];
      if (!(t > 0)) {
        this.untimed++;
        continue;
      }
      const second = Math.floor(t);
      if (second > this.newest) this.advanceTo(second);
      if (second <= this.newest - this.opts.windowSeconds) {
        this.late++;
        continue;
      }
      const id = b.route[i];
      const key = id >= 0 && id < b.routeNames.length ? b.routeNames[id] : OTHER_ROUTE;
      let cells = this.seconds.get(second);
      if (cells === undefined) {
        cells = new Map();
        this.seconds.set(second, cells);
      }
      this.cell(cells, ALL_ROUTES).add(b.scores[i], b.status[i], b.latencyMs[i]);
      this.cell(cells, key).add(b.scores[i], b.status[i], b.latencyMs[i]);
      this.routeLines.set(ALL_ROUTES, (this.routeLines.get(ALL_ROUTES) ?? 0) + 1);
      this.routeLines.set(key, (this.routeLines.get(key) ?? 0) + 1);
    }
  }

  /** Keep an alert (the oldest goes when the ring is full). */
  addAlert(a: Alert): void {
    this.alerts.push({ seq: ++this.alertSeq, alert: a });
    if (this.alerts.length > this.opts.maxAlerts) this.alerts.splice(0, this.alerts.length - this.opts.maxAlerts);
  }

  /** Close the open stamp and return it: everything added so far has a stamp <= it. */
  seal(): number {
    return this.openStamp++;
  }

  /** Rows of `route` changed after stamp `since` (0: the whole window), oldest second first. */
  rows(route: string, since = 0): BucketRow[] {
    const out: BucketRow[] = [];
    for (const [second, cells] of this.seconds) {
      const c = cells.get(route);
      if (c !== undefined && c.stamp > since) out.push(c.row(second));
    }
    return out.sort((x, y) => x[0] - y[0]);
  }

  /** Alerts with a sequence number above `after`, oldest first. */
  alertsAfter(after = 0): NumberedAlert[] {
    const first = this.alerts.findIndex((x) => x.seq > after);
    return first < 0 ? [] : this.alerts.slice(first);
  }

  /** Every route seen, busiest first ("all" leads). */
  routes(): RouteInfo[] {
    return [...this.routeLines].map(([key, lines]) => ({ key, lines })).sort((x, y) => (x.key === ALL_ROUTES ? -1 : y.key === ALL_ROUTES ? 1 : y.lines - x.lines));
  }

  /** Oldest and newest second held over all routes (the charts' x range), or null before any line. */
  span(): [number, number] | null {
    if (this.seconds.size === 0) return null;
    let oldest = this.newest;
    for (const s of this.seconds.keys()) if (s < oldest) oldest = s;
    return [oldest, this.newest];
  }

  /** Seconds held, cells held (all routes' together) and alerts held: the bounded state. */
  size(): { seconds: number; cells: number; alerts: number } {
    let cells = 0;
    for (const m of this.seconds.values()) cells += m.size;
    return { seconds: this.seconds.size, cells, alerts: this.alerts.length };
  }

  private cell(cells: Map<string, Cell>, key: string): Cell {
    let c = cells.get(key);
    if (c === undefined) {
      c = new Cell(this.openStamp);
      cells.set(key, c);
    }
    c.stamp = this.openStamp;
    return c;
  }

  /** Move the window's end to `second`, dropping seconds that fall out of it. */
  private advanceTo(second: number): void {
    this.newest = second;
    const oldest = second - this.opts.windowSeconds;
    for (const s of this.seconds.keys()) if (s <= oldest) this.seconds.delete(s);
  }
}

function round3(x: number): number {
  return Math.round(x * 1e3) / 1e3;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
