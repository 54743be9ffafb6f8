import { describe, expect, it } from "vitest";
import { explain, explainShares, featureScales, nodeCredits } from "../src/forest/explain.js";
import { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import { dense, uniformTable } from "./helpers.js";

type Backend = "wasm" | "js";

/** n rows of independent standard normals in d dimensions. */
function gaussian(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

/**
 * Train on Gaussian rows (column j multiplied by scales[j]), then shift feature k of
 * fresh rows by `shift` standard deviations; the share of those rows whose top reason is k.
 */
function topReasonHitRate(d: number, k: number, shift: number, backend: Backend, seed: number, scales?: number[]): number {
  const rng = new Rng(seed);
  const scaled = (rows: number[][]): number[][] => rows.map((row) => row.map((v, j) => v * (scales?.[j] ?? 1)));
  const forest = IsolationForest.fit(scaled(gaussian(rng, 2000, d)), { seed });
  const fresh = gaussian(rng, 200, d);
  for (const row of fresh) row[k] += shift;
  const reasons = explain(forest, scaled(fresh), { top: 1, backend });
  return reasons.filter((r) => r[0].feature === k).length / fresh.length;
}

function rowSums(s: Float64Array, cols: number): number[] {
  const sums: number[] = [];
  for (let r = 0; r < s.length / cols; r++) {
    let t = 0;
    for (let j = 0; j < cols; j++) t += s[r * cols + j];
    sums.push(t);
  }
  return sums;
}

// One suite, run against both backends.
describe.each<Backend>(["wasm", "js"])("explain (%s backend)", (backend) => {
  const rng = new Rng(41);
  const train = gaussian(rng, 1000, 5);
  const forest = IsolationForest.fit(train, { seed: 4, featureNames: ["a", "b", "c", "d", "e"] });
  const probe = gaussian(rng, 50, 5);

  it("puts a perturbed feature first for >= 95% of the perturbed rows, for several d and k", () => {
    const cases: Array<[number, number]> = [[3, 0], [3, 2], [8, 0], [8, 5], [20, 0], [20, 13], [20, 19]];
    for (const [d, k] of cases) {
      for (const shift of [6, -6]) {
        const rate = topReasonHitRate(d, k, shift, backend, 100 * d + k);
        expect(rate, `d=${d} k=${k} shift=${shift}`).toBeGreaterThanOrEqual(0.95);
      }
    }
  });

  it("does the same when the features live on scales from 1e-3 to 1e3", () => {
    const cases: Array<[number, number]> = [[8, 0], [8, 7], [20, 3], [20, 10]];
    for (const [d, k] of cases) {
      const scales = Array.from({ length: d }, (_, j) => 10 ** (-3 + (6 * j) / (d - 1)));
      for (const shift of [6, -6]) {
        const rate = topReasonHitRate(d, k, shift, backend, 7 * d + k, scales);
        expect(rate, `d=${d} k=${k} shift=${shift}`).toBeGreaterThanOrEqual(0.95);
      }
    }
  });

  it("keeps shares finite for values far beyond the training range", () => {
    const s = explainShares(forest, [[1e300, 0, 0, 0, -1e300], [0, 5e307, 0, 0, 0]], { backend });
    for (const v of s) expect(Number.isFinite(v)).toBe(true);
    for (const sum of rowSums(s, 5)) expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-12);
    expect(s[0] + s[4]).toBeGreaterThan(0.99);
    expect(s[6]).toBeGreaterThan(0.99);
  });

  it("gives every row non-negative shares that sum to 1", () => {
    const s = explainShares(forest, probe, { backend });
    expect(s.length).toBe(probe.length * 5);
    for (const v of s) expect(v).toBeGreaterThanOrEqual(0);
    for (const sum of rowSums(s, 5)) expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-12);
  });

  it("returns the top reasons sorted by share, named, with the shares of the full vector", () => {
    const s = explainShares(forest, probe, { backend });
    const names = ["a", "b", "c", "d", "e"];
    for (const top of [1, 3, 5]) {
      const reasons = explain(forest, probe, { top, backend });
      expect(reasons.length).toBe(probe.length);
      reasons.forEach((row, r) => {
        expect(row.length).toBe(top);
        const all = Array.from(s.subarray(r * 5, r * 5 + 5)).sort((a, b) => b - a);
        row.forEach((reason, i) => {
          expect(reason.name).toBe(names[reason.feature]);
          expect(reason.share).toBe(s[r * 5 + reason.feature]);
          expect(reason.share).toBe(all[i]);
        });
        expect(new Set(row.map((x) => x.feature)).size).toBe(top);
      });
    }
    expect(explain(forest, probe.slice(0, 1), { backend })[0].length).toBe(3);
  });

  it("names features f0, f1, ... when the forest has no names", () => {
    const f = IsolationForest.fit(train, { seed: 4 });
    const row = explain(f, [[0, 0, 9, 0, 0]], { top: 5, backend })[0];
    expect(row.map((x) => x.name).sort()).toEqual(["f0", "f1", "f2", "f3", "f4"]);
    expect(row[0]).toMatchObject({ feature: 2, name: "f2" });
  });

  it("credits everything to the one feature that varies", () => {
    const r = new Rng(3);
    const X = Array.from({ length: 500 }, () => [7, r.normal(), -2]);
    const f = IsolationForest.fit(X, { seed: 1 });
    const s = explainShares(f, [[7, 0, -2], [7, 5, -2], [0, -4, 0]], { backend });
    expect(Array.from(s)).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0]);
  });

  it("spreads the share evenly when no tree splits (all training rows equal)", () => {
    const f = IsolationForest.fit(Array.from({ length: 50 }, () => [1, 2, 3, 4]), { seed: 1 });
    expect(Array.from(explainShares(f, [[1, 2, 3, 4], [9, 9, 9, 9]], { backend }))).toEqual(new Array(8).fill(0.25));
  });

  it("reads number[][] and a dense table the same way, and answers the same twice", () => {
    const a = explainShares(forest, probe, { backend });
    expect(explainShares(forest, dense(probe), { backend })).toEqual(a);
    expect(explainShares(forest, probe, { backend })).toEqual(a);
  });

  it("leaves scoring as it was", () => {
    const before = forest.score(probe, { backend });
    explain(forest, probe, { backend });
    expect(forest.score(probe, { backend })).toEqual(before);
  });

  it("refuses a column count that differs from training", () => {
    expect(() => explain(forest, [[1, 2, 3]], { backend })).toThrow(/X has 3 columns but the forest was trained on 5/);
    expect(() => explainShares(forest, [[1, 2, 3, 4, 5, 6]], { backend })).toThrow(RangeError);
  });

  it("names the row and column of a NaN or Infinity, also past the first chunk", () => {
    const X = uniformTable(9, 5000, 5);
    X[4321][3] = NaN;
    expect(() => explain(forest, X, { backend })).toThrow(/X\[4321\]\[3\] is NaN/);
    expect(() => explainShares(forest, [[0, 0, Infinity, 0, 0]], { backend })).toThrow(/X\[0\]\[2\] is Infinity/);
  });

  it("refuses a top outside [1, cols] and an unknown backend, naming the option, the range and the value", () => {
    for (const top of [0, 6, 1.5, -1, NaN]) {
      expect(() => explain(forest, probe, { top, backend })).toThrow(`top must be an integer in [1, 5], got ${top}`);
    }
    const bad = { backend: "gpu" } as unknown as { backend: Backend };
    expect(() => explain(forest, probe, bad)).toThrow(/backend must be "wasm" or "js", got "gpu"/);
  });
});

