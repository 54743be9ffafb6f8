/**
 * The byte side of following: a followed file read in bounded chunks, split on 0x0A
 * into whole lines (a partial tail held up to maxLineBytes, a longer line skipped and
 * delivered as a placeholder), and its first bytes kept to recognise rewrites. The
 * Follower (follow.ts) decides what to read when and is handed the lines (deliver).
 */
import { closeSync, fstatSync, readSync } from "node:fs";
import { decodeLine } from "../streams/lines.js";
import { FINGERPRINT_BYTES, fingerprint, type FileIdentity } from "./positions.js";
import { MAX_BATCH_LINES, type FollowStats, type Settings } from "./follow-options.js";
import { EMPTY, NEWLINE, type FollowedLine, type Found, type Tracked } from "./follow-file.js";
import { fingerprintMatches, readHead } from "./follow-family.js";

/** Hands a batch over; only once it returns may the position move past it. */
export type Deliver = (f: Tracked, lines: FollowedLine[], offset: number, lineNo: number) => void;

/** Reads followed files into lines and hands them to `deliver`. */
export class LineReader {
  /** Scratch space for one chunk: memory per follower stays about chunkBytes. */
  readonly chunk: Buffer;
  private readonly headBuf = Buffer.alloc(FINGERPRINT_BYTES);

  constructor(private readonly settings: Settings, private readonly stats: FollowStats, private readonly deliver: Deliver) {
    this.chunk = Buffer.alloc(settings.chunkBytes);
  }

  /** Split a chunk read at file offset `base` into lines and deliver them; hold (or skip) the partial tail. */
  consume(f: Tracked, chunk: Buffer, base: number): void {
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
  private hold(f: Tracked, bytes: Buffer): void {
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

  private tooLongLine(f: Tracked, lineNo: number, end: number): FollowedLine {
    this.stats.tooLong++;
    return { file: f.path, text: "", tooLong: true, lineNo, end };
  }

  /** A file leaving for good may end without a newline: its last bytes are still a line. */
  flushPartial(f: Tracked): void {
    if (f.partial === 0) return;
    const end = f.offset + f.partial;
    const line = f.tooLong
      ? this.tooLongLine(f, f.lineNo + 1, end)
      : { file: f.path, text: decodeLine(f.pending), tooLong: false, lineNo: f.lineNo + 1, end };
    this.deliver(f, [line], end, f.lineNo + 1);
  }

  /** Use `fd` as the file at f's path, read from `offset`. */
  attach(f: Tracked, fd: number, offset: number, lineNo: number): void {
    const st = fstatSync(fd, { bigint: true });
    f.fd = fd;
    f.dev = st.dev;
    f.ino = st.ino;
    this.setPosition(f, offset, lineNo);
  }

  detach(f: Tracked): void {
    if (f.notifier !== null) f.notifier.unwatch();
    f.notifier = null;
    if (f.fd !== null) closeSync(f.fd);
    f.fd = null;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    f.head = EMPTY;
    f.mtime = 0n;
  }

  setPosition(f: Tracked, offset: number, lineNo: number): void {
    f.offset = offset;
    f.lineNo = lineNo;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    // The first bytes there are now (consumed or not): the file's identity even before a line of it is read.
    f.head = f.fd === null ? EMPTY : this.readHead(f.fd, FINGERPRINT_BYTES);
    f.mtime = f.fd === null ? 0n : fstatSync(f.fd, { bigint: true }).mtimeNs;
  }

  readHead(fd: number, len: number): Buffer {
    return readHead(fd, this.headBuf, len);
  }

  /**
   * Whether the file still starts with the first bytes kept of it; a file that had fewer than
   * 256 then is fingerprinted further as soon as it has more, read or not yet.
   */
  headMatches(f: Tracked, fd: number): boolean {
    const want = f.head.length < FINGERPRINT_BYTES ? FINGERPRINT_BYTES : f.head.length;
    const n = readSync(fd, this.headBuf, 0, want, 0);
    if (n < f.head.length || !this.headBuf.subarray(0, f.head.length).equals(f.head)) return false;
    if (n > f.head.length) f.head = Buffer.from(this.headBuf.subarray(0, n));
    return true;
  }

  fingerprintMatches(fd: number, saved: { fpLen: number; fpHash: string }): boolean {
    return fingerprintMatches(fd, this.headBuf, saved);
  }

  /** For start "end": just after the last newline (a line being written is delivered whole) and its line count. */
  async lastLineEnd(fd: number, size: number): Promise<{ offset: number; lineNo: number }> {
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

  /** Where the line holding byte `offset - 1` ends (just after its newline), or null when no newline follows. */
  nextLineStart(fd: number, offset: number, size: number): number | null {
    for (let pos = offset; pos < size; ) {
      const n = readSync(fd, this.chunk, 0, Math.min(this.chunk.length, size - pos), pos);
      if (n === 0) return null;
      const i = this.chunk.subarray(0, n).indexOf(NEWLINE);
      if (i >= 0) return pos + i + 1;
      pos += n;
    }
    return null;
  }

  /** Whether the byte before `offset` is a newline (an offset saved after a whole line). */
  atLineStart(fd: number, offset: number): boolean {
    if (offset === 0) return true;
    return readSync(fd, this.headBuf, 0, 1, offset - 1) === 1 && this.headBuf[0] === NEWLINE;
  }

  identityOfFound(found: Found): FileIdentity {
    const head = this.readHead(found.fd, FINGERPRINT_BYTES);
    return { dev: String(found.dev), ino: String(found.ino), fpLen: head.length, fpHash: fingerprint(head) };
  }
}
