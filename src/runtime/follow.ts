/**
 * Follow growing log files and deliver every appended line exactly once, across rename
 * rotation, copytruncate and restarts (with a positions file).
 *
 * Why node-tail is only the change notifier here: its "line" events carry no byte offsets
 * (it decodes text and splits with a regex), it resets its cursor on truncation without
 * telling anyone, and on rename it either stops or re-watches the path with the OLD cursor
 * after a 1 s timer, so lines can be skipped or repeated and nothing can be persisted.
 * So each node-tail instance (separator null: one cheap event per read, contents ignored)
 * only says "this file changed"; a poll timer backs it up (fs.watch can miss events, and a
 * file that does not exist yet cannot be watched). On every wake-up we read ourselves, with
 * our own fd and byte offset, in bounded chunks:
 *   - lines are split on 0x0A bytes and decoded whole, so UTF-8 never splits mid-character;
 *   - a trailing partial line is held in memory (up to maxLineBytes) until its newline arrives;
 *   - the first bytes read (up to 256) are kept and re-checked after every read: if the file
 *     shrank below our position or its first bytes changed, it was truncated (copytruncate,
 *     even when rewritten past our old offset): the rest of its copy is read if copytruncate
 *     left one beside it, then the file from 0;
 *   - when the path names a different inode, the old fd (still open) is read to its end and
 *     then the new file is followed from its start;
 *   - a line longer than maxLineBytes is not held: its bytes are skipped up to its newline and
 *     it is delivered as a placeholder (tooLong, empty text) with its line number.
 * The position advances only after onLines returns (the caller writes its output there,
 * synchronously); it is saved at most 100 ms after a batch, at once when SAVE_EVERY_LINES
 * lines are unsaved, and always on close, so a graceful restart neither loses nor repeats a
 * line. A crash (SIGKILL) repeats only the lines delivered since the last save: at most
 * MAX_REPEATED_LINES = SAVE_EVERY_LINES + MAX_BATCH_LINES - 1 = 8,191 lines, and no more than
 * were delivered in the last ~100 ms; it never loses one.
 *
 * A file that left its path while no follower ran is looked for among the files of the same
 * folder: by device + inode, confirmed by the fingerprint of its first bytes (a renamed file),
 * else by that fingerprint alone with at least the saved size (the copy that copytruncate
 * left); its rest is read first, then the file at the path from its start. The same copy is
 * looked for when a truncation is seen while running. While an old file is being finished, its
 * saved entry lists the files to read after it (by identity), so a crash meanwhile loses none
 * of them. Not recovered: a file moved to another folder, and whole generations created and
 * rotated away while no follower ran.
 *
 * Here: when to read what (start, rotation, truncation, finishing old files, saving);
 * follow-reader.ts: the bytes (chunks into lines, first bytes, the folder search);
 * follow-types.ts: options, counters and per-file state.
 */
import { closeSync, fstatSync, readSync, statSync, type BigIntStats } from "node:fs";
import { resolve } from "node:path";
import { Tail } from "tail";
import {
  FINGERPRINT_BYTES, type FileIdentity, type FilePosition, MAX_THEN, fingerprint, isErrno, loadPositions, savePositions,
} from "./positions.js";
import { FileReader } from "./follow-reader.js";
import {
  asError, EMPTY, identityOf, MAX_BATCH_LINES, resolveFollowOptions, SAVE_EVERY_LINES, SAVE_EVERY_MS, tracked, tryOpen, type FollowedLine, type FollowOptions, type Found, type State, type Tracked,
} from "./follow-types.js";

export {
  FOLLOW_DEFAULTS, MAX_REPEATED_LINES, resolveFollowOptions, type FollowedLine, type FollowOptions, type FollowStats,
} from "./follow-types.js";

/** Follows files, calling onLines with each batch of new complete lines, in file order. */
export class Follower extends FileReader {
  private readonly files: Tracked[];
  private readonly onLines: (lines: FollowedLine[]) => void;
  private positions = new Map<string, FilePosition>();
  private state: State = "new";
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  /** Files to read at the next pump (their watcher fired), or all of them. */
  private readonly woken = new Set<Tracked>();
  private wakeAll = true;
  private poller: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private lastSave = 0;
  private unsaved = 0;
  /** Per positions key, the old file being finished at start(): saved in place of the path's file. */
  private readonly finishing = new Map<string, Tracked>();
  private failure: Error | null = null;

