/**
 * What a Follower is given and counts: its options (every default in one object, all
 * validation in one function), its counters, and the limits that bound its memory and
 * the lines a crash can repeat.
 */
import { resolve } from "node:path";

/** Options of a Follower. */
export interface FollowOptions {
  /** Positions file to resume from and save to; absent = no persistence. */
  positions?: string;
  /** Where to begin in a file with no saved position: "end" (like tail -f) or "beginning". */
  start?: "end" | "beginning";
  /** Fallback polling interval in ms, in [1, 60000]. */
  pollMs?: number;
  /** Bytes read per chunk, in [1, 67108864]; memory per file stays about this size. */
  chunkBytes?: number;
  /** Longest line held, in bytes without its newline, in [1, 2^30]; longer ones arrive as tooLong placeholders. */
  maxLineBytes?: number;
  /** Called once if following fails (I/O error, onLines threw); close() then rejects with it. */
  onError?: (err: Error) => void;
  /** Called before every positions save: make the output of the delivered lines durable here (it may throw). */
  beforeSave?: () => void;
  /** Files the caller writes (alerts, scores): never taken for a rotated file or a copy when searching a folder. */
  outputs?: string[];
  /**
   * Names a rotated copy of a followed file may have, as the part after its name: a file
   * whose name is not the followed name + a match of this is never read as its copy.
   * Default: `.1`, `.2`, ..., `-20261206`, `.2026-12-06`, `-20261206-1733450000`, each
   * optionally followed by `.gz` (logrotate's numbered, `dateext` and `compress` names).
   */
  rotatedSuffix?: RegExp;
  /** Told what the follower did that the user should know (a missing file, a start at the end, a loss); default: a line on stderr. */
  onNotice?: (message: string) => void;
}

/** Counters of what a Follower has done. */
export interface FollowStats {
  /** Lines delivered to onLines. */
  delivered: number;
  /** Files replaced at their path (rename rotation), live or while no follower ran. */
  rotations: number;
  /** Files found truncated or rewritten in place (copytruncate), live or while no follower ran. */
  truncations: number;
  /** Partial lines held back until their newline arrived (or their file was rotated away). */
  partialHeld: number;
  /** Lines longer than maxLineBytes, delivered as placeholders. */
  tooLong: number;
  /** Files left behind while no follower ran (or copies left by copytruncate) found in the folder and finished. */
  recovered: number;
  /** Files vanished with lines not read (none of their rotated copies found): each one said through onNotice. */
  lost: number;
}

/** logrotate's rotated names after the base name: a number or a date (with an optional time), then an optional .gz. */
export const ROTATED_SUFFIX = /^(?:\.[0-9]+|[-._][0-9]{4}-?[0-9]{2}-?[0-9]{2}[0-9]*(?:[-_.T][0-9]+)*)?(?:\.gz)?$/;

/** Every option's default, in one place. */
export const FOLLOW_DEFAULTS = {
  start: "end", pollMs: 250, chunkBytes: 1 << 20, maxLineBytes: 65536, rotatedSuffix: ROTATED_SUFFIX,
  onNotice: (message: string): void => {
    process.stderr.write(`logforest: ${message}\n`);
  },
} as const;

export const MAX_CHUNK_BYTES = 64 << 20;
export const MAX_LINE_BYTES = 2 ** 30;
export const MAX_POLL_MS = 60_000;
export const SAVE_EVERY_MS = 100;
/** Positions are saved at once when this many delivered lines are unsaved. */
export const SAVE_EVERY_LINES = 4096;
/** onLines gets at most this many lines at a time. */
export const MAX_BATCH_LINES = 4096;
/** Most lines a crash (SIGKILL) can make a restart deliver again: those delivered (or being delivered) since the last save. */
export const MAX_REPEATED_LINES = SAVE_EVERY_LINES + MAX_BATCH_LINES - 1;

/** Options checked, with their defaults filled in. */
export interface Settings {
  positions: string | null;
  start: "end" | "beginning";
  pollMs: number;
  chunkBytes: number;
  maxLineBytes: number;
  onError: ((err: Error) => void) | null;
  beforeSave: (() => void) | null;
  outputs: string[];
  rotatedSuffix: RegExp;
  onNotice: (message: string) => void;
}

/** Validate files and options; every error names the option, the allowed range and the value. */
export function resolveFollowOptions(files: readonly string[], opts: FollowOptions): Settings {
  if (!Array.isArray(files) || files.length === 0) {
    throw new RangeError(`files must be a non-empty array of paths, got ${JSON.stringify(files)}`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (typeof f !== "string" || f === "") throw new RangeError(`files must contain non-empty paths, got ${JSON.stringify(f)}`);
    const key = resolve(f);
    if (seen.has(key)) throw new RangeError(`files must not repeat a path, got ${f} twice`);
    seen.add(key);
  }
  const start = opts.start ?? FOLLOW_DEFAULTS.start;
  if (start !== "end" && start !== "beginning") {
    throw new RangeError(`start must be "end" or "beginning", got ${JSON.stringify(start)}`);
  }
  const pollMs = opts.pollMs ?? FOLLOW_DEFAULTS.pollMs;
  if (typeof pollMs !== "number" || !Number.isFinite(pollMs) || pollMs < 1 || pollMs > MAX_POLL_MS) {
    throw new RangeError(`pollMs must be a number in [1, ${MAX_POLL_MS}], got ${String(pollMs)}`);
  }
  const chunkBytes = opts.chunkBytes ?? FOLLOW_DEFAULTS.chunkBytes;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new RangeError(`chunkBytes must be an integer in [1, ${MAX_CHUNK_BYTES}], got ${String(chunkBytes)}`);
  }
  const positions = opts.positions ?? null;
  if (positions !== null && (typeof positions !== "string" || positions === "")) {
    throw new RangeError(`positions must be a non-empty path, got ${JSON.stringify(positions)}`);
  }
  const maxLineBytes = opts.maxLineBytes ?? FOLLOW_DEFAULTS.maxLineBytes;
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1 || maxLineBytes > MAX_LINE_BYTES) {
    throw new RangeError(`maxLineBytes must be an integer in [1, ${MAX_LINE_BYTES}], got ${String(maxLineBytes)}`);
  }
  const fn = <T>(name: string, v: T | undefined): T | null => {
    if (v !== undefined && typeof v !== "function") throw new RangeError(`${name} must be a function, got ${typeof v}`);
    return v ?? null;
  };
  const outputs = opts.outputs ?? [];
  if (!Array.isArray(outputs) || outputs.some((o) => typeof o !== "string" || o === "")) {
    throw new RangeError(`outputs must be an array of non-empty paths, got ${JSON.stringify(outputs)}`);
  }
  const rotatedSuffix = opts.rotatedSuffix ?? FOLLOW_DEFAULTS.rotatedSuffix;
  if (!(rotatedSuffix instanceof RegExp) || rotatedSuffix.global || rotatedSuffix.sticky) {
    throw new RangeError(`rotatedSuffix must be a RegExp without the g or y flag, got ${String(rotatedSuffix)}`);
  }
  return {
    positions, start, pollMs, chunkBytes, maxLineBytes,
    onError: fn("onError", opts.onError), beforeSave: fn("beforeSave", opts.beforeSave),
    outputs: outputs.map((o) => resolve(o)), rotatedSuffix, onNotice: fn("onNotice", opts.onNotice) ?? FOLLOW_DEFAULTS.onNotice,
  };
}
