/**
 * A progress bar on a terminal (cli-progress): how much of a file is read (or of a
 * count written), lines per second and the time left. Quiet when the stream is not
 * a terminal or the output is JSON, so logs and pipes never see it.
 */
import { statSync } from "node:fs";
import { Writable } from "node:stream";
import cliProgress from "cli-progress";

/** A running bar; every method is a no-op on a quiet one. */
export interface Progress {
  /** Whether the bar is drawn. */
  readonly active: boolean;
  /** `done` of the total (bytes or lines), `lines` so far. */
  update(done: number, lines: number): void;
  /**
   * Print something (an alert line on the same terminal) above the bar: the bar's line is
   * cleared, `print` runs, and the bar comes back on its next tick.
   */
  above(print: () => void): void;
  /** End this bar's line and start over with a new label (a second pass over the same file). */
  restart(label: string): void;
  /** Draw the last state and end the line. */
  stop(): void;
}

/** Options of a bar. */
export interface ProgressOptions {
  /** Words before the bar ("train", "detect"). */
  label: string;
  /** The whole, in the unit of update()'s `done`. */
  total: number;
  /** false: draw nothing (e.g. with --json). Default true. */
  enabled?: boolean;
  /** Where to draw; default process.stderr, drawn only when it is a terminal. */
  stream?: NodeJS.WriteStream;
}

const QUIET: Progress = { active: false, update: () => {}, above: (print) => print(), restart: () => {}, stop: () => {} };

function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A bar on `stream` (stderr) when it is a terminal and `enabled`, else a quiet one. */
export function startProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  if (o.enabled === false || stream.isTTY !== true || !(o.total > 0)) return QUIET;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{label} [{bar}] {percentage}% | {lines} lines | {rate} lines/s | ETA {eta_formatted}",
      barsize: 30,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      forceRedraw: true, // after above() cleared the line
    },
    cliProgress.Presets.shades_classic,
  );
  let label = o.label;
  let t0 = performance.now();
  const payload = (lines: number) => ({ label, lines: count(lines), rate: count(lines / Math.max(1e-3, (performance.now() - t0) / 1000)) });
  bar.start(o.total, 0, payload(0));
  let stopped = false;
  return {
    active: true,
    update: (done, lines) => bar.update(Math.min(done, o.total), payload(lines)),
    above: (print) => {
      if (!stopped) stream.write("\r\x1b[2K");
      print();
    },
    restart: (next) => {
      bar.stop(); // the finished pass stays on its line
      label = next;
      t0 = performance.now();
      bar.start(o.total, 0, payload(0));
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * A bar over a file's bytes for a command that reads it (train, detect --input): quiet
 * unless stderr is a terminal and `json` is false, or when the file cannot be sized.
 */
export function fileProgress(label: string, path: string, json: boolean): Progress {
  let total = 0;
  try {
    total = statSync(path).size;
  } catch {
    return QUIET; // the command itself says what is wrong with the file
  }
  return startProgress({ label, total, enabled: !json });
}

/** A stream whose writes go to `out` above the bar (alert lines on the bar's terminal). */
export function writerAbove(bar: Progress, out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      bar.above(() => out.write(chunk));
      done();
    },
  });
}
