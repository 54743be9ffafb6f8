/**
 * The byte side of following: a followed file read in bounded chunks, split on 0x0A
 * into whole lines (a partial tail held up to maxLineBytes, a longer line skipped and
 * delivered as a placeholder), and its first bytes kept to recognise rewrites. The
 * Follower (follow.ts) decides what to read when; deliver() is its.
 */
import { closeSync, fstatSync, readdirSync, readSync, statSync, type BigIntStats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { decodeLine } from "../streams/lines.js";
import { FINGERPRINT_BYTES, fingerprint, type FileIdentity, type FilePosition } from "./positions.js";
import {
  EMPTY, NEWLINE, MAX_BATCH_LINES, type FollowedLine, type FollowStats, type Found, type Settings, type Tracked, tryOpen,
} from "./follow-types.js";

/** Reads followed files into lines; the subclass hands the lines over. */
export abstract class FileReader {
  /** Counters of delivered lines, rotations, truncations and held partial lines. */
  readonly stats: FollowStats = { delivered: 0, rotations: 0, truncations: 0, partialHeld: 0, tooLong: 0, recovered: 0 };
  protected readonly chunk: Buffer;
  protected readonly headBuf = Buffer.alloc(FINGERPRINT_BYTES);

  constructor(protected readonly settings: Settings) {
    this.chunk = Buffer.alloc(settings.chunkBytes);
  }

  /** Hand a batch over; only once that returns may the position move past it. */
  protected abstract deliver(f: Tracked, lines: FollowedLine[], offset: number, lineNo: number): void;

  /** Split a chunk read at file offset `base` into lines and deliver them; hold (or skip) the partial tail. */
  protected consume(f: Tracked, chunk: Buffer, base: number): void {
    const have = f.head.length;
    if (have < FINGERPRINT_BYTES && base <= have && base + chunk.length > have) {
      f.head = Buffer.concat([f.head, chunk.subarray(have - base, Math.min(chunk.length, FINGERPRINT_BYTES - base))]);
    }
    let nl = chunk.indexOf(NEWLINE);
    if (nl < 0) {
      this.hold(f, chunk);
      return;
    }
    const max = this.settings.maxLineBytes;
    const lines: FollowedLine[] = [];
    let lineNo = f.lineNo;
    if (f.tooLong || f.partial + nl > max) {
      lines.push(this.tooLongLine(f, ++lineNo, base + nl + 1));
    } else {
      const first = f.partial > 0 ? Buffer.concat([f.pending, chunk.subarray(0, nl)]) : chunk.subarray(0, nl);
      lines.push({ file: f.path, text: decodeLine(first), tooLong: false, lineNo: ++lineNo, end: base + nl + 1 });
    }
    let start = nl + 1;
    while ((nl = chunk.indexOf(NEWLINE, start)) >= 0) {
      lines.push(nl - start > max
        ? this.tooLongLine(f, ++lineNo, base + nl + 1)
        : { file: f.path, text: decodeLine(chunk.subarray(start, nl)), tooLong: false, lineNo: ++lineNo, end: base + nl + 1 });
      start = nl + 1;
    }
    for (let i = 0; i < lines.length; i += MAX_BATCH_LINES) {
      const part = lines.length <= MAX_BATCH_LINES ? lines : lines.slice(i, i + MAX_BATCH_LINES);
      const last = part[part.length - 1];
      this.deliver(f, part, last.end, last.lineNo);
    }
    if (start < chunk.length) this.hold(f, chunk.subarray(start));
  }

  /** Keep the bytes of a line whose newline has not come yet; past maxLineBytes, only count them. */
  protected hold(f: Tracked, bytes: Buffer): void {
    if (f.partial === 0) this.stats.partialHeld++;
    f.partial += bytes.length;
    if (f.tooLong) return;
    if (f.partial > this.settings.maxLineBytes) {
      f.tooLong = true;
      f.pending = EMPTY;
      return;
    }
    f.pending = Buffer.concat([f.pending, bytes]); // a copy: the chunk buffer is reused
  }

  protected tooLongLine(f: Tracked, lineNo: number, end: number): FollowedLine {
    this.stats.tooLong++;
    return { file: f.path, text: "", tooLong: true, lineNo, end };
  }

  /** A file leaving for good may end without a newline: its last bytes are still a line. */
  protected flushPartial(f: Tracked): void {
    if (f.partial === 0) return;
    const end = f.offset + f.partial;
    const line = f.tooLong
      ? this.tooLongLine(f, f.lineNo + 1, end)
      : { file: f.path, text: decodeLine(f.pending), tooLong: false, lineNo: f.lineNo + 1, end };
    this.deliver(f, [line], end, f.lineNo + 1);
  }

  /** Use `fd` as the file at f's path, read from `offset`. */
  protected attach(f: Tracked, fd: number, offset: number, lineNo: number): void {
    const st = fstatSync(fd, { bigint: true });
    f.fd = fd;
    f.dev = st.dev;
    f.ino = st.ino;
    this.setPosition(f, offset, lineNo);
  }

  protected detach(f: Tracked): void {
    if (f.notifier !== null) f.notifier.unwatch();
    f.notifier = null;
    if (f.fd !== null) closeSync(f.fd);
    f.fd = null;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    f.head = EMPTY;
  }

  protected setPosition(f: Tracked, offset: number, lineNo: number): void {
    f.offset = offset;
    f.lineNo = lineNo;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    // The first bytes there are now (consumed or not): the file's identity even before a line of it is read.
    f.head = f.fd === null ? EMPTY : this.readHead(f.fd, FINGERPRINT_BYTES);
  }

  protected readHead(fd: number, len: number): Buffer {
    if (len === 0) return EMPTY;
    const n = readSync(fd, this.headBuf, 0, len, 0);
    return Buffer.from(this.headBuf.subarray(0, n));
  }

  protected headMatches(f: Tracked, fd: number): boolean {
    if (f.head.length === 0) return true;
    const n = readSync(fd, this.headBuf, 0, f.head.length, 0);
    return n === f.head.length && this.headBuf.subarray(0, n).equals(f.head);
  }

  protected fingerprintMatches(fd: number, saved: FilePosition): boolean {
    const n = saved.fpLen === 0 ? 0 : readSync(fd, this.headBuf, 0, saved.fpLen, 0);
    return n === saved.fpLen && fingerprint(this.headBuf.subarray(0, n)) === saved.fpHash;
  }

  /** For start "end": just after the last newline (a line being written is delivered whole) and its line count. */
  protected async lastLineEnd(fd: number, size: number): Promise<{ offset: number; lineNo: number }> {
    let lineNo = 0;
    let offset = 0;
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, this.chunk, 0, Math.min(this.chunk.length, size - pos), pos);
      if (n === 0) break;
      for (let i = this.chunk.indexOf(NEWLINE); i >= 0 && i < n; i = this.chunk.indexOf(NEWLINE, i + 1)) {
        lineNo++;
        offset = pos + i + 1;
      }
      pos += n;
      if (n === this.chunk.length) await new Promise<void>((r) => setImmediate(r));
    }
    return { offset, lineNo };
  }

  protected identityOfFound(found: Found): FileIdentity {
    const head = this.readHead(found.fd, FINGERPRINT_BYTES);
    return { dev: String(found.st.dev), ino: String(found.st.ino), fpLen: head.length, fpHash: fingerprint(head) };
  }

  /**
   * Look in the folder of `key` for the file `saved` describes: `rest` is open on the file to
   * read from the saved offset (the file itself, or else the largest copy with its first bytes
   * and at least its size); `rewritten` on the file itself when it was found truncated since.
   */
  protected findOld(key: string, saved: FilePosition, current: bigint | null): { rest: Found | null; rewritten: Found | null } {
    const dir = dirname(key);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return { rest: null, rewritten: null };
    }
    const base = basename(key);
    const mine = this.ownFiles();
    let rewritten: Found | null = null;
    const others: Array<{ path: string; st: BigIntStats }> = [];
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
      if (rewritten === null && String(st.dev) === saved.dev && String(st.ino) === saved.ino) {
        const fd = tryOpen(path);
        if (fd === null) continue;
        if (Number(st.size) >= saved.offset && this.fingerprintMatches(fd, saved)) return { rest: { fd, st }, rewritten: null };
        rewritten = { fd, st };
        continue;
      }
      if (Number(st.size) >= saved.offset) others.push({ path, st });
    }
    // An empty fingerprint identifies no copy.
    let copy: Found | null = null;
    if (saved.fpLen > 0) {
      for (const { path, st } of others) {
        if (copy !== null && copy.st.size >= st.size) continue;
        const fd = tryOpen(path);
        if (fd === null) continue;
        if (this.fingerprintMatches(fd, saved)) {
          if (copy !== null) closeSync(copy.fd);
          copy = { fd, st };
        } else {
          closeSync(fd);
        }
      }
    }
    return { rest: copy, rewritten };
  }

  /** dev:ino of the positions file and the caller's outputs: never read as logs (some are written as we read). */
  protected ownFiles(): Set<string> {
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
