/**
 * Finding a followed file's earlier generation in its folder: the file itself under a new
 * name (by device + inode, confirmed by the fingerprint of its first bytes), or a copy that
 * copytruncate left (by name, size and first bytes), plain or gzip-compressed.
 *
 * A copy is only ever looked for among the file's rotation family: names made of the
 * followed name and a rotated suffix (`app.log.1`, `app.log-20261206`, `app.log.1.gz`,
 * configurable with rotatedSuffix). A backup such as `app.log.bak` beside it, whatever its
 * content, is never read as the log. A file renamed away keeps its inode, so it is found
 * under any name in the folder.
 */
import { closeSync, fstatSync, readdirSync, readSync, statSync, type BigIntStats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { constants, gunzipSync } from "node:zlib";
import { FINGERPRINT_BYTES, fingerprint, type FileIdentity, type FilePosition } from "./positions.js";
import type { Settings } from "./follow-options.js";
import { EMPTY, tryOpen, type Found } from "./follow-file.js";

/** Compressed bytes read to recover a .gz copy's first bytes. */
const GZ_HEAD_BYTES = 64 << 10;

/** The first `len` bytes of an open file (fewer when it is shorter). */
export function readHead(fd: number, buf: Buffer, len: number): Buffer {
  if (len === 0) return EMPTY;
  const n = readSync(fd, buf, 0, Math.min(len, buf.length), 0);
  return Buffer.from(buf.subarray(0, n));
}

/** Whether the open file's first saved.fpLen bytes have the saved fingerprint. */
export function fingerprintMatches(fd: number, buf: Buffer, saved: { fpLen: number; fpHash: string }): boolean {
  const n = saved.fpLen === 0 ? 0 : readSync(fd, buf, 0, saved.fpLen, 0);
  return n === saved.fpLen && fingerprint(buf.subarray(0, n)) === saved.fpHash;
}

/** Whether `name` is in the rotation family of the followed file named `base`. */
export function inFamily(base: string, name: string, suffix: RegExp): boolean {
  return name !== base && name.startsWith(base) && suffix.test(name.slice(base.length));
}

/** A .gz copy found for a followed file: where it is, and its decompressed size modulo 2^32 (gzip's ISIZE). */
export interface GzCopy {
  path: string;
  dev: bigint;
  ino: bigint;
  isize: number;
}

/** Searches a followed file's folder for its earlier generations. */
export class RotationFamily {
  private readonly buf = Buffer.alloc(FINGERPRINT_BYTES);

  constructor(private readonly settings: Settings) {}

  /**
   * Look in the folder of `key` for the file `saved` describes: `rest` is open on the file to
   * read from the saved offset (the file itself, or else the largest copy in the family with its
   * first bytes and at least its size); `rewritten` on the file itself when it was found
   * truncated since. `current` is the inode now at the path (never taken).
   */
  findOld(key: string, saved: FilePosition, current: bigint | null): { rest: Found | null; rewritten: Found | null } {
    let rewritten: Found | null = null;
    const copies: Array<{ path: string; st: BigIntStats }> = [];
    for (const { path, name, st } of this.folder(key, current)) {
      if (rewritten === null && String(st.dev) === saved.dev && String(st.ino) === saved.ino) {
        const fd = tryOpen(path);
        if (fd === null) continue;
        const found = foundOf(fd, path, st);
        if (found.size >= saved.offset && fingerprintMatches(fd, this.buf, saved)) return { rest: found, rewritten: null };
        rewritten = found;
        continue;
      }
      if (this.isCopyName(key, name) && !name.endsWith(".gz") && Number(st.size) >= saved.offset) copies.push({ path, st });
    }
    // An empty fingerprint identifies no copy.
    let copy: Found | null = null;
    if (saved.fpLen > 0) {
      for (const { path, st } of copies) {
        if (copy !== null && copy.size >= Number(st.size)) continue;
        const fd = tryOpen(path);
        if (fd === null) continue;
        if (fingerprintMatches(fd, this.buf, saved)) {
          if (copy !== null) closeSync(copy.fd);
          copy = foundOf(fd, path, st);
        } else {
          closeSync(fd);
        }
      }
    }
    return { rest: copy, rewritten };
  }

  /**
   * The copy copytruncate made of a file never read (seen empty, or with no bytes past the
   * position): a plain file of the family modified after `since` (the file's mtime when last
   * seen with nothing unread), at least `offset` bytes long, not one in `done` (copies already
   * read); the earliest such, open. Older copies were written before that mtime.
   */
  findUnreadCopy(key: string, since: bigint, offset: number, current: bigint, done: ReadonlySet<string>): Found | null {
    let best: { path: string; st: BigIntStats } | null = null;
    for (const { path, name, st } of this.folder(key, current)) {
      if (!this.isCopyName(key, name) || name.endsWith(".gz") || st.mtimeNs <= since || Number(st.size) <= offset) continue;
      if (done.has(`${st.dev}:${st.ino}:${st.mtimeNs}`)) continue;
      if (best === null || st.mtimeNs < best.st.mtimeNs) best = { path, st };
    }
    if (best === null) return null;
    const fd = tryOpen(best.path);
    return fd === null ? null : foundOf(fd, best.path, best.st);
  }

  /** A gzip-compressed copy in the family whose decompressed first bytes match `saved` and whose size can reach its offset. */
  findGz(key: string, saved: FilePosition): GzCopy | null {
    if (saved.fpLen === 0) return null;
    for (const { path, name, st } of this.folder(key, null)) {
      if (!this.isCopyName(key, name) || !name.endsWith(".gz")) continue;
      const fd = tryOpen(path);
      if (fd === null) continue;
      try {
        const size = Number(st.size);
        const head = Buffer.alloc(Math.min(size, GZ_HEAD_BYTES));
        readSync(fd, head, 0, head.length, 0);
        let plain: Buffer;
        try {
          plain = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
        } catch {
          continue; // not gzip, or damaged: not a copy we can read
        }
        if (plain.length < saved.fpLen || fingerprint(plain.subarray(0, saved.fpLen)) !== saved.fpHash) continue;
        const tail = Buffer.alloc(4);
        readSync(fd, tail, 0, 4, Math.max(0, size - 4));
        const isize = tail.readUInt32LE(0);
        if (saved.offset < 2 ** 32 && isize < saved.offset) continue; // ends before the position: another generation
        return { path, dev: st.dev, ino: st.ino, isize };
      } finally {
        closeSync(fd);
      }
    }
    return null;
  }

  /** The family's names in the folder now: said when a file is lost, so the user sees what was looked at. */
  familyNames(key: string): string[] {
    return this.folder(key, null).filter(({ name }) => this.isCopyName(key, name)).map(({ name }) => name).sort();
  }

  private isCopyName(key: string, name: string): boolean {
    return inFamily(basename(key), name, this.settings.rotatedSuffix);
  }

  /** The regular files beside `key` (not itself, not `current`, not the caller's own files). */
  private folder(key: string, current: bigint | null): Array<{ path: string; name: string; st: BigIntStats }> {
    const dir = dirname(key);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const base = basename(key);
    const mine = this.ownFiles();
    const out: Array<{ path: string; name: string; st: BigIntStats }> = [];
    for (const name of names) {
      if (name === base) continue;
      const path = join(dir, name);
      let st: BigIntStats;
      try {
        st = statSync(path, { bigint: true });
      } catch {
        continue;
      }
      if (!st.isFile() || st.ino === current || mine.has(`${st.dev}:${st.ino}`)) continue;
      out.push({ path, name, st });
    }
    return out;
  }

  /** dev:ino of the positions file and the caller's outputs: never read as logs (some are written as we read). */
  private ownFiles(): Set<string> {
    const own = new Set<string>();
    const paths = [...this.settings.outputs];
    if (this.settings.positions !== null) paths.push(this.settings.positions, `${this.settings.positions}.tmp-${process.pid}`);
    for (const p of paths) {
      try {
        const st = statSync(p, { bigint: true });
        own.add(`${st.dev}:${st.ino}`);
      } catch {
        // not there
      }
    }
    return own;
  }
}

function foundOf(fd: number, path: string, st: BigIntStats): Found {
  return { fd, path, dev: st.dev, ino: st.ino, size: Number(fstatSync(fd).size) };
}