  /** Validate options; no I/O happens until start(). */
  constructor(files: readonly string[], opts: FollowOptions, onLines: (lines: FollowedLine[]) => void) {
    super(resolveFollowOptions(files, opts));
    if (typeof onLines !== "function") throw new RangeError(`onLines must be a function, got ${typeof onLines}`);
    this.onLines = onLines;
    this.files = files.map((path) => tracked(path, resolve(path), null, 0n, 0n));
  }

  /** Open the files, resume from saved positions (finishing files rotated while down), start watching. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`Follower.start() called twice`);
    this.state = "starting";
    this.starting = this.openAll();
    try {
      await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private async openAll(): Promise<void> {
    try {
      if (this.settings.positions !== null) this.positions = loadPositions(this.settings.positions);
      for (const f of this.files) await this.openAtStart(f);
      this.saveNow();
    } catch (err) {
      this.closeFds();
      this.state = "closed";
      throw err;
    }
    if (this.state !== "starting") return; // closed while starting: close() finishes the job
    this.state = "running";
    for (const f of this.files) this.ensureNotifier(f);
    this.poller = setInterval(() => this.kick(), this.settings.pollMs);
    this.kick();
  }

  /** Deliver what the files hold up to their current end, save positions, stop watching. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === "closed") return;
    if (this.state === "new") {
      this.state = "closed";
      return;
    }
    const wasStarting = this.state === "starting";
    this.state = "closing";
    if (wasStarting && this.starting !== null) {
      try {
        await this.starting;
      } catch {
        return; // start failed and already cleaned up; its caller got the error
      }
    }
    this.stopWatching();
    if (this.pumping !== null) await this.pumping;
    if (this.failure === null) {
      try {
        for (const f of this.files) await this.pumpFile(f);
      } catch (err) {
        this.failure = asError(err);
      }
    }
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    try {
      this.saveNow(); // positions only ever cover consumed lines, so saving after a failure is safe
    } catch (err) {
      this.failure ??= asError(err);
    }
    this.closeFds();
    this.state = "closed";
    if (this.failure !== null) throw this.failure;
  }

  /** Position a file at start(): resume, or begin per `start`, per the saved entry. */
  private async openAtStart(f: Tracked): Promise<void> {
    const saved = this.positions.get(f.key);
    const fd = tryOpen(f.path);
    if (fd === null) {
      // Nothing at the path: its old file (if any) left it; the next one is read from 0.
      if (saved !== undefined && saved.ino !== null) {
        await this.finishOld(f, saved, null, saved.then ?? []);
        this.stats.rotations++;
        await this.finishQueue(f, saved.then ?? [], null);
      }
      f.ready = true;
      return;
    }
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    this.attach(f, fd, 0, 0);
    if (saved === undefined) {
      if (this.settings.start === "end") {
        const { offset, lineNo } = await this.lastLineEnd(fd, size);
        this.setPosition(f, offset, lineNo);
      }
    } else if (saved.ino === null) {
      // The file appeared while no follower ran: all of it is new.
    } else if (String(st.dev) === saved.dev && String(st.ino) === saved.ino) {
      if (size >= saved.offset && this.fingerprintMatches(fd, saved)) {
        this.setPosition(f, saved.offset, saved.lineNo);
      } else {
        // Truncated (copytruncate) while down: the lines up to the truncation are in its copy, if one is beside it.
        this.stats.truncations++;
        await this.finishOld(f, saved, st.ino, [identityOf(f)]);
      }
    } else {
      const queue = saved.then ?? [];
      await this.finishOld(f, saved, st.ino, this.withCurrent(f, queue));
      this.stats.rotations++;
      await this.finishQueue(f, queue, st);
    }
    f.ready = true;
  }

  /** The files still to read from 0 (`queue`), then the one at the path unless it is the queue's last. */
  private withCurrent(f: Tracked, queue: FileIdentity[]): FileIdentity[] {
    if (f.fd === null) return queue;
    const last = queue.at(-1);
    if (last !== undefined && last.dev === String(f.dev) && last.ino === String(f.ino) && this.fingerprintMatches(f.fd, { ...last, offset: 0, lineNo: 0 })) {
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
      if (this.fingerprintMatches(f.fd, from0)) return; // still there as it was: read from 0 as attached
      this.stats.truncations++;
      const { rest } = this.findOld(f.key, from0, st.ino);
      if (rest !== null) await this.finishFound(f, rest, 0, 0, after);
      return;
    }
    this.stats.rotations++;
    await this.finishOld(f, from0, st === null ? null : st.ino, after);
  }

