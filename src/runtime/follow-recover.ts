/**
 * Positioning a followed file at start, and finishing its earlier generations: the file
 * renamed away or the copy copytruncate left (plain or .gz), found by follow-family.ts,
 * read from where reading stopped before the file now at the path. What cannot be
 * recovered, and every saved position that cannot be used as it is, is said (onNotice)
 * with the file, the size and what was done instead.
 */
import { closeSync, createReadStream, fstatSync, type BigIntStats } from "node:fs";
import { basename } from "node:path";
import { createGunzip } from "node:zlib";
import { MAX_THEN, type FileIdentity, type FilePosition } from "./positions.js";
import type { FollowStats, Settings } from "./follow-options.js";
import { identityOf, tracked, type Found, type Tracked } from "./follow-file.js";
import type { LineReader } from "./follow-reader.js";
import type { GzCopy, RotationFamily } from "./follow-family.js";

/** What recovery needs of its Follower. */
export interface FollowCore {
  readonly settings: Settings;
  readonly stats: FollowStats;
  readonly reader: LineReader;
  readonly family: RotationFamily;
  /** Per positions key, the old file being finished: saved in place of the path's file. */
  readonly finishing: Map<string, Tracked>;
  /** Read `fd` from f's position to its end, delivering lines. */
  drain(f: Tracked, fd: number): Promise<void>;
  /** Files already read for a path (dev:ino:mtime of copies, dev:ino of files), never taken for an unread copy. */
  remember(f: Tracked, id: string): void;
  history(f: Tracked): ReadonlySet<string>;
  /** Open the file at f's path, or null (nothing there, or unreadable: then said once and its key in `unreadable`). */
  open(f: Tracked): number | null;
  readonly unreadable: ReadonlySet<string>;
}

/** Starts each followed file where its saved position says and finishes its old generations. */
export class Recovery {
  constructor(private readonly core: FollowCore) {}

  private notice(message: string): void {
    this.core.settings.onNotice(message);
  }

  /** Position a file at start(): resume, or begin per `start`, per the saved entry. */
  async openAtStart(f: Tracked, saved: FilePosition | undefined): Promise<void> {
    const { reader, stats } = this.core;
    const fd = this.core.open(f);
    if (fd === null) {
      if ((saved === undefined || saved.ino === null) && !this.core.unreadable.has(f.key)) this.notice(`${f.path} does not exist yet; following it from its start when it appears`);
      // Nothing at the path: its old file (if any) left it; the next one is read from 0.
      if (saved !== undefined && saved.ino !== null) {
        await this.finishOld(f, saved, null, saved.then ?? []);
        stats.rotations++;
        await this.finishQueue(f, saved.then ?? [], null);
      }
      f.ready = true;
      return;
    }
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    reader.attach(f, fd, 0, 0);
    if (saved === undefined) {
      if (this.core.settings.start === "end") {
        const { offset, lineNo } = await reader.lastLineEnd(fd, size);
        reader.setPosition(f, offset, lineNo);
        if (lineNo > 0) this.notice(`${f.path}: starting at its end (line ${lineNo}, byte ${offset}): the ${lineNo} lines already in it are not read (--from-start reads them)`);
      }
    } else if (saved.ino === null) {
      // The file appeared while no follower ran: all of it is new.
    } else if (String(st.dev) === saved.dev && String(st.ino) === saved.ino) {
      await this.resumeSame(f, fd, st, saved);
    } else {
      const queue = saved.then ?? [];
      await this.finishOld(f, saved, st.ino, this.withCurrent(f, queue));
      stats.rotations++;
      await this.finishQueue(f, queue, st);
    }
    f.ready = true;
  }

