/**
 * Server-side aggregation for the dashboard: every scored line goes into a
 * per-second bucket (by the line's own time) for its route and for all routes;
 * a telemetry row goes into a bucket for each of its series and one for all
 * series. The page only ever sees buckets, never lines. Memory stays flat
 * whatever the line rate: a bounded window of seconds, a fixed latency histogram
 * (or a few sums per series) per bucket, and a ring of the latest alerts.
 *
 * Updates are found by stamp: every cell touched since the last `seal()` carries
 * the open stamp, so a client that has seen stamp s is sent the cells with a
 * larger stamp (and the alerts with a larger sequence number).
 */
import type { ScoredBatch } from "../streams/counts.js";
import type { StreamAlert } from "../streams/stream.js";

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

/** One second of one telemetry series: [second, rows, mean score, max score, mean value, min value, max value] (values null when none was finite). */
export type SeriesRow = [number, number, number, number, number | null, number | null, number | null];

/** One second of all telemetry series: [second, rows, mean score, max score, then each series' mean value in series order]. */
export type AllSeriesRow = [number, number, number, number, ...Array<number | null>];

/** A row of any kind: columns 0 and 1 are always the second and the lines (rows) in it. */
export type DashboardRow = BucketRow | SeriesRow | AllSeriesRow;

/** Score sums shared by the telemetry cells: a row's score counts for every series. */
class ScoreSums {
  count = 0;
  scoreSum = 0;
  scoreMax = 0;
  constructor(public stamp: number) {}

  protected addScore(score: number): void {
    this.count++;
    this.scoreSum += score;
    if (score > this.scoreMax) this.scoreMax = score;
  }

  protected head(second: number): [number, number, number, number] {
    return [second, this.count, round6(this.scoreSum / this.count), round6(this.scoreMax)];
  }
}

/** One telemetry series' rows in one second: its values (mean, min, max) and the rows' scores. */
class SeriesCell extends ScoreSums {
  private valued = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  add(score: number, value: number): void {
    this.addScore(score);
    if (!Number.isFinite(value)) return;
    this.valued++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  row(second: number): SeriesRow {
    const v = this.valued > 0;
    return [...this.head(second), v ? round6(this.sum / this.valued) : null, v ? this.min : null, v ? this.max : null];
  }
}

/** Every telemetry series' rows in one second: the scores and each series' mean value. */
class AllSeriesCell extends ScoreSums {
  private readonly sums: Float64Array;
  private readonly valued: Uint32Array;

  constructor(stamp: number, series: number) {
    super(stamp);
    this.sums = new Float64Array(series);
    this.valued = new Uint32Array(series);
  }

  /** Add row i of a batch whose values are row-major with `s` columns. */
  add(score: number, values: Float64Array, i: number): void {
    this.addScore(score);
    const s = this.sums.length;
    for (let q = 0; q < s; q++) {
      const v = values[i * s + q];
      if (!Number.isFinite(v)) continue;
      this.sums[q] += v;
      this.valued[q]++;
    }
  }

  row(second: number): AllSeriesRow {
    const means = Array.from(this.sums, (sum, q) => (this.valued[q] > 0 ? round6(sum / this.valued[q]) : null));
    return [...this.head(second), ...means];
  }
}

type AnyCell = Cell | SeriesCell | AllSeriesCell;

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

/** An alert (HTTP or telemetry) with its sequence number (the page's handle on it). */
export interface NumberedAlert {
  seq: number;
  alert: StreamAlert;
}

/** Bounds of an Aggregator. */
export interface AggregatorOptions {
  /** Seconds of line time kept, counted back from the newest line. */
  windowSeconds: number;
  /** Alerts kept (the newest). */
  maxAlerts: number;
}

/** Per-second buckets per route (or series) and overall, plus the latest alerts, in a bounded window. */
export class Aggregator {
  /** second -> route or series key -> cell ("all" included). */
  private readonly seconds = new Map<number, Map<string, AnyCell>>();
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

