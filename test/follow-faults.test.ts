/**
 * The second round of follow faults (issue 22): each reproduction, with 0 lines lost, none read
 * from a file outside the rotation family, and every unavoidable loss said with its size.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { Follower, ROTATED_SUFFIX } from "../src/runtime/follow.js";
import { fingerprint, loadPositions, savePositions } from "../src/runtime/positions.js";
import { cleanUp, expectSeq, follow, seqLine, seqText, tempDir, waitFor } from "./follow-helpers.js";

vi.setConfig({ testTimeout: 90_000 });
afterEach(cleanUp);

/** A first run that reads lines 0..n-1 of `file` and closes, saving its position. */
async function firstRun(file: string, pos: string, n = 100): Promise<void> {
  writeFileSync(file, seqText(0, n));
  const a = await follow([file], { start: "beginning", positions: pos });
  await waitFor(() => a.lines.length >= n, `${n} lines`);
  await a.follower.close();
}

/** Set a file's times a minute back: what it was written before happened visibly earlier, even on a coarse clock. */
function age(path: string): void {
  const t = Date.now() / 1000 - 60;
  utimesSync(path, t, t);
}

function gzipAway(path: string): void {
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path)));
  unlinkSync(path);
}

describe("rotation family: a copy is only ever a file named as a rotation of the log", () => {
  it("the default family takes numbered, dateext and .gz names, never .bak, .old or other logs", () => {
    for (const ok of [".1", ".12", ".1.gz", "-20261206", "-20261206.gz", ".2026-12-06", "-20261206-1733450000", "_2026-12-06.gz", ".gz"]) {
      expect(ROTATED_SUFFIX.test(ok), ok).toBe(true);
    }
    for (const no of [".bak", ".old", ".1.bak", "-copy", ".swp", "2", ".1x", "-2026"]) expect(ROTATED_SUFFIX.test(no), no).toBe(false);
  });

  it("copytruncate while stopped: reads app.log.1, not a larger app.log.bak with the same first bytes", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    copyFileSync(file, join(dir, "app.log.bak"));
    appendFileSync(join(dir, "app.log.bak"), seqText(900_000, 908_000)); // 8,000 foreign lines
    appendFileSync(file, seqText(100, 5100)); // while stopped
    copyFileSync(file, join(dir, "app.log.1"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(5100, 5120));
    const b = await follow([file], { positions: pos });
    await waitFor(() => b.lines.length >= 5020, "5,020 lines");
    await b.follower.close();
    expectSeq(b.lines.slice(0, 5000), 100, 5100, 101);
    expectSeq(b.lines.slice(5000), 5100, 5120, 1);
    expect(b.follower.stats).toMatchObject({ truncations: 1, recovered: 1, lost: 0 });
    expect(b.notices.join("\n")).toContain("read the rest of its copy app.log.1");
  });

  it("live copytruncate: reads the copy in the family even when a backup beside it is larger", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 500));
    await waitFor(() => lines.length >= 500, "500 lines");
    // One synchronous block: lines 500-999 are copied and truncated away before the follower looks.
    appendFileSync(file, seqText(500, 1000));
    copyFileSync(file, join(dir, "app.log.bak"));
    appendFileSync(join(dir, "app.log.bak"), seqText(900_000, 902_000));
    copyFileSync(file, join(dir, "app.log-20261206"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(1000, 1010));
    await waitFor(() => lines.length >= 1010, "1,010 lines");
    await follower.close();
    expectSeq(lines.slice(0, 1000), 0, 1000, 1);
    expectSeq(lines.slice(1000), 1000, 1010, 1);
  });

  it("a configured rotatedSuffix is the family: a name outside it is not read, and the loss is said", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    copyFileSync(file, join(dir, "app.log.1"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(150, 160));
    const b = await follow([file], { positions: pos, rotatedSuffix: /^\.old$/ });
    await waitFor(() => b.lines.length >= 10, "10 lines");
    await b.follower.close();
    expectSeq(b.lines, 150, 160, 1);
    expect(b.follower.stats.lost).toBe(1);
    expect(b.notices.join("\n")).toMatch(/past its end .*no copy of it is there either \(rotated names there: none\): any bytes written to it after line 100 could not be read/);
    expect(() => new Follower([file], { rotatedSuffix: /x/g }, () => undefined)).toThrow(/rotatedSuffix must be a RegExp without the g or y flag, got \/x\/g/);
  });
});