  /** The saved file is still at the path: resume at its offset unless it was truncated, rewritten or the offset is not at a line's start. */
  private async resumeSame(f: Tracked, fd: number, st: BigIntStats, saved: FilePosition): Promise<void> {
    const { reader, stats } = this.core;
    const size = Number(st.size);
    const at = `its saved position (line ${saved.lineNo}, byte ${saved.offset})`;
    if (size < saved.offset || !reader.fingerprintMatches(fd, saved)) {
      // Truncated (copytruncate) while down: the lines up to the truncation are in its copy, if one is beside it.
      stats.truncations++;
      const why = size < saved.offset ? `${at} is past its end (${size} bytes)` : `its first bytes are not those saved with ${at}`;
      const found = await this.finishOld(f, saved, st.ino, [identityOf(f)], true);
      const copy = found !== null ? `read the rest of its copy ${found}, then ` : `${this.noCopy(f, saved)}; `;
      this.notice(`${f.path}: ${why}: it was truncated or rewritten while stopped; ${copy}reading it from its start`);
      return;
    }
    if (saved.offset === 0 && saved.mtime !== undefined && st.mtimeNs > BigInt(saved.mtime)) {
      // Never read, and written since: a copytruncate while stopped leaves its lines in a copy made after the save.
      const copy = this.core.family.findUnreadCopy(f.key, BigInt(saved.mtime), 0, st.ino, this.core.history(f));
      if (copy !== null) {
        stats.truncations++;
        await this.finishFound(f, copy, 0, 0, [identityOf(f)]);
        return;
      }
    }
    if (!reader.atLineStart(fd, saved.offset)) {
      const next = reader.nextLineStart(fd, saved.offset, size);
      this.notice(`${f.path}: ${at} is inside a line; skipping to ${next === null ? "the end of that line (not written yet)" : `the next line (byte ${next})`} rather than reading a fragment as a line`);
      reader.setPosition(f, next ?? saved.offset, next === null ? saved.lineNo : saved.lineNo + 1);
      if (next === null) {
        // Skipped as a too-long line is, without holding it: delivered as a placeholder when its newline comes.
        f.partial = size - saved.offset;
        f.tooLong = true;
      }
      return;
    }
    reader.setPosition(f, saved.offset, saved.lineNo);
  }

  /** The files still to read from 0 (`queue`), then the one at the path unless it is the queue's last. */
  withCurrent(f: Tracked, queue: FileIdentity[]): FileIdentity[] {
    if (f.fd === null) return queue;
    const last = queue.at(-1);
    if (last !== undefined && last.dev === String(f.dev) && last.ino === String(f.ino) && this.core.reader.fingerprintMatches(f.fd, last)) {
      return queue;
    }
    return [...queue, identityOf(f)].slice(-MAX_THEN); // bounded (64 rotations behind: the oldest are given up)
  }

  /** Files a crash left to read from their start, in order, each saved with those after it. */
  private async finishQueue(f: Tracked, queue: FileIdentity[], st: BigIntStats | null): Promise<void> {
    for (let i = 0; i < queue.length; i++) await this.finishThen(f, queue[i], st, this.withCurrent(f, queue.slice(i + 1)));
  }

  /**
   * The file that was to be read after the saved one (a crash came first): the one at the path
   * unless it was truncated (then its copy is read from 0 first) or rotated away since (then it is
   * found and read from 0). `st` is the file now at the path (f is attached to it), or null.
   */
  private async finishThen(f: Tracked, then: FileIdentity, st: BigIntStats | null, after: FileIdentity[]): Promise<void> {
    const from0: FilePosition = { ...then, offset: 0, lineNo: 0 };
    if (st !== null && f.fd !== null && String(st.dev) === then.dev && String(st.ino) === then.ino) {
      if (this.core.reader.fingerprintMatches(f.fd, from0)) return; // still there as it was: read from 0 as attached
      this.core.stats.truncations++;
      await this.finishOld(f, from0, st.ino, after, true);
      return;
    }
    this.core.stats.rotations++;
    await this.finishOld(f, from0, st === null ? null : st.ino, after);
  }

  /**
   * The file `saved` describes is no longer at f's path (or was truncated: `copyOnly`): find it
   * among the files of the folder and read its rest: the file itself by dev+ino confirmed by its
   * fingerprint, else a copy in its rotation family (plain, else .gz). Found by dev+ino but
   * truncated since (renamed, then copytruncated), it is read from 0 after the rest of its copy.
   * `current` is the inode now at the path (never taken); `after` the files to read after it
   * (saved along, for a crash meanwhile). Returns the name read from, or null (the loss is said).
   */
  async finishOld(f: Tracked, saved: FilePosition, current: bigint | null, after: FileIdentity[], copyOnly = false): Promise<string | null> {
    const { family, reader, stats } = this.core;
    const found = family.findOld(f.key, saved, current);
    const { rest } = found;
    let { rewritten } = found;
    // Truncated since, and a later generation of the same inode queued after: that entry reads it, not this one (read once).
    if (rewritten !== null && after.some((t) => t.dev === String(found.rewritten?.dev) && t.ino === String(found.rewritten?.ino))) {
      closeSync(rewritten.fd);
      rewritten = null;
    }
    let from: string | null = null;
    try {
      if (rest !== null) {
        from = basename(rest.path);
        await this.finishFound(f, rest, saved.offset, saved.lineNo, rewritten === null ? after : [reader.identityOfFound(rewritten), ...after]);
      } else {
        const gz = family.findGz(f.key, saved);
        if (gz !== null) {
          from = basename(gz.path);
          await this.finishGz(f, gz, saved, rewritten === null ? after : [reader.identityOfFound(rewritten), ...after]);
        }
      }
    } catch (err) {
      if (rewritten !== null) closeSync(rewritten.fd);
      throw err;
    }
    if (from === null && !copyOnly && (saved.fpLen > 0 || saved.offset > 0 || (saved.size ?? 0) > 0)) {
      this.notice(`${f.path}: the file read up to line ${saved.lineNo} (byte ${saved.offset}) left its path while stopped and is not in its folder; ${this.noCopy(f, saved)}`);
    }
    if (rewritten !== null) {
      stats.truncations++;
      await this.finishFound(f, rewritten, 0, 0, after);
    }
    return from;
  }

