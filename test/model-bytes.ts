/** Edits to model files' bytes for tests of the loaders: metadata swapped, lengths and CRC made right. */
import { HEADER } from "../src/forest/model-file.js";
import { resealed } from "./helpers.js";

/** The metadata JSON of a model file, parsed. */
export function metaOf(bytes: Uint8Array): Record<string, unknown> {
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(16, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(HEADER, HEADER + len))) as Record<string, unknown>;
}

/** The file's bytes with the metadata JSON replaced by `text` (padded to 8), the lengths and CRC made right. */
export function withMetaText(bytes: Uint8Array, text: string): Uint8Array {
  const oldLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(16, true);
  const raw = new TextEncoder().encode(text);
  const meta = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(32);
  meta.set(raw);
  const body = bytes.subarray(HEADER + oldLen);
  const out = new Uint8Array(HEADER + meta.length + body.length);
  out.set(bytes.subarray(0, HEADER));
  out.set(meta, HEADER);
  out.set(body, HEADER + meta.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(12, out.length, true);
  dv.setUint32(16, meta.length, true);
  return resealed(out);
}

/** `withMetaText` with the metadata object given, edited by `edit`. */
export function withMeta(bytes: Uint8Array, edit: (m: Record<string, unknown>) => void): Uint8Array {
  const m = metaOf(bytes);
  edit(m);
  return withMetaText(bytes, JSON.stringify(m));
}
