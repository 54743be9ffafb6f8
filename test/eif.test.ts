import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SKLEARN_REFERENCE } from "../src/tools/accuracy.js";
import { EIF_FORMAT_VERSION, EIF_MAGIC, ExtendedIsolationForest, type HyperplaneTrees } from "../src/forest/eif.js";
import { IsolationForest, type Backend } from "../src/index.js";
import { averagePathLength } from "../src/forest/reference.js";
import { Rng } from "../src/forest/random.js";
import { readCsvTable, rocAuc } from "../src/tools/table.js";
import { DATA_DIR, dataFile } from "./data.js";
import { clusteredTable, dense, maxAbsDiff, problemOf, resealed, uniformTable } from "./helpers.js";

/** Leaf nodes of tree `tree`, with their depths, by walking from the root. */
function leavesOf(t: HyperplaneTrees, tree: number): Array<{ node: number; depth: number }> {
  const base = t.treeStart[tree];
  const out: Array<{ node: number; depth: number }> = [];
  const stack: Array<[number, number]> = [[0, 0]];
  while (stack.length > 0) {
    const [id, depth] = stack.pop() as [number, number];
    const node = base + id;
    if (t.coefStart[node] === t.coefStart[node + 1]) out.push({ node, depth });
    else stack.push([t.right[node], depth + 1], [id + 1, depth + 1]);
  }
  return out;
}

function minOutlierMinusMaxInlier(s: Float64Array, isOutlier: boolean[]): number {
  let minOut = Infinity;
  let maxIn = -Infinity;
  s.forEach((v, i) => (isOutlier[i] ? (minOut = Math.min(minOut, v)) : (maxIn = Math.max(maxIn, v))));
  return minOut - maxIn;
}

// One suite, run against every backend: the WASM kernels and the TS reference.
describe.each<Backend>(["wasm", "js"])("ExtendedIsolationForest (%s backend)", (backend) => {
  const { X, isOutlier } = clusteredTable(7, 2000, 4, 20);

  it("scores every outlier above every inlier, at every extension level and seed", () => {
    for (const extensionLevel of [0, 1, 3]) {
      for (const seed of [0, 1, 2]) {
        const s = ExtendedIsolationForest.fit(X, { seed, extensionLevel }).score(X, { backend });
        expect(minOutlierMinusMaxInlier(s, isOutlier)).toBeGreaterThan(0);
      }
    }
  });

  it("gives scores in (0, 1]", () => {
    for (const v of ExtendedIsolationForest.fit(X, { seed: 5 }).score(X, { backend })) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  });

  it("is reproducible: same seed same scores, another seed other scores", () => {
    const a = ExtendedIsolationForest.fit(X, { seed: 11 }).score(X, { backend });
    const b = ExtendedIsolationForest.fit(X, { seed: 11 }).score(X, { backend });
    const c = ExtendedIsolationForest.fit(X, { seed: 12 }).score(X, { backend });
    expect(a).toEqual(b);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
  });

  it("reads number[][] and a dense Float64Array table the same way", () => {
    const f = ExtendedIsolationForest.fit(X, { seed: 3 });
    expect(f.score(dense(X), { backend })).toEqual(f.score(X, { backend }));
    expect(ExtendedIsolationForest.fit(dense(X), { seed: 3 }).score(X, { backend })).toEqual(f.score(X, { backend }));
  });

  it("predicts by the contamination fraction, with scikit-learn's signs for scoreSamples and decisionFunction", () => {
    for (const contamination of [0.01, 0.1]) {
      const f = ExtendedIsolationForest.fit(X, { seed: 2, contamination });
      const flagged = f.predict(X, { backend }).reduce((a, b) => a + b, 0);
      expect(Math.abs(flagged - contamination * X.length)).toBeLessThanOrEqual(1);
    }
    const f = ExtendedIsolationForest.fit(X, { seed: 2 });
    expect(f.threshold).toBe(0.5);
    const s = f.score(X, { backend });
    const p = f.predict(X, { backend });
    const ss = f.scoreSamples(X, { backend });
    const df = f.decisionFunction(X, { backend });
    s.forEach((v, i) => {
      expect(p[i]).toBe(v > 0.5 ? 1 : 0);
      expect(ss[i]).toBe(-v);
      expect(df[i]).toBe(0.5 - v);
    });
  });

  it("copes with one row, constant columns and all-duplicate rows", () => {
    const one = ExtendedIsolationForest.fit([[1, 2, 3]]);
    expect(Array.from(one.score([[1, 2, 3], [9, 9, 9]], { backend }))).toEqual([0.5, 0.5]);
    const constant = ExtendedIsolationForest.fit(uniformTable(1, 300, 3).map((r) => [r[0], 7, r[1], 7]), { seed: 1 });
    // Hyperplanes only lean on features that vary in the node.
    const t = constant.hyperplaneTrees;
    for (const f of t.coefFeature) expect(f === 0 || f === 2).toBe(true);
    const [inside, outside] = constant.score([[0.5, 7, 0.5, 7], [3, 7, -2, 7]], { backend });
    expect(outside).toBeGreaterThan(inside);
    const dup = ExtendedIsolationForest.fit(Array.from({ length: 500 }, () => [4, 4]), { seed: 1 });
    // Every tree is one leaf of 256 rows: path c(256), so s = 2^-1.
    for (const v of dup.score([[4, 4], [0, 0]], { backend })) expect(v).toBeCloseTo(0.5, 12);
  });

  it("refuses rows of the wrong width and non-finite values, naming the cell", () => {
    const f = ExtendedIsolationForest.fit(X, { seed: 1 });
    expect(() => f.score([[1, 2, 3]], { backend })).toThrow(/3 columns but the forest was trained on 4/);
    expect(() => f.score([[1, 2, 3, 4], [1, NaN, 3, 4]], { backend })).toThrow(/X\[1\]\[1\] is NaN/);
    expect(() => f.score(X, { backend: "gpu" as Backend })).toThrow(RangeError);
  });
});

