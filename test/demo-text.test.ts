// `logforest demo --kind text`: the free-text job on defaults, following a log as it is written.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runTextDemo } from "../src/tools/demo-text.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;

describe("demo --kind text", () => {
  it("catches each of the five incidents as the lines arrive, with no alert elsewhere", async () => {
    const printed: string[] = [];
    const r = await runTextDemo({ trainLines: 40_000, liveLines: 100_000, rate: 50_000, print: (l) => printed.push(l) });
    expect(r.incidents.map((i) => [i.kind, i.caught])).toEqual([
      ["new_error", true], ["warn_burst", true], ["heartbeat_stopped", true], ["slow_param", true], ["missing_step", true],
    ]);
    expect(r.falseAlerts).toBe(0);
    // A short list: sessions unusual for the same reason are one alert per cooldown.
    expect(r.alerts.length).toBeLessThanOrEqual(20);
    expect(r.alerts.filter((a) => a.rule === "session").every((a) => /^[0-9a-f]{8}$/.test(a.session ?? ""))).toBe(true);
    expect(printed.at(-1)).toMatch(/^incidents caught: 5\/5 \(new_error by .*missing_step by session.*\); false alerts: 0$/);
    expect(printed.some((l) => l.includes("heartbeat_stopped") && /none for \d+ ms/.test(l))).toBe(true);
    expect(printed.some((l) => l.includes("(session)  session "))).toBe(true);
  }, 300_000);

  it("refuses bad options by name", async () => {
    await expect(runTextDemo({ liveLines: 1000 })).rejects.toThrow(/liveLines must be an integer in \[100000, 10000000\], got 1000/);
    // The dashboard is offered with free text too (test/dashboard-text.test.ts); its port is checked the same way.
    const r = spawnSync(process.execPath, [BIN, "demo", "--kind", "text", "--dashboard", "http"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--dashboard must be a port, an integer in [0, 65535] (0: any free port), got http");
  });
});
