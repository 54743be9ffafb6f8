/**
 * The model file: a versioned, checksummed binary container.
 *
 *   offset  size          field
 *   0       8             magic 89 4C 47 46 0D 0A 1A 0A ("\x89LGF\r\n\x1a\n", PNG-style:
 *                         a text-mode transfer or a non-model file fails here)
 *   8       4             format version (u32, little-endian; this code writes and reads 1)
 *   12      4             total length of the file in bytes, checksum included
 *   16      4             length M of the metadata JSON in bytes (padded with spaces to 8)
 *   20      4             number of trees T
 *   24      4             number of nodes N over all trees
 *   28      4             reserved, 0
 *   32      M             metadata: UTF-8 JSON (options, feature names, threshold, ...)
 *   32+M    4 (T + 1)     treeStart: index of each tree's first node, then N
 *           4 N           feature: split feature of each node in preorder, -1 for a leaf
 *           4 N           payload: internal node: f32 split value (go left when x <= it);
 *                         leaf: u32 number of training rows that reached it
 *   end-4   4             CRC-32 (IEEE) of every byte before it
 *
 * The first 16 bytes and the trailing CRC keep this shape in every future version,
 * so load() can always say which of truncated / damaged / newer it is looking at.
 * A right child's index is not stored: in preorder it follows the left subtree.
 */
import type { CompactTrees } from "../wasm.js";

export const MAGIC = Uint8Array.of(0x89, 0x4c, 0x47, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;
/** Bytes before the metadata: magic, version, total length, metadata length and three counts (both model files). */
export const HEADER = 32;

/** Why a model file was refused. */
export type ModelFileProblem = "truncated" | "wrong-magic" | "newer-version" | "checksum" | "malformed";

/** A model file that cannot be loaded; `problem` says which way it is wrong. */
export class ModelFileError extends Error {
  constructor(
    readonly problem: ModelFileProblem,
    message: string,
  ) {
    super(message);
    this.name = "ModelFileError";
  }
}

let crcTable: Uint32Array | null = null;

/** CRC-32 with the IEEE polynomial (as in zip, PNG, gzip). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A ModelFileError for a file whose content does not hold together. */
export function malformed(what: string): ModelFileError {
  return new ModelFileError("malformed", `model file is damaged: ${what}`);
}

/**
 * A new model file's bytes with its header and metadata written: magic, version,
 * total length, the metadata's length, `counts` at 20, 24 and 28, and the metadata
 * JSON (padded with spaces to 8 bytes). The caller writes `bodyBytes` bytes of
 * trees from `body` on, then calls sealFile.
 */
export function startFile(
  magic: Uint8Array, version: number, meta: unknown, counts: readonly [number, number, number], bodyBytes: number,
): { buf: Uint8Array; dv: DataView; body: number } {
  let json = JSON.stringify(meta);
  const pad = (8 - (new TextEncoder().encode(json).length % 8)) % 8;
  json += " ".repeat(pad);
  const metaBytes = new TextEncoder().encode(json);
  const total = HEADER + metaBytes.length + bodyBytes + 4;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  buf.set(magic, 0);
  dv.setUint32(8, version, true);
  dv.setUint32(12, total, true);
  dv.setUint32(16, metaBytes.length, true);
  counts.forEach((n, i) => dv.setUint32(20 + 4 * i, n, true));
  buf.set(metaBytes, HEADER);
  return { buf, dv, body: HEADER + metaBytes.length };
}

/** Write the CRC-32 of every byte before the last four into the last four. */
export function sealFile(buf: Uint8Array): void {
  const end = buf.length - 4;
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(end, crc32(buf.subarray(0, end)), true);
}

/** Encode trees and metadata into the container. */
export function encodeModel(trees: CompactTrees, meta: unknown): Uint8Array {
  const T = trees.trees;
  const N = trees.feature.length;
  const { buf, dv, body } = startFile(MAGIC, FORMAT_VERSION, meta, [T, N, 0], 4 * (T + 1) + 8 * N);
  let o = body;
  for (let t = 0; t <= T; t++, o += 4) dv.setUint32(o, trees.treeStart[t], true);
  for (let i = 0; i < N; i++, o += 4) dv.setInt32(o, trees.feature[i], true);
  for (let i = 0; i < N; i++, o += 4) {
    if (trees.feature[i] < 0) dv.setUint32(o, trees.leafSize[i], true);
    else dv.setFloat32(o, trees.split[i], true);
  }
  sealFile(buf);
  return buf;
}

/** Decoded container: the trees (right children rebuilt) and the parsed metadata. */
export interface DecodedModel {
  trees: CompactTrees;
  meta: unknown;
}

/** Refuse what is not a file's bytes, or an empty file, before its magic is looked at. */
export function checkFileBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("a model must be given as a Uint8Array of the file's bytes");
  if (bytes.length === 0) throw new ModelFileError("truncated", "model file is truncated: it is empty (0 bytes)");
}