describe("ExtendedIsolationForest: WASM and the TS reference agree", () => {
  const { X } = clusteredTable(4, 3000, 6, 30);
  const probe = [...X, ...uniformTable(9, 500, 6, 20).map((r) => r.map((v) => v - 10))];

  it("scores within 1e-12 of each other at every extension level, sample size and height", () => {
    for (const extensionLevel of [0, 2, 5]) {
      for (const sampleSize of [16, 256, 2048]) {
        const f = ExtendedIsolationForest.fit(X, { seed: extensionLevel + sampleSize, extensionLevel, sampleSize, trees: 50 });
        expect(maxAbsDiff(f.score(probe), f.score(probe, { backend: "js" }))).toBeLessThan(1e-12);
      }
    }
  });
});

describe("ExtendedIsolationForest: tree shape", () => {
  const { X } = clusteredTable(5, 1000, 5, 10);

  it("uses extensionLevel + 1 non-zero coordinates per split, distinct features in ascending order", () => {
    for (const extensionLevel of [0, 1, 2, 4]) {
      const t = ExtendedIsolationForest.fit(X, { seed: 3, extensionLevel }).hyperplaneTrees;
      const nodes = t.intercept.length;
      let internal = 0;
      for (let i = 0; i < nodes; i++) {
        const from = t.coefStart[i];
        const to = t.coefStart[i + 1];
        if (from === to) continue;
        internal++;
        // Every column of this table varies within any node of 2+ distinct rows.
        expect(to - from).toBe(extensionLevel + 1);
        for (let k = from + 1; k < to; k++) expect(t.coefFeature[k]).toBeGreaterThan(t.coefFeature[k - 1]);
      }
      expect(internal).toBeGreaterThan(0);
    }
  });

  it("keeps every sampled row: each tree's leaf sizes add up to the sample size, leaves within the height limit", () => {
    const f = ExtendedIsolationForest.fit(X, { seed: 8, sampleSize: 200 });
    expect(f.height).toBe(8);
    const t = f.hyperplaneTrees;
    for (let tree = 0; tree < t.trees; tree++) {
      const leaves = leavesOf(t, tree);
      expect(leaves.reduce((a, l) => a + t.leafSize[l.node], 0)).toBe(200);
      for (const l of leaves) expect(l.depth).toBeLessThanOrEqual(8);
    }
  });

  it("gives s = 1/2 to both rows of a two-row table at level 0: one cut, depth 1, c(1) = 0, c(2) = 1", () => {
    // An axis cut with p uniform in [min, max) of a varying column separates two distinct rows.
    const f = ExtendedIsolationForest.fit([[0, 0], [10, 10]], { seed: 2, trees: 20, extensionLevel: 0 });
    expect(averagePathLength(2)).toBe(1);
    for (const v of f.score([[0, 0], [10, 10]])) expect(v).toBeCloseTo(0.5, 12);
  });
});

