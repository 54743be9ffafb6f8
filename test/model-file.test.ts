import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ExtendedIsolationForest } from "../src/forest/eif.js";
import { IsolationForest } from "../src/index.js";
import { FORMAT_VERSION, HEADER } from "../src/forest/model-file.js";
import { clusteredTable, problemOf, resealed } from "./helpers.js";
import { withMeta, withMetaText } from "./model-bytes.js";

const { X } = clusteredTable(3, 5000, 8, 50);
const forest = IsolationForest.fit(X, { seed: 9, contamination: 0.02, featureNames: ["a", "b", "c", "d", "e", "f", "g", "h"] });
forest.metadata = { pipeline: { note: "kept" } };
const bytes = forest.toBytes();
const dir = mkdtempSync(join(tmpdir(), "logforest-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problem = (b: Uint8Array) => problemOf((x) => IsolationForest.fromBytes(x), b);

describe("model files", () => {
  it("round-trip: the same scores, threshold, options, names and metadata", () => {
    const back = IsolationForest.fromBytes(bytes);
    expect(back.score(X)).toEqual(forest.score(X));
    expect(back.score(X, { backend: "js" })).toEqual(forest.score(X, { backend: "js" }));
    expect(back.threshold).toBe(forest.threshold);
    expect(back.options).toEqual(forest.options);
    expect(back.featureNames).toEqual(["a", "b", "c", "d", "e", "f", "g", "h"]);
    expect(back.metadata).toEqual({ pipeline: { note: "kept" } });
    expect(back.toBytes()).toEqual(bytes);
  });

  it("save and load through a file", () => {
    const path = join(dir, "m.lfm");
    forest.save(path);
    expect(IsolationForest.load(path).score(X)).toEqual(forest.score(X));
  });

  it("100 trees of 256 samples stay well under 1 MB", () => {
    expect(bytes.length).toBeLessThan(512 * 1024);
  });

  it("refuses a truncated file at any length, saying it is truncated", () => {
    for (const len of [10, 16, 31, 100, bytes.length >> 1, bytes.length - 5, bytes.length - 1]) {
      expect(problem(bytes.subarray(0, len))).toBe("truncated");
    }
    expect(() => IsolationForest.fromBytes(bytes.subarray(0, 100))).toThrow(/truncated: it has 100 bytes but its header says \d+/);
  });

  it("refuses a bit flip anywhere after the magic, saying the checksum does not match", () => {
    // Flips in the length field read as truncated/damaged; everywhere else the CRC catches them.
    for (let pos = 16; pos < bytes.length; pos += 97) {
      for (const bit of [0, 5]) {
        const b = bytes.slice();
        b[pos] ^= 1 << bit;
        expect(problem(b)).toBe("checksum");
      }
    }
    const b = bytes.slice();
    b[bytes.length - 200] ^= 4;
    expect(() => IsolationForest.fromBytes(b)).toThrow(/checksum mismatch/);
  });

  it("refuses a flipped version or length field", () => {
    const v = bytes.slice();
    v[8] ^= 1;
    expect(["checksum", "newer-version"]).toContain(problem(v));
    expect(problem(v)).toBe("checksum");
    const l = bytes.slice();
    l[12] ^= 1 << 3;
    expect(["truncated", "malformed"]).toContain(problem(l));
  });

  it("refuses a file with the wrong magic", () => {
    const b = bytes.slice();
    b[1] = 0x58;
    expect(problem(b)).toBe("wrong-magic");
    expect(problem(new TextEncoder().encode('{"not":"a model"}'))).toBe("wrong-magic");
    expect(() => IsolationForest.fromBytes(b)).toThrow(/not a logforest model/);
    expect(() => IsolationForest.fromBytes(new Uint8Array(0))).toThrow(/truncated: it is empty/);
  });

  it("refuses a newer format version by name", () => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(8, FORMAT_VERSION + 1, true);
    const sealed = resealed(b);
    expect(problem(sealed)).toBe("newer-version");
    expect(() => IsolationForest.fromBytes(sealed)).toThrow(/format version 2 is newer than this logforest reads \(1\)/);
  });

  it("refuses trees a scorer could not walk safely, even with a valid checksum", () => {
    const meta = new DataView(bytes.buffer).getUint32(16, true);
    const trees = new DataView(bytes.buffer).getUint32(20, true);
    const featureAt = 32 + meta + 4 * (trees + 1); // first node of the first tree: the root split
    const b = bytes.slice();
    new DataView(b.buffer).setInt32(featureAt, 8, true); // feature 8 of 8 columns
    expect(problem(resealed(b))).toBe("malformed");
    expect(() => IsolationForest.fromBytes(resealed(b))).toThrow(/tree 0 has an invalid split/);
  });

  it("names the path when loading a damaged file, and passes through a missing one", () => {
    const path = join(dir, "bad.lfm");
    writeFileSync(path, bytes.subarray(0, 50));
    expect(() => IsolationForest.load(path)).toThrow(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: model file is truncated`));
    expect(() => IsolationForest.load(join(dir, "missing.lfm"))).toThrow(/ENOENT/);
    expect(readFileSync(path).length).toBe(50);
  });
});

describe("hostile model files with a valid checksum (found by test/fuzz.test.ts)", () => {
  it("refuse feature names that are not strings", () => {
    const b = withMeta(bytes, (m) => (m.featureNames = [1, 2, 3, 4, 5, 6, 7, 8]));
    expect(problem(b)).toBe("malformed");
    expect(() => IsolationForest.fromBytes(b)).toThrow(/feature names are not one string per column/);
  });

  it.each<[string, (m: Record<string, unknown>) => void, RegExp]>([
    ["trees as a string", (m) => ((m.options as Record<string, unknown>).trees = "100"), /options.trees 100 is not an integer in \[1, 10000\]/],
    ["contamination 2", (m) => ((m.options as Record<string, unknown>).contamination = 2), /options.contamination 2 is not "auto" or in \(0, 0.5\]/],
    ["a negative seed", (m) => ((m.options as Record<string, unknown>).seed = -1), /options.seed -1/],
    ["maxFeatures past the columns", (m) => ((m.options as Record<string, unknown>).maxFeatures = 99), /maxFeatures 99 is not in \[1, 8\]/],
    ["options.sampleSize unlike sampleSize", (m) => ((m.options as Record<string, unknown>).sampleSize = 7), /options.sampleSize 7 is not the sampleSize 256/],
    ["2^31 columns", (m) => (m.cols = 2 ** 31), /invalid shape \(cols in \[1, 65536\]/],
    ["a sampleSize past fit's limit", (m) => { m.sampleSize = 2 ** 40; m.height = 40; }, /invalid shape/],
    ["metadata that is an array", (m) => (m.metadata = [1, 2]), /its metadata field is not an object/],
    ["metadata that is an array", (m) => (m.options = [1, 2]), /metadata has no options/],
  ])("refuse %s: options a fit could not have saved", (_name, edit, message) => {
    const b = withMeta(bytes, edit);
    expect(problem(b)).toBe("malformed");
    expect(() => IsolationForest.fromBytes(b)).toThrow(message);
  });

  it("keep __proto__ keys of the metadata as plain data, polluting nothing", () => {
    const text = new TextDecoder().decode(bytes.subarray(HEADER, HEADER + new DataView(bytes.buffer).getUint32(16, true))).trimEnd();
    const b = withMetaText(bytes, text.replace('"metadata":{', '"metadata":{"__proto__":{"polluted":true},'));
    const back = IsolationForest.fromBytes(b);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back.metadata)).toBe(Object.prototype);
    expect(back.metadata.pipeline).toEqual({ note: "kept" });
  });

  it("extended forest: refuse node coefficient counts that wrap around 2^32 to the right total", () => {
    const eif = ExtendedIsolationForest.fit(X.slice(0, 600), { seed: 4, trees: 5, sampleSize: 32 });
    const b = eif.toBytes();
    const dv = new DataView(b.buffer);
    const T = dv.getUint32(20, true);
    const N = dv.getUint32(24, true);
    const counts = HEADER + dv.getUint32(16, true) + 4 * (T + 1);
    // A leaf (count 0) followed by an internal node: -1 on the leaf, +1 on the next, as u32s.
    let leaf = -1;
    for (let i = 0; i + 1 < N && leaf < 0; i++) if (dv.getUint32(counts + 4 * i, true) === 0 && dv.getUint32(counts + 4 * i + 4, true) > 0) leaf = i;
    expect(leaf).toBeGreaterThanOrEqual(0);
    dv.setUint32(counts + 4 * leaf, 0xffffffff, true);
    dv.setUint32(counts + 4 * leaf + 4, dv.getUint32(counts + 4 * leaf + 4, true) + 1, true);
    const sealed = resealed(b);
    expect(problemOf((x) => ExtendedIsolationForest.fromBytes(x), sealed)).toBe("malformed");
    expect(() => ExtendedIsolationForest.fromBytes(sealed)).toThrow(/coefficient counts add up to more than/);
  });
});
