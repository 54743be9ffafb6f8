/**
 * An output file of whole lines (alerts, scores), written synchronously so that when a
 * batch's write returns its lines are in the file: the follower saves a position only
 * after that, so a crash can repeat output, never lose it.
 *
 * Torn tails: a process killed in the middle of a write can leave a last line without its
 * newline. Opening truncates such a tail back to the last newline: its lines were never
 * covered by a saved position (positions are saved only after a batch's write returned),
 * so the run that follows scores them and writes them again. A file that is not a regular
 * file (a pipe, /dev/stdout, /dev/full) is written as it is.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { isErrno } from "./positions.js";

const TAIL_CHUNK = 64 * 1024;

/** An append-only file of lines with one synchronous write per batch. */
export class LineSink {
  /** Bytes cut from a torn last line when the file was opened. */
  readonly repaired: number;
  private fd: number | null;
  private readonly regular: boolean;
  /** Written to since the last fsync. */
  private dirty = false;

  /** Open `path` for appending (creating it), repairing a torn tail; `option` names it in errors ("--alerts"). */
  constructor(readonly path: string, readonly option: string) {
    try {
      this.fd = openSync(path, "a+");
    } catch (err) {
      throw this.error("cannot open", err);
    }
    try {
      this.regular = fstatSync(this.fd).isFile();
      this.repaired = this.regular ? cutTornTail(this.fd) : 0;
    } catch (err) {
      closeSync(this.fd);
      throw this.error("cannot read", err);
    }
  }

  /** Whether the file holds nothing yet (a header is due). */
  get empty(): boolean {
    return this.fd !== null && this.regular && fstatSync(this.fd).size === 0;
  }

  /** Append `text` (whole lines) with one write; throws naming the option and file on failure. */
  write(text: string): void {
    if (text === "" || this.fd === null) return;
    const bytes = Buffer.from(text, "utf8");
    try {
      this.dirty = true;
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      throw this.error("cannot write", err);
    }
  }

  /**
   * Make what was written durable (fsync), and refuse to go on writing into a file that was
   * removed (its directory deleted): those lines would reach no one.
   */
  sync(): void {
    if (this.fd === null || !this.regular) return;
    try {
      if (this.dirty) fsyncSync(this.fd);
      this.dirty = false;
    } catch (err) {
      throw this.error("cannot write", err);
    }
    if (fstatSync(this.fd).nlink === 0) {
      let gone = true;
      try {
        statSync(this.path);
        gone = false;
      } catch (err) {
        if (!isErrno(err, "ENOENT")) gone = false;
      }
      if (gone) throw new Error(`${this.option} file ${this.path} was removed while running; its lines would be lost`);
    }
  }

  /** Sync and close. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.sync();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private error(what: string, err: unknown): Error {
    const why = err instanceof Error ? err.message : String(err);
    return new Error(`${this.option} file ${this.path}: ${what} (${why})`);
  }
}

/** Truncate a regular file after its last newline when it does not end with one; returns the bytes cut. */
function cutTornTail(fd: number): number {
  const size = fstatSync(fd).size;
  if (size === 0) return 0;
  const buf = Buffer.alloc(Math.min(TAIL_CHUNK, size));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const n = readSync(fd, buf, 0, end - start, start);
    const nl = buf.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) {
      const keep = start + nl + 1;
      if (keep < size) ftruncateSync(fd, keep);
      return size - keep;
    }
    end = start;
  }
  ftruncateSync(fd, 0);
  return size;
}
