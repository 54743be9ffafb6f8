/** The simulator's public types and defaults (re-exported by tools/simulate.ts). */

/** The kinds of incident the simulator can inject. */
export type IncidentKind = "latency_spike" | "error_burst" | "scanner" | "oversized" | "surge" | "brute_force";

/** Every incident kind, in a fixed order. */
export const INCIDENT_KINDS: readonly IncidentKind[] = [
  "latency_spike", "error_burst", "scanner", "oversized", "surge", "brute_force",
];

/** The kinds `incidents: "default"` injects: every kind (the default rules catch each). */
export const DEFAULT_INCIDENT_KINDS: readonly IncidentKind[] = INCIDENT_KINDS;

/** Output line formats: JSON lines, Apache/nginx combined (+ request time), or the original plain style. */
export type SimFormat = "json" | "combined" | "seed";

/** Every output format. */
export const SIM_FORMATS: readonly SimFormat[] = ["json", "combined", "seed"];

/**
 * What the site looks like. classic: 14 routes of a small shop API, one client
 * population, a health checker. realistic: a whole site: long-tail pages (blog,
 * docs, file trees, products), static assets loaded after each page view, human
 * sessions, app and API clients, crawlers, monitors, NAT, and everyday noise.
 */
export type SimProfile = "classic" | "realistic";

/** Every profile. */
export const SIM_PROFILES: readonly SimProfile[] = ["classic", "realistic"];

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
  /** "default", "all", "none", or a list of kinds (array or comma-separated string). */
  incidents?: string | readonly string[];
  /** Time of the first line: epoch milliseconds or an ISO 8601 date string. */
  start?: number | string;
  /** Line format. */
  format?: SimFormat;
  /** Traffic profile. */
  profile?: SimProfile;
}

/** Options of `writeSimulation`: the generator's plus where and how to write. */
export interface WriteSimulationOptions extends SimulateOptions {
  /** File to append the log to; stdout when absent. */
  out?: string;
  /** File for the ground truth, one JSON line per labelled log line. */
  truth?: string;
  /** Pace lines in wall-clock time (rate mode only); `start` defaults to now. */
  realtime?: boolean;
  /** Called after each chunk written: the lines so far and the share of the run done, in [0, 1]. */
  onProgress?: (lines: number, done: number) => void;
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
  profile: "realistic",
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
  profile: SimProfile;
  out: string | null;
  truth: string | null;
  realtime: boolean;
}
