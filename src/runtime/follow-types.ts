/**
 * What a Follower is given and keeps: its options (validated in one place), its
 * counters, the lines it delivers, and the reading state of one followed path.
 */
import { openSync, type BigIntStats } from "node:fs";
import { resolve } from "node:path";
import type { Tail } from "tail";
import { fingerprint, isErrno, type FileIdentity } from "./positions.js";

/** One complete line read from a followed file. */
export interface FollowedLine {
  /** The followed path, as given to the Follower. */
  file: string;
  /** The line without its newline (and without a trailing "\r"); "" when tooLong. */
  text: string;
  /** The line was longer than maxLineBytes: its bytes were skipped, never held in memory. */
  tooLong: boolean;
  /** 1-based line number in the current file; restarts at 1 after rotation or truncation. */
  lineNo: number;
  /** Byte offset just after this line's newline. */
  end: number;
}

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
}

/** Every option's default, in one place. */
export const FOLLOW_DEFAULTS = { start: "end", pollMs: 250, chunkBytes: 1 << 20, maxLineBytes: 65536 } as const;

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
export const NEWLINE = 0x0a;
export const EMPTY = Buffer.alloc(0);

export interface Settings {
  positions: string | null;
  start: "end" | "beginning";
  pollMs: number;
  chunkBytes: number;
  maxLineBytes: number;
  onError: ((err: Error) => void) | null;
  beforeSave: (() => void) | null;
  outputs: string[];
}

/** Reading state of one followed path. */
export interface Tracked {
  /** Path as given by the caller (reported in FollowedLine.file). */
  readonly path: string;
  /** Absolute path: the key in the positions file. */
  readonly key: string;
  /** Open fd of the file being read, or null while no file exists at the path. */
  fd: number | null;
  dev: bigint;
  ino: bigint;
  /** Byte offset just after the last consumed line. */
  offset: number;
  lineNo: number;
  /** Bytes after `offset` already read but with no newline yet (held in `pending` unless tooLong). */
  partial: number;
  /** The held bytes of the partial line; empty when it is too long to hold. */
  pending: Buffer;
  /** The partial line is longer than maxLineBytes: its bytes are skipped until its newline. */
  tooLong: boolean;
  /** Positioned at start() (until then its saved entry stays as loaded). */
  ready: boolean;
  /** The file's first bytes (up to 256: those there when it was positioned, and any read since), to recognise rewrites. */
  head: Buffer;
  /** An old file being finished: the files to read from their start after it, in order (saved with it). */
  then: FileIdentity[];
  /** node-tail watcher used as the change notifier, or null. */
  notifier: Tail | null;
}

export type State = "new" | "starting" | "running" | "closing" | "closed";

/** A file found in the folder, open for reading. */
export interface Found {
  fd: number;
  st: BigIntStats;
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
  const onError = opts.onError ?? null;
  if (onError !== null && typeof onError !== "function") {
    throw new RangeError(`onError must be a function, got ${typeof onError}`);
  }
  const beforeSave = opts.beforeSave ?? null;
  if (beforeSave !== null && typeof beforeSave !== "function") {
    throw new RangeError(`beforeSave must be a function, got ${typeof beforeSave}`);
  }
  const outputs = opts.outputs ?? [];
  if (!Array.isArray(outputs) || outputs.some((o) => typeof o !== "string" || o === "")) {
    throw new RangeError(`outputs must be an array of non-empty paths, got ${JSON.stringify(outputs)}`);
  }
  return { positions, start, pollMs, chunkBytes, maxLineBytes, onError, beforeSave, outputs: outputs.map((o) => resolve(o)) };
}

/** Device, inode and fingerprint of the file f reads (f.head: its first bytes). */
export function identityOf(f: Tracked): FileIdentity {
  return { dev: String(f.dev), ino: String(f.ino), fpLen: f.head.length, fpHash: fingerprint(f.head) };
}

/** A file's reading state at offset 0. */
export function tracked(path: string, key: string, fd: number | null, dev: bigint, ino: bigint): Tracked {
  return { path, key, fd, dev, ino, offset: 0, lineNo: 0, partial: 0, pending: EMPTY, tooLong: false, ready: false, head: EMPTY, then: [], notifier: null };
}

export function tryOpen(path: string): number | null {
  try {
    return openSync(path, "r");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return null;
    throw err;
  }
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
