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
 *   - a trailing partial line is held in memory until its newline arrives;
 *   - the first bytes read (up to 256) are kept and re-checked after every read: if the file
 *     shrank below our position or its first bytes changed, it was truncated (copytruncate,
 *     even when rewritten past our old offset) and we restart it from 0;
 *   - when the path names a different inode, the old fd (still open) is read to its end and
 *     then the new file is followed from its start.
 * The position advances only after onLines returns; it is saved after batches (at most every
 * 100 ms) and always on close, so a graceful restart neither loses nor repeats a line. A crash
 * between delivery and the next save can repeat up to ~100 ms of lines, never lose them.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Tail } from "tail";
import {
  FINGERPRINT_BYTES,
  type FilePosition,
  fingerprint,
  isErrno,
  loadPositions,
  savePositions,
} from "./positions.js";

/** One complete line read from a followed file. */
export interface FollowedLine {
  /** The followed path, as given to the Follower. */
  file: string;
  /** The line without its newline (and without a trailing "\r"). */
  text: string;
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
  /** Called once if following fails (I/O error, onLines threw); close() then rejects with it. */
  onError?: (err: Error) => void;
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
}

/** Every option's default, in one place. */
export const FOLLOW_DEFAULTS = { start: "end", pollMs: 250, chunkBytes: 1 << 20 } as const;

const MAX_CHUNK_BYTES = 64 << 20;
const MAX_POLL_MS = 60_000;
const SAVE_EVERY_MS = 100;
const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

interface Settings {
  positions: string | null;
  start: "end" | "beginning";
  pollMs: number;
  chunkBytes: number;
  onError: ((err: Error) => void) | null;
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
  /** Bytes after `offset` already read but with no newline yet. */
  pending: Buffer;
  /** The file's first min(256, offset + pending.length) bytes, to recognise rewrites. */
  head: Buffer;
  /** node-tail watcher used as the change notifier, or null. */
  notifier: Tail | null;
}

type State = "new" | "starting" | "running" | "closing" | "closed";

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
  const onError = opts.onError ?? null;
  if (onError !== null && typeof onError !== "function") {
    throw new RangeError(`onError must be a function, got ${typeof onError}`);
  }
  return { positions, start, pollMs, chunkBytes, onError };
}

/** Follows files, calling onLines with each batch of new complete lines, in file order. */
export class Follower {
  /** Counters of delivered lines, rotations, truncations and held partial lines. */
  readonly stats: FollowStats = { delivered: 0, rotations: 0, truncations: 0, partialHeld: 0 };

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
  private failure: Error | null = null;

