// `logforest bench --text-lines`: the free-text figures, and Drain timed beside them when a
// folder with logparser's Drain.py is given (here a stand-in Drain.py that reads the file the
// way logparser's does, so the driver's plumbing is what is checked, not Drain's speed).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-bench-text-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAST = ["bench", "--rows", "1000", "--js-rows", "100", "--batches", "256", "--runs", "1", "--detect-lines", "0"];
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });
const python = spawnSync("python3", ["--version"]).status === 0;

describe("bench, free text", () => {
  it("times template matching and detect --input on a simulated service log", () => {
    const r = run([...FAST, "--text-lines", "30000", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, number | string>);
    const match = rows.find((x) => x.measure === "text_match");
    const det = rows.find((x) => x.measure === "text_detect");
    expect(match?.lines).toBeGreaterThan(29_000);
    expect(Number(match?.lines_per_s)).toBeGreaterThan(0);
    // Known templates: the messages match what training learned, bar the incidents' new ones.
    expect(Number(match?.unmatched)).toBeLessThan(Number(match?.lines) * 0.01);
    expect(det?.lines).toBe(30_000);
    // The file has the five incidents: detect finds some of them.
    expect(Number(det?.alerts)).toBeGreaterThanOrEqual(1);
    expect(rows.some((x) => x.measure === "drain")).toBe(false);
  });

  it.skipIf(!python)("runs Drain from the given folder on the same log and says the ratio", () => {
    const drain = join(dir, "logparser-drain");
    mkdirSync(drain, { recursive: true });
    writeFileSync(join(drain, "Drain.py"), [
      "import os",
      "class LogParser:",
      "    def __init__(self, log_format, indir, outdir, depth, st, rex, keep_para):",
      "        assert '<Content>' in log_format and depth == 4 and st == 0.5",
      "        self.indir = indir",
      "    def parse(self, name):",
      "        with open(os.path.join(self.indir, name)) as f:",
      "            assert sum(1 for _ in f) == 5000",
      "",
    ].join("\n"));
    const r = run([...FAST, "--text-lines", "10000", "--drain", drain, "--drain-lines", "5000", "--json"]);
    expect(r.stderr).toBe("");
    const row = r.stdout.split("\n").filter((l) => l.includes('"drain"')).map((l) => JSON.parse(l) as Record<string, number>)[0];
    expect(row?.lines).toBe(5000);
    expect(row?.vs_text_match).toBeGreaterThan(0);
  });

  it("names a bad option", () => {
    const neg = run([...FAST, "--text-lines", "-1"]);
    expect(neg.status).not.toBe(0);
    expect(neg.stderr).toContain("--text-lines must be an integer >= 0, got -1");
    const missing = run([...FAST, "--text-lines", "1000", "--drain", join(dir, "nowhere")]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/--drain must be a folder holding logparser's Drain\.py, got ".*nowhere" \(no Drain\.py there\)/);
  });
});
