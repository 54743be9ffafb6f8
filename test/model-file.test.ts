import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IsolationForest } from "../src/index.js";
import { FORMAT_VERSION } from "../src/model-file.js";
import { clusteredTable, problemOf, resealed } from "./helpers.js";

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