  /** Validate options; no I/O happens until start(). */
  constructor(files: readonly string[], opts: FollowOptions, onLines: (lines: FollowedLine[]) => void) {
    this.settings = resolveFollowOptions(files, opts);
    if (typeof onLines !== "function") throw new RangeError(`onLines must be a function, got ${typeof onLines}`);
    this.onLines = onLines;
    this.chunk = Buffer.alloc(this.settings.chunkBytes);
    this.files = files.map((path) => ({
      path, key: resolve(path), fd: null, dev: 0n, ino: 0n, offset: 0, lineNo: 0,
      pending: EMPTY, head: EMPTY, notifier: null,
    }));
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
      // Nothing at the path: its old file (if any) was rotated away; the next one is read from 0.
      if (saved !== undefined && saved.ino !== null) {
        await this.finishOld(f, saved);
        this.stats.rotations++;
      }
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
      if (size >= saved.offset && this.fingerprintMatches(fd, saved)) this.setPosition(f, saved.offset, saved.lineNo);
      else this.stats.truncations++;
    } else {
      await this.finishOld(f, saved);
      this.stats.rotations++;
    }
  }

  /** After a restart, find the file we were reading (renamed beside the path) and read its rest. */
  private async finishOld(f: Tracked, saved: FilePosition): Promise<void> {
    const dir = dirname(f.key);
    const base = basename(f.key);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === base || !name.startsWith(base)) continue;
      let st;
      try {
        st = statSync(join(dir, name), { bigint: true });
      } catch {
        continue;
      }
      if (String(st.dev) !== saved.dev || String(st.ino) !== saved.ino) continue;
      const fd = tryOpen(join(dir, name));
      if (fd === null) return;
      const old: Tracked = {
        path: f.path, key: f.key, fd, dev: st.dev, ino: st.ino, offset: 0, lineNo: 0,
        pending: EMPTY, head: EMPTY, notifier: null,
      };
      try {
        if (Number(st.size) >= saved.offset && this.fingerprintMatches(fd, saved)) {
          this.setPosition(old, saved.offset, saved.lineNo);
          await this.drain(old, fd);
          this.flushPartial(old);
        }
      } finally {
        closeSync(fd);
      }
      return;
    }
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
      const readPos = f.offset + f.pending.length;
      const size = fstatSync(fd).size;
      if (size < readPos) {
        this.truncated(f);
        continue;
      }
      if (size === readPos) return;
      const n = readSync(fd, this.chunk, 0, this.chunk.length, readPos);
      if (n === 0) return;
      // Checked after the read: a file truncated and rewritten past our offset before (or while)
      // we read gives bytes of the new content, which must not be taken as continuing the old one.
      if (!this.headMatches(f, fd)) {
        this.truncated(f);
        continue;
      }
      this.consume(f, this.chunk.subarray(0, n), readPos);
      if (n === this.chunk.length) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Split a chunk read at file offset `base` into lines and deliver them; hold the partial tail. */
  private consume(f: Tracked, chunk: Buffer, base: number): void {
    if (base < FINGERPRINT_BYTES) {
      f.head = Buffer.concat([f.head, chunk.subarray(0, Math.min(chunk.length, FINGERPRINT_BYTES - base))]);
    }
    let nl = chunk.indexOf(NEWLINE);
    if (nl < 0) {
      if (f.pending.length === 0) this.stats.partialHeld++;
      f.pending = Buffer.concat([f.pending, chunk]);
      return;
    }
    const lines: FollowedLine[] = [];
    let lineNo = f.lineNo;
    const first = f.pending.length > 0 ? Buffer.concat([f.pending, chunk.subarray(0, nl)]) : chunk.subarray(0, nl);
    lines.push({ file: f.path, text: decodeLine(first), lineNo: ++lineNo, end: base + nl + 1 });
    let start = nl + 1;
    while ((nl = chunk.indexOf(NEWLINE, start)) >= 0) {
      lines.push({ file: f.path, text: decodeLine(chunk.subarray(start, nl)), lineNo: ++lineNo, end: base + nl + 1 });
      start = nl + 1;
    }
    const rest = Buffer.from(chunk.subarray(start)); // a copy: the chunk buffer is reused
    if (rest.length > 0) this.stats.partialHeld++;
    this.deliver(f, lines, base + start, lineNo, rest);
  }

  /** A file leaving for good may end without a newline: its last bytes are still a line. */
  private flushPartial(f: Tracked): void {
    if (f.pending.length === 0) return;
    const end = f.offset + f.pending.length;
    this.deliver(f, [{ file: f.path, text: decodeLine(f.pending), lineNo: f.lineNo + 1, end }], end, f.lineNo + 1, EMPTY);
  }

  /** Hand a batch over; only once onLines returns does the position move past it. */
  private deliver(f: Tracked, lines: FollowedLine[], offset: number, lineNo: number, pending: Buffer): void {
    this.onLines(lines);
    f.offset = offset;
    f.lineNo = lineNo;
    f.pending = pending;
    this.stats.delivered += lines.length;
    this.scheduleSave();
  }

  private truncated(f: Tracked): void {
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
    f.pending = EMPTY;
    f.head = EMPTY;
  }

  private setPosition(f: Tracked, offset: number, lineNo: number): void {
    f.offset = offset;
    f.lineNo = lineNo;
    f.pending = EMPTY;
    f.head = f.fd === null ? EMPTY : this.readHead(f.fd, Math.min(offset, FINGERPRINT_BYTES));
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

  private scheduleSave(): void {
    if (this.settings.positions === null || this.state !== "running" || this.saveTimer !== null) return;
    const wait = this.lastSave + SAVE_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.saveNow();
      return;
    }
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      if (this.state !== "running") return;
      try {
        this.saveNow();
      } catch (err) {
        this.fail(asError(err));
      }
    }, wait);
  }

  private saveNow(): void {
    if (this.settings.positions === null) return;
    for (const f of this.files) this.positions.set(f.key, this.positionOf(f));
    savePositions(this.settings.positions, this.positions);
    this.lastSave = Date.now();
  }

  private positionOf(f: Tracked): FilePosition {
    if (f.fd === null) return { dev: null, ino: null, fpLen: 0, fpHash: fingerprint(EMPTY), offset: 0, lineNo: 0 };
    return {
      dev: String(f.dev), ino: String(f.ino), fpLen: f.head.length, fpHash: fingerprint(f.head),
      offset: f.offset, lineNo: f.lineNo,
    };
  }
}

function tryOpen(path: string): number | null {
  try {
    return openSync(path, "r");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return null;
    throw err;
  }
}

/** Bytes of one line (without its "\n") to text, dropping a trailing "\r". */
function decodeLine(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.toString("utf8", 0, end);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
