// Issue 21's CLI frictions, each as a user meets it: the built CLI (dist/bin/logforest.js)
// run on small simulated logs.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { colorWanted, formatAlert, humanAlerts } from "../src/runtime/alert-format.js";
import type { Alert } from "../src/streams/http/detect.js";
import { EXIT_NOTHING_PARSED } from "../bin/options.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-frictions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let model = "";
let log = "";
let logText = "";

/** The CLI with `args` (stdin `input`, environment `env` over a colour-free one). */
function run(args: string[], input = "", env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base.FORCE_COLOR;
  delete base.NO_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, input, encoding: "utf8", env: { ...base, ...env }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  model = join(dir, "m.lfm");
  trainFromLines([...simulate({ count: 6000, seed: 3, incidents: "none" })].map((l) => l.text), { forest: { seed: 3, trees: 50 } }).forest.save(model);
  logText = [...simulate({ count: 8000, seed: 4, incidents: "default" })].map((l) => `${l.text}\n`).join("");
  log = join(dir, "test.log");
  writeFileSync(log, logText);
});

describe("usage errors", () => {
  it("a misspelt option: the error first, with the option it meant, not the whole help", () => {
    const r = run(["train", "--inptu", "access.log"]);
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe("logforest: unknown option --inptu (did you mean --input?)");
    expect(r.err).not.toMatch(/Options:/);
    expect(r.err.trim().split("\n").length).toBeLessThanOrEqual(4);
  });

  it("a misspelt command gets a did-you-mean; a missing option the command's usage line, not its options", () => {
    const typo = run(["trian"]);
    expect(typo.code).toBe(2);
    expect(typo.err.split("\n")[0]).toBe('logforest: unknown command "trian": did you mean train?');
    const missing = run(["train"]);
    expect(missing.code).toBe(2);
    expect(missing.err.split("\n")[0]).toBe("logforest: Missing required argument: input");
    expect(missing.err).toContain("Learn what normal looks like");
    expect(missing.err).not.toMatch(/--sample-size/);
  });

  it("a number option given text is named with the text, not NaN", () => {
    const r = run(["train", "--input", log, "--trees", "abc"]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('logforest: --trees must be a number, got "abc"');
    const eq = run(["detect", "--model", model, "--input", log, "--duration=soon"]);
    expect(eq.err.trim()).toBe('logforest: --duration must be a number, got "soon"');
  });

  it("each command's --help has examples", () => {
    for (const cmd of ["train", "detect", "evaluate", "simulate"]) {
      const r = run([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toMatch(/Examples:\n\s+logforest /);
    }
    expect(run(["detect", "--help"]).out).toContain("--input -");
  });
});

describe("files and stdin", () => {
  it("- reads stdin for train and detect", () => {
    const m = join(dir, "stdin.lfm");
    const t = run(["train", "--input", "-", "--model", m, "--trees", "30"], readFileSync(log, "utf8"));
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/trained on 8,\d{3} of 8,\d{3} lines of -/);
    const d = run(["detect", "--model", m, "--input", "-", "--json", "--alerts", join(dir, "stdin.jsonl")], logText);
    expect(d.code, d.err).toBe(0);
    expect(JSON.parse(d.err.trim().split("\n").pop() ?? "{}").lines_read).toBe(logText.split("\n").length - 1);
  });

  it("a directory or a missing file as --input is named with what to do", () => {
    const folder = join(dir, "logs");
    mkdirSync(folder, { recursive: true });
    for (const args of [["train", "--input", folder], ["detect", "--model", model, "--input", folder]]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err.trim()).toBe(`logforest: --input ${folder} is a directory: give a log file in it (--input ${folder}/access.log), or follow several with --follow ${folder}/*.log`);
    }
    const missing = run(["detect", "--model", model, "--input", join(dir, "acess.log")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`--input ${join(dir, "acess.log")}: no such file`);
  });

  it(`exits ${EXIT_NOTHING_PARSED} when no line could be parsed, with the reason in the summary`, () => {
    // Access-log lines that no format reads (a status of 999).
    const junk = join(dir, "junk.log");
    writeFileSync(junk, Array.from({ length: 20 }, (_, i) => `10.0.0.${i} - - [06/Dec/2026:03:00:00 +0000] "GET / HTTP/1.1" 999 1`).join("\n") + "\n");
    const r = run(["detect", "--model", model, "--input", junk]);
    expect(r.code).toBe(EXIT_NOTHING_PARSED);
    expect(r.err).toContain("scored 0 of 20 lines");
    expect(r.err).toContain("could not recognise the log format");
    expect(run(["detect", "--model", model, "--input", log, "--alerts", join(dir, "ok.jsonl")]).code).toBe(0);
    // A log of another kind (free text) is refused before any line, by kind: a usage error.
    const sshd = join(dir, "auth.log");
    writeFileSync(sshd, Array.from({ length: 20 }, (_, i) => `Dec  6 03:00:${String(i).padStart(2, "0")} host sshd[1]: Invalid user admin`).join("\n") + "\n");
    const text = run(["detect", "--model", model, "--input", sshd]);
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/auth\.log is a free-text log .* but the model was trained on a json/);
  });
});

describe("colour", () => {
  const alert = { line: 3, file: "a.log", ts: "2026-12-06T03:00:00.000Z", score: 0.7, severity: 80, rule: "slow", record: { ts: null, method: "GET", route: "/a", status: 200, latency_ms: 900, bytes: 10, ip: "", user_agent: "" } } as unknown as Alert;

  it("NO_COLOR turns colour off on a terminal, FORCE_COLOR turns it on anywhere (and wins, as in Node)", () => {
    expect(colorWanted(true, {})).toBe(true);
    expect(colorWanted(false, {})).toBe(false);
    expect(colorWanted(true, { NO_COLOR: "1" })).toBe(false);
    expect(colorWanted(true, { NO_COLOR: "" })).toBe(true);
    expect(colorWanted(false, { FORCE_COLOR: "1" })).toBe(true);
    expect(colorWanted(true, { FORCE_COLOR: "0" })).toBe(false);
    expect(colorWanted(false, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(true);
    expect(humanAlerts(false, { FORCE_COLOR: "1" })).toBe(true);
    expect(humanAlerts(false, {})).toBe(false);
    const saved = process.env.NO_COLOR;
    process.env.NO_COLOR = "1";
    try {
      expect(formatAlert(alert, true)).not.toContain("\u001b[");
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  it("detect into a pipe: JSON lines; with FORCE_COLOR, coloured alert lines", () => {
    const plain = run(["detect", "--model", model, "--input", log]);
    expect(plain.out.split("\n")[0]).toMatch(/^\{"line":/);
    const forced = run(["detect", "--model", model, "--input", log], "", { FORCE_COLOR: "1" });
    expect(forced.out.split("\n")[0]).toMatch(/^\u001b\[[\d;]+m\s*\d+/);
  });
});

describe("sinks", () => {
  it("a webhook refusing connections: the first failure's reason in the summary", async () => {
    // A port nobody listens on (bound, then closed).
    const s = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const r = run(["detect", "--model", model, "--input", log, "--alerts", join(dir, "hook.jsonl"), "--webhook", `http://127.0.0.1:${port}/`,
      "--webhook-retries", "0"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err, r.err).toMatch(new RegExp(`webhook: 0 of \\d+ alerts sent, .*; first failure: ECONNREFUSED`));
  });
});
