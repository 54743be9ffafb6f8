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
 * else among its rotation family (app.log.1, app.log-DATE, app.log.1.gz) by that fingerprint
 * with at least the saved size (the copy that copytruncate left, plain or gzip); its rest is
 * read first, then the file at the path from its start. A file never read (empty when seen,
 * so with no fingerprint) whose modification time moved with no new bytes was rewritten: its
 * copy is the family file modified after that, not one read before. What cannot be found is
 * said (onNotice) with its size. The same copy is
 * looked for when a truncation is seen while running. While an old file is being finished, its
 * saved entry lists the files to read after it (by identity), so a crash meanwhile loses none
 * of them. Not recovered: a file moved to another folder, and whole generations created and
 * rotated away while no follower ran.
 *
 * Here: when to read what (start, rotation, truncation, saving); follow-recover.ts: positioning
 * at start and finishing old generations; follow-family.ts: finding them in the folder (the
 * rotation family); follow-reader.ts: the bytes (chunks into lines, first bytes);
 * follow-file.ts: per-file state; follow-options.ts: options, counters and limits.
 */
import { closeSync, fstatSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Tail } from "tail";
import { FINGERPRINT_BYTES, type FilePosition, fingerprint, isErrno, loadPositions, savePositions } from "./positions.js";
import { resolveFollowOptions, SAVE_EVERY_LINES, SAVE_EVERY_MS, type FollowOptions, type FollowStats, type Settings } from "./follow-options.js";
import { asError, EMPTY, identityOf, tracked, tryOpen, type FollowedLine, type Tracked } from "./follow-file.js";
import { LineReader } from "./follow-reader.js";
import { RotationFamily } from "./follow-family.js";
import { Recovery, type FollowCore } from "./follow-recover.js";

export {
  FOLLOW_DEFAULTS, MAX_REPEATED_LINES, ROTATED_SUFFIX, resolveFollowOptions, type FollowOptions, type FollowStats,
} from "./follow-options.js";
export type { FollowedLine } from "./follow-file.js";

type State = "new" | "starting" | "running" | "closing" | "closed";
/** Files remembered as read, per path, to never take one for an unread copy. */
const HISTORY = 64;

/** Follows files, calling onLines with each batch of new complete lines, in file order. */
export class Follower implements FollowCore {
  /** Counters of delivered lines, rotations, truncations, held partial lines and losses said. */
  readonly stats: FollowStats = { delivered: 0, rotations: 0, truncations: 0, partialHeld: 0, tooLong: 0, recovered: 0, lost: 0 };
  readonly settings: Settings;
  readonly reader: LineReader;
  readonly family: RotationFamily;
  private readonly recovery: Recovery;
  private readonly files: Tracked[];
  /** Per path, the files already read (see remember()). */
  private readonly seen = new Map<string, Set<string>>();
  /** Paths said to be unreadable (said once until readable). */
  readonly unreadable = new Set<string>();
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
  /** Per positions key, the old file being finished: saved in place of the path's file. */
  readonly finishing = new Map<string, Tracked>();
  private failure: Error | null = null;

