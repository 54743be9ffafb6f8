/**
 * Free-text logs through the CLI and the one run loop (issue 20 on issue 19's registry): `train`
 * finds a free-text log by itself and writes a text model into the one model file; `detect`
 * runs it like any kind (file, stdin, alerts file); a log of another kind is refused by kind.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { kindOf } from "../src/streams/kinds.js";
import { textModelOf } from "../src/streams/text/kind.js";
import { DATA_DIR, dataFile } from "./data.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
let dir = "";

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000, ...(input !== undefined ? { input } : {}) });
}

describe.skipIf(DATA_DIR === null)("free-text logs through train and detect", () => {
  let lines: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lf-text-kind-"));
    lines = readFileSync(dataFile("logs/OpenSSH_2k.log"), "utf8").split("\n").filter((l) => l !== "");
    writeFileSync(join(dir, "train.log"), lines.slice(0, 1000).join("\n") + "\n");
  });

  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("train finds a free-text log by itself; the model file holds the text model and reads back as the text kind", () => {
    const r = cli(["train", "--input", "train.log", "--model", "ssh.lfm", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { kind: string; shape: string; templates: number };
    expect(summary.kind).toBe("text");
    expect(summary.shape).toBe("syslog");
    expect(summary.templates).toBeGreaterThan(5);
    const forest = IsolationForest.load(join(dir, "ssh.lfm"));
    expect(kindOf(forest).name).toBe("text");
    expect(Object.keys(textModelOf(forest).profiles).length).toBe(summary.templates);
  });

  it("detect on the clean second half: at most 2 alerts in 1,000 lines; an injected error template is an alert that names it", () => {
    const clean = lines.slice(1000);
    writeFileSync(join(dir, "clean.log"), clean.join("\n") + "\n");
    const r = cli(["detect", "--model", "ssh.lfm", "--input", "clean.log", "--alerts", "clean.jsonl", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stderr.trim().split("\n").at(-1) ?? "{}") as { lines_read: number; alerts: number; templates: number };
    expect(summary.lines_read).toBe(clean.length);
    expect(summary.alerts).toBeLessThanOrEqual(2);
    // The same lines with a new error in the middle, read from stdin.
    const at = 500;
    const stamp = clean[at].slice(0, 15);
    const injected = [...clean.slice(0, at), `${stamp} LabSZ sshd[24321]: error: Could not load host key: /etc/ssh/ssh_host_ed25519_key`, ...clean.slice(at)];
    const d = cli(["detect", "--model", "ssh.lfm", "--input", "-", "--json"], injected.join("\n") + "\n");
    expect(d.status, d.stderr).toBe(0);
    const alerts = d.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { line: number; rule: string; severity: number; record: { template: string } });
    const hit = alerts.find((a) => a.line === at + 1);
    expect(hit?.rule).toBe("new_template");
    expect(hit?.record.template).toMatch(/Could not load host key/);
    expect(hit?.severity).toBeGreaterThanOrEqual(75);
  });

  it("an access-log model on the sshd log is refused by kind, saying what each is", () => {
    const access = Array.from({ length: 300 }, (_, i) => JSON.stringify({ time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), method: "GET", url: `/p/${i % 9}`, status: 200, responseTime: 5 + (i % 7), ip: `10.0.0.${i % 20}` }));
    writeFileSync(join(dir, "access.log"), access.join("\n") + "\n");
    expect(cli(["train", "--input", "access.log", "--model", "web.lfm"]).status).toBe(0);
    const r = cli(["detect", "--model", "web.lfm", "--input", "clean.log"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/clean\.log is a free-text log \(syslog\), but the model was trained on a json .* log/);
  });
});
