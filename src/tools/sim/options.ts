/** Validation of the simulator's options: one function, every error names the option, its range and the value. */
import {
  DEFAULT_INCIDENT_KINDS,
  INCIDENT_KINDS,
  SIM_FORMATS,
  SIM_PROFILES,
  SIMULATE_DEFAULTS,
  type IncidentKind,
  type ResolvedSimulateOptions,
  type WriteSimulationOptions,
} from "./types.js";

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
  if (typeof v === "string" && v.trim() === "default") return [...DEFAULT_INCIDENT_KINDS];
  if (typeof v === "string" && v.trim() === "all") return [...INCIDENT_KINDS];
  if (typeof v === "string" && v.trim() === "none") return [];
  const kinds: IncidentKind[] = [];
  for (const k of list) {
    const kind = INCIDENT_KINDS.find((x) => x === k);
    if (kind === undefined) {
      throw new RangeError(
        `incidents must be "default", "all", "none" or a list of ${INCIDENT_KINDS.join(", ")}; got ${show(k)}`,
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
  const profile = opts.profile ?? d.profile;
  if (!SIM_PROFILES.includes(profile)) {
    throw new RangeError(`profile must be one of ${SIM_PROFILES.join(", ")}; got ${show(profile)}`);
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
    profile,
    out: opts.out ?? null,
    truth: opts.truth ?? null,
    realtime,
  };
}