describe("explain backends", () => {
  it("give the same shares (within 1e-12), across chunks of rows", () => {
    const rng = new Rng(5);
    for (const d of [1, 4, 12]) {
      const f = IsolationForest.fit(gaussian(rng, 3000, d), { seed: d, sampleSize: 512, trees: 50 });
      const X = gaussian(rng, 5000, d).map((row) => row.map((v) => 2 * v));
      const w = explainShares(f, X, { backend: "wasm" });
      const j = explainShares(f, X, { backend: "js" });
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - j[i]));
      expect(worst).toBeLessThanOrEqual(1e-12);
    }
  });

  it("scale each feature by the standard deviation of its thresholds (1 when there is none)", () => {
    const t = {
      trees: 2,
      treeStart: Uint32Array.from([0, 3, 6]),
      feature: Int32Array.from([0, -1, -1, 0, -1, -1]),
      split: Float32Array.from([1, 0, 0, 3, 0, 0]),
      leafSize: Uint32Array.from([0, 1, 1, 0, 1, 1]),
      right: Uint32Array.from([2, 0, 0, 2, 0, 0]),
    };
    // Thresholds on f0 are 1 and 3: mean 2, population sd 1; f1 has no split.
    expect(Array.from(featureScales(t, 2))).toEqual([1, 1]);
    const u = { ...t, split: Float32Array.from([2, 0, 0, 10, 0, 0]) };
    expect(Array.from(featureScales(u, 2))).toEqual([4, 1]);
  });

  it("credit a split with ln(size(node) / size(child)) and a root with 0", () => {
    // A hand-made tree over 8 rows: root splits 8 -> (2 | 6), the right child 6 -> (1 | 5).
    //   node 0: f0, right 2      node 1: leaf 2
    //   node 2: f1, right 4      node 3: leaf 1     node 4: leaf 5
    const t = {
      trees: 1,
      treeStart: Uint32Array.from([0, 5]),
      feature: Int32Array.from([0, -1, 1, -1, -1]),
      split: Float32Array.from([0, 0, 0, 0, 0]),
      leafSize: Uint32Array.from([0, 2, 0, 1, 5]),
      right: Uint32Array.from([2, 0, 4, 0, 0]),
    };
    const w = nodeCredits(t);
    expect(w[0]).toBe(0);
    expect(w[1]).toBeCloseTo(Math.log(4), 15);
    expect(w[2]).toBeCloseTo(Math.log(8 / 6), 15);
    expect(w[3]).toBeCloseTo(Math.log(6), 15);
    expect(w[4]).toBeCloseTo(Math.log(6 / 5), 15);
  });
});