describe("ExtendedIsolationForest: a rounder score map than the standard forest", () => {
  // One round Gaussian blob: the true score depends on the distance from the centre
  // only. Axis-parallel cuts make the standard forest's map a cross (low scores
  // stretched along the axes); hyperplanes in every direction round it off.
  const rng = new Rng(1);
  const X = Array.from({ length: 2000 }, () => [rng.normal(), rng.normal()]);
  const circle = (r: number): number[][] =>
    Array.from({ length: 360 }, (_, i) => [r * Math.cos((i * Math.PI) / 180), r * Math.sin((i * Math.PI) / 180)]);
  const variance = (s: Float64Array): number => {
    const m = s.reduce((a, b) => a + b, 0) / s.length;
    return s.reduce((a, b) => a + (b - m) ** 2, 0) / s.length;
  };
  const ring = (score: (P: number[][]) => Float64Array): number => variance(score(circle(3))) + variance(score(circle(3.5)));

  it("varies less along circles around the centre, for several seeds", () => {
    for (const seed of [0, 1, 2]) {
      const standard = IsolationForest.fit(X, { seed, trees: 1000 });
      const level0 = ExtendedIsolationForest.fit(X, { seed, trees: 1000, extensionLevel: 0 });
      const full = ExtendedIsolationForest.fit(X, { seed, trees: 1000 });
      const eif = ring((P) => full.score(P));
      expect(eif).toBeLessThan(ring((P) => standard.score(P)));
      expect(eif).toBeLessThan(ring((P) => level0.score(P)));
    }
  });
});

describe("ExtendedIsolationForest options", () => {
  const X = uniformTable(3, 100, 4);

  it("defaults extensionLevel to columns - 1 and records it", () => {
    expect(ExtendedIsolationForest.fit(X).options.extensionLevel).toBe(3);
    expect(ExtendedIsolationForest.fit(X, { extensionLevel: 0 }).options.extensionLevel).toBe(0);
  });

  it("refuses an extensionLevel outside [0, columns - 1], naming the option, range and value", () => {
    for (const bad of [-1, 4, 1.5, NaN]) {
      expect(() => ExtendedIsolationForest.fit(X, { extensionLevel: bad })).toThrow(
        new RangeError(`extensionLevel must be an integer in [0, 3] (columns - 1), got ${bad}`),
      );
    }
    expect(() => ExtendedIsolationForest.fit(X, { extensionLevel: "2" as unknown as number })).toThrow(/extensionLevel .* got "2"/);
  });

  it("validates the shared options as the standard forest does, and knows no maxFeatures", () => {
    expect(() => ExtendedIsolationForest.fit(X, { trees: 0 })).toThrow(new RangeError("trees must be an integer in [1, 10000], got 0"));
    expect(() => ExtendedIsolationForest.fit(X, { contamination: 0.7 })).toThrow(/contamination must be "auto" or a number in \(0, 0.5\], got 0.7/);
    expect(() => ExtendedIsolationForest.fit(X, { maxFeatures: 2 } as never)).toThrow(/unknown option "maxFeatures"/);
    expect(() => ExtendedIsolationForest.fit([[1, NaN]])).toThrow(/X\[0\]\[1\] is NaN/);
    expect(() => ExtendedIsolationForest.fit([[1, 2], [3]])).toThrow(/X\[1\] has 1 values/);
  });
});