  /**
   * The file `saved` describes is no longer at f's path: find it among the files of the folder
   * (by dev+ino confirmed by fingerprint, else a copy by fingerprint and size) and read its rest.
   * Found by dev+ino but truncated since (renamed, then copytruncated), it is read from 0 after
   * the rest of its copy. `current` is the inode now at the path (never taken), or null; `after`
   * the files to read after it (saved along, for a crash meanwhile).
   */
  private async finishOld(f: Tracked, saved: FilePosition, current: bigint | null, after: FileIdentity[]): Promise<void> {
    const { rest, rewritten } = this.findOld(f.key, saved, current);
    try {
      if (rest !== null) await this.finishFound(f, rest, saved.offset, saved.lineNo, rewritten === null ? after : [this.identityOfFound(rewritten), ...after]);
    } catch (err) {
      if (rewritten !== null) closeSync(rewritten.fd);
      throw err;
    }
    if (rewritten !== null) {
      this.stats.truncations++;
      await this.finishFound(f, rewritten, 0, 0, after);
    }
  }

  /**
   * Read a found old file (or copy) of f's path from `offset` to its end, then close it.
   * Meanwhile it stands for f in saved positions, so a restart finds it again by its inode.
   */
  private async finishFound(f: Tracked, found: Found, offset: number, lineNo: number, then: FileIdentity[]): Promise<void> {
    const old = tracked(f.path, f.key, found.fd, found.st.dev, found.st.ino);
    old.then = then;
    this.finishing.set(f.key, old);
    try {
      this.setPosition(old, offset, lineNo);
      await this.drain(old, found.fd);
      this.flushPartial(old);
      this.stats.recovered++;
    } finally {
      this.finishing.delete(f.key);
      closeSync(found.fd);
    }
  }

  /**
   * Wake up: read `f` (a file whose watcher fired), or every file (the poll timer, the
   * start). Calls coalesce; one pump runs at a time. With many files, a change to one no
   * longer makes every other one be read and stat'ed again; the poll still visits all.
   */
  private kick(f?: Tracked): void {
    if (this.state !== "running") return;
    if (f === undefined) this.wakeAll = true;
    else this.woken.add(f);
    if (this.pumping !== null) {
      this.again = true;
      return;
    }
    this.pumping = this.pumpAll().finally(() => {
      this.pumping = null;
    });
  }

  private async pumpAll(): Promise<void> {
    try {
      do {
        this.again = false;
        const all = this.wakeAll;
        this.wakeAll = false;
        for (const f of this.files) {
          if (!all && !this.woken.has(f)) continue;
          this.woken.delete(f);
          await this.pumpFile(f);
          this.ensureNotifier(f);
        }
      } while (this.again && this.state === "running");
    } catch (err) {
      this.fail(asError(err));
    }
  }

  /** Read one path to its end, switching to a new file at the path after rotation. */
  private async pumpFile(f: Tracked): Promise<void> {
    if (f.fd === null) {
      const fd = tryOpen(f.path);
      if (fd === null) return; // still waiting for it to appear
      this.attach(f, fd, 0, 0);
      this.scheduleSave();
    }
    for (;;) {
      let fd: number | null = f.fd;
      if (fd === null) return;
      await this.drain(f, fd);
      let st;
      try {
        st = statSync(f.path, { bigint: true });
      } catch (err) {
        if (isErrno(err, "ENOENT")) return; // renamed away, no new file yet: keep reading the old fd
        throw err;
      }
      if (st.dev === f.dev && st.ino === f.ino) return;
      // Rotated: the old file is finished (including writes that raced the rename), then the new one starts.
      await this.drain(f, fd);
      this.flushPartial(f);
      this.detach(f);
      this.stats.rotations++;
      fd = tryOpen(f.path);
      if (fd !== null) this.attach(f, fd, 0, 0);
      this.scheduleSave();
    }
  }

