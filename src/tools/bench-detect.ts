/**
 * The end-to-end detect path for `logforest bench --detect-lines N`: read a log
 * file, parse, extract features, score, judge rules: what `detect --input` does.
 */
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detect } from "../runtime/detect.js";
import { workersFor } from "../runtime/pipeline.js";
import { simulate, type SimFormat } from "./simulate.js";
import { trainFromLines } from "../streams/http/train.js";

/** One end-to-end measurement; field names are the JSON output's. */
export interface DetectBenchResult {
  measure: "detect";
  format: SimFormat;
  /** detect --input's worker threads (0: parsed on the detecting thread); its default when not given. */
  workers: number;
  lines: number;
  lines_per_s: number;
  /**
   * Lines per second of the process's CPU time (every thread): on a machine shared
   * with other work it moves far less than the wall-clock rate.
   */
  cpu_lines_per_s: number;
  ms: number;
  alerts: number;
}

/**
 * Simulate `lines` lines of each format into a temporary file and time `detect --input` on it
 * with each of `workers` (median of `runs`; the settings take turns run by run, so a busy
 * spell of a shared machine hits them alike). Default: detect's own default.
 */
export async function benchDetect(
  lines: number, formats: SimFormat[], runs: number, log: (r: DetectBenchResult) => void, workers: ReadonlyArray<number | undefined> = [undefined],
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "logforest-bench-"));
  try {
    for (const format of formats) {
      const { forest } = trainFromLines([...simulate({ count: 30_000, seed: 11, incidents: "none", format })].map((l) => l.text), { forest: { seed: 1 } });
      const path = join(dir, `app-${format}.log`);
      await writeLog(path, lines, format);
      const times = workers.map(() => [] as number[]);
      const cpu = workers.map(() => [] as number[]);
      const alerts = workers.map(() => 0);
      for (let i = 0; i < runs; i++) {
        for (const [w, n] of workers.entries()) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const { summary } = await detect({ input: { file: path, workers: n }, model: { model: forest }, outputs: { out: null } });
          times[w].push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu[w].push((c.user + c.system) / 1000);
          alerts[w] = summary.alerts;
        }
      }
      for (const [w, n] of workers.entries()) {
        const ms = median(times[w]);
        log({
          measure: "detect", format, workers: workersFor({ input: path, workers: n }), lines, lines_per_s: Math.round(lines / (ms / 1000)),
          cpu_lines_per_s: Math.round(lines / (median(cpu[w]) / 1000)), ms: Math.round(ms), alerts: alerts[w],
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `lines` simulated lines of `format` (seed 7) into `path`. */
async function writeLog(path: string, lines: number, format: SimFormat): Promise<void> {
  const out = createWriteStream(path);
  let chunk: string[] = [];
  for (const l of simulate({ count: lines, seed: 7, format, start: Date.UTC(2026, 10, 25, 6) })) {
    chunk.push(l.text);
    if (chunk.length === 10_000) {
      if (!out.write(chunk.join("\n") + "\n")) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = [];
    }
  }
  out.write(chunk.join("\n") + (chunk.length ? "\n" : ""));
  await new Promise<void>((r) => out.end(() => r()));
}

/** The middle value (the upper one of the two for an even count, as before). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
