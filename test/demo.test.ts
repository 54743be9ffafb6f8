import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resolveDemoOptions, runDemo } from "../src/tools/demo.js";

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

  it("refuses bad options by name", () => {
    expect(() => resolveDemoOptions({ rate: 0 })).toThrow(/rate must be a number in \(0, 1000000\] lines\/s, got 0/);
    expect(() => resolveDemoOptions({ liveLines: 5 })).toThrow(/liveLines must be an integer in \[100, 10000000\], got 5/);
  });
});
