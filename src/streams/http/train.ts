/**
 * Training on a log: parse every line, learn the feature spec (route vocabulary and
 * baselines), replay the lines through the same FeatureExtractor detection uses,
 * fit the forest, and calibrate severity on the training scores. Everything the
 * detector needs travels inside the one model file (forest.metadata.pipeline).
 */
import { IsolationForest } from "../../forest/forest.js";
import {
  ALL_FEATURES, FeatureExtractor, finiteRow, forEachPrefix, LINE_CLOCK_RATE, normalizeRoute, type FeatureName, type FeatureSpec, type RouteBaseline,
} from "./features.js";
import type { ForestOptions } from "../../forest/options.js";
import {
  createParser, detectFormat, FORMAT_NAMES, latencyEvidence, LATENCY_UNITS, type FieldName, type FormatName, type LatencyUnit, type LineParser,
} from "./parse.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { calibrate, isCalibration, type Calibration } from "../severity.js";
import { readLineBatches } from "../lines.js";

/** Options of training. */
export interface TrainOptions {
  /** Log format, or "auto" (default) to detect it from the first lines. */
  format?: FormatName | "auto";
  /** JSON field mapping, e.g. { latency: "responseTime" }. */
  fields?: Partial<Record<FieldName, string>>;
  /** Width of the sliding windows in seconds, in [1, 3600]. Default 30. */
  windowSeconds?: number;
  /** Templates seen fewer times than this in training are no route of their own (they fall under a prefix route). Default 10. */
  minRouteCount?: number;
  /** Features to use (default: all that the training lines support). */
  features?: readonly FeatureName[];
  /** Forest options (trees, sampleSize, seed, ...). */
  forest?: ForestOptions;
  /**
   * Unit of a latency written as a bare number ("ms", "s" or "us"). Default: JSON
   * fields are ms; a combined log's trailing number is guessed from the training
   * lines (guessLatencyUnit), and training stops with a RangeError asking for it
   * when it cannot be told.
   */
  latencyUnit?: LatencyUnit;
}

export const TRAIN_DEFAULTS = { format: "auto" as const, windowSeconds: 30, minRouteCount: 10 };

/** Lines training holds before it picks the parser (format detection, the latency unit's guess). */
const HOLD_LINES = 2000;

/** What detection reads back from a model trained on logs. */
export interface PipelineMeta {
  version: 1;
  format: FormatName;
  fields: Partial<Record<FieldName, string>>;
  spec: FeatureSpec;
  calibration: Calibration;
  /** The latency unit the parser used (given, or guessed at training); absent: the parser's default. */
  latencyUnit?: LatencyUnit;
}

/** Counts from a training run. */
export interface TrainSummary {
  lines: number;
  parsed: number;
  skipped: Record<string, number>;
  format: FormatName;
  features: FeatureName[];
  routes: number;
  /** Score at severity 50 (p99 of the training scores) and 75 (p99.9). */
  scoreP99: number;
  scoreP999: number;
  fitMs: number;
  totalMs: number;
  /** What the training data leaves undetectable or looks wrong in it, one sentence each. */
  warnings: string[];
  /** The latency unit used, and how it was decided ("given", "guessed"); null when not needed. */
  latencyUnit: { unit: LatencyUnit; how: "given" | "guessed" } | null;
}

/** Parsed lines, column by column (training, and retraining's ring of recent lines). */
export class Columns {
  n = 0;
  ts: number[] = [];
  status: number[] = [];
  latency: number[] = [];
  bytes: number[] = [];
  method: string[] = [];
  route: string[] = [];
  ip: string[] = [];
  userAgent: string[] = [];

  push(r: LogRecord): void {
    this.ts.push(r.ts);
    this.status.push(r.status);
    this.latency.push(r.latencyMs);
    this.bytes.push(r.bytes);
    this.method.push(r.method);
    this.route.push(r.route);
    this.ip.push(r.ip);
    this.userAgent.push(r.userAgent);
    this.n++;
  }

  fill(i: number, r: LogRecord): void {
    r.ts = this.ts[i];
    r.status = this.status[i];
    r.latencyMs = this.latency[i];
    r.bytes = this.bytes[i];
    r.method = this.method[i];
    r.route = this.route[i];
    r.ip = this.ip[i];
    r.userAgent = this.userAgent[i];
  }
}