describe("a file never read yet (no fingerprint) copied and truncated", () => {
  it("live (the follower held up meanwhile, as SIGSTOP does): reads the 5,000 lines from the copy", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    writeFileSync(join(dir, "app.log.2"), seqText(800_000, 800_100)); // an older copy: written before, never taken
    age(join(dir, "app.log.2"));
    age(file);
    const { follower, lines } = await follow([file], { start: "beginning" });
    // One synchronous block: the follower cannot run between these.
    appendFileSync(file, seqText(0, 5000));
    copyFileSync(file, join(dir, "app.log.1"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(5000, 5010));
    await waitFor(() => lines.length >= 5010, "5,010 lines");
    await follower.close();
    expectSeq(lines.slice(0, 5000), 0, 5000, 1);
    expectSeq(lines.slice(5000), 5000, 5010, 1);
    expect(follower.stats).toMatchObject({ truncations: 1, recovered: 1 });
  });

  it("while stopped: a restart reads the copy made after the empty file's saved time, then the file", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    writeFileSync(file, "");
    age(file);
    const a = await follow([file], { positions: pos });
    await a.follower.close();
    expect(loadPositions(pos).get(resolve(file))?.mtime).toMatch(/^[0-9]+$/);
    appendFileSync(file, seqText(0, 5000));
    copyFileSync(file, join(dir, "app.log.1"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(5000, 5010));
    const b = await follow([file], { positions: pos });
    await waitFor(() => b.lines.length >= 5010, "5,010 lines");
    await b.follower.close();
    expectSeq(b.lines.slice(0, 5000), 0, 5000, 1);
    expectSeq(b.lines.slice(5000), 5000, 5010, 1);
  });

  it("while the previous generation (renamed while stopped) is still being finished", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 5100));
    renameSync(file, join(dir, "app.log.1"));
    writeFileSync(file, "");
    age(file);
    let rotated = false;
    const b = await follow([file], { positions: pos, chunkBytes: 4096 }, () => {
      if (rotated) return;
      rotated = true; // at the first batch of app.log.1: the new file fills up and is copytruncated
      appendFileSync(file, seqText(5100, 10_100));
      renameSync(join(dir, "app.log.1"), join(dir, "app.log.2"));
      copyFileSync(file, join(dir, "app.log.1"));
      truncateSync(file, 0);
      appendFileSync(file, seqText(10_100, 10_110));
    });
    await waitFor(() => b.lines.length >= 10_010, "10,010 lines");
    await b.follower.close();
    expectSeq(b.lines.slice(0, 5000), 100, 5100, 101);
    expectSeq(b.lines.slice(5000, 10_000), 5100, 10_100, 1);
    expectSeq(b.lines.slice(10_000), 10_100, 10_110, 1);
  });
});

