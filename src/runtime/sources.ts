/**
 * The sources of a single-process run (the scale-out's shard source is in scale/consumer.ts):
 * a whole file (on this thread, or parsed on worker threads: runtime/pipeline.ts), a stream
 * such as stdin, and files followed as they grow (runtime/follow.ts). Each drives the one run
 * loop (runtime/run-detect.ts) and moves its position only after the loop has flushed.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { readLineBatches } from "../streams/lines.js";
import { Follower, type FollowedLine } from "./follow.js";
import type { DetectMetrics } from "./metrics.js";
import { PIPELINE_MAX_LINE_BYTES, runPipeline } from "./pipeline.js";
import { loadPositions } from "./positions.js";
import type { LineSource, RunLoop } from "./run-detect.js";

/** Lines per batch read from a file or a stream. */
const BATCH_LINES = 8192;

/** A whole file; with workers > 0 (and a kind that parses on worker threads), parsed on that many threads. */
export function fileSource(path: string, o: { maxLineBytes: number; workers: number }): LineSource {
  return {
    async run(loop) {
      const d = loop.detection.get();
      const piped = d.pipelined;
      const done = piped && o.workers > 0 && o.maxLineBytes <= PIPELINE_MAX_LINE_BYTES
        && await runPipeline(path, o.workers, o.maxLineBytes, {
          choose: (sample) => {
            const settings = piped.workerSettings(path, sample);
            return settings === null ? null : { kind: loop.detection.kind.name, settings };
          },
          receiver: () => piped.receiver(),
          batch: (p, from, to, first, text, bytes) => {
            loop.scorePrepared(path, p, from, to, first, text);
            loop.flush();
            loop.read(path, to - from, bytes);
          },
          tooLong: (line) => (loop.tooLong(path, line), loop.flush()),
        });
      if (!done) await readWhole(path, path, loop, o.maxLineBytes);
    },
  };
}

/** A stream read to its end (stdin: named "-"). */
export function streamSource(stream: Readable, name: string, o: { maxLineBytes: number }): LineSource {
  return { run: (loop) => readWhole(stream, name, loop, o.maxLineBytes) };
}

async function readWhole(source: string | Readable, name: string, loop: RunLoop, maxLineBytes: number): Promise<void> {
  // The input's characters read so far (and their newlines): about its bytes, for a progress bar.
  let read = 0;
  await readLineBatches(source, (lines, first) => {
    loop.score({ file: name, lines, lineNo: first });
    loop.flush();
    for (const l of lines) read += l.length + 1;
    loop.read(name, lines.length, read);
  }, BATCH_LINES, { maxLineBytes, onTooLong: (line) => (loop.tooLong(name, line), loop.flush()) });
}

/** Options of followed files. */
export interface FollowSourceOptions {
  /** Positions file (each file's read position, saved after its lines' output is written). */
  positions?: string;
  /** A file with no saved position: start at its end (default) or beginning. */
  start?: "end" | "beginning";
  maxLineBytes: number;
  /** Stop after this many seconds. */
  durationSeconds?: number;
  /** What may follow a followed file's name in its rotated copies' names (follow-options.ts). */
  rotatedSuffix?: RegExp;
}

/** Files followed as they grow (rotation, truncation and restarts handled by runtime/follow.ts), until the run is stopped. */
export function followSource(files: readonly string[], o: FollowSourceOptions): LineSource {
  return {
    async run(loop, signal) {
      const onLines = (batch: FollowedLine[]) => {
        // A batch is one file's lines in order; split it where line numbers restart (rotation) and around too-long lines.
        let from = 0;
        for (let i = 0; i <= batch.length; i++) {
          const l = batch[i];
          const cut = i === batch.length || l.tooLong || l.file !== batch[from].file || (i > from && l.lineNo !== batch[i - 1].lineNo + 1);
          if (!cut) continue;
          if (i > from) {
            const run = batch.slice(from, i);
            loop.score({ file: run[0].file, lines: run.map((x) => x.text), lineNo: run[0].lineNo });
            loop.read(run[0].file, run.length);
          }
          if (l?.tooLong) {
            loop.tooLong(l.file, l.lineNo);
            from = i + 1;
          } else {
            from = i;
          }
        }
        loop.flush(); // before returning: the follower moves the position past this batch only then
        const last = batch[batch.length - 1];
        if (last !== undefined) loop.metrics?.followed(last.file, last.end);
      };
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const follower = new Follower([...files], {
        positions: o.positions, start: o.start ?? "end", maxLineBytes: o.maxLineBytes, onError: () => stop(), beforeSave: () => loop.sync(),
        ...(o.rotatedSuffix !== undefined ? { rotatedSuffix: o.rotatedSuffix } : {}),
        outputs: [...loop.outputPaths],
      }, onLines);
      await follower.start();
      if (loop.metrics) startingOffsets(files, o, loop.metrics);
      const timer = o.durationSeconds !== undefined ? setTimeout(stop, o.durationSeconds * 1000) : null;
      signal?.addEventListener("abort", stop);
      if (signal?.aborted) stop();
      await stopped;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      // close() reads what the files already hold, delivers it and saves the positions (it rejects after a failure).
      await follower.close();
    },
  };
}

/** Tell the metrics where each followed file starts being read (its saved position, its end, or 0). */
function startingOffsets(files: readonly string[], o: FollowSourceOptions, metrics: DetectMetrics): void {
  // The follower saved every file's position at start(): read back, it is exact.
  const saved = o.positions !== undefined ? loadPositions(o.positions) : null;
  for (const file of files) {
    let offset = 0;
    if (saved !== null) offset = saved.get(resolve(file))?.offset ?? 0;
    else if ((o.start ?? "end") === "end") {
      try {
        offset = statSync(file).size;
      } catch {
        // not there yet: read from its start when it appears
      }
    }
    metrics.startsAt(file, offset);
  }
}