describe("extended model files", () => {
  const { X } = clusteredTable(3, 3000, 5, 30);
  const forest = ExtendedIsolationForest.fit(X, { seed: 9, extensionLevel: 2, contamination: 0.02, featureNames: ["a", "b", "c", "d", "e"] });
  forest.metadata = { note: "kept" };
  const bytes = forest.toBytes();
  const dir = mkdtempSync(join(tmpdir(), "logforest-eif-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problem = (b: Uint8Array) => problemOf((x) => ExtendedIsolationForest.fromBytes(x), b);

  it("round-trips: the same scores on both backends, threshold, options, names and metadata", () => {
    const back = ExtendedIsolationForest.fromBytes(bytes);
    expect(back.score(X)).toEqual(forest.score(X));
    expect(back.score(X, { backend: "js" })).toEqual(forest.score(X, { backend: "js" }));
    expect(back.threshold).toBe(forest.threshold);
    expect(back.options).toEqual(forest.options);
    expect(back.featureNames).toEqual(["a", "b", "c", "d", "e"]);
    expect(back.metadata).toEqual({ note: "kept" });
    expect(back.createdAt).toBe(forest.createdAt);
    expect(back.toBytes()).toEqual(bytes);
  });

  it("saves and loads through a file", () => {
    const path = join(dir, "model.eif");
    forest.save(path);
    expect(ExtendedIsolationForest.load(path).score(X)).toEqual(forest.score(X));
  });

  it("starts with its own magic and version", () => {
    expect(Array.from(bytes.subarray(0, 8))).toEqual(Array.from(EIF_MAGIC));
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(EIF_FORMAT_VERSION);
  });

  it("refuses truncated files", () => {
    expect(problem(new Uint8Array(0))).toBe("truncated");
    expect(problem(bytes.subarray(0, 12))).toBe("truncated");
    expect(problem(bytes.subarray(0, bytes.length - 1))).toBe("truncated");
  });

  it("refuses other files by their magic, naming a standard forest's model", () => {
    expect(problem(new TextEncoder().encode("f0,f1,label\n1,2,0\n"))).toBe("wrong-magic");
    const standard = IsolationForest.fit(X, { seed: 1, trees: 5 }).toBytes();
    expect(() => ExtendedIsolationForest.fromBytes(standard)).toThrow(/standard isolation forest/);
  });

  it("refuses a damaged file by its checksum, wherever the damage is", () => {
    for (const at of [20, 200, Math.floor(bytes.length / 2), bytes.length - 20]) {
      const c = bytes.slice();
      c[at] ^= 0x10;
      expect(problem(c)).toBe("checksum");
    }
  });

  it("refuses a newer format version, saying so", () => {
    const c = bytes.slice();
    new DataView(c.buffer).setUint32(8, EIF_FORMAT_VERSION + 1, true);
    const sealed = resealed(c);
    expect(problem(sealed)).toBe("newer-version");
    expect(() => ExtendedIsolationForest.fromBytes(sealed)).toThrow(/newer than this logforest reads/);
  });

  it("refuses well-sealed files whose content is malformed", () => {
    const dv = new DataView(bytes.buffer);
    const metaLength = dv.getUint32(16, true);
    const T = dv.getUint32(20, true);
    const N = dv.getUint32(24, true);
    const C = dv.getUint32(28, true);
    const counts = 32 + metaLength + 4 * (T + 1);
    const features = counts + 12 * N;
    // A coefficient naming column 99 of a 5-column model.
    const badFeature = bytes.slice();
    new DataView(badFeature.buffer).setUint32(features, 99, true);
    expect(problem(resealed(badFeature))).toBe("malformed");
    // A non-finite intercept.
    const badIntercept = bytes.slice();
    new DataView(badIntercept.buffer).setFloat64(counts + 4 * N, NaN, true);
    expect(problem(resealed(badIntercept))).toBe("malformed");
    // The first node's count changed: the node counts no longer add up to C.
    const badCount = bytes.slice();
    new DataView(badCount.buffer).setUint32(counts, 7, true);
    expect(problem(resealed(badCount))).toBe("malformed");
    // Metadata that is not JSON.
    const badMeta = bytes.slice();
    badMeta[32] = 0x7b + 1;
    expect(problem(resealed(badMeta))).toBe("malformed");
    // Bytes after the declared end.
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(problem(longer)).toBe("malformed");
    expect(C).toBeGreaterThan(0);
  });

  it("names the path when load refuses a file", () => {
    const path = join(dir, "broken.eif");
    writeFileSync(path, bytes.subarray(0, 100));
    expect(() => ExtendedIsolationForest.load(path)).toThrow(new RegExp(`${path.replace(/[.]/g, "\\.")}: model file is truncated`));
  });
});

// ROC AUC on the shared labelled tables (LOGFOREST_DATA), 20 seeds as scikit-learn's
// reference figures were measured. Level 0 draws its cuts from the standard
// forest's distribution, so it must land within scikit-learn's tolerance; the
// fully extended forest must be a working detector (better than chance).
// http, forestcover and smtp (95k rows) are left to the hand-run measurement (slow).
describe.skipIf(DATA_DIR === null)("ExtendedIsolationForest ROC AUC on the shared tables (20 seeds)", () => {
  const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
  for (const name of ["breastw", "pima", "ionosphere", "annthyroid", "satellite", "mammography", "shuttle"]) {
    it(name, { timeout: 300_000 }, () => {
      const table = readCsvTable(dataFile(`tabular/${name}.csv`));
      const labels = table.labels;
      if (labels === null) throw new Error(`${name} has no labels`);
      const level0: number[] = [];
      const full: number[] = [];
      for (let seed = 0; seed < 20; seed++) {
        const o = { trees: 100, sampleSize: 256, seed };
        level0.push(rocAuc(ExtendedIsolationForest.fit(table, { ...o, extensionLevel: 0 }).score(table), labels));
        full.push(rocAuc(ExtendedIsolationForest.fit(table, o).score(table), labels));
      }
      const ref = SKLEARN_REFERENCE[name];
      expect(Math.abs(mean(level0) - ref.auc)).toBeLessThanOrEqual(ref.tolerance);
      expect(mean(full)).toBeGreaterThan(0.5);
    });
  }
});
