/**
 * The reading state of one followed path, and the line a Follower delivers from it.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
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

export const NEWLINE = 0x0a;
export const EMPTY = Buffer.alloc(0);

/** Reading state of one followed path (or of an old file of it being finished). */
export interface Tracked {
  /** Path as given by the caller (reported in FollowedLine.file). */
  readonly path: string;
  /** Absolute path: the key in the positions file. */
  readonly key: string;
  /** Open fd of the file being read, or null while no file exists at the path (or while a .gz copy is read). */
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
  /** Modification time (ns) when the file was last seen with nothing past `offset`: a change with no new bytes is a rewrite. */
  mtime: bigint;
  /** The file's size when last looked at (bytes past offset + partial were not read yet). */
  seenSize: number;
  /** An old file being finished: the files to read from their start after it, in order (saved with it). */
  then: FileIdentity[];
  /** A .gz copy being read in place of a file gone: its path, and the identity of that file (saved meanwhile). */
  gz: { path: string; id: FileIdentity } | null;
  /** node-tail watcher used as the change notifier, or null. */
  notifier: Tail | null;
}

/** A file found in the folder, open for reading. */
export interface Found {
  fd: number;
  path: string;
  dev: bigint;
  ino: bigint;
  size: number;
}

/** Device, inode and fingerprint of the file f reads (f.head: its first bytes). */
export function identityOf(f: Tracked): FileIdentity {
  return { dev: String(f.dev), ino: String(f.ino), fpLen: f.head.length, fpHash: fingerprint(f.head) };
}

/** A file's reading state at offset 0. */
export function tracked(path: string, key: string, fd: number | null, dev: bigint, ino: bigint): Tracked {
  return {
    path, key, fd, dev, ino, offset: 0, lineNo: 0, partial: 0, pending: EMPTY, tooLong: false, ready: false, head: EMPTY, mtime: 0n, seenSize: 0,
    then: [], gz: null, notifier: null,
  };
}

/** Open `path` for reading; null when nothing is there (or it cannot be opened: `unreadable` is told why). */
export function tryOpen(path: string, unreadable?: (err: Error) => void): number | null {
  try {
    const fd = openSync(path, "r");
    if (!fstatSync(fd).isDirectory()) return fd;
    closeSync(fd);
    throw Object.assign(new Error(`EISDIR: it is a directory`), { code: "EISDIR" });
  } catch (err) {
    if (isErrno(err, "ENOENT")) return null;
    if (unreadable !== undefined && ["EACCES", "EPERM", "EISDIR", "ENOTDIR", "ELOOP"].some((code) => isErrno(err, code))) {
      unreadable(asError(err));
      return null;
    }
    throw new Error(`cannot open ${path}: ${asError(err).message}`);
  }
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