  /** Add every scored line of a batch (a telemetry batch, with values, by series). */
  addBatch(b: ScoredBatch): void {
    if (b.values !== undefined && b.seriesNames !== undefined) return this.addRows(b, b.values, b.seriesNames);
    for (let i = 0; i < b.count; i++) {
      const cells = this.cellsAt(b.seconds[i]);
      if (cells === null) continue;
      const id = b.route[i];
      const key = id >= 0 && id < b.routeNames.length ? b.routeNames[id] : OTHER_ROUTE;
      this.cell(cells, ALL_ROUTES, Cell).add(b.scores[i], b.status[i], b.latencyMs[i]);
      this.cell(cells, key, Cell).add(b.scores[i], b.status[i], b.latencyMs[i]);
      this.count(ALL_ROUTES, 1);
      this.count(key, 1);
    }
  }

  /** Telemetry rows: every row goes into each of its series' cells and into the all-series cell. */
  private addRows(b: ScoredBatch, values: Float64Array, series: readonly string[]): void {
    const s = series.length;
    let charted = 0;
    for (let i = 0; i < b.count; i++) {
      const cells = this.cellsAt(b.seconds[i]);
      if (cells === null) continue;
      const score = b.scores[i];
      this.cell(cells, ALL_ROUTES, AllSeriesCell, s).add(score, values, i);
      for (let q = 0; q < s; q++) this.cell(cells, series[q], SeriesCell).add(score, values[i * s + q]);
      charted++;
    }
    if (charted === 0) return;
    this.count(ALL_ROUTES, charted);
    for (const name of series) this.count(name, charted);
  }

  /** Keep an alert (the oldest goes when the ring is full). */
  addAlert(a: StreamAlert): void {
    this.alerts.push({ seq: ++this.alertSeq, alert: a });
    if (this.alerts.length > this.opts.maxAlerts) this.alerts.splice(0, this.alerts.length - this.opts.maxAlerts);
  }

  /** Change the window (the dashboard widens it for telemetry streams); seconds that fall out go. */
  setWindow(seconds: number): void {
    this.opts.windowSeconds = seconds;
    if (this.newest > -Infinity) this.advanceTo(this.newest);
  }

  /** Close the open stamp and return it: everything added so far has a stamp <= it. */
  seal(): number {
    return this.openStamp++;
  }

  /** Rows of `route` (a route, a series or "all") changed after stamp `since` (0: the whole window), oldest second first. */
  rows(route: string, since = 0): DashboardRow[] {
    const out: DashboardRow[] = [];
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

  /** Every route (or series) seen, busiest first ("all" leads; ties keep the order first seen). */
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

  /** The cells of the second of time t (epoch seconds), or null when t is missing or older than the window (counted). */
  private cellsAt(t: number): Map<string, AnyCell> | null {
    if (!(t > 0)) {
      this.untimed++;
      return null;
    }
    const second = Math.floor(t);
    if (second > this.newest) this.advanceTo(second);
    if (second <= this.newest - this.opts.windowSeconds) {
      this.late++;
      return null;
    }
    let cells = this.seconds.get(second);
    if (cells === undefined) {
      cells = new Map();
      this.seconds.set(second, cells);
    }
    return cells;
  }

  private count(key: string, n: number): void {
    this.routeLines.set(key, (this.routeLines.get(key) ?? 0) + n);
  }

  /** The cell of `key` in one second (made with `Kind` when missing), stamped with the open stamp. */
  private cell<C extends AnyCell>(cells: Map<string, AnyCell>, key: string, Kind: new (stamp: number, series: number) => C, series = 0): C {
    let c = cells.get(key);
    if (!(c instanceof Kind)) {
      c = new Kind(this.openStamp, series);
      cells.set(key, c);
    }
    c.stamp = this.openStamp;
    return c as C;
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
