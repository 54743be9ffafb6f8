/**
 * A simulator of metric streams (CSV: a timestamp column and one column per
 * series) with labelled incidents, to feed `--format csv` and to measure it.
 *
 * Each series is a daily curve driven by one shared load, plus AR(1) noise and
 * rounding to the series' precision. As in tools/simulate.ts, two seeded streams
 * keep labels honest: normal values draw only from `traffic`, everything an
 * incident decides draws only from `chaos`. So a run with incidents differs from
 * the same seed without them only where an incident acted; the one exception is
 * a level shift, which moves every point of its plateau but labels only the first
 * LEVEL_SHIFT_LABELLED points after each step (the step up and the step back).
 */
import { Rng } from "../forest/random.js";

/** Kinds of incident the telemetry simulator injects. */
export type TelemetryIncidentKind = "spike" | "level_shift" | "flatline" | "noise_burst";

/** Every telemetry incident kind, in a fixed order. */
export const TELEMETRY_INCIDENT_KINDS: readonly TelemetryIncidentKind[] = ["spike", "level_shift", "flatline", "noise_burst"];

/** Points labelled after each step of a level shift (the plateau beyond them is the new normal). */
export const LEVEL_SHIFT_LABELLED = 10;

/** How the timestamp column is written. */
export type TelemetryTimeFormat = "iso" | "epoch_s" | "epoch_ms";

/** Options of simulateTelemetry; see TELEMETRY_SIM_DEFAULTS. */
export interface TelemetrySimOptions {
  /** Data points (CSV rows after the header), an integer in [1, 1e8]. */
  count?: number;
  /** Seed of every random choice. */
  seed?: number;
  /** Number of series (value columns), an integer in [1, 8]. */
  series?: number;
  /** "default" (every kind), "none", or a list of kinds (array or comma-separated string). */
  incidents?: string | readonly string[];
  /** Time of the first point: epoch ms or an ISO 8601 date string. */
  start?: number | string;
  /** Milliseconds between points, in [1, 86400000]. */
  stepMs?: number;
  /** Timestamp column format. */
  timeFormat?: TelemetryTimeFormat;
}

/** Every default in one place. */
export const TELEMETRY_SIM_DEFAULTS = {
  count: 8640, // one day at the default step
  seed: 1,
  series: 3,
  incidents: "default",
  start: Date.UTC(2026, 10, 24, 6, 0, 0),
  stepMs: 10_000,
  timeFormat: "iso",
} as const;

/** One output line; the first is the CSV header (kind and incident null). */
export interface TelemetryLine {
  /** The CSV line, without the newline. */
  text: string;
  /** Its timestamp, epoch ms (the header carries the start time). */
  ts: number;
  /** Kind of the incident that labels this point, or null. */
  kind: TelemetryIncidentKind | null;
  /** Id (1, 2, ...) of that incident, or null. */
  incident: number | null;
}

/** One incident of a run (the generator's return value). */
export interface TelemetryIncident {
  id: number;
  kind: TelemetryIncidentKind;
  /** The series it acted on. */
  series: string;
  /** 1-based line numbers (header included) of its first and last affected point. */
  firstLine: number;
  lastLine: number;
  /** Labelled points. */
  labelled: number;
  /** Strength, for people ("+9.3 sd", "stuck at 41.2"). */
  detail: string;
}

interface SeriesModel {
  name: string;
  /** Value at zero load and the swing from zero to full load. */
  base: number;
  swing: number;
  /** Standard deviation of the AR(1) noise. */
  noise: number;
  decimals: number;
  min: number;
  max: number;
}

const SERIES: readonly SeriesModel[] = [
  { name: "cpu_pct", base: 22, swing: 40, noise: 1.5, decimals: 1, min: 0, max: 100 },
  { name: "latency_ms", base: 85, swing: 90, noise: 6, decimals: 1, min: 1, max: 1e6 },
  { name: "queue_depth", base: 12, swing: 50, noise: 4, decimals: 0, min: 0, max: 1e6 },
  { name: "mem_pct", base: 58, swing: 12, noise: 0.6, decimals: 1, min: 0, max: 100 },
  { name: "rps", base: 80, swing: 520, noise: 14, decimals: 0, min: 0, max: 1e7 },
  { name: "disk_mbps", base: 6, swing: 30, noise: 2.2, decimals: 2, min: 0, max: 1e5 },
  { name: "error_pct", base: 0.4, swing: 0.5, noise: 0.08, decimals: 2, min: 0, max: 100 },
  { name: "gc_ms", base: 9, swing: 14, noise: 1.8, decimals: 1, min: 0, max: 1e5 },
];

