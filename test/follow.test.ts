import { afterEach, describe, expect, it, vi } from "vitest";
import {
  appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { Follower, type FollowOptions, type FollowedLine } from "../src/runtime/follow.js";
import { FINGERPRINT_BYTES, fingerprint, loadPositions, savePositions } from "../src/runtime/positions.js";
import { mulberry32 } from "./helpers.js";
import { cleanUp, expectSeq, follow, running, seqLine, seqText, tempDir, waitFor, type Run } from "./follow-helpers.js";

// waitFor gives each condition up to 30 s; the test timeout must not cut that short.
vi.setConfig({ testTimeout: 90_000 });
afterEach(cleanUp);

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("Follower: live appends", () => {
  it("delivers 100,000 lines written in a burst exactly once, in order", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    for (let b = 0; b < 3; b++) appendFileSync(file, seqText(b * 20_000, (b + 1) * 20_000));
    // The rest in many small appends cut at arbitrary bytes, so reads often end mid-line.
    const rest = Buffer.from(seqText(60_000, 100_000));
    const rand = mulberry32(42);
    for (let pos = 0, n = 0; pos < rest.length; n++) {
      const len = 1 + Math.floor(rand() * 300);
      appendFileSync(file, rest.subarray(pos, pos + len));
      pos += len;
      if (n % 50 === 0) await tick();
    }
    await waitFor(() => lines.length >= 100_000, "100,000 lines");
    await follower.close();
    expectSeq(lines, 0, 100_000, 1);
    for (let k = 1; k < lines.length; k++) {
      const prev = lines[k - 1];
      const cur = lines[k];
      if (prev === undefined || cur === undefined || cur.end !== prev.end + Buffer.byteLength(cur.text) + 1) {
        expect.fail(`end offsets not contiguous at line ${k}`);
      }
    }
    expect(lines[lines.length - 1]?.end).toBe(statSync(file).size);
    expect(follower.stats.delivered).toBe(100_000);
    expect(follower.stats.partialHeld).toBeGreaterThan(0);
  });

  it("is woken by node-tail's change events alone when polling is effectively off", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning", pollMs: 60_000 });
    for (let b = 0; b < 5; b++) {
      appendFileSync(file, seqText(b * 100, (b + 1) * 100));
      await waitFor(() => lines.length >= (b + 1) * 100, `${(b + 1) * 100} lines`);
    }
    await follower.close();
    expectSeq(lines, 0, 500, 1);
  });

  it("follows several files, each in its own order with its own line numbers", async () => {
    const dir = tempDir();
    const files = [join(dir, "a.log"), join(dir, "b.log")];
    for (const f of files) writeFileSync(f, "");
    const { follower, lines } = await follow(files, { start: "beginning" });
    for (let i = 0; i < 300; i++) appendFileSync(files[i % 2] ?? "", seqLine(i) + "\n");
    await waitFor(() => lines.length >= 300, "300 lines");
    await follower.close();
    for (const [k, f] of files.entries()) {
      const mine = lines.filter((l) => l.file === f);
      expect(mine.map((l) => [l.text, l.lineNo])).toEqual(
        Array.from({ length: 150 }, (_, j) => [seqLine(2 * j + k), j + 1]));
    }
  });

  it("holds a partial line (split inside a UTF-8 character) until its newline, then delivers it once", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    const whole = Buffer.from("seq=0 café ✓ done\n");
    const cut = whole.indexOf(0xc3) + 1; // between the two bytes of "é"
    appendFileSync(file, whole.subarray(0, cut));
    await waitFor(() => follower.stats.partialHeld >= 1, "the partial line to be read");
    expect(lines).toEqual([]);
    appendFileSync(file, whole.subarray(cut));
    appendFileSync(file, "windows line\r\n");
    await waitFor(() => lines.length >= 2, "two lines");
    await follower.close();
    expect(lines.map((l) => [l.text, l.lineNo, l.end])).toEqual([
      ["seq=0 café ✓ done", 1, whole.length],
      ["windows line", 2, whole.length + 14],
    ]);
  });

  it("decodes multi-byte UTF-8 whole when chunk boundaries fall inside characters", async () => {
    const file = join(tempDir(), "app.log");
    const texts: string[] = [];
    for (let i = 0; i < 300; i++) texts.push(`${i} ünïcödé 😀 日本語 ${"ß".repeat(i % 40)}`);
    writeFileSync(file, texts.join("\n") + "\n");
    // 7-byte chunks cut every 4-byte emoji and 3-byte kanji somewhere; lines are longer than a chunk.
    const { follower, lines } = await follow([file], { start: "beginning", chunkBytes: 7 });
    await waitFor(() => lines.length >= 300, "300 lines");
    await follower.close();
    expect(lines.map((l) => l.text)).toEqual(texts);
  });

  it("close() called while start() is still running delivers the file up to its end", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, seqText(0, 1000));
    const lines: FollowedLine[] = [];
    const follower = new Follower([file], { start: "beginning" }, (batch) => {
      for (const l of batch) lines.push(l);
    });
    const started = follower.start();
    await follower.close();
    await started;
    expectSeq(lines, 0, 1000, 1);
  });

  it("waits for a file that does not exist yet and reads it from its start", async () => {
    const file = join(tempDir(), "later.log");
    const { follower, lines } = await follow([file], { start: "end" });
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(file, seqText(0, 50));
    await waitFor(() => lines.length >= 50, "50 lines");
    appendFileSync(file, seqText(50, 80));
    await follower.close();
    expectSeq(lines, 0, 80, 1);
  });

  it("start 'end' skips existing lines but keeps counting their line numbers", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, seqText(0, 10) + "seq=10 pay");
    const { follower, lines } = await follow([file], { start: "end" });
    appendFileSync(file, seqText(10, 20).slice("seq=10 pay".length));
    await waitFor(() => lines.length >= 10, "10 lines");
    await follower.close();
    // The line being written at start is delivered whole, not from its middle.
    expectSeq(lines, 10, 20, 11);
  });
});