/**
 * Check the frame of a model file whose magic is right: the 16-byte preamble, the
 * declared length, the CRC and the format version (at most `version`), in the order
 * that tells truncated, damaged and newer apart. Returns a view of the bytes.
 */
export function openFile(bytes: Uint8Array, version: number): { dv: DataView; total: number } {
  if (bytes.length < 16) throw new ModelFileError("truncated", `model file is truncated: ${bytes.length} bytes, shorter than the 16-byte preamble`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stated = dv.getUint32(8, true);
  const total = dv.getUint32(12, true);
  if (bytes.length < total) {
    throw new ModelFileError("truncated", `model file is truncated: it has ${bytes.length} bytes but its header says ${total}`);
  }
  if (bytes.length > total) throw malformed(`${bytes.length - total} unexpected bytes after the declared end (${total} bytes)`);
  if (total < HEADER + 4) throw malformed(`declared length ${total} is too small`);
  const stored = dv.getUint32(total - 4, true);
  const actual = crc32(bytes.subarray(0, total - 4));
  if (stored !== actual) {
    throw new ModelFileError(
      "checksum",
      `model file is damaged: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}); the file was corrupted after it was written`,
    );
  }
  if (stated > version) {
    throw new ModelFileError(
      "newer-version",
      `model file format version ${stated} is newer than this logforest reads (${version}); upgrade logforest to load it`,
    );
  }
  if (stated < 1) throw new ModelFileError("malformed", `model file has an invalid format version ${stated}`);
  return { dv, total };
}

/** The metadata JSON that follows the header, parsed. */
export function readMeta(bytes: Uint8Array, metaLength: number): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER, HEADER + metaLength)));
  } catch (e) {
    throw malformed(`its metadata is not valid JSON (${(e as Error).message})`);
  }
}

/** Decode and check a model file; throws ModelFileError saying what is wrong. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  checkFileBytes(bytes);
  const head = bytes.subarray(0, MAGIC.length);
  const magicOk = head.every((b, i) => b === MAGIC[i]);
  if (!magicOk) {
    throw new ModelFileError("wrong-magic", "not a logforest model: the file does not start with the model magic bytes 89 4C 47 46 0D 0A 1A 0A");
  }
  const { dv, total } = openFile(bytes, FORMAT_VERSION);
  const metaLength = dv.getUint32(16, true);
  const T = dv.getUint32(20, true);
  const N = dv.getUint32(24, true);
  if (HEADER + metaLength + 4 * (T + 1) + 8 * N + 4 !== total) {
    throw malformed(`section sizes (meta ${metaLength}, ${T} trees, ${N} nodes) do not add up to ${total} bytes`);
  }
  const meta = readMeta(bytes, metaLength);
  let o = HEADER + metaLength;
  const treeStart = new Uint32Array(T + 1);
  for (let t = 0; t <= T; t++, o += 4) treeStart[t] = dv.getUint32(o, true);
  const feature = new Int32Array(N);
  for (let i = 0; i < N; i++, o += 4) feature[i] = dv.getInt32(o, true);
  const split = new Float32Array(N);
  const leafSize = new Uint32Array(N);
  for (let i = 0; i < N; i++, o += 4) {
    if (feature[i] < 0) leafSize[i] = dv.getUint32(o, true);
    else split[i] = dv.getFloat32(o, true);
  }
  const right = linkRightChildren(treeStart, N, (i) => feature[i] >= 0);
  return { trees: { trees: T, treeStart, feature, split, leafSize, right }, meta };
}

/**
 * Rebuild each internal node's right-child index from the preorder, checking that
 * every tree is a whole binary tree that ends exactly where the next begins.
 */