/** Incremental trainer: feed line batches, then finish(). */
export class Trainer {
  private readonly opts: Required<Omit<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">> & Pick<TrainOptions, "fields" | "forest" | "features" | "latencyUnit">;
  private latencyUnit: { unit: LatencyUnit; how: "given" | "guessed" } | null = null;
  private parser: LineParser | null = null;
  private pending: string[] = [];
  private readonly cols = new Columns();
  private readonly record = emptyRecord();
  private lines = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly started = performance.now();

  constructor(options: TrainOptions = {}) {
    const format = options.format ?? TRAIN_DEFAULTS.format;
    if (!["auto", ...FORMAT_NAMES].includes(format)) {
      throw new RangeError(`format must be one of ${["auto", ...FORMAT_NAMES].join(", ")}, got ${JSON.stringify(format)}`);
    }
    const windowSeconds = options.windowSeconds ?? TRAIN_DEFAULTS.windowSeconds;
    if (!(Number.isFinite(windowSeconds) && windowSeconds >= 1 && windowSeconds <= 3600)) {
      throw new RangeError(`windowSeconds must be a number in [1, 3600], got ${windowSeconds}`);
    }
    const minRouteCount = options.minRouteCount ?? TRAIN_DEFAULTS.minRouteCount;
    if (!(Number.isInteger(minRouteCount) && minRouteCount >= 1)) {
      throw new RangeError(`minRouteCount must be an integer >= 1, got ${minRouteCount}`);
    }
    if (options.features !== undefined) {
      const bad = options.features.find((f) => !ALL_FEATURES.includes(f));
      if (bad !== undefined || options.features.length === 0) {
        throw new RangeError(`features must be a non-empty list of ${ALL_FEATURES.join(", ")}; got ${JSON.stringify(bad ?? [])}`);
      }
    }
    if (options.latencyUnit !== undefined && !LATENCY_UNITS.includes(options.latencyUnit)) {
      throw new RangeError(`latencyUnit must be one of ${LATENCY_UNITS.join(", ")}, got ${JSON.stringify(options.latencyUnit)}`);
    }
    this.opts = {
      format, windowSeconds, minRouteCount, fields: options.fields, forest: options.forest, features: options.features, latencyUnit: options.latencyUnit,
    };
  }

  /** Add a batch of lines (in file order). */
  add(lines: readonly string[]): void {
    if (this.parser === null) {
      // Hold lines until there are enough to recognise the format.
      for (const l of lines) this.pending.push(l);
      // Enough lines to recognise the format and, for combined logs, the unit of a trailing latency.
      if ((this.opts.format === "auto" || this.opts.format === "combined") && this.pending.length < HOLD_LINES) return;
      this.parser = this.makeParser(this.pending);
      const held = this.pending;
      this.pending = [];
      this.parseAll(held);
      return;
    }
    this.parseAll(lines);
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.lines + this.pending.length;
  }

  /** Learn the spec, fit and calibrate. Throws when no line could be parsed. */
  finish(): { forest: IsolationForest; summary: TrainSummary } {
    if (this.parser === null) {
      this.parser = this.makeParser(this.pending);
      this.parseAll(this.pending);
      this.pending = [];
    }
    const c = this.cols;
    if (c.n === 0) {
      throw new RangeError(`no line of the training input could be parsed as ${this.parser.format} (${describeSkipped(this.skipped)})`);
    }
    const clock = setClock(c);
    const spec = learnSpec(c, this.opts.windowSeconds, this.opts.minRouteCount, this.opts.features);
    spec.clock = clock.clock;
    spec.linesPerSecond = clock.linesPerSecond;
    const X = new Float64Array(c.n * spec.features.length);
    const fx = new FeatureExtractor(spec);
    const r = emptyRecord();
    let rows = 0;
    for (let i = 0; i < c.n; i++) {
      c.fill(i, r);
      fx.extract(r, X, rows * fx.cols);
      // A row that is not finite would make fit refuse the whole table: it is skipped, counted.
      if (finiteRow(X, rows * fx.cols, fx.cols)) rows++;
      else this.skipped.non_finite_features = (this.skipped.non_finite_features ?? 0) + 1;
    }
    if (rows === 0) throw new RangeError(`no line of the training input gave finite features (${describeSkipped(this.skipped)})`);
    // Clients that look like an incident (a scanner, a brute force) set no bar for the client rules.
    const suspects = suspectClients(c);
    spec.clients = fx.clientPeaks(suspects);
    const warnings = trainingWarnings(c, spec, clock.untimed, this.opts.minRouteCount);
    if (suspects.size > 0) {
      const list = [...suspects].slice(0, 3).join(", ");
      warnings.push(
        `${suspects.size === 1 ? "1 client" : `${suspects.size} clients`} with 20+ failed requests, most of theirs failing (${list}${suspects.size > 3 ? ", ..." : ""}): ` +
          "a scanner or a brute force in the training data? Left out of the bars the client rules compare with",
      );
    }
    const t0 = performance.now();
    const forest = IsolationForest.fit({ data: X.subarray(0, rows * fx.cols), rows, cols: fx.cols }, { ...this.opts.forest, featureNames: spec.features });
    const fitMs = performance.now() - t0;
    const calibration = calibrate(forest.score({ data: X.subarray(0, rows * fx.cols), rows, cols: fx.cols }));
    const meta: PipelineMeta = { version: 1, format: this.parser.format, fields: this.opts.fields ?? {}, spec, calibration };
    if (this.latencyUnit) meta.latencyUnit = this.latencyUnit.unit;
    forest.metadata = { pipeline: meta };
    return {
      forest,
      summary: {
        lines: this.lines,
        parsed: rows,
        skipped: { ...this.skipped },
        format: this.parser.format,
        features: spec.features,
        routes: Object.keys(spec.routes).length,
        scoreP99: calibration.scores[2],
        scoreP999: calibration.scores[3],
        fitMs,
        totalMs: performance.now() - this.started,
        warnings,
        latencyUnit: this.latencyUnit,
      },
    };
  }

