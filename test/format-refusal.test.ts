// Free-text logs are read as such (the third stream kind); logs logforest does not read, and an
// empty one: one refusal that says what it reads, what it does not, and what the first lines
// looked like (samples made up here).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatRefusal, trainFromFile, trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";
import { FORMAT_NAMES } from "../src/streams/http/parse.js";

const BIN = new URL("../dist/bin/logforest.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "logforest-refusal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SAMPLES: Record<string, string[]> = {
  sshd: [
    "Nov 24 06:00:01 web-3 sshd[20411]: Invalid user admin from 203.0.113.9 port 50122",
    "Nov 24 06:00:02 web-3 sshd[20411]: Failed password for invalid user admin from 203.0.113.9 port 50122 ssh2",
    "Nov 24 06:00:04 web-3 sshd[20413]: Accepted publickey for deploy from 198.51.100.4 port 40112 ssh2: RSA SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJK",
    "Nov 24 06:00:05 web-3 sshd[20413]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
    "Nov 24 06:00:09 web-3 CRON[20420]: (root) CMD (run-parts /etc/cron.hourly)",
  ],
  hdfs: [
    "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
    "081109 203807 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-6952295868487656571 terminating",
    "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",
    "081109 204015 308 INFO dfs.DataNode$PacketResponder: Received block blk_8229193803249955061 of size 67108864 from /10.251.107.19",
    "081109 204106 329 INFO dfs.DataNode$DataXceiver: Receiving block blk_-7102636357487924297 src: /10.251.67.225:57448 dest: /10.251.67.225:50010",
  ],
  apacheError: [
    "[Tue Nov 24 06:00:01.123456 2026] [core:error] [pid 1234:tid 140] [client 203.0.113.9:50122] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
    "[Tue Nov 24 06:00:03.223456 2026] [authz_core:error] [pid 1235:tid 141] [client 198.51.100.4:40112] AH01630: client denied by server configuration: /srv/www/private",
    "[Tue Nov 24 06:00:07.523456 2026] [php:warn] [pid 1236:tid 142] [client 198.51.100.7:40001] PHP Warning:  Undefined variable $x in /srv/www/index.php on line 3",
  ],
};

/** Lines with no header any kind knows and no HTTP request. */
const PLAIN = [
  "the quick brown fox jumps over the lazy dog and keeps on running through the field until the very end of the day when the sun sets",
  "a second line of prose with nothing that looks like a request",
  "and a third one, still nothing a parser could take",
  "the fourth line should not be shown",
  "nor the fifth",
];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What every refusal says, unknown log or empty. */
function expectTheList(message: string): void {
  expect(message).toMatch(/logforest reads:/);
  expect(message).toMatch(/JSON lines of HTTP requests \(pino, pino-http, winston, express-winston, bunyan/);
  expect(message).toMatch(/Apache\/nginx access logs, combined or common, with an optional trailing latency/);
  expect(message).toMatch(/CSV metric streams/);
  expect(message).toMatch(/free-text application logs behind a header \(syslog\/sshd, log4j\/logback, Python logging/);
  expect(message).toMatch(/It does not read lines with neither an HTTP request nor a header it knows/);
}

describe("free-text logs", () => {
  it.each(Object.keys(SAMPLES))("%s: train reads it as a free-text log (its header found, a text model written)", (name) => {
    const file = join(dir, `${name}.log`);
    writeFileSync(file, SAMPLES[name].join("\n") + "\n");
    const r = cli(["train", "--input", file, "--model", join(dir, `${name}.model`), "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: "text", lines: SAMPLES[name].length });
  }, 60_000);
});

describe("a log logforest does not read", () => {
  it("train names what it reads, what it does not, and shows the first 3 lines cut to 120 characters", () => {
    const lines = PLAIN;
    const file = join(dir, "plain.log");
    writeFileSync(file, lines.join("\n") + "\n");
    const r = cli(["train", "--input", file, "--model", join(dir, "plain.model")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`could not recognise the log format of ${file}: none of ${FORMAT_NAMES.join(", ")} fits its first lines:`);
    expectTheList(r.stderr);
    for (const line of lines.slice(0, 3)) {
      const shown = line.length > 120 ? `${line.slice(0, 120)}...` : line;
      expect(r.stderr).toContain(JSON.stringify(shown));
    }
    // The fourth and later lines are not shown; a cut line does not go on past 120 characters.
    for (const line of lines.slice(3)) expect(r.stderr).not.toContain(line.slice(0, 60));
    for (const line of lines.filter((l) => l.length > 120)) expect(r.stderr).not.toContain(line.slice(0, 121));
  }, 60_000);

  it("gets the same refusal from the library, without a file name", () => {
    expect(() => trainFromLines(SAMPLES.hdfs)).toThrow(`could not recognise the log format: none of ${FORMAT_NAMES.join(", ")} fits`);
    const e = formatRefusal(SAMPLES.sshd, ["json"], "auth.log");
    expect(e).toBeInstanceOf(RangeError);
    expectTheList(e.message);
  });
});

describe("detect on a log no format fits", () => {
  it("ends with the same refusal in its summary (nothing scored, every line counted as skipped)", () => {
    const train = join(dir, "train.log");
    writeFileSync(train, [...simulate({ count: 3000, seed: 4, incidents: "none" })].map((l) => l.text).join("\n") + "\n");
    expect(cli(["train", "--input", train, "--model", join(dir, "d.model")]).code).toBe(0);
    const file = join(dir, "notes.log");
    writeFileSync(file, PLAIN.join("\n") + "\n");
    const r = cli(["detect", "--model", join(dir, "d.model"), "--input", file]);
    expect(r.stderr).toContain(`could not recognise the log format of ${file}: none of ${FORMAT_NAMES.join(", ")} fits its first lines:`);
    expectTheList(r.stderr);
    expect(r.stderr).toMatch(/scored 0 of 5 lines/);
  }, 60_000);
});

describe("an empty log", () => {
  it("gets the same refusal, saying the file is empty and naming it", async () => {
    const file = join(dir, "empty.log");
    writeFileSync(file, "");
    const r = cli(["train", "--input", file, "--model", join(dir, "empty.model")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`could not recognise the log format of ${file}: the file is empty: no lines to learn from`);
    expectTheList(r.stderr);
    await expect(trainFromFile(file)).rejects.toThrow(/the file is empty: no lines to learn from/);
  }, 60_000);

  it("counts blank lines as no lines", async () => {
    const file = join(dir, "blank.log");
    writeFileSync(file, "\n  \n\t\n");
    await expect(trainFromFile(file)).rejects.toThrow(`could not recognise the log format of ${file}: the file is empty: no lines to learn from (3 blank lines)`);
    expect(() => trainFromLines([])).toThrow(/^could not recognise the log format: the input is empty: no lines to learn from/);
  });
});
