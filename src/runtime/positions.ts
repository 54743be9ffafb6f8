/**
 * The positions file: where `detect --follow` stopped in each followed file, so a restart
 * resumes exactly after the last consumed line.
 *
 * Format (JSON):
 *   { "format": "logforest-positions", "version": 1,
 *     "files": { "/abs/app.log": { "dev": "2049", "ino": "131", "fpLen": 256,
 *                                  "fpHash": "<sha256 hex>", "offset": 8123, "lineNo": 97 } } }
 * dev/ino are decimal strings (inodes can exceed 2^53); both null when no file was at the
 * path at save time (the next run reads the file from its start when it appears).
 * fpHash is the SHA-256 of the file's first fpLen (<= 256) bytes. While an old file (rotated
 * away, or the copy copytruncate left) is being finished, its entry stands for the path and
 * carries "then": [{ dev, ino, fpLen, fpHash }, ...], the files to read from their start after
 * it, in order (the last is the one at the path). Optional, for what a restart can say and check:
 * "size", the file's size at save time (bytes past "offset" were not read yet), and "mtime", its
 * modification time in ns (a file never read whose time moved was rewritten: copytruncate).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname } from "node:path";

/** Format tag stored in, and required of, every positions file. */
export const POSITIONS_FORMAT = "logforest-positions";
/** Version of the positions format this code reads and writes. */
export const POSITIONS_VERSION = 1;
/** Most files an entry's "then" lists. */
export const MAX_THEN = 64;
/** How many leading bytes of a file make its fingerprint. */
export const FINGERPRINT_BYTES = 256;

/** Where reading stopped in one followed path. */
export interface FilePosition {
  /** Device id of the file (decimal string), or null when the path had no file. */
  dev: string | null;
  /** Inode of the file (decimal string), or null when the path had no file. */
  ino: string | null;
  /** Number of leading bytes the fingerprint covers (0..256). */
  fpLen: number;
  /** SHA-256 hex of the first fpLen bytes. */
  fpHash: string;
  /** Byte offset just after the last consumed line. */
  offset: number;
  /** Number of lines consumed in this file (the lineNo of the last one). */
  lineNo: number;
  /** The files to read from their start once this one is finished, in order (the last: the one at the path). */
  then?: FileIdentity[];
  /** The file's size in bytes when saved. */
  size?: number;
  /** The file's modification time (ns, decimal string) when saved. */
  mtime?: string;
}

/** Which file: device, inode and the fingerprint of its first bytes. */
export interface FileIdentity {
  dev: string;
  ino: string;
  fpLen: number;
  fpHash: string;
}

/** SHA-256 hex of `bytes`: the fingerprint of a file's first bytes. */
export function fingerprint(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Read a positions file; an absent file gives an empty map, a damaged one throws naming it. */
export function loadPositions(file: string): Map<string, FilePosition> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (isErrno(err, "ENOENT")) return new Map();
    if (isErrno(err, "EISDIR")) throw new Error(`positions file ${file} is a directory: give the path of a file (it is created if missing)`);
    throw new Error(`cannot read positions file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bad = (what: string): Error => new Error(`positions file ${file} is damaged: ${what}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(doc)) throw bad("top level is not a JSON object");
  if (doc["format"] !== POSITIONS_FORMAT) {
    throw bad(`format tag is ${JSON.stringify(doc["format"])}, expected "${POSITIONS_FORMAT}"`);
  }
  if (doc["version"] !== POSITIONS_VERSION) {
    throw bad(`version is ${JSON.stringify(doc["version"])}, this build reads version ${POSITIONS_VERSION}`);
  }
  const files = doc["files"];
  if (!isObject(files)) throw bad(`"files" is missing or not an object`);
  const out = new Map<string, FilePosition>();
  for (const [path, entry] of Object.entries(files)) {
    out.set(path, parseEntry(entry, (what) => bad(`entry for ${path}: ${what}`)));
  }
  return out;
}

/** Write `positions` to `file` atomically: temp file, fsync, rename over the old one; an error names the file. */
export function savePositions(file: string, positions: ReadonlyMap<string, FilePosition>): void {
  try {
    writePositions(file, positions);
  } catch (err) {
    throw new Error(`cannot save positions file ${file} (${err instanceof Error ? err.message : String(err)}); stopping before reading on`);
  }
}

function writePositions(file: string, positions: ReadonlyMap<string, FilePosition>): void {
  const files: Record<string, FilePosition> = {};
  for (const [path, pos] of positions) files[path] = pos;
  const text = JSON.stringify({ format: POSITIONS_FORMAT, version: POSITIONS_VERSION, files }, null, 1) + "\n";
  const tmp = `${file}.tmp-${process.pid}`;
  const bytes = Buffer.from(text, "utf8");
  const fd = openSync(tmp, "w");
  try {
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true }); // a full disk leaves no half-written temp file behind
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  // Make the rename itself durable; some platforms cannot fsync a directory, which only risks a repeat.
  try {
    const dirFd = openSync(dirname(file), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // best effort
  }
}

function parseEntry(entry: unknown, bad: (what: string) => Error): FilePosition {
  if (!isObject(entry)) throw bad("not an object");
  const idField = (name: "dev" | "ino"): string | null => {
    const v = entry[name];
    if (v === null) return null;
    if (typeof v !== "string" || !/^[0-9]+$/.test(v)) throw bad(`"${name}" must be a decimal string or null, got ${JSON.stringify(v)}`);
    return v;
  };
  const intField = (name: string, max: number): number => {
    const v = entry[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw bad(`"${name}" must be an integer in [0, ${max}], got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const dev = idField("dev");
  const ino = idField("ino");
  if ((dev === null) !== (ino === null)) throw bad(`"dev" and "ino" must both be null or both be set`);
  const fpHash = entry["fpHash"];
  if (typeof fpHash !== "string" || !/^[0-9a-f]{64}$/.test(fpHash)) {
    throw bad(`"fpHash" must be 64 hex digits, got ${JSON.stringify(fpHash)}`);
  }
  const pos: FilePosition = {
    dev,
    ino,
    fpLen: intField("fpLen", FINGERPRINT_BYTES),
    fpHash,
    offset: intField("offset", Number.MAX_SAFE_INTEGER),
    lineNo: intField("lineNo", Number.MAX_SAFE_INTEGER),
  };
  if (entry["size"] !== undefined) pos.size = intField("size", Number.MAX_SAFE_INTEGER);
  const mtime = entry["mtime"];
  if (mtime !== undefined) {
    if (typeof mtime !== "string" || !/^[0-9]{1,30}$/.test(mtime)) throw bad(`"mtime" must be a decimal string, got ${JSON.stringify(mtime)}`);
    pos.mtime = mtime;
  }
  const then = entry["then"];
  if (then !== undefined) {
    if (!Array.isArray(then) || then.length > MAX_THEN) throw bad(`"then" must be an array of at most ${MAX_THEN} files`);
    pos.then = then.map((t: unknown, i) => {
      const thenBad = (what: string): Error => bad(`"then"[${i}]: ${what}`);
      if (!isObject(t)) throw thenBad("not an object");
      const one = parseEntry({ dev: t["dev"], ino: t["ino"], fpLen: t["fpLen"], fpHash: t["fpHash"], offset: 0, lineNo: 0 }, thenBad);
      if (one.dev === null || one.ino === null || t["then"] !== undefined) throw thenBad("must name one file (dev and ino set)");
      return { dev: one.dev, ino: one.ino, fpLen: one.fpLen, fpHash: one.fpHash };
    });
  }
  return pos;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** True when `err` is a Node system error with the given code. */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