  private makeParser(sample: readonly string[]): LineParser {
    let format = this.opts.format;
    const lines = sample.filter((l) => l.trim() !== "");
    if (format === "auto") {
      const found = detectFormat(lines.slice(0, 50));
      if (found === null) {
        throw new RangeError("could not recognise the log format from the first lines (tried json, combined, seed); pass --format");
      }
      format = found;
    }
    let unit = this.opts.latencyUnit;
    if (unit !== undefined) {
      this.latencyUnit = { unit, how: "given" };
    } else if (format === "combined") {
      // A bare number after the combined fields: ms (morgan), s (nginx) or us (Apache %D)?
      const ev = latencyEvidence(lines);
      if (ev.bare > 0 && ev.unit === null) {
        throw new RangeError(
          `the number after the combined fields (median ${ev.median}, e.g. ${lines[0]?.slice(-40) ?? ""}) could be a latency in ms, s or us: ` +
            "pass --latency-unit ms|s|us (latencyUnit)",
        );
      }
      if (ev.unit !== null) {
        unit = ev.unit;
        this.latencyUnit = { unit, how: "guessed" };
      }
    }
    return createParser(format, { fields: this.opts.fields, ...(unit !== undefined ? { latencyUnit: unit } : {}) });
  }

  private parseAll(lines: readonly string[]): void {
    const parser = this.parser as LineParser;
    const r = this.record;
    for (const line of lines) {
      this.lines++;
      const reason = parser.parse(line, r);
      if (reason !== null) this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
      else this.cols.push(r);
    }
  }
}

/** Train on a file (or stream); `onProgress` gets the lines and (about) the bytes read so far, after each batch. */
export async function trainFromFile(
  source: Parameters<typeof readLineBatches>[0],
  options: TrainOptions = {},
  onProgress?: (lines: number, bytes: number) => void,
): Promise<{ forest: IsolationForest; summary: TrainSummary }> {
  const trainer = new Trainer(options);
  let chars = 0;
  await readLineBatches(source, (batch) => {
    trainer.add(batch);
    for (const line of batch) chars += line.length + 1;
    onProgress?.(trainer.lineCount, chars);
  });
  return trainer.finish();
}

/** Train on lines held in memory. */
export function trainFromLines(lines: readonly string[], options: TrainOptions = {}): { forest: IsolationForest; summary: TrainSummary } {
  const trainer = new Trainer(options);
  trainer.add(lines);
  return trainer.finish();
}

/** The pipeline metadata of a model, or a clear error when the model was not trained on logs. */
export function pipelineOf(forest: IsolationForest): PipelineMeta {
  const p = forest.metadata.pipeline as PipelineMeta | undefined;
  if (typeof p !== "object" || p === null || p.version !== 1 || typeof p.spec !== "object" || !isCalibration(p.calibration)) {
    throw new RangeError("this model was not trained on logs (no feature spec inside); train it with `logforest train`");
  }
  // The model file keeps JSON, where NaN ("no such values on this route") is written as null.
  for (const b of [...Object.values(p.spec.routes), p.spec.overall]) {
    const rec = b as unknown as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (rec[k] === null) rec[k] = NaN;
  }
  if (p.spec.features.length !== forest.cols) {
    throw new RangeError(`model is inconsistent: its feature spec has ${p.spec.features.length} features but the forest has ${forest.cols} columns`);
  }
  return p;
}