export function linkRightChildren(treeStart: Uint32Array, nodes: number, internal: (node: number) => boolean): Uint32Array {
  const right = new Uint32Array(nodes);
  const T = treeStart.length - 1;
  if (treeStart[0] !== 0 || treeStart[T] !== nodes) throw malformed("tree offsets do not cover the node array");
  // Internal nodes on the path to the current node, and whether we are in their right subtree.
  const open: number[] = [];
  const inRight: boolean[] = [];
  for (let t = 0; t < T; t++) {
    const base = treeStart[t];
    const end = treeStart[t + 1];
    let i = base;
    for (;;) {
      if (i >= end) throw malformed(`tree ${t} ends in the middle of a subtree`);
      if (internal(i)) {
        open.push(i);
        inRight.push(false);
        i++;
        continue;
      }
      i++; // a leaf: the subtree that ends here may close its ancestors' right subtrees too
      while (inRight.length > 0 && inRight[inRight.length - 1]) {
        open.pop();
        inRight.pop();
      }
      if (open.length === 0) break;
      right[open[open.length - 1]] = i - base;
      inRight[inRight.length - 1] = true;
    }
    if (i !== end) throw malformed(`tree ${t} has ${end - i} nodes after its last leaf`);
  }
  return right;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

/**
 * Reads one object of a model's metadata field by field: each read checks the field's type
 * and bounds (what the model needs, so nothing sized by it can be allocated out of bounds)
 * and refuses anything else with a ModelFileError naming the field, as `where.field`.
 */
export class MetaFields {
  private constructor(private readonly o: Record<string, unknown>, readonly where: string) {}

  /** `v` as an object of fields, or a refusal naming `where`. */
  static of(v: unknown, where: string): MetaFields {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw malformed(`${where} is not an object`);
    return new MetaFields(v as Record<string, unknown>, where);
  }

  /** A refusal naming this object's field `name`. */
  bad(name: string, what: string): ModelFileError {
    return malformed(`${this.where}.${name} ${what}, got ${short(this.o[name])}`);
  }

  has(name: string): boolean {
    return this.o[name] !== undefined;
  }

  /** An integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const v = this.o[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw this.bad(name, `must be an integer in [${min}, ${max}]`);
    return v;
  }

  /** A finite number in [min, max], or NaN where `nullable` (JSON writes NaN as null). */
  num(name: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE, nullable = false): number {
    const v = this.o[name];
    if (nullable && (v === null || Number.isNaN(v))) return NaN; // NaN: a model read before, whose nulls were made NaN
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw this.bad(name, `must be a finite number in [${min}, ${max}]${nullable ? " or null" : ""}`);
    return v;
  }

  /** A string of at most maxLength characters. */
  str(name: string, maxLength = 4096): string {
    const v = this.o[name];
    if (typeof v !== "string" || v.length > maxLength) throw this.bad(name, `must be a string of at most ${maxLength} characters`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.o[name];
    if (typeof v !== "boolean") throw this.bad(name, "must be true or false");
    return v;
  }

  /** One of `values`. */
  oneOf<T>(name: string, values: readonly T[]): T {
    const v = this.o[name];
    const hit = values.find((x) => x === v);
    if (hit === undefined) throw this.bad(name, `must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`);
    return hit;
  }

  /** An array of `length` (a number) or of at most max items (a range). */
  array(name: string, length: number | { max: number }): unknown[] {
    const v = this.o[name];
    const ok = Array.isArray(v) && (typeof length === "number" ? v.length === length : v.length <= length.max);
    if (!ok) throw this.bad(name, `must be an array of ${typeof length === "number" ? length : `at most ${length.max}`} items`);
    return v;
  }

  /** An array of strings, each at most maxLength characters. */
  strings(name: string, length: number | { max: number }, maxLength = 4096): string[] {
    const a = this.array(name, length);
    a.forEach((s, i) => {
      if (typeof s !== "string" || s.length > maxLength) throw malformed(`${this.where}.${name}[${i}] must be a string of at most ${maxLength} characters, got ${short(s)}`);
    });
    return a as string[];
  }

  /** The nested object `name`. */
  obj(name: string): MetaFields {
    return MetaFields.of(this.o[name], `${this.where}.${name}`);
  }

  /** The field names of this object, at most max of them. */
  keys(max: number): string[] {
    const k = Object.keys(this.o);
    if (k.length > max) throw malformed(`${this.where} has ${k.length} fields, more than ${max}`);
    return k;
  }
}

function short(v: unknown): string {
  const s = v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
