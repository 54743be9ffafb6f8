import { describe, expect, it } from "vitest";
import { IsolationForest, type Backend } from "../src/index.js";
import { clusteredTable, dense, maxAbsDiff, uniformTable } from "./helpers.js";

/** The next double above / below x (x finite). */
function nextUp(x: number): number {
  if (x === 0) return 5e-324;
  const b = new BigInt64Array(new Float64Array([x]).buffer);
  b[0] += x > 0 ? 1n : -1n;
  return new Float64Array(b.buffer)[0];
}
function nextDown(x: number): number {
  return -nextUp(-x);
}

// One suite, run against every backend: the WASM kernels and the TS reference.
describe.each<Backend>(["wasm", "js"])("IsolationForest (%s backend)", (backend) => {
  const { X, isOutlier } = clusteredTable(7, 2000, 4, 20);

  it("scores every outlier above every inlier, for any seed", () => {
    for (const seed of [0, 1, 2, 3]) {
      const s = IsolationForest.fit(X, { seed }).score(X, { backend });
      let minOut = Infinity;
      let maxIn = -Infinity;
      s.forEach((v, i) => (isOutlier[i] ? (minOut = Math.min(minOut, v)) : (maxIn = Math.max(maxIn, v))));
      expect(minOut).toBeGreaterThan(maxIn);
    }
  });

  it("gives scores in (0, 1]", () => {
    const s = IsolationForest.fit(X, { seed: 5 }).score(X, { backend });
    for (const v of s) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  });

  it("is reproducible: same seed same scores, another seed other scores", () => {
    const a = IsolationForest.fit(X, { seed: 11 }).score(X, { backend });
    const b = IsolationForest.fit(X, { seed: 11 }).score(X, { backend });
    const c = IsolationForest.fit(X, { seed: 12 }).score(X, { backend });
    expect(a).toEqual(b);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
  });

  it("reads number[][] and a dense Float64Array table the same way", () => {
    const f = IsolationForest.fit(X, { seed: 3 });
    expect(f.score(dense(X), { backend })).toEqual(f.score(X, { backend }));
    const g = IsolationForest.fit(dense(X), { seed: 3 });
    expect(g.score(X, { backend })).toEqual(f.score(X, { backend }));
  });

  it("predicts by the contamination fraction: that share of training rows is flagged", () => {
    for (const contamination of [0.01, 0.05, 0.2]) {
      const f = IsolationForest.fit(X, { seed: 2, contamination });
      const flagged = f.predict(X, { backend }).reduce((a, b) => a + b, 0);
      expect(Math.abs(flagged - contamination * X.length)).toBeLessThanOrEqual(1);
    }
  });

  it("uses s > 0.5 with contamination auto, and scikit-learn's signs for scoreSamples and decisionFunction", () => {
    const f = IsolationForest.fit(X, { seed: 2 });
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
    expect(p.filter((v, i) => v === 1 && isOutlier[i]).length).toBe(20);
  });

  it("copes with one row, constant columns and all-duplicate rows", () => {
    const one = IsolationForest.fit([[1, 2, 3]]);
    expect(Array.from(one.score([[1, 2, 3], [9, 9, 9]], { backend }))).toEqual([0.5, 0.5]);
    const constant = IsolationForest.fit(uniformTable(1, 300, 3).map((r) => [r[0], 7, r[1], 7]), { seed: 1 });
    for (const v of constant.score([[0.5, 7, 0.5, 7], [0.5, 100, 0.5, -100]], { backend })) expect(Number.isFinite(v)).toBe(true);
    const dup = IsolationForest.fit(Array.from({ length: 500 }, () => [4, 4]), { seed: 1 });
    const sd = dup.score([[4, 4], [0, 0]], { backend });
    // Every tree is one leaf of 256 rows: path c(256), so s = 2^-1.
    expect(sd[0]).toBeCloseTo(0.5, 12);
    expect(sd[1]).toBeCloseTo(0.5, 12);
  });

  it("flags a point outside a constant column's value", () => {
    const base = uniformTable(2, 1000, 2);
    const f = IsolationForest.fit(base.map((r) => [r[0], r[1], 3]), { seed: 4 });
    const [inside, outside] = f.score([[0.5, 0.5, 3], [0.5, 0.5, 3]], { backend });
    expect(inside).toBe(outside); // a constant column is never split on
  });
});

