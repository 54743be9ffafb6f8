/**
 * `logforest patterns` (issue 20) as a user runs it: Loghub's per-line CSV
 * (LineId,EventId,EventTemplate) that Loghub's evaluator can score, and a summary.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { groupingAccuracy } from "../src/streams/text/grouping.js";
import { parseLoghub } from "../src/streams/text/loghub.js";
import { DATA_DIR, dataFile } from "./data.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-patterns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does it first)`);
  const r = spawnSync(process.execPath, [BIN, "patterns", ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("logforest patterns", () => {
  it("writes one CSV row per line and a JSON summary of the templates with counts", () => {
    const log = join(dir, "app.log");
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      lines.push(`2026-12-05 12:00:${String(i).padStart(2, "0")},000 INFO [main] app.Jobs - job ${i} done in ${i * 3} ms`);
      if (i % 10 === 9) lines.push(`2026-12-05 12:00:${String(i).padStart(2, "0")},500 ERROR [main] app.Db - connection to "db, primary" refused`, "\tat app.Db.connect(Db.java:12)");
    }
    writeFileSync(log, `${lines.join("\n")}\n`);
    const r = run(["--input", log, "--csv", join(dir, "out.csv"), "--json"]);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary).toMatchObject({ lines: 36, records: 33, shape: "log4j", continuation_lines: 3, templates: 2 });
    expect(summary.events).toEqual([
      { event_id: "E1", count: 30, template: "job <*> done in <*> <*>" },
      { event_id: "E2", count: 6, template: 'connection to "db, primary" refused' },
    ]);
    const rows = parseLoghub(readFileSync(join(dir, "out.csv"), "utf8"));
    expect(Object.keys(rows[0] ?? {})).toEqual(["LineId", "EventId", "EventTemplate"]);
    expect(rows.map((x) => x.LineId)).toEqual(lines.map((_, i) => String(i + 1)));
    expect(rows[10]).toEqual({ LineId: "11", EventId: "E2", EventTemplate: 'connection to "db, primary" refused' });
    expect(rows[11]?.EventId).toBe("E2");
  });

  it("refuses a missing file and a bad option, naming them", () => {
    expect(run(["--input", join(dir, "nope.log")]).err).toMatch(/--input .*nope\.log: no such file/);
    const r = run(["--input", join(dir, "nope.log"), "--max-templates", "0"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--max-templates must be an integer in \[1, 10000000\], got 0/);
  });

  it.skipIf(DATA_DIR === null)("its CSV scores like the library on a Loghub sample (OpenSSH)", () => {
    const out = join(dir, "ssh.csv");
    expect(run(["--input", dataFile("logs/loghub/OpenSSH_2k.log"), "--csv", out]).code).toBe(0);
    const truth = parseLoghub(readFileSync(dataFile("logs/loghub/OpenSSH_2k.log_structured.csv"), "utf8")).map((x) => x.EventId ?? "");
    const parsed = parseLoghub(readFileSync(out, "utf8")).map((x) => x.EventId ?? "");
    expect(groupingAccuracy(truth, parsed)).toBeGreaterThanOrEqual(0.95);
  });
});