describe("compressed rotations and vanished files", () => {
  it("rotated and compressed while stopped (compress without delaycompress): reads app.log.1.gz", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 5100));
    renameSync(file, join(dir, "app.log.1"));
    gzipAway(join(dir, "app.log.1"));
    writeFileSync(file, seqText(5100, 5110));
    const b = await follow([file], { positions: pos, chunkBytes: 1000 });
    await waitFor(() => b.lines.length >= 5010, "5,010 lines");
    await b.follower.close();
    expectSeq(b.lines.slice(0, 5000), 100, 5100, 101);
    expectSeq(b.lines.slice(5000), 5100, 5110, 1);
    // The new file may reuse the gone file's inode: then it is seen as rewritten in place, with the same outcome.
    expect(b.follower.stats.rotations + b.follower.stats.truncations).toBe(1);
    expect(b.follower.stats).toMatchObject({ recovered: 1, lost: 0 });
  });

  it("live copytruncate then compress: the unread rest comes from app.log.1.gz", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 300));
    await waitFor(() => lines.length >= 300, "300 lines");
    appendFileSync(file, seqText(300, 2300));
    copyFileSync(file, join(dir, "app.log.1"));
    truncateSync(file, 0);
    gzipAway(join(dir, "app.log.1"));
    appendFileSync(file, seqText(2300, 2310));
    await waitFor(() => lines.length >= 2310, "2,310 lines");
    await follower.close();
    expectSeq(lines.slice(0, 2300), 0, 2300, 1);
    expectSeq(lines.slice(2300), 2300, 2310, 1);
  });

  it("a crash while reading a .gz copy resumes in it from the saved offset", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 20_100));
    renameSync(file, join(dir, "app.log.1"));
    gzipAway(join(dir, "app.log.1"));
    writeFileSync(file, seqText(20_100, 20_110));
    let saved = "";
    let seen = 0;
    const b = await follow([file], { positions: pos, chunkBytes: 1000 }, (batch) => {
      // Past two saves' worth of lines: the positions file names the gone file with the offset reached.
      seen += batch.length;
      if (saved === "" && seen > 9000) saved = readFileSync(pos, "utf8");
    });
    await waitFor(() => b.lines.length >= 20_010, "20,010 lines");
    await b.follower.close();
    expect(saved).not.toBe("");
    writeFileSync(pos, saved); // as if killed then
    const entry = loadPositions(pos).get(resolve(file));
    expect(entry?.offset).toBeGreaterThan(0);
    const c = await follow([file], { positions: pos, chunkBytes: 1000 });
    const from = entry?.lineNo ?? 0;
    // Line numbers count from the file's start: line L holds seq L - 1.
    await waitFor(() => c.lines.length >= 20_100 - from + 10, "the rest");
    await c.follower.close();
    expectSeq(c.lines.slice(0, 20_100 - from), from, 20_100, from + 1);
    expectSeq(c.lines.slice(20_100 - from), 20_100, 20_110, 1);
  });

  it("a followed file deleted while stopped: the loss is said with the unread bytes known", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    const entry = loadPositions(pos).get(resolve(file));
    if (entry === undefined) throw new Error("no saved entry");
    // As a SIGKILL leaves it: 2,000 lines (their bytes) were in the file, not read yet.
    const unread = Buffer.byteLength(seqText(100, 2100));
    savePositions(pos, new Map([[resolve(file), { ...entry, size: entry.offset + unread }]]));
    rmSync(file);
    const b = await follow([file], { positions: pos });
    writeFileSync(file, seqText(5000, 5010));
    await waitFor(() => b.lines.length >= 10, "the new file");
    await b.follower.close();
    expectSeq(b.lines, 5000, 5010, 1);
    expect(b.follower.stats.lost).toBe(1);
    expect(b.notices.join("\n")).toContain(
      `${file}: the file read up to line 100 (byte ${entry.offset}) left its path while stopped and is not in its folder; no copy of it is there either (rotated names there: none): at least ${unread} bytes written to it after line 100 could not be read`);
  });
});

describe("positions that cannot be used as saved are said, with what was done", () => {
  it("an offset past the end, or first bytes not those saved: said, and the copy or the file read from its start", async () => {
    for (const change of ["shorter", "rewritten"] as const) {
      const dir = tempDir();
      const file = join(dir, "app.log");
      const pos = join(dir, "positions.json");
      await firstRun(file, pos);
      writeFileSync(file, change === "shorter" ? seqText(7000, 7010) : seqText(7000, 7300));
      const b = await follow([file], { positions: pos });
      const n = change === "shorter" ? 10 : 300;
      await waitFor(() => b.lines.length >= n, `${n} lines`);
      await b.follower.close();
      expectSeq(b.lines, 7000, 7000 + n, 1);
      expect(b.notices.join("\n")).toMatch(change === "shorter"
        ? /app\.log: its saved position \(line 100, byte 2630\) is past its end \(\d+ bytes\): it was truncated or rewritten while stopped; .*reading it from its start/
        : /app\.log: its first bytes are not those saved with its saved position \(line 100, byte 2630\): .*reading it from its start/);
    }
  });

  it("an offset inside a line: said, and the fragment skipped to the next line rather than read as one", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    await firstRun(file, pos);
    const entry = loadPositions(pos).get(resolve(file));
    if (entry === undefined) throw new Error("no saved entry");
    appendFileSync(file, seqText(100, 110));
    savePositions(pos, new Map([[resolve(file), { ...entry, offset: entry.offset + 3 }]]));
    const b = await follow([file], { positions: pos });
    await waitFor(() => b.lines.length >= 9, "9 lines");
    await b.follower.close();
    expectSeq(b.lines, 101, 110, 102);
    expect(b.notices).toEqual([`${file}: its saved position (line 100, byte ${entry.offset + 3}) is inside a line; skipping to the next line (byte ${entry.offset + Buffer.byteLength(seqLine(100)) + 1}) rather than reading a fragment as a line`]);
  });

  it("a positions path that is a directory is refused naming it", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const pos = join(dir, "positions");
    mkdirSync(pos);
    const f = new Follower([file], { positions: pos, onNotice: () => undefined }, () => undefined);
    await expect(f.start()).rejects.toThrow(`positions file ${pos} is a directory`);
  });
});