describe("Follower: rotation and truncation while running", () => {
  it("finishes the old file across rename rotations, then reads each new file from its start", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    let seq = 0;
    const expected: Array<[number, number]> = []; // [seq, lineNo]
    let lineNo = 0;
    const write = (path: string, n: number): void => {
      appendFileSync(path, seqText(seq, seq + n));
      for (let k = 0; k < n; k++) expected.push([seq + k, ++lineNo]);
      seq += n;
    };
    for (let r = 1; r <= 3; r++) {
      write(file, 400);
      await waitFor(() => lines.length >= expected.length - 200, "part of the stream");
      write(file, 300); // right before the rename
      renameSync(file, `${file}.${r}`);
      if (r === 2) {
        // No new file yet: a writer still holding the old file appends; those lines must come too.
        write(`${file}.${r}`, 100);
        await waitFor(() => lines.length >= expected.length, "lines appended to the renamed file");
      }
      lineNo = 0;
      write(file, 250); // right after: a new file at the path
    }
    await waitFor(() => lines.length >= expected.length, "every line");
    await follower.close();
    expect(lines.map((l) => [Number(l.text.split(" ")[0]?.slice(4)), l.lineNo])).toEqual(expected);
    expect(lines.map((l) => l.text)).toEqual(expected.map(([s]) => seqLine(s)));
    expect(follower.stats.rotations).toBe(3);
  });

  it("delivers an unfinished last line of a rotated-away file as its final line", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 10) + seqLine(10));
    await waitFor(() => lines.length >= 10 && follower.stats.partialHeld >= 1, "10 lines and the partial");
    renameSync(file, `${file}.1`);
    writeFileSync(file, seqText(11, 20));
    await waitFor(() => lines.length >= 20, "20 lines");
    await follower.close();
    expectSeq(lines.slice(0, 11), 0, 11, 1);
    expectSeq(lines.slice(11), 11, 20, 1);
  });

  it("restarts from 0 after copytruncate", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 500));
    await waitFor(() => lines.length >= 500, "500 lines");
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    await waitFor(() => follower.stats.truncations === 1, "the truncation to be seen");
    appendFileSync(file, seqText(500, 800));
    await waitFor(() => lines.length >= 800, "800 lines");
    await follower.close();
    expectSeq(lines.slice(0, 500), 0, 500, 1);
    expectSeq(lines.slice(500), 500, 800, 1);
  });

  it("detects copytruncate rewritten past the old offset before it looked, by the first bytes", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 500));
    await waitFor(() => lines.length >= 500, "500 lines");
    const oldSize = statSync(file).size;
    // All in one synchronous block: the follower cannot run between the truncate and the rewrite.
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, seqText(500, 1500));
    expect(statSync(file).size).toBeGreaterThan(oldSize);
    await waitFor(() => lines.length >= 1500, "1500 lines");
    await follower.close();
    expectSeq(lines.slice(0, 500), 0, 500, 1);
    expectSeq(lines.slice(500), 500, 1500, 1);
    expect(follower.stats.truncations).toBe(1);
  });

  it("reads the lines it had not read yet from the copy copytruncate left beside the file", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    writeFileSync(join(dir, "unrelated.log"), seqText(0, 900)); // same first bytes, but smaller than the offset: not the copy
    const { follower, lines } = await follow([file], { start: "beginning" });
    appendFileSync(file, seqText(0, 1000));
    await waitFor(() => lines.length >= 1000, "1000 lines");
    // One synchronous block: lines 1000-1199 are written, copied and truncated away before the follower looks.
    appendFileSync(file, seqText(1000, 1200) + seqLine(1200).slice(0, 5));
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, seqText(2000, 2100));
    await waitFor(() => lines.length >= 1301, "1301 lines");
    await follower.close();
    expectSeq(lines.slice(0, 1200), 0, 1200, 1);
    expect(lines[1200]).toMatchObject({ text: seqLine(1200).slice(0, 5), lineNo: 1201 }); // the copy's unfinished last line
    expectSeq(lines.slice(1201), 2000, 2100, 1);
    expect(follower.stats).toMatchObject({ truncations: 1, recovered: 1 });
  });
});