  /** Read `fd` from the position to its end in bounded chunks, delivering complete lines. */
  private async drain(f: Tracked, fd: number): Promise<void> {
    for (;;) {
      const readPos = f.offset + f.partial;
      const size = fstatSync(fd).size;
      if (size < readPos) {
        await this.truncated(f);
        continue;
      }
      if (size === readPos) return;
      const n = readSync(fd, this.chunk, 0, this.chunk.length, readPos);
      if (n === 0) return;
      // Checked after the read: a file truncated and rewritten past our offset before (or while)
      // we read gives bytes of the new content, which must not be taken as continuing the old one.
      if (!this.headMatches(f, fd)) {
        await this.truncated(f);
        continue;
      }
      this.consume(f, this.chunk.subarray(0, n), readPos);
      if (n === this.chunk.length) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Hand a batch over; only once onLines returns does the position move past it (and the partial line with it). */
  protected deliver(f: Tracked, lines: FollowedLine[], offset: number, lineNo: number): void {
    this.onLines(lines);
    f.offset = offset;
    f.lineNo = lineNo;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    this.stats.delivered += lines.length;
    this.unsaved += lines.length;
    if (this.unsaved >= SAVE_EVERY_LINES && this.canSave()) this.saveNow();
    else this.scheduleSave();
  }

  /** The file was truncated or rewritten under us: finish its copy if copytruncate left one, then read it from 0. */
  private async truncated(f: Tracked): Promise<void> {
    if (f.head.length > 0) {
      const saved = { dev: String(f.dev), ino: String(f.ino), fpLen: f.head.length, fpHash: fingerprint(f.head), offset: f.offset, lineNo: f.lineNo };
      const { rest } = this.findOld(f.key, saved, f.ino); // the file itself is at the path: only a copy can be found
      if (rest !== null && f.fd !== null) {
        // Saved meanwhile with the copy: the file at the path as it is now, to read from 0 after it.
        const now = this.readHead(f.fd, FINGERPRINT_BYTES);
        const then = { dev: String(f.dev), ino: String(f.ino), fpLen: now.length, fpHash: fingerprint(now) };
        await this.finishFound(f, rest, f.offset, f.lineNo, [then]);
      }
    }
    this.setPosition(f, 0, 0);
    this.stats.truncations++;
    this.scheduleSave();
  }

  /** Watch the current file with node-tail: any event (or error) just wakes the reader. */
  private ensureNotifier(f: Tracked): void {
    if (this.state !== "running" || f.fd === null || f.notifier !== null) return;
    let tail: Tail;
    try {
      // latin1: the text is ignored, so skip UTF-8 validation.
      tail = new Tail(f.path, { separator: null, encoding: "latin1", follow: false });
    } catch {
      return; // the poll timer covers it; the next pump tries again
    }
    tail.on("line", () => this.kick(f));
    tail.on("error", () => {
      // node-tail stops itself on rename; drop it so the next pump watches whatever is at the path.
      if (f.notifier === tail) {
        tail.unwatch();
        f.notifier = null;
      }
      this.kick();
    });
    f.notifier = tail;
  }

  private stopWatching(): void {
    if (this.poller !== null) clearInterval(this.poller);
    this.poller = null;
    for (const f of this.files) {
      if (f.notifier !== null) f.notifier.unwatch();
      f.notifier = null;
    }
  }

  private closeFds(): void {
    for (const f of this.files) {
      if (f.fd !== null) closeSync(f.fd);
      f.fd = null;
    }
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.stopWatching();
    if (this.settings.onError !== null) this.settings.onError(err);
  }

  /** Whether a save may run now (during start, while running, and while close() drains). */
  private canSave(): boolean {
    return this.settings.positions !== null && (this.state === "starting" || this.state === "running" || this.state === "closing");
  }

  private scheduleSave(): void {
    if (this.saveTimer !== null || !this.canSave() || this.state === "closing") return;
    const wait = this.lastSave + SAVE_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.saveNow();
      return;
    }
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      if (this.state !== "running" && this.state !== "starting") return;
      try {
        this.saveNow();
      } catch (err) {
        this.fail(asError(err));
      }
    }, wait);
  }

  /** Save every positioned file (an old file being finished stands for its path); beforeSave first. */
  private saveNow(): void {
    if (this.settings.positions === null) return;
    this.settings.beforeSave?.();
    for (const f of this.files) {
      const at = this.finishing.get(f.key) ?? f;
      if (f.ready || at !== f) this.positions.set(f.key, this.positionOf(at));
    }
    savePositions(this.settings.positions, this.positions);
    this.lastSave = Date.now();
    this.unsaved = 0;
  }

  private positionOf(f: Tracked): FilePosition {
    if (f.fd === null) return { dev: null, ino: null, fpLen: 0, fpHash: fingerprint(EMPTY), offset: 0, lineNo: 0 };
    return { ...identityOf(f), offset: f.offset, lineNo: f.lineNo, ...(f.then.length > 0 ? { then: f.then } : {}) };
  }
}
