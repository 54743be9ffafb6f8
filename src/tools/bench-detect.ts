/**
 * The end-to-end detect path for `logforest bench --detect-lines N`: read a log
 * file, parse, extract features, score, judge rules: what `detect --input` does.
 */
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runDetect } from "../runtime/run-detect.js";
import { simulate, type SimFormat } from "./simulate.js";
import { trainFromLines } from "../streams/http/train.js";

/** One end-to-end measurement; field names are the JSON output's. */
export interface DetectBenchResult {
  measure: "detect";
  format: SimFormat;
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

/** Simulate `lines` lines of each format into a temporary file and time `detect --input` on it (median of `runs`). */
export async function benchDetect(lines: number, formats: SimFormat[], runs: number, log: (r: DetectBenchResult) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "logforest-bench-"));
  try {
    for (const format of formats) {
      const { forest } = trainFromLines([...simulate({ count: 30_000, seed: 11, incidents: "none", format })].map((l) => l.text), { forest: { seed: 1 } });
      const path = join(dir, `app-${format}.log`);
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
      const times: number[] = [];
      const cpu: number[] = [];
      let alerts = 0;
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const { summary } = await runDetect({ model: forest, input: path, out: null });
        times.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
        alerts = summary.alerts;
      }
      const ms = median(times);
      log({
        measure: "detect", format, lines, lines_per_s: Math.round(lines / (ms / 1000)),
        cpu_lines_per_s: Math.round(lines / (median(cpu) / 1000)), ms: Math.round(ms), alerts,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The middle value (the upper one of the two for an even count, as before). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
