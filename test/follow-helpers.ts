/** Shared by the follow tests: numbered lines, temp folders, a follower that collects lines and notices. */
import { expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Follower, type FollowOptions, type FollowedLine } from "../src/runtime/follow.js";

// Every test line carries its sequence number, so exactly-once and order are checked by equality.
export const seqLine = (i: number): string => `seq=${i} payload=${"x".repeat(i % 23)}`;
export const seqText = (from: number, to: number): string => {
  let s = "";
  for (let i = from; i < to; i++) s += seqLine(i) + "\n";
  return s;
};

const dirs: string[] = [];
/** Followers a test started: closed by cleanUp. */
export const running: Follower[] = [];

/** Close every follower a test started and remove its folders (an afterEach). */
export async function cleanUp(): Promise<void> {
  for (const f of running.splice(0)) await f.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh temp folder, removed by cleanUp. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "logforest-follow-"));
  dirs.push(d);
  return d;
}

/** A started follower, the lines it delivered and what it said. */
export interface Run {
  follower: Follower;
  lines: FollowedLine[];
  notices: string[];
}

/** Start a follower (polling every 20 ms) that collects its lines and notices. */
export async function follow(files: string[], opts: FollowOptions, onLines?: (batch: FollowedLine[]) => void): Promise<Run> {
  const lines: FollowedLine[] = [];
  const notices: string[] = [];
  const follower = new Follower(files, { pollMs: 20, onNotice: (m) => notices.push(m), ...opts }, (batch) => {
    for (const l of batch) lines.push(l);
    onLines?.(batch);
  });
  running.push(follower);
  await follower.start();
  return { follower, lines, notices };
}

/** Wait for `cond` (progress, not time); the deadline only bounds a failure, generous for a busy machine. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lines `lines` are exactly seq from..to-1, in order, numbered firstLineNo, firstLineNo+1, ... */
export function expectSeq(lines: FollowedLine[], from: number, to: number, firstLineNo: number): void {
  expect(lines.length).toBe(to - from);
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k];
    if (l === undefined || l.text !== seqLine(from + k) || l.lineNo !== firstLineNo + k) {
      expect.fail(`line ${k}: expected seq ${from + k} lineNo ${firstLineNo + k}, got ${JSON.stringify(l)}`);
    }
  }
}