  /** Count a loss and say what could not be read: no copy in the family, and how many bytes (when known). */
  noCopy(f: Tracked, saved: FilePosition): string {
    this.core.stats.lost++;
    const unread = saved.size !== undefined && saved.size > saved.offset ? `at least ${saved.size - saved.offset} bytes` : "any bytes";
    const names = this.core.family.familyNames(f.key);
    return `no copy of it is there either (rotated names there: ${names.length > 0 ? names.join(", ") : "none"}): `
      + `${unread} written to it after line ${saved.lineNo} could not be read`;
  }

  /**
   * Read a found old file (or copy) of f's path from `offset` to its end, then close it.
   * Meanwhile it stands for f in saved positions, so a restart finds it again by its inode.
   */
  async finishFound(f: Tracked, found: Found, offset: number, lineNo: number, then: FileIdentity[]): Promise<void> {
    const { reader, finishing } = this.core;
    const old = tracked(f.path, f.key, found.fd, found.dev, found.ino);
    old.then = then;
    finishing.set(f.key, old);
    try {
      reader.setPosition(old, offset, lineNo);
      await this.core.drain(old, found.fd);
      reader.flushPartial(old);
      this.core.stats.recovered++;
      this.core.remember(f, `${found.dev}:${found.ino}`);
      this.core.remember(f, `${found.dev}:${found.ino}:${fstatSync(found.fd, { bigint: true }).mtimeNs}`);
    } finally {
      finishing.delete(f.key);
      closeSync(found.fd);
    }
  }

  /**
   * Read a gzip-compressed copy from the saved offset, streaming (memory stays about a chunk).
   * Meanwhile the saved entry keeps the original file's identity with the offset reached, so a
   * restart finds the same .gz again by that file's first bytes.
   */
  private async finishGz(f: Tracked, gz: GzCopy, saved: FilePosition, then: FileIdentity[]): Promise<void> {
    const { reader, finishing } = this.core;
    const old = tracked(f.path, f.key, null, gz.dev, gz.ino);
    old.then = then;
    old.gz = { path: gz.path, id: { dev: saved.dev ?? "0", ino: saved.ino ?? "0", fpLen: saved.fpLen, fpHash: saved.fpHash } };
    reader.setPosition(old, saved.offset, saved.lineNo);
    finishing.set(f.key, old);
    try {
      let pos = 0;
      const stream = createReadStream(gz.path, { highWaterMark: this.core.settings.chunkBytes }).pipe(createGunzip({ chunkSize: Math.max(64, Math.min(this.core.settings.chunkBytes, 1 << 20)) }));
      try {
        for await (const data of stream as AsyncIterable<Buffer>) {
          const end = pos + data.length;
          const from = old.offset + old.partial;
          if (end > from) reader.consume(old, from > pos ? data.subarray(from - pos) : data, Math.max(pos, from));
          pos = end;
        }
      } catch (err) {
        this.core.stats.lost++;
        this.notice(`${f.path}: its compressed copy ${gz.path} is damaged after ${pos} bytes (${err instanceof Error ? err.message : String(err)}): the lines of it after line ${old.lineNo} could not be read`);
      }
      if (pos < saved.offset) this.notice(`${f.path}: its compressed copy ${gz.path} ends at byte ${pos}, before the saved position (byte ${saved.offset}); ${this.noCopy(f, saved)}`);
      reader.flushPartial(old);
      this.core.stats.recovered++;
    } finally {
      finishing.delete(f.key);
    }
  }
}