export function describeSkipped(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).map(([k, v]) => `${k}: ${v}`);
  return parts.length ? `skipped ${parts.join(", ")}` : "nothing skipped";
}

// ---------------------------------------------------------------- learning the spec

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
function keyStats(c: Columns): { byKey: Map<string, KeyStats>; templates: string[]; clients: number } {
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
function isProbe(k: KeyStats, distinctClients: number): boolean {
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

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** What the training set leaves undetectable, and signs that it holds incidents. */
export function trainingWarnings(c: Columns, spec: FeatureSpec, untimed: number, minRouteCount = TRAIN_DEFAULTS.minRouteCount): string[] {
  const out: string[] = [];
  if (spec.clock === "lines") {
    out.push(
      `no usable timestamps (${count(untimed)} of ${count(c.n)} lines lack one): windows count line order, ` +
        `${LINE_CLOCK_RATE} lines as 1 s, here and at detection`,
    );
  } else if (untimed > 0) {
    out.push(`${count(untimed)} lines have no usable timestamp: each takes the time of the line before`);
  }
  if (!spec.features.some((f) => f.startsWith("latency"))) out.push("no latency field: slow requests cannot be seen (map one with --field latency=... or use a format that logs it)");
  let bytes = 0;
  let ips = 0;
  const addresses = new Set<string>();
  for (let i = 0; i < c.n; i++) {
    if (Number.isFinite(c.bytes[i])) bytes++;
    if (c.ip[i] !== "") {
      ips++;
      if (addresses.size < 2) addresses.add(c.ip[i]);
    }
  }
  if (bytes * 2 < c.n) out.push("no response size on most lines: oversized responses cannot be seen");
  if (ips * 2 < c.n) {
    out.push("no client address on most lines: client-level incidents (scanners, brute force, a client flooding) cannot be seen");
  } else if (addresses.size === 1 && c.n >= 100) {
    const [only] = addresses;
    out.push(
      `every line has the same client address (${only}): a proxy's? Client-level incidents cannot be told apart; ` +
        "log the real client (x-forwarded-for) or map it with --field ip=...",
    );
  }
  const peaks = spec.clients;
  if (peaks && peaks.novelFailures >= 20) {
    out.push(`one client had ${peaks.novelFailures} failed requests on rare paths within ${spec.windowSeconds} s: it raises the bar for catching scanners`);
  }
  if (peaks && peaks.knownFailures >= 20) {
    out.push(`one client had ${peaks.knownFailures} failed requests on known routes within ${spec.windowSeconds} s: it raises the bar for catching a brute force`);
  }
  const probes = probeRoutes(c, minRouteCount);
  if (probes.length > 0) {
    out.push(
      `${probes.length === 1 ? "1 path" : `${probes.length} paths`} seen only from one client and mostly failing ${probes.length === 1 ? "was not learned as a route" : "were not learned as routes"} ` +
        `(e.g. ${probes.slice(0, 3).join(", ")}): incidents in the training data?`,
    );
  }
  return out;
}

/** Client addresses with 20+ failed requests in training, over half of their requests failing. */
export function suspectClients(c: Columns): Set<string> {
  const total = new Map<string, number>();
  const failed = new Map<string, number>();
  for (let i = 0; i < c.n; i++) {
    const ip = c.ip[i];
    if (ip === "") continue;
    total.set(ip, (total.get(ip) ?? 0) + 1);
    if (c.status[i] >= 400) failed.set(ip, (failed.get(ip) ?? 0) + 1);
  }
  const out = new Set<string>();
  for (const [ip, f] of failed) if (f >= 20 && 2 * f > (total.get(ip) ?? 0)) out.add(ip);
  return out;
}

/** Route keys with enough lines to be a route but only one client, mostly failing. */
function probeRoutes(c: Columns, minRouteCount: number): string[] {
  const { byKey, clients } = keyStats(c);
  return [...byKey].filter(([, k]) => k.idx.length >= minRouteCount && isProbe(k, clients)).map(([key]) => key);
}
