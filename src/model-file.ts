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
import type { CompactTrees } from "./wasm.js";

export const MAGIC = Uint8Array.of(0x89, 0x4c, 0x47, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
export const FORMAT_VERSION = 1;
const HEADER = 32;

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

/** Encode trees and metadata into the container. */
export function encodeModel(trees: CompactTrees, meta: unknown): Uint8Array {
  let json = JSON.stringify(meta);
  let metaBytes = new TextEncoder().encode(json);
  if (metaBytes.length % 8 !== 0) {
    json += " ".repeat(8 - (metaBytes.length % 8));
    metaBytes = new TextEncoder().encode(json);
  }
  const T = trees.trees;
  const N = trees.feature.length;
  const total = HEADER + metaBytes.length + 4 * (T + 1) + 8 * N + 4;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  buf.set(MAGIC, 0);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, total, true);
  dv.setUint32(16, metaBytes.length, true);
  dv.setUint32(20, T, true);
  dv.setUint32(24, N, true);
  buf.set(metaBytes, HEADER);
  let o = HEADER + metaBytes.length;
  for (let t = 0; t <= T; t++, o += 4) dv.setUint32(o, trees.treeStart[t], true);
  for (let i = 0; i < N; i++, o += 4) dv.setInt32(o, trees.feature[i], true);
  for (let i = 0; i < N; i++, o += 4) {
    if (trees.feature[i] < 0) dv.setUint32(o, trees.leafSize[i], true);
    else dv.setFloat32(o, trees.split[i], true);
  }
  dv.setUint32(o, crc32(buf.subarray(0, o)), true);
  return buf;
}

/** Decoded container: the trees (right children rebuilt) and the parsed metadata. */
export interface DecodedModel {
  trees: CompactTrees;
  meta: unknown;
}

/** Decode and check a model file; throws ModelFileError saying what is wrong. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("a model must be given as a Uint8Array of the file's bytes");
  if (bytes.length === 0) throw new ModelFileError("truncated", "model file is truncated: it is empty (0 bytes)");
  const head = bytes.subarray(0, MAGIC.length);
  const magicOk = head.every((b, i) => b === MAGIC[i]);
  if (!magicOk) {
    throw new ModelFileError("wrong-magic", "not a logforest model: the file does not start with the model magic bytes 89 4C 47 46 0D 0A 1A 0A");
  }
  if (bytes.length < 16) throw new ModelFileError("truncated", `model file is truncated: ${bytes.length} bytes, shorter than the 16-byte preamble`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  const total = dv.getUint32(12, true);
  if (bytes.length < total) {
    throw new ModelFileError("truncated", `model file is truncated: it has ${bytes.length} bytes but its header says ${total}`);
  }
  if (bytes.length > total) {
    throw new ModelFileError("malformed", `model file is damaged: ${bytes.length - total} unexpected bytes after the declared end (${total} bytes)`);
  }
  if (total < HEADER + 4) throw new ModelFileError("malformed", `model file is damaged: declared length ${total} is too small`);
  const stored = dv.getUint32(total - 4, true);
  const actual = crc32(bytes.subarray(0, total - 4));
  if (stored !== actual) {
    throw new ModelFileError(
      "checksum",
      `model file is damaged: checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}); the file was corrupted after it was written`,
    );
  }
  if (version > FORMAT_VERSION) {
    throw new ModelFileError(
      "newer-version",
      `model file format version ${version} is newer than this logforest reads (${FORMAT_VERSION}); upgrade logforest to load it`,
    );
  }
  if (version < 1) throw new ModelFileError("malformed", `model file has an invalid format version ${version}`);

  const metaLength = dv.getUint32(16, true);
  const T = dv.getUint32(20, true);
  const N = dv.getUint32(24, true);
  if (HEADER + metaLength + 4 * (T + 1) + 8 * N + 4 !== total) {
    throw new ModelFileError("malformed", `model file is damaged: section sizes (meta ${metaLength}, ${T} trees, ${N} nodes) do not add up to ${total} bytes`);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER, HEADER + metaLength)));
  } catch (e) {
    throw new ModelFileError("malformed", `model file is damaged: its metadata is not valid JSON (${(e as Error).message})`);
  }
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
  const trees: CompactTrees = { trees: T, treeStart, feature, split, leafSize, right: linkRightChildren(treeStart, feature) };
  return { trees, meta };
}

/**
 * Rebuild each internal node's right-child index from the preorder, checking that
 * every tree is a whole binary tree that ends exactly where the next begins.
 */
function linkRightChildren(treeStart: Uint32Array, feature: Int32Array): Uint32Array {
  const right = new Uint32Array(feature.length);
  const T = treeStart.length - 1;
  if (treeStart[0] !== 0 || treeStart[T] !== feature.length) {
    throw new ModelFileError("malformed", "model file is damaged: tree offsets do not cover the node array");
  }
  // Internal nodes on the path to the current node, and whether we are in their right subtree.
  const open: number[] = [];
  const inRight: boolean[] = [];
  for (let t = 0; t < T; t++) {
    const base = treeStart[t];
    const end = treeStart[t + 1];
    let i = base;
    for (;;) {
      if (i >= end) throw new ModelFileError("malformed", `model file is damaged: tree ${t} ends in the middle of a subtree`);
      if (feature[i] >= 0) {
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
    if (i !== end) throw new ModelFileError("malformed", `model file is damaged: tree ${t} has ${end - i} nodes after its last leaf`);
  }
  return right;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