describe("notices at start (issue 21)", () => {
  it("a missing path is said at once, then followed from its start when it appears", async () => {
    const file = join(tempDir(), "later.log");
    const { follower, lines, notices } = await follow([file], { start: "end" });
    expect(notices).toEqual([`${file} does not exist yet; following it from its start when it appears`]);
    appendFileSync(file, seqText(0, 50));
    await waitFor(() => lines.length >= 50, "50 lines");
    await follower.close();
    expectSeq(lines, 0, 50, 1);
  });

  it("an unreadable path is said once, tried again, and followed once it can be read", async () => {
    const dir = tempDir();
    const blocker = join(dir, "logs");
    writeFileSync(blocker, "a file where a folder should be");
    const file = join(blocker, "app.log");
    const { follower, lines, notices } = await follow([file], { start: "end" });
    expect(notices, notices.join("\n")).toHaveLength(1);
    expect(notices[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} cannot be read \\(.*ENOTDIR.*\\); trying again every 20 ms$`));
    rmSync(blocker);
    mkdirSync(blocker);
    writeFileSync(file, seqText(0, 5));
    await waitFor(() => lines.length >= 5, "5 lines");
    await follower.close();
    expectSeq(lines, 0, 5, 1);
    expect(notices).toHaveLength(1);
  });

  it("a start at the end of a file with lines is said, with how many lines are not read", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, seqText(0, 12));
    const { follower, notices } = await follow([file], { start: "end" });
    await follower.close();
    expect(notices).toEqual([`${file}: starting at its end (line 12, byte ${Buffer.byteLength(seqText(0, 12))}): the 12 lines already in it are not read (--from-start reads them)`]);
    const quiet = await follow([file], { start: "beginning" });
    await quiet.follower.close();
    expect(quiet.notices).toEqual([]);
  });
});

describe("a crash while finishing old files, with one inode copytruncated again and again", () => {
  it("reads each generation once: the copies by their first bytes, the inode's last content once", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    const pos = join(dir, "positions.json");
    const ident = (path: string) => {
      const st = statSync(path, { bigint: true });
      const head = readFileSync(path).subarray(0, 256);
      return { dev: String(st.dev), ino: String(st.ino), fpLen: head.length, fpHash: fingerprint(head) };
    };
    writeFileSync(join(dir, "app.log.1"), seqText(0, 200));
    writeFileSync(file, seqText(200, 300));
    const genA = ident(file);
    copyFileSync(file, join(dir, "app.log.2"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(300, 400));
    const genB = ident(file);
    // The state a crash left: the old file half read, then the same inode twice (two generations of it).
    savePositions(pos, new Map([[resolve(file), { ...ident(join(dir, "app.log.1")), offset: Buffer.byteLength(seqText(0, 100)), lineNo: 100, then: [genA, genB] }]]));
    copyFileSync(file, join(dir, "app.log.3"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(400, 410));
    renameSync(file, join(dir, "app.log.4"));
    writeFileSync(file, seqText(410, 420));
    const b = await follow([file], { positions: pos });
    await waitFor(() => b.lines.length >= 320, "320 lines");
    await b.follower.close();
    expectSeq(b.lines.slice(0, 100), 100, 200, 101);
    expectSeq(b.lines.slice(100, 200), 200, 300, 1);
    expectSeq(b.lines.slice(200, 300), 300, 400, 1);
    expectSeq(b.lines.slice(300, 310), 400, 410, 1);
    expectSeq(b.lines.slice(310), 410, 420, 1);
  });
});
