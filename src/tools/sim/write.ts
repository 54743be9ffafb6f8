/** Writing a simulation to a file or stdout, with its truth file. */
import { open, stat } from "node:fs/promises";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { resolveSimulateOptions } from "./options.js";
import { run } from "./run.js";
import type { SimIncident, Summary, WriteSimulationOptions } from "./types.js";

// Chunk size of writes: big enough to be fast, small enough to keep memory flat.
const CHUNK_CHARS = 1 << 16;

/** A writable with its first error remembered and drain waits that cannot hang on error. */
class Sink {
  private failure: (Error & { code?: string }) | null = null;
  private readonly onError = (e: Error): void => {
    if (this.failure === null) this.failure = e;
  };

  constructor(private readonly stream: Writable) {
    stream.on("error", this.onError);
  }

  get error(): (Error & { code?: string }) | null {
    return this.failure;
  }

  async write(chunk: string): Promise<void> {
    if (this.failure !== null || chunk === "") return;
    if (!this.stream.write(chunk)) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.stream.off("drain", done);
        this.stream.off("error", done);
        resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("error", done);
    });
  }

  /** End an owned stream (file) and wait for it; let a shared one (stdout) drain, then detach. */
  async close(owned: boolean): Promise<void> {
    // A late EPIPE can only come from a pending write, so stay subscribed until none is left.
    if (!owned && this.failure === null && this.stream.writableLength > 0) await this.drained();
    if (owned && this.failure === null) {
      this.stream.end();
      await finished(this.stream).catch((e: unknown) => {
        if (this.failure === null && e instanceof Error) this.failure = e;
      });
    }
    this.stream.off("error", this.onError);
  }
}

/** Lines already in `path` (a trailing partial line counts) and whether it ends without a newline. */
async function existingLines(path: string): Promise<{ lines: number; unterminated: boolean }> {
  try {
    const st = await stat(path);
    if (st.size === 0) return { lines: 0, unterminated: false };
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return { lines: 0, unterminated: false };
    throw e;
  }
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let last = 10;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let i = buf.indexOf(10, 0);
      while (i !== -1 && i < bytesRead) {
        lines++;
        i = buf.indexOf(10, i + 1);
      }
      last = buf[bytesRead - 1] ?? 10;
    }
    return last === 10 ? { lines, unterminated: false } : { lines: lines + 1, unterminated: true };
  } finally {
    await fh.close();
  }
}

async function openAppend(path: string, flags: "a" | "w"): Promise<Writable> {
  const fh = await open(path, flags);
  return fh.createWriteStream();
}

/**
 * Generate a simulation and write it to `out` (appending) or stdout, with the truth file if asked.
 * In realtime rate mode lines are paced to the wall clock and flushed as they fall due.
 * A closed stdout (EPIPE, e.g. `| head`) ends the run quietly with `complete: false`.
 */
export async function writeSimulation(opts: WriteSimulationOptions = {}): Promise<Summary> {
  const o = resolveSimulateOptions(opts);
  if (o.realtime && !o.startGiven) o.start = Date.now();

  const before = o.out === null ? { lines: 0, unterminated: false } : await existingLines(o.out);
  const outStream = o.out === null ? process.stdout : await openAppend(o.out, "a");
  // The truth mirrors the log: appended with it, rewritten when the log goes to stdout.
  const truthStream = o.truth === null ? null : await openAppend(o.truth, o.out === null ? "w" : "a");
  const out = new Sink(outStream);
  const truth = truthStream === null ? null : new Sink(truthStream);

  let lineNo = before.lines;
  let chunk = before.unterminated ? "\n" : "";
  let truthChunk = "";
  const seen = new Map<number, SimIncident>();
  let labelled = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    await out.write(chunk);
    chunk = "";
    if (truth !== null) await truth.write(truthChunk);
    truthChunk = "";
  };

  const gen = run(o);
  const wall0 = Date.now();
  let incidents: SimIncident[] | null = null;
  try {
    for (;;) {
      const r = gen.next();
      if (r.done === true) {
        incidents = r.value;
        break;
      }
      const line = r.value;
      if (o.realtime) {
        const wait = wall0 + (line.ts - o.start) - Date.now();
        if (wait > 0) {
          await flush();
          if (out.error !== null) break;
          await sleep(wait);
        }
      }
      lineNo++;
      written++;
      chunk += line.text + "\n";
      if (line.incident !== null && line.kind !== null) {
        labelled++;
        truthChunk += JSON.stringify({ line: lineNo, kind: line.kind, incident: line.incident }) + "\n";
        const s = seen.get(line.incident);
        if (s === undefined) {
          seen.set(line.incident, { id: line.incident, kind: line.kind, start: line.ts, end: line.ts, lines: 1, detail: "" });
        } else {
          s.end = line.ts;
          s.lines++;
        }
      }
      if (chunk.length >= CHUNK_CHARS) {
        await flush();
        if (out.error !== null) break;
        opts.onProgress?.(written, o.mode === "count" ? written / o.count : (line.ts - o.start) / (o.duration * 1000));
      }
    }
    await flush();
    opts.onProgress?.(written, 1);
  } finally {
    await out.close(o.out !== null);
    if (truth !== null) await truth.close(true);
  }
  const err = out.error ?? truth?.error ?? null;
  const broken = err !== null && err.code === "EPIPE" && o.out === null;
  if (err !== null && !broken) throw err;
  return {
    lines: written,
    firstLine: before.lines + 1,
    labelled,
    incidents: incidents ?? [...seen.values()],
    out: o.out,
    truth: o.truth,
    complete: !broken,
  };
}

/** A short human-readable account of a run, for the CLI's stderr. */
export function formatSummary(s: Summary): string {
  const where = s.out === null ? "stdout" : s.out;
  const range = s.lines > 0 ? ` (lines ${s.firstLine}..${s.firstLine + s.lines - 1})` : "";
  const out = [`wrote ${s.lines} lines to ${where}${range}, ${s.labelled} labelled${s.complete ? "" : " (reader closed early)"}`];
  for (const i of s.incidents) {
    const detail = i.detail === "" ? "" : ` ${i.detail}`;
    out.push(`  incident ${i.id} ${i.kind}${detail}: ${i.lines} lines from ${new Date(i.start).toISOString()}`);
  }
  if (s.truth !== null) out.push(`truth: ${s.truth}`);
  return out.join("\n") + "\n";
}