describe("the WASM scorer agrees with the TS reference", () => {
  const cases: Array<[string, number[][], Parameters<typeof IsolationForest.fit>[1]]> = [
    ["clusters, defaults", clusteredTable(1, 3000, 5, 30).X, { seed: 1 }],
    ["uniform, 32 columns, maxFeatures 5", uniformTable(2, 2000, 32, 1000), { seed: 2, maxFeatures: 5 }],
    ["heavy ties (integers 0-3)", uniformTable(3, 4000, 6).map((r) => r.map((v) => Math.floor(v * 4))), { seed: 3 }],
    ["sampleSize 2048 (height 11, the tallest implicit layout)", uniformTable(4, 3000, 3), { seed: 4, sampleSize: 2048, trees: 20 }],
    ["sampleSize 4096 (height 12, compact walk)", uniformTable(4, 5000, 3), { seed: 4, sampleSize: 4096, trees: 20 }],
    ["sampleSize 2 (height 1)", uniformTable(10, 50, 3), { seed: 10, sampleSize: 2, trees: 7 }],
    ["sampleSize 9000 (height 14, compact walk)", uniformTable(5, 10000, 3), { seed: 5, sampleSize: 9000, trees: 10 }],
    ["tiny values needing f32 care", uniformTable(6, 1000, 2).map((r) => [1 + r[0] * 1e-9, r[1] * 1e-30]), { seed: 6 }],
    ["huge values", uniformTable(7, 1000, 2).map((r) => [r[0] * 1e30, -r[1] * 1e12]), { seed: 7 }],
    ["sampleSize fraction, 3 trees", uniformTable(8, 999, 4), { seed: 8, sampleSize: 0.1, trees: 3 }],
  ];
  it.each(cases)("%s: |difference| <= 1e-12", (_name, X, opts) => {
    const f = IsolationForest.fit(X, opts);
    const probe = [...X, ...uniformTable(99, 500, X[0].length, 2).map((r, i) => r.map((v, j) => v * (X[i % X.length][j] || 1)))];
    expect(maxAbsDiff(f.score(probe), f.score(probe, { backend: "js" }))).toBeLessThanOrEqual(1e-12);
  });

  it("compares rows to thresholds exactly: values on, just above and just below every split", () => {
    // The WASM scorer rounds each value up to f32 before comparing with the f32
    // thresholds; this must never change a comparison, including for values that
    // round to the threshold, -0, subnormals and values beyond the f32 range.
    const X = uniformTable(11, 1500, 3, 10).map((r) => [r[0] - 5, r[1] * 1e-38, r[2] * 1e36]);
    const f = IsolationForest.fit(X, { seed: 11, trees: 30 });
    const t = f.compactTrees;
    const probe: number[][] = [];
    for (let node = 0; node < t.feature.length; node++) {
      const col = t.feature[node];
      if (col < 0) continue;
      const th = t.split[node];
      for (const v of [th, nextUp(th), nextDown(th), Math.fround(th) + Math.abs(th) * 1e-12]) {
        const row = [...X[node % X.length]];
        row[col] = v;
        probe.push(row);
      }
    }
    for (const v of [0, -0, 5e-324, -5e-324, 1e-50, -1e-50, 3.5e38, -3.5e38, 1e300, -1e300, 1.4e-45, -1.4e-45]) {
      probe.push([v, v, v], [0, v, 0], [0, 0, v]);
    }
    const wasm = f.score(probe, { threads: 1 });
    const js = f.score(probe, { backend: "js" });
    expect(maxAbsDiff(wasm, js)).toBeLessThanOrEqual(1e-12);
  });

  it("scores large inputs in chunks with the same result as row by row", () => {
    const X = uniformTable(9, 3000, 2);
    const f = IsolationForest.fit(X, { seed: 9 });
    const big = dense(uniformTable(10, 600_000, 2)); // 9.6 MB: more than one 4 MiB chunk
    const all = f.score(big);
    const some = f.score({ data: big.data.subarray(0, 2 * 1000), rows: 1000, cols: 2 });
    expect(all.subarray(0, 1000)).toEqual(some);
    const tail = f.score({ data: big.data.subarray(2 * 599_000), rows: 1000, cols: 2 });
    expect(all.subarray(599_000)).toEqual(tail);
  });
});

describe("fit refuses NaN and Infinity anywhere, naming the first", () => {
  it("in a dense table (fast scan), sampled or not, and in number[][]", () => {
    const X = dense(uniformTable(12, 5000, 3));
    for (const [at, v] of [[4999 * 3 + 2, NaN], [2500 * 3 + 1, Infinity], [0, -Infinity]] as const) {
      const data = X.data.slice();
      data[at] = v;
      const msg = `X[${Math.floor(at / 3)}][${at % 3}] is ${v}; values must be finite numbers (no NaN or Infinity)`;
      expect(() => IsolationForest.fit({ data, rows: 5000, cols: 3 }, { seed: 1 })).toThrow(msg);
      const rows = Array.from({ length: 5000 }, (_, r) => Array.from(data.subarray(r * 3, r * 3 + 3)));
      expect(() => IsolationForest.fit(rows, { seed: 1 })).toThrow(msg);
    }
  });
});

describe("sampling and tree shape", () => {
  it("grows trees no taller than ceil(log2(sampleSize))", () => {
    for (const sampleSize of [2, 3, 64, 100, 256]) {
      const f = IsolationForest.fit(uniformTable(1, 1000, 3), { seed: 1, sampleSize });
      expect(f.height).toBe(Math.ceil(Math.log2(sampleSize)));
      expect(f.sampleSize).toBe(sampleSize);
    }
  });

  it("caps sampleSize at the number of rows, as scikit-learn does", () => {
    const f = IsolationForest.fit(uniformTable(1, 100, 3), { seed: 1 });
    expect(f.sampleSize).toBe(100);
    expect(f.height).toBe(7);
  });

  it("draws each tree's sample without replacement: with sampleSize = rows every tree sees the same data", () => {
    // Shuffling the rows must not change a forest grown on all of them only if the sample is the whole table.
    const X = uniformTable(3, 200, 2);
    const a = IsolationForest.fit(X, { seed: 1, sampleSize: 200 }).score(X);
    const b = IsolationForest.fit([...X].reverse(), { seed: 1, sampleSize: 200 }).score(X);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-12);
  });
});