  /** Validate options; no I/O happens until start(). */
  constructor(files: readonly string[], opts: FollowOptions, onLines: (lines: FollowedLine[]) => void) {
    this.settings = resolveFollowOptions(files, opts);
    this.reader = new LineReader(this.settings, this.stats, (f, lines, offset, lineNo) => this.deliver(f, lines, offset, lineNo));
    this.family = new RotationFamily(this.settings);
    this.recovery = new Recovery(this);
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
      for (const f of this.files) await this.recovery.openAtStart(f, this.positions.get(f.key));
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
      const fd = this.open(f);
      if (fd === null) return; // still waiting for it to appear
      this.reader.attach(f, fd, 0, 0);
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
        throw new Error(`cannot stat ${f.path}: ${asError(err).message}`);
      }
      if (st.dev === f.dev && st.ino === f.ino) return;
      // Rotated: the old file is finished (including writes that raced the rename), then the new one starts.
      await this.drain(f, fd);
      this.reader.flushPartial(f);
      this.reader.detach(f);
      this.stats.rotations++;
      fd = this.open(f);
      if (fd !== null) this.reader.attach(f, fd, 0, 0);
      this.scheduleSave();
    }
  }

  /** Open the file at f's path; one that cannot be read is said once and tried again at every poll. */
  open(f: Tracked): number | null {
    const fd = tryOpen(f.path, (err) => {
      if (this.unreadable.has(f.key)) return;
      this.unreadable.add(f.key);
      this.settings.onNotice(`${f.path} cannot be read (${err.message}); trying again every ${this.settings.pollMs} ms`);
    });
    if (fd !== null) this.unreadable.delete(f.key);
    return fd;
  }

  /** Read `fd` from the position to its end in bounded chunks, delivering complete lines. */
  async drain(f: Tracked, fd: number): Promise<void> {
    const chunk = this.reader.chunk;
    const atPath = this.finishing.get(f.key) !== f;
    this.remember(f, `${f.dev}:${f.ino}`);
    for (;;) {
      const readPos = f.offset + f.partial;
      const st = fstatSync(fd, { bigint: true });
      const size = Number(st.size);
      if (size < readPos) {
        await this.truncated(f);
        continue;
      }
      f.seenSize = size;
      if (atPath && readPos === 0 && f.head.length === 0 && st.mtimeNs !== f.mtime && (await this.unreadCopy(f, fd))) continue;
      if (size === readPos) {
        // Changed with no new bytes: rewritten to the same size (the first bytes tell).
        if (st.mtimeNs !== f.mtime && readPos > 0 && !this.reader.headMatches(f, fd)) {
          await this.truncated(f);
          continue;
        }
        f.mtime = st.mtimeNs;
        return;
      }
      const n = readSync(fd, chunk, 0, chunk.length, readPos);
      if (n === 0) return;
      // Checked after the read: a file truncated and rewritten past our offset before (or while)
      // we read gives bytes of the new content, which must not be taken as continuing the old one.
      if (!this.reader.headMatches(f, fd)) {
        await this.truncated(f);
        continue;
      }
      this.reader.consume(f, chunk.subarray(0, n), readPos);
      if (n === chunk.length) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * A file seen empty (no fingerprint yet) changed since: if it was copied and truncated
   * meanwhile, the copy (the family file written after we saw it, not one read before) holds
   * lines never seen here: read it first. Returns whether one was read.
   */
  private async unreadCopy(f: Tracked, fd: number): Promise<boolean> {
    const since = f.mtime;
    f.mtime = fstatSync(fd, { bigint: true }).mtimeNs;
    const copy = this.family.findUnreadCopy(f.key, since, 0, f.ino, this.history(f));
    if (copy === null) return false;
    this.stats.truncations++;
    const now = this.reader.readHead(fd, FINGERPRINT_BYTES);
    await this.recovery.finishFound(f, copy, 0, 0, [{ dev: String(f.dev), ino: String(f.ino), fpLen: now.length, fpHash: fingerprint(now) }]);
    this.reader.setPosition(f, 0, 0);
    this.scheduleSave();
    return true;
  }

  /** Note a file (dev:ino) or a copy (dev:ino:mtime) as read for f's path: never an unread copy after. */
  remember(f: Tracked, id: string): void {
    let set = this.seen.get(f.key);
    if (set === undefined) this.seen.set(f.key, (set = new Set()));
    if (set.has(id)) return;
    set.add(id);
    if (set.size > HISTORY) set.delete(set.values().next().value ?? id);
  }

  history(f: Tracked): ReadonlySet<string> {
    return this.seen.get(f.key) ?? new Set();
  }

  /** Hand a batch over; only once onLines returns does the position move past it (and the partial line with it). */
  private deliver(f: Tracked, lines: FollowedLine[], offset: number, lineNo: number): void {
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

  /** The file was truncated or rewritten under us: finish its copy (plain or .gz) if copytruncate left one, then read it from 0. */
  private async truncated(f: Tracked): Promise<void> {
    if (f.head.length > 0 && f.fd !== null) {
      const saved: FilePosition = { ...identityOf(f), offset: f.offset, lineNo: f.lineNo };
      // Saved meanwhile with the copy: the file at the path as it is now, to read from 0 after it.
      const now = this.reader.readHead(f.fd, FINGERPRINT_BYTES);
      const then = { dev: String(f.dev), ino: String(f.ino), fpLen: now.length, fpHash: fingerprint(now) };
      // The file itself is at the path: only a copy can be found.
      if ((await this.recovery.finishOld(f, saved, f.ino, [then], true)) === null) {
        this.settings.onNotice(`${f.path} was truncated after line ${f.lineNo} (byte ${f.offset}); ${this.recovery.noCopy(f, { ...saved, size: f.seenSize })}; reading it from its start`);
      }
    }
    this.reader.setPosition(f, 0, 0);
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
    const then = f.then.length > 0 ? { then: f.then } : {};
    if (f.gz !== null) return { ...f.gz.id, offset: f.offset, lineNo: f.lineNo, ...then };
    if (f.fd === null) return { dev: null, ino: null, fpLen: 0, fpHash: fingerprint(EMPTY), offset: 0, lineNo: 0 };
    const size = Number(fstatSync(f.fd).size);
    return { ...identityOf(f), offset: f.offset, lineNo: f.lineNo, ...then, size, mtime: String(f.mtime) };
  }
}