// Incidents are planned one per slot of SLOT points, after LEAD points of calm.
const LEAD = 150;
const SLOT = 300;
const AR = 0.6;

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

interface ResolvedSim {
  count: number;
  seed: number;
  series: number;
  kinds: TelemetryIncidentKind[];
  start: number;
  stepMs: number;
  timeFormat: TelemetryTimeFormat;
}

function parseKinds(v: unknown): TelemetryIncidentKind[] {
  if (typeof v === "string" && (v.trim() === "default" || v.trim() === "all")) return [...TELEMETRY_INCIDENT_KINDS];
  if (typeof v === "string" && v.trim() === "none") return [];
  const list: unknown[] = typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : Array.isArray(v) ? v : [v];
  const kinds: TelemetryIncidentKind[] = [];
  for (const k of list) {
    const kind = TELEMETRY_INCIDENT_KINDS.find((x) => x === k);
    if (kind === undefined) {
      throw new RangeError(`incidents must be "default", "none" or a list of ${TELEMETRY_INCIDENT_KINDS.join(", ")}; got ${show(k)}`);
    }
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  return kinds;
}

/** Validate every option (RangeError naming the option, its range and the value) and apply defaults. */
export function resolveTelemetrySimOptions(opts: TelemetrySimOptions = {}): ResolvedSim {
  const d = TELEMETRY_SIM_DEFAULTS;
  const count = opts.count ?? d.count;
  if (!Number.isInteger(count) || count < 1 || count > 1e8) throw new RangeError(`count must be an integer in [1, 1e8], got ${show(count)}`);
  const seed = opts.seed ?? d.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${show(seed)}`);
  const series = opts.series ?? d.series;
  if (!Number.isInteger(series) || series < 1 || series > SERIES.length) {
    throw new RangeError(`series must be an integer in [1, ${SERIES.length}], got ${show(series)}`);
  }
  const kinds = parseKinds(opts.incidents ?? d.incidents);
  let start: number = d.start;
  if (opts.start !== undefined) {
    const v = opts.start;
    start = typeof v === "number" ? v : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : /^\d{4}-\d\d-\d\d/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
    if (!Number.isInteger(start) || Math.abs(start) > 8.64e15) {
      throw new RangeError(`start must be epoch milliseconds or an ISO 8601 date, got ${show(v)}`);
    }
  }
  const stepMs = opts.stepMs ?? d.stepMs;
  if (typeof stepMs !== "number" || !(stepMs >= 1 && stepMs <= 86_400_000)) {
    throw new RangeError(`stepMs must be a number in [1, 86400000], got ${show(stepMs)}`);
  }
  const timeFormat = opts.timeFormat ?? d.timeFormat;
  if (timeFormat !== "iso" && timeFormat !== "epoch_s" && timeFormat !== "epoch_ms") {
    throw new RangeError(`timeFormat must be one of iso, epoch_s, epoch_ms; got ${show(timeFormat)}`);
  }
  return { count, seed, series, kinds, start, stepMs, timeFormat };
}

/** Load in [0, 1] at time ts: low at night, a peak in the afternoon, a small ripple every 15 minutes. */
export function telemetryLoad(ts: number): number {
  const hour = (((ts / 3_600_000) % 24) + 24) % 24;
  const daily = 0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 4)) / 24);
  const ripple = 0.04 * Math.sin((2 * Math.PI * (ts % 900_000)) / 900_000);
  return Math.max(0, Math.min(1, 0.08 + 0.84 * daily + ripple));
}

interface Plan {
  id: number;
  kind: TelemetryIncidentKind;
  series: number;
  /** 0-based point indices [from, to) the incident acts on. */
  from: number;
  to: number;
  /** Spike/shift: offset in units of the series noise; burst: variance factor. */
  strength: number;
  labelled: number;
  /** Flatline: the value it sticks at (the last one before it). */
  stuck: number;
  /** Level shift: +1 or -1, chosen at the step. */
  dir: number;
}

function planIncidents(o: ResolvedSim, chaos: Rng): Plan[] {
  const plans: Plan[] = [];
  if (o.kinds.length === 0) return plans;
  // Kinds come round in a shuffled cycle, so every kind appears once the run is long enough.
  const order = [...o.kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = chaos.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let slot = 0; LEAD + (slot + 1) * SLOT <= o.count; slot++) {
    const kind = order[slot % order.length];
    const from = LEAD + slot * SLOT + chaos.int(60);
    const length =
      kind === "spike" ? 1 + chaos.int(3) : kind === "level_shift" ? 80 + chaos.int(81) : kind === "flatline" ? 30 + chaos.int(31) : 25 + chaos.int(26);
    const sign = chaos.next() < 0.8 ? 1 : -1;
    const strength =
      kind === "spike" ? sign * (8 + 7 * chaos.next()) : kind === "level_shift" ? 6 + 4 * chaos.next() : kind === "noise_burst" ? 5 + 5 * chaos.next() : 0;
    plans.push({ id: plans.length + 1, kind, series: chaos.int(o.series), from, to: from + length, strength, labelled: 0, stuck: NaN, dir: 0 });
  }
  return plans;
}

function formatTime(ts: number, f: TelemetryTimeFormat): string {
  if (f === "epoch_ms") return String(ts);
  if (f === "epoch_s") return String(ts / 1000);
  return new Date(ts).toISOString();
}

/**
 * Generate a metric stream: the header line first, then `count` points. Labels:
 * spike, flatline and noise_burst label every point they touch; level_shift labels
 * LEVEL_SHIFT_LABELLED points after the step and as many after the step back.
 */
export function* simulateTelemetry(opts: TelemetrySimOptions = {}): Generator<TelemetryLine, TelemetryIncident[], undefined> {
  const o = resolveTelemetrySimOptions(opts);
  const traffic = new Rng(o.seed);
  const chaos = new Rng(o.seed ^ 0x5eed7e1e);
  const models = SERIES.slice(0, o.series);
  const plans = planIncidents(o, chaos);
  const ar = new Float64Array(o.series);
  const last = new Float64Array(o.series);
  const scale = Math.sqrt(1 - AR * AR);
  yield { text: ["timestamp", ...models.map((m) => m.name)].join(","), ts: o.start, kind: null, incident: null };
  let next = 0; // first plan that may still be active
  const fields: string[] = new Array<string>(o.series + 1);
  for (let i = 0; i < o.count; i++) {
    const ts = o.start + i * o.stepMs;
    const load = telemetryLoad(ts);
    let label: Plan | null = null;
    while (next < plans.length && plans[next].to + LEVEL_SHIFT_LABELLED <= i) next++;
    fields[0] = formatTime(ts, o.timeFormat);
    for (let s = 0; s < o.series; s++) {
      const m = models[s];
      ar[s] = AR * ar[s] + scale * traffic.normal();
      let noise = ar[s] * m.noise;
      let offset = 0;
      let stuck = false;
      const p = next < plans.length && plans[next].series === s ? plans[next] : null;
      if (p !== null && i >= p.from && i < p.to + (p.kind === "level_shift" ? LEVEL_SHIFT_LABELLED : 0)) {
        const inside = i < p.to;
        if (p.kind === "spike" && inside) offset = p.strength * m.noise;
        else if (p.kind === "noise_burst" && inside) noise += chaos.normal() * m.noise * Math.sqrt(p.strength - 1);
        else if (p.kind === "flatline" && inside) {
          if (Number.isNaN(p.stuck)) p.stuck = last[s];
          stuck = true;
        } else if (p.kind === "level_shift") {
          // Shift toward the middle of the daily range, so the plateau stays a plausible level.
          const dir = load > 0.5 ? -1 : 1;
          if (i === p.from) p.dir = dir;
          if (inside) offset = p.dir * p.strength * m.noise;
        }
        const labelled = p.kind !== "level_shift" || i - p.from < LEVEL_SHIFT_LABELLED || (i >= p.to && i < p.to + LEVEL_SHIFT_LABELLED);
        if (labelled) label = p;
      }
      const raw = stuck ? p?.stuck ?? last[s] : Math.max(m.min, Math.min(m.max, m.base + m.swing * load + noise + offset));
      const value = Number(raw.toFixed(m.decimals));
      last[s] = value;
      fields[s + 1] = value.toFixed(m.decimals);
    }
    if (label !== null) label.labelled++;
    yield { text: fields.join(","), ts, kind: label?.kind ?? null, incident: label?.id ?? null };
  }
  return plans
    .filter((p) => p.from < o.count)
    .map((p) => ({
      id: p.id,
      kind: p.kind,
      series: models[p.series].name,
      firstLine: p.from + 2,
      lastLine: Math.min(o.count, p.to + (p.kind === "level_shift" ? LEVEL_SHIFT_LABELLED : 0)) + 1,
      labelled: p.labelled,
      detail:
        p.kind === "flatline"
          ? `stuck at ${p.stuck}`
          : p.kind === "noise_burst"
            ? `variance x${p.strength.toFixed(1)}`
            : `${(p.kind === "level_shift" ? p.dir * p.strength : p.strength) > 0 ? "+" : ""}${(p.kind === "level_shift" ? p.dir * p.strength : p.strength).toFixed(1)} sd`,
    }));
}