describe("Follower: lines longer than maxLineBytes", () => {
  it("delivers each as a numbered placeholder without holding it, across chunks, and reads on", async () => {
    const file = join(tempDir(), "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning", chunkBytes: 64, maxLineBytes: 100 });
    const long = (n: number): string => "L".repeat(n);
    // A 100-byte line is kept; 101 bytes is too long: within one chunk, spanning chunks, and written in pieces.
    appendFileSync(file, `${seqLine(0)}\n${long(100)}\n${long(101)}\n${seqLine(3)}\n${long(5000)}\n${seqLine(5)}\n${long(70)}`);
    await waitFor(() => lines.length >= 6, "6 lines");
    appendFileSync(file, long(70));
    await tick();
    appendFileSync(file, `\n${seqLine(7)}\n${long(300)}`);
    await waitFor(() => lines.length >= 8, "8 lines");
    await follower.close(); // the file stays: its unfinished last line is held back, not delivered
    expect(lines.map((l) => [l.lineNo, l.tooLong, l.text.length])).toEqual([
      [1, false, seqLine(0).length], [2, false, 100], [3, true, 0], [4, false, seqLine(3).length],
      [5, true, 0], [6, false, seqLine(5).length], [7, true, 0], [8, false, seqLine(7).length],
    ]);
    expect(follower.stats.tooLong).toBe(3);
    const end = statSync(file).size - 300;
    expect(lines[7]?.end).toBe(end);
  });

  it("delivers a too-long unfinished last line of a rotated-away file as a placeholder", async () => {
    const dir = tempDir();
    const file = join(dir, "app.log");
    writeFileSync(file, "");
    const { follower, lines } = await follow([file], { start: "beginning", maxLineBytes: 50 });
    appendFileSync(file, seqText(0, 3) + "x".repeat(80));
    await waitFor(() => lines.length >= 3 && follower.stats.partialHeld >= 1, "3 lines and the partial");
    renameSync(file, `${file}.1`);
    writeFileSync(file, seqText(3, 5));
    await waitFor(() => lines.length >= 6, "6 lines");
    await follower.close();
    expect(lines.map((l) => [l.lineNo, l.tooLong])).toEqual([[1, false], [2, false], [3, false], [4, true], [1, false], [2, false]]);
  });
});

