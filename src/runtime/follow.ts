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
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync, type BigIntStats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Tail } from "tail";
import { decodeLine } from "../streams/lines.js";
import {
  FINGERPRINT_BYTES,
  type FileIdentity,
  type FilePosition,
  MAX_THEN,
  fingerprint,
  isErrno,
  loadPositions,
  savePositions,
} from "./positions.js";

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

const MAX_CHUNK_BYTES = 64 << 20;
const MAX_LINE_BYTES = 2 ** 30;
const MAX_POLL_MS = 60_000;
const SAVE_EVERY_MS = 100;
/** Positions are saved at once when this many delivered lines are unsaved. */
const SAVE_EVERY_LINES = 4096;
/** onLines gets at most this many lines at a time. */
const MAX_BATCH_LINES = 4096;
/** Most lines a crash (SIGKILL) can make a restart deliver again: those delivered (or being delivered) since the last save. */
export const MAX_REPEATED_LINES = SAVE_EVERY_LINES + MAX_BATCH_LINES - 1;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

interface Settings {
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
interface Tracked {
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

type State = "new" | "starting" | "running" | "closing" | "closed";

/** A file found in the folder, open for reading. */
interface Found {
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

/** Follows files, calling onLines with each batch of new complete lines, in file order. */
export class Follower {
  /** Counters of delivered lines, rotations, truncations and held partial lines. */
  readonly stats: FollowStats = { delivered: 0, rotations: 0, truncations: 0, partialHeld: 0, tooLong: 0, recovered: 0 };

  private readonly settings: Settings;
  private readonly files: Tracked[];
  private readonly onLines: (lines: FollowedLine[]) => void;
  private readonly chunk: Buffer;
  private readonly headBuf = Buffer.alloc(FINGERPRINT_BYTES);
  private positions = new Map<string, FilePosition>();
  private state: State = "new";
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private poller: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private lastSave = 0;
  private unsaved = 0;
  /** Per positions key, the old file being finished at start(): saved in place of the path's file. */
  private readonly finishing = new Map<string, Tracked>();
  private failure: Error | null = null;

  /** Validate options; no I/O happens until start(). */
  constructor(files: readonly string[], opts: FollowOptions, onLines: (lines: FollowedLine[]) => void) {
    this.settings = resolveFollowOptions(files, opts);
    if (typeof onLines !== "function") throw new RangeError(`onLines must be a function, got ${typeof onLines}`);
    this.onLines = onLines;
    this.chunk = Buffer.alloc(this.settings.chunkBytes);
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

  private identityOfFound(found: Found): FileIdentity {
    const head = this.readHead(found.fd, FINGERPRINT_BYTES);
    return { dev: String(found.st.dev), ino: String(found.st.ino), fpLen: head.length, fpHash: fingerprint(head) };
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
   * Look in the folder of `key` for the file `saved` describes: `rest` is open on the file to
   * read from the saved offset (the file itself, or else the largest copy with its first bytes
   * and at least its size); `rewritten` on the file itself when it was found truncated since.
   */
  private findOld(key: string, saved: FilePosition, current: bigint | null): { rest: Found | null; rewritten: Found | null } {
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

  /** Wake up: read whatever changed. Calls coalesce; one pump runs at a time. */
  private kick(): void {
    if (this.state !== "running") return;
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
        for (const f of this.files) {
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

  /** Split a chunk read at file offset `base` into lines and deliver them; hold (or skip) the partial tail. */
  private consume(f: Tracked, chunk: Buffer, base: number): void {
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
  private flushPartial(f: Tracked): void {
    if (f.partial === 0) return;
    const end = f.offset + f.partial;
    const line = f.tooLong
      ? this.tooLongLine(f, f.lineNo + 1, end)
      : { file: f.path, text: decodeLine(f.pending), tooLong: false, lineNo: f.lineNo + 1, end };
    this.deliver(f, [line], end, f.lineNo + 1);
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

  /** Use `fd` as the file at f's path, read from `offset`. */
  private attach(f: Tracked, fd: number, offset: number, lineNo: number): void {
    const st = fstatSync(fd, { bigint: true });
    f.fd = fd;
    f.dev = st.dev;
    f.ino = st.ino;
    this.setPosition(f, offset, lineNo);
  }

  private detach(f: Tracked): void {
    if (f.notifier !== null) f.notifier.unwatch();
    f.notifier = null;
    if (f.fd !== null) closeSync(f.fd);
    f.fd = null;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    f.head = EMPTY;
  }

  private setPosition(f: Tracked, offset: number, lineNo: number): void {
    f.offset = offset;
    f.lineNo = lineNo;
    f.partial = 0;
    f.pending = EMPTY;
    f.tooLong = false;
    // The first bytes there are now (consumed or not): the file's identity even before a line of it is read.
    f.head = f.fd === null ? EMPTY : this.readHead(f.fd, FINGERPRINT_BYTES);
  }

  private readHead(fd: number, len: number): Buffer {
    if (len === 0) return EMPTY;
    const n = readSync(fd, this.headBuf, 0, len, 0);
    return Buffer.from(this.headBuf.subarray(0, n));
  }

  private headMatches(f: Tracked, fd: number): boolean {
    if (f.head.length === 0) return true;
    const n = readSync(fd, this.headBuf, 0, f.head.length, 0);
    return n === f.head.length && this.headBuf.subarray(0, n).equals(f.head);
  }

  private fingerprintMatches(fd: number, saved: FilePosition): boolean {
    const n = saved.fpLen === 0 ? 0 : readSync(fd, this.headBuf, 0, saved.fpLen, 0);
    return n === saved.fpLen && fingerprint(this.headBuf.subarray(0, n)) === saved.fpHash;
  }

  /** For start "end": just after the last newline (a line being written is delivered whole) and its line count. */
  private async lastLineEnd(fd: number, size: number): Promise<{ offset: number; lineNo: number }> {
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
    tail.on("line", () => this.kick());
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

/** Device, inode and fingerprint of the file f reads (f.head: its first bytes). */
function identityOf(f: Tracked): FileIdentity {
  return { dev: String(f.dev), ino: String(f.ino), fpLen: f.head.length, fpHash: fingerprint(f.head) };
}

/** A file's reading state at offset 0. */
function tracked(path: string, key: string, fd: number | null, dev: bigint, ino: bigint): Tracked {
  return { path, key, fd, dev, ino, offset: 0, lineNo: 0, partial: 0, pending: EMPTY, tooLong: false, ready: false, head: EMPTY, then: [], notifier: null };
}

function tryOpen(path: string): number | null {
  try {
    return openSync(path, "r");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return null;
    throw err;
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
