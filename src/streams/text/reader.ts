/**
 * Reading a free-text log: the header shape is chosen once from a file's first lines
 * (the shape that reads the most of them; among near-ties the more specific), then
 * every line goes through that one shape. A line that does not start with the header
 * (a stack trace, a wrapped message) joins the record before it; nothing is dropped:
 * lines before any header are records of their own, counted as headerless.
 */
import { Clock, type ClockNotes } from "./clock.js";
import { emptyRecord, type TextRecord } from "./record.js";
import { PLAIN, SHAPES, type HeaderShape } from "./shapes.js";
import { CRI_WRAPPER, DOCKER_WRAPPER, JSON_SHAPE, LOGFMT_SHAPE, type Wrapper } from "./structured.js";

/** Every shape detection may choose, in order of preference among near-ties. */
export const ALL_SHAPES: readonly HeaderShape[] = [JSON_SHAPE, LOGFMT_SHAPE, ...SHAPES];
const WRAPPERS: readonly Wrapper[] = [DOCKER_WRAPPER, CRI_WRAPPER];

/** Options of a TextReader. */
export interface TextReaderOptions {
  /** Year assumed for times that carry none (syslog, Android); default the current UTC year. */
  year?: number;
  /** Force a shape by name instead of detecting it. */
  shape?: string;
}

/** Called with each whole record, the line number of its first line and how many lines it spans. */
export type RecordHandler = (record: TextRecord, line: number, span: number) => void;

/** What the reader did with the lines, counted. */
export interface ReadCounts {
  /** Records emitted. */
  records: number;
  /** Lines joined to the record before them (stack traces, wrapped text). */
  continuation: number;
  /** Lines read without a header because no record came before them. */
  headerless: number;
}

/** Shares of `sample`'s non-empty lines each shape reads. */
function rates(shapes: readonly HeaderShape[], sample: readonly string[], clock: Clock): number[] {
  const rec = emptyRecord();
  const lines = sample.filter((l) => l.trim() !== "").map((l) => l.trimEnd());
  return shapes.map((s) => (lines.length === 0 ? 0 : lines.filter((l) => s.read(l, rec, clock)).length / lines.length));
}

/** The shape that reads `sample` best: the first whose share is within 10% of the best, or plain. */
export function detectShape(sample: readonly string[]): HeaderShape {
  const r = rates(ALL_SHAPES, sample, new Clock(2000));
  const best = Math.max(...r);
  if (best < 0.3) return PLAIN;
  return ALL_SHAPES[r.findIndex((x) => x >= best * 0.9)] ?? PLAIN;
}

/** The container wrapper most of `sample` is in, or null. */
function detectWrapper(sample: readonly string[]): Wrapper | null {
  const clock = new Clock(2000);
  const rec = emptyRecord();
  const lines = sample.filter((l) => l.trim() !== "").map((l) => l.trimEnd());
  for (const w of WRAPPERS) if (lines.length > 0 && lines.filter((l) => w.unwrap(l, rec, clock) !== null).length >= lines.length / 2) return w;
  return null;
}

/** Reads one file's lines into records; one per file (it holds the record being built). */
export class TextReader {
  /** The time assumptions made so far. */
  readonly clock: Clock;
  /** What was read, counted. */
  readonly counts: ReadCounts = { records: 0, continuation: 0, headerless: 0 };
  private pending = emptyRecord();
  private spare = emptyRecord();
  private pendingLine = 0;
  private pendingSpan = 0;
  private partial = ""; // CRI/Docker partial lines waiting for their end

  private constructor(readonly shape: HeaderShape, readonly wrapper: Wrapper | null, year: number) {
    this.clock = new Clock(year);
  }

  /** A reader for the file whose first lines are `sample`. */
  static detect(sample: readonly string[], options: TextReaderOptions = {}): TextReader {
    const year = options.year ?? new Date().getUTCFullYear();
    if (!Number.isInteger(year) || year < 1970 || year > 2199) throw new RangeError(`year must be an integer in [1970, 2199], got ${year}`);
    const wrapper = detectWrapper(sample);
    let inner = sample;
    if (wrapper !== null) {
      const clock = new Clock(year);
      const rec = emptyRecord();
      inner = sample.map((l) => wrapper.unwrap(l, rec, clock)?.inner ?? l);
    }
    let shape: HeaderShape;
    if (options.shape !== undefined) {
      const named = [...ALL_SHAPES, PLAIN].find((s) => s.name === options.shape);
      if (named === undefined) throw new RangeError(`shape must be one of ${[...ALL_SHAPES, PLAIN].map((s) => s.name).join(", ")}, got ${options.shape}`);
      shape = named;
    } else {
      shape = detectShape(inner);
    }
    return new TextReader(shape, wrapper, year);
  }

  /** The name of what is read: the shape, inside its wrapper if any (`cri/log4j`). */
  get name(): string {
    return this.wrapper === null ? this.shape.name : `${this.wrapper.name}/${this.shape.name}`;
  }

  /** What the timestamps lacked so far. */
  get notes(): ClockNotes {
    return this.clock.notes;
  }

  /** Read one line (number `lineNo`); whole records go to `emit` once the next header shows they ended. */
  push(line: string, lineNo: number, emit: RecordHandler): void {
    let text = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
    let wrappedTs = NaN;
    if (this.wrapper !== null) {
      const got = this.wrapper.unwrap(line, this.spare, this.clock);
      if (got !== null) {
        wrappedTs = this.spare.ts;
        if (!got.whole) {
          this.partial += got.inner;
          return;
        }
        text = this.partial + got.inner;
        this.partial = "";
      }
    }
    if (this.shape.read(text, this.spare, this.clock)) {
      if (Number.isNaN(this.spare.ts)) this.spare.ts = wrappedTs;
      this.flush(emit);
      this.swap(lineNo);
      return;
    }
    if (this.pendingSpan > 0 && continues(text)) {
      this.pending.message += `\n${text}`;
      this.pendingSpan++;
      this.counts.continuation++;
      return;
    }
    PLAIN.read(text, this.spare, this.clock);
    this.spare.ts = wrappedTs;
    this.counts.headerless++;
    this.flush(emit);
    this.swap(lineNo);
  }

  /** Emit the record being built, if any (at the end of the input). */
  flush(emit: RecordHandler): void {
    if (this.pendingSpan === 0) return;
    this.counts.records++;
    const span = this.pendingSpan;
    this.pendingSpan = 0;
    emit(this.pending, this.pendingLine, span);
  }

  /** The record just read becomes the pending one. */
  private swap(lineNo: number): void {
    const t = this.pending;
    this.pending = this.spare;
    this.spare = t;
    this.pendingLine = lineNo;
    this.pendingSpan = 1;
  }
}

/**
 * Whether a line without a header continues the record before it: indented (stack
 * frames, wrapped text), a Java `Caused by:` / `... 12 more`, or an exception line
 * (`java.io.IOException: x`, Python's `ValueError: x` after its traceback). Any other
 * line is a record of its own, so a header that varies now and then loses nothing.
 */
export function continues(line: string): boolean {
  const c = line.charCodeAt(0);
  if (c === 32 || c === 9 || line.length === 0) return true;
  return line.startsWith("Caused by") || line.startsWith("...") || line.startsWith("Traceback") || /^[\w.$]*(?:Exception|Error|Throwable)\b/.test(line);
}

/** The first line of a message: what is templated (a stack trace's frames are not). */
export function firstLine(message: string): string {
  const nl = message.indexOf("\n");
  return nl < 0 ? message : message.slice(0, nl);
}