describe("Follower: restart with a positions file", () => {
  function setup(): { file: string; pos: string; dir: string } {
    const dir = tempDir();
    return { dir, file: join(dir, "app.log"), pos: join(dir, "positions.json") };
  }

  /** A first run reads lines 0-99 of `file` and closes, saving its position. */
  async function firstRun(file: string, pos: string): Promise<void> {
    writeFileSync(file, seqText(0, 100));
    const a = await follow([file], { start: "beginning", positions: pos });
    await waitFor(() => a.lines.length >= 100, "100 lines");
    await a.follower.close();
  }

  /** A run resuming from `pos` until it has `n` lines, then closed. */
  async function secondRun(file: string, pos: string, n: number): Promise<Run> {
    const b = await follow([file], { start: "end", positions: pos });
    await waitFor(() => b.lines.length >= n, `${n} lines`);
    await b.follower.close();
    return b;
  }

  it("resumes exactly after a graceful close mid-stream, including lines appended while down", async () => {
    const { file, pos } = setup();
    writeFileSync(file, "");
    const a = await follow([file], { start: "beginning", positions: pos });
    appendFileSync(file, seqText(0, 20_000));
    await waitFor(() => a.lines.length > 0, "the first lines");
    const full = Buffer.from(seqText(20_000, 40_100));
    const cut = full.indexOf("seq=40000") + 6; // stop inside line 40000
    appendFileSync(file, full.subarray(0, cut));
    await a.follower.close(); // delivers what is in the file now, but not the partial line
    expectSeq(a.lines, 0, 40_000, 1);
    const saved = loadPositions(pos).get(resolve(file));
    expect(saved?.offset).toBe(a.lines[a.lines.length - 1]?.end);
    expect(saved?.lineNo).toBe(40_000);

    appendFileSync(file, full.subarray(cut)); // while no follower runs
    const b = await follow([file], { start: "end", positions: pos });
    appendFileSync(file, seqText(40_100, 40_200));
    await waitFor(() => b.lines.length >= 200, "200 lines");
    await b.follower.close();
    expectSeq(b.lines, 40_000, 40_200, 40_001);
    expect(b.follower.stats.rotations + b.follower.stats.truncations).toBe(0);
  });

  it("saves positions while running, and a failing onLines consumes nothing of its batch", async () => {
    const { file, pos } = setup();
    writeFileSync(file, "");
    const consumed: FollowedLine[] = [];
    const errors: Error[] = [];
    const a = new Follower([file], { start: "beginning", positions: pos, pollMs: 20, chunkBytes: 100, onError: (e) => errors.push(e) },
      (batch) => {
        if (batch.some((l) => l.text === seqLine(50))) throw new Error("sink down");
        for (const l of batch) consumed.push(l);
      });
    running.push(a);
    await a.start();
    appendFileSync(file, seqText(0, 40));
    const size = statSync(file).size;
    await waitFor(() => loadPositions(pos).get(resolve(file))?.offset === size, "the position to be saved while running");
    appendFileSync(file, seqText(40, 100));
    await waitFor(() => errors.length === 1, "the onLines failure");
    await expect(a.close()).rejects.toThrow("sink down");
    const n = consumed.length;
    expect(n).toBeGreaterThanOrEqual(40);
    expect(n).toBeLessThanOrEqual(50);
    expectSeq(consumed, 0, n, 1);
    const b = await follow([file], { start: "end", positions: pos });
    await waitFor(() => b.lines.length >= 100 - n, "the rest");
    await b.follower.close();
    expectSeq(b.lines, n, 100, n + 1);
  });

  it("finishes the old file found beside the path when it was rotated while down", async () => {
    const { file, pos } = setup();
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    renameSync(file, `${file}.1`);
    writeFileSync(file, seqText(150, 200));
    const b = await secondRun(file, pos, 100);
    expectSeq(b.lines.slice(0, 50), 100, 150, 101);
    expectSeq(b.lines.slice(50), 150, 200, 1);
    expect(b.follower.stats.rotations).toBe(1);
  });

  it("finds the old file under any name in the folder by its inode, not by a copy of its first bytes", async () => {
    const { dir, file, pos } = setup();
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    copyFileSync(file, join(dir, "a-copy")); // same first bytes, but another inode: the renamed file wins
    appendFileSync(join(dir, "a-copy"), seqText(900, 910));
    renameSync(file, join(dir, "archived-2026"));
    writeFileSync(file, seqText(150, 200));
    const b = await secondRun(file, pos, 100);
    expectSeq(b.lines.slice(0, 50), 100, 150, 101);
    expectSeq(b.lines.slice(50), 150, 200, 1);
    expect(b.follower.stats).toMatchObject({ rotations: 1, recovered: 1 });
  });

  it("reads the rest from the copy when copytruncate ran while down, then the file from 0", async () => {
    const { file, pos } = setup();
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, seqText(150, 170));
    const b = await secondRun(file, pos, 70);
    expectSeq(b.lines.slice(0, 50), 100, 150, 101);
    expectSeq(b.lines.slice(50), 150, 170, 1);
    expect(b.follower.stats).toMatchObject({ truncations: 1, recovered: 1 });
  });

  it("renamed and then copytruncated while down: the rest from the copy, the renamed file from 0, then the new file", async () => {
    const { dir, file, pos } = setup();
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    renameSync(file, `${file}.1`);
    copyFileSync(`${file}.1`, join(dir, "app.log.2"));
    truncateSync(`${file}.1`, 0);
    appendFileSync(`${file}.1`, seqText(150, 160));
    writeFileSync(file, seqText(160, 170));
    const b = await secondRun(file, pos, 70);
    expectSeq(b.lines.slice(0, 50), 100, 150, 101);
    expectSeq(b.lines.slice(50, 60), 150, 160, 1);
    expectSeq(b.lines.slice(60), 160, 170, 1);
    expect(b.follower.stats).toMatchObject({ rotations: 1, truncations: 1, recovered: 2 });
  });

  it("never takes one of the caller's outputs for a copy of a file that left while down", async () => {
    for (const excluded of [true, false]) {
      const { dir, file, pos } = setup();
      await firstRun(file, pos);
      appendFileSync(file, seqText(100, 120));
      const copy = join(dir, excluded ? "app.log.2" : "app.log.1");
      copyFileSync(file, copy);
      rmSync(file);
      writeFileSync(file, seqText(500, 510));
      const b = await follow([file], { start: "end", positions: pos, outputs: excluded ? [copy] : [] });
      await waitFor(() => b.lines.length >= (excluded ? 10 : 30), "the lines");
      await b.follower.close();
      if (excluded) expectSeq(b.lines, 500, 510, 1);
      else expectSeq(b.lines.slice(0, 20), 100, 120, 101);
    }
  });

  // The state a crash leaves while an old file is being finished: its entry, with "then" naming the file after it.
  function crashedWhileFinishing(pos: string, file: string, old: string, afterLines: number, next: string[]): void {
    const ident = (path: string) => {
      const st = statSync(path, { bigint: true });
      const head = readFileSync(path).subarray(0, FINGERPRINT_BYTES);
      return { dev: String(st.dev), ino: String(st.ino), fpLen: head.length, fpHash: fingerprint(head) };
    };
    const offset = Buffer.byteLength(seqText(0, afterLines));
    savePositions(pos, new Map([[resolve(file), { ...ident(old), offset, lineNo: afterLines, then: next.map(ident) }]]));
  }

  it("after a crash while finishing an old file: its rest, then the next file's copy when that was copytruncated since", async () => {
    const { dir, file, pos } = setup();
    writeFileSync(join(dir, "app.log.1"), seqText(0, 200));
    writeFileSync(file, seqText(200, 300));
    crashedWhileFinishing(pos, file, join(dir, "app.log.1"), 100, [file]);
    copyFileSync(file, join(dir, "app.log-20261206"));
    truncateSync(file, 0);
    appendFileSync(file, seqText(300, 320));
    const b = await secondRun(file, pos, 220);
    expectSeq(b.lines.slice(0, 100), 100, 200, 101);
    expectSeq(b.lines.slice(100, 200), 200, 300, 1);
    expectSeq(b.lines.slice(200), 300, 320, 1);
  });

  it("after a crash while finishing an old file: its rest, then the next file found where it was rotated to", async () => {
    const { dir, file, pos } = setup();
    writeFileSync(join(dir, "app.log.1"), seqText(0, 200));
    writeFileSync(file, seqText(200, 300));
    crashedWhileFinishing(pos, file, join(dir, "app.log.1"), 100, [file]);
    appendFileSync(file, seqText(300, 310));
    renameSync(file, join(dir, "app.log.2"));
    writeFileSync(file, seqText(310, 320));
    const b = await secondRun(file, pos, 220);
    expectSeq(b.lines.slice(0, 100), 100, 200, 101);
    expectSeq(b.lines.slice(100, 210), 200, 310, 1);
    expectSeq(b.lines.slice(210), 310, 320, 1);
  });

  it("after a crash while finishing an old file: its rest, then each file queued after it, wherever rotated to", async () => {
    const { dir, file, pos } = setup();
    writeFileSync(join(dir, "app.log.1"), seqText(0, 200));
    writeFileSync(join(dir, "app.log.2"), seqText(200, 300));
    writeFileSync(file, seqText(300, 400));
    crashedWhileFinishing(pos, file, join(dir, "app.log.1"), 100, [join(dir, "app.log.2"), file]);
    renameSync(join(dir, "app.log.2"), join(dir, "app.log.3"));
    renameSync(file, join(dir, "app.log.2"));
    writeFileSync(file, seqText(400, 410));
    const b = await secondRun(file, pos, 310);
    expectSeq(b.lines.slice(0, 100), 100, 200, 101);
    expectSeq(b.lines.slice(100, 200), 200, 300, 1);
    expectSeq(b.lines.slice(200, 300), 300, 400, 1);
    expectSeq(b.lines.slice(300), 400, 410, 1);
  });

  it("saves no position before beforeSave returns, and stops when it throws", async () => {
    const { file, pos } = setup();
    writeFileSync(file, seqText(0, 10));
    let failing = false;
    const errors: Error[] = [];
    const seenAtSave: Array<number | undefined> = [];
    const a = new Follower([file], {
      start: "beginning", positions: pos, pollMs: 20, onError: (e) => errors.push(e),
      beforeSave: () => {
        seenAtSave.push(loadPositions(pos).get(resolve(file))?.offset);
        if (failing) throw new Error("disk full");
      },
    }, () => undefined);
    running.push(a);
    await a.start();
    await waitFor(() => loadPositions(pos).get(resolve(file))?.offset === statSync(file).size, "10 lines saved");
    expect(seenAtSave.length).toBeGreaterThanOrEqual(2);
    const before = readFileSync(pos, "utf8");
    failing = true;
    appendFileSync(file, seqText(10, 20));
    await waitFor(() => errors.length === 1, "the failure");
    await expect(a.close()).rejects.toThrow("disk full");
    expect(readFileSync(pos, "utf8")).toBe(before);
  });

  it("reads the new file from its start when rotated while down and the old file is gone", async () => {
    const { dir, file, pos } = setup();
    await firstRun(file, pos);
    appendFileSync(file, seqText(100, 150));
    // Moved out of reach (another folder); kept so its inode is not reused.
    mkdirSync(join(dir, "old"));
    renameSync(file, join(dir, "old", "archived"));
    writeFileSync(file, seqText(150, 200));
    const b = await secondRun(file, pos, 50);
    expectSeq(b.lines, 150, 200, 1);
    expect(b.follower.stats.rotations).toBe(1);
  });

  it("begins at 0 when the file was truncated while down (shorter, or rewritten past the offset)", async () => {
    for (const newCount of [30, 400]) {
      const { file, pos } = setup();
      writeFileSync(file, seqText(0, 100));
      const a = await follow([file], { start: "beginning", positions: pos });
      await waitFor(() => a.lines.length >= 100, "100 lines");
      await a.follower.close();
      truncateSync(file, 0);
      appendFileSync(file, seqText(100, 100 + newCount));
      const b = await follow([file], { start: "end", positions: pos });
      await waitFor(() => b.lines.length >= newCount, `${newCount} lines`);
      await b.follower.close();
      expectSeq(b.lines, 100, 100 + newCount, 1);
      expect(b.follower.stats.truncations).toBe(1);
    }
  });

  it("picks up a file that appeared while down from its start", async () => {
    const { file, pos } = setup();
    const a = await follow([file], { start: "end", positions: pos });
    await a.follower.close();
    writeFileSync(file, seqText(0, 40));
    const b = await secondRun(file, pos, 40);
    expectSeq(b.lines, 0, 40, 1);
  });

  it("refuses a damaged positions file with a message naming it and the fault, leaving it untouched", async () => {
    const { file, pos } = setup();
    writeFileSync(file, seqText(0, 10));
    const good = (over: Record<string, unknown>): string => JSON.stringify({
      format: "logforest-positions", version: 1,
      files: { [resolve(file)]: { dev: "1", ino: "2", fpLen: 0, fpHash: "0".repeat(64), offset: 0, lineNo: 0, ...over } },
    });
    const cases: Array<[string, RegExp]> = [
      ["{not json", /not valid JSON/],
      ["", /not valid JSON/],
      [JSON.stringify({ format: "other", version: 1, files: {} }), /format tag is "other"/],
      [JSON.stringify({ format: "logforest-positions", version: 9, files: {} }), /version is 9/],
      [good({ offset: -5 }), /"offset" must be an integer in \[0, \d+\], got -5/],
      [good({ ino: 7 }), /"ino" must be a decimal string or null, got 7/],
      [good({ then: {} }), /"then" must be an array of at most 64 files/],
      [good({ then: [5] }), /"then"\[0\]: not an object/],
      [good({ then: [{ dev: null, ino: null, fpLen: 0, fpHash: "0".repeat(64) }] }), /"then"\[0\]: must name one file/],
      [good({ then: [{ dev: "1", ino: "2", fpLen: 300, fpHash: "0".repeat(64) }] }), /"then"\[0\]: "fpLen" must be an integer in \[0, 256\], got 300/],
    ];
    for (const [text, fault] of cases) {
      writeFileSync(pos, text);
      const follower = new Follower([file], { positions: pos }, () => undefined);
      const err = await follower.start().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const msg = err instanceof Error ? err.message : "";
      expect(msg).toContain(`positions file ${pos} is damaged`);
      expect(msg).toMatch(fault);
      expect(readFileSync(pos, "utf8")).toBe(text);
    }
  });
});

describe("Follower: options", () => {
  it("rejects bad options with a RangeError naming the option, the range and the value", () => {
    const mk = (opts: FollowOptions, files: string[] = ["a.log"]): Follower => new Follower(files, opts, () => undefined);
    expect(() => mk({ pollMs: -3 })).toThrow(new RangeError("pollMs must be a number in [1, 60000], got -3"));
    expect(() => mk({ chunkBytes: 0.5 })).toThrow(/chunkBytes must be an integer in \[1, 67108864\], got 0.5/);
    expect(() => mk({ start: "middle" as "end" })).toThrow(/start must be "end" or "beginning", got "middle"/);
    expect(() => mk({}, [])).toThrow(/files must be a non-empty array/);
    expect(() => mk({}, ["a.log", "./a.log"])).toThrow(/must not repeat a path/);
    expect(() => mk({ maxLineBytes: 0 })).toThrow(new RangeError("maxLineBytes must be an integer in [1, 1073741824], got 0"));
    expect(() => mk({ maxLineBytes: 2 ** 30 + 1 })).toThrow(/maxLineBytes must be an integer in \[1, 1073741824\], got 1073741825/);
  });
});
