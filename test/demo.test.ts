import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { ALERT_HEADER, resolveDemoOptions, runDemo } from "../src/tools/demo.js";

describe("logforest demo", () => {
  it("catches every incident of the live stream as the lines arrive", async () => {
    const printed: string[] = [];
    const r = await runDemo({ rate: 20_000, print: (l) => printed.push(l) });
    expect(r.linesScored).toBe(20_000);
    expect(r.evaluation.incidents).toBeGreaterThanOrEqual(6);
    expect(r.evaluation.incident_recall).toBe(1);
    expect(r.evaluation.precision).toBeGreaterThanOrEqual(0.8);
    expect(Object.keys(r.evaluation.by_kind).sort()).toEqual(["brute_force", "error_burst", "latency_spike", "oversized", "scanner", "surge"]);
    expect(printed[0]).toMatch(/^trained on 30,000 lines of clean traffic/);
    expect(printed.at(-1)).toMatch(/^incidents caught: \d+\/\d+/);
    expect(printed.filter((l) => /app\.log:\d+$/.test(l)).length).toBe(r.alerts.length);
    expect(existsSync(r.dir)).toBe(false); // cleaned up
  }, 60_000);

  it("prints a header over the alert lines and names the log by its base name, not the temporary path", async () => {
    const printed: string[] = [];
    const r = await runDemo({ rate: 20_000, liveLines: 6000, print: (l) => printed.push(l) });
    expect(r.alerts.length).toBeGreaterThan(0);
    const first = printed.findIndex((l) => /app\.log:\d+$/.test(l));
    expect(printed[first - 1]).toBe(ALERT_HEADER);
    expect(printed.filter((l) => l === ALERT_HEADER)).toHaveLength(1);
    expect(printed.some((l) => /^following app\.log: /.test(l))).toBe(true);
    for (const line of printed) {
      expect(line).not.toContain(r.dir);
      expect(line).not.toContain(tmpdir());
    }
  }, 60_000);

  it("prints the same alerts for the same seed, however the lines arrive (the times come from the lines)", async () => {
    const alertLines = async (rate: number, seed?: number) => {
      const printed: string[] = [];
      await runDemo({ rate, liveLines: 8000, ...(seed !== undefined ? { seed } : {}), print: (l) => printed.push(l) });
      return printed.filter((l) => /app\.log:\d+$/.test(l));
    };
    const a = await alertLines(4000);
    expect(a.length).toBeGreaterThan(2);
    // Another run, with the file written in other chunks: the same alert lines, word for word.
    expect(await alertLines(25_000)).toEqual(a);
    expect(await alertLines(25_000, 7)).not.toEqual(a);
  }, 60_000);

  it("refuses bad options by name", () => {
    expect(() => resolveDemoOptions({ rate: 0 })).toThrow(/rate must be a number in \(0, 1000000\] lines\/s, got 0/);
    expect(() => resolveDemoOptions({ liveLines: 5 })).toThrow(/liveLines must be an integer in \[100, 10000000\], got 5/);
  });
});
