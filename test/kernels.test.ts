import { describe, expect, it } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { asRows, assertFinite, checkRowValues } from "../src/forest/matrix.js";
import { Rng } from "../src/forest/random.js";
import { firstNonFiniteIn } from "../src/forest/build.js";
import { WasmInstance } from "../src/wasm.js";
import { dense, uniformTable } from "./helpers.js";

describe("sampleRows (Floyd's algorithm in WASM)", () => {
  function draw(n: number, psi: number, trees: number, seed: number): Uint32Array {
    const w = new WasmInstance();
    const rng = w.alloc(32);
    w.k.seedRng(rng, seed, 0);
    let bits = 1;
    while (1 << bits < 2 * psi) bits++;
    const out = w.alloc(trees * psi * 4);
    const table = w.alloc((1 << bits) * 4);
    w.k.sampleRows(rng, n, psi, trees, out, table, bits);
    return w.u32(out, trees * psi).slice();
  }

  it("draws distinct rows in range for each tree", () => {
    for (const [n, psi] of [[1000, 256], [257, 256], [10_000_000, 256], [300, 1]] as const) {
      const picks = draw(n, psi, 20, 3);
      for (let t = 0; t < 20; t++) {
        const tree = picks.subarray(t * psi, (t + 1) * psi);
        expect(new Set(tree).size).toBe(psi);
        for (const v of tree) expect(v).toBeLessThan(n);
      }
    }
  });

  it("takes every row once when sampleSize equals the rows", () => {
    const picks = draw(100, 100, 2, 1);
    expect([...picks.subarray(0, 100)].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("gives every row the same chance (chi-square, 50 rows, 20000 draws of 10)", () => {
    const n = 50;
    const counts = new Array<number>(n).fill(0);
    const picks = draw(n, 10, 20_000, 7);
    for (const v of picks) counts[v]++;
    const expected = (20_000 * 10) / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 49 degrees of freedom: the 0.999 quantile is about 85.4.
    expect(chi2).toBeLessThan(85.4);
  });
});

describe("the SIMD scan for NaN and Infinity", () => {
  /** Values that are finite however extreme, in a seeded mix. */
  function finiteValues(n: number, seed: number): Float64Array {
    const rng = new Rng(seed);
    const extremes = [0, -0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 1e-310];
    return Float64Array.from({ length: n }, () => (rng.next() < 0.2 ? extremes[rng.int(extremes.length)] : 1e6 * rng.normal()));
  }

  it("finds nothing in finite values, however extreme", () => {
    for (const n of [0, 1, 7, 8, 9, 32_767, 32_768, 32_769, 100_003]) expect(firstNonFiniteIn(finiteValues(n, n))).toBe(-1);
    // Sums of these overflow in the SIMD scan: the chunk is checked value by value.
    const huge = Float64Array.from({ length: 70_000 }, (_, i) => (i % 2 === 0 ? Number.MAX_VALUE : -Number.MAX_VALUE));
    expect(firstNonFiniteIn(huge)).toBe(-1);
    expect(() => IsolationForest.fit({ data: huge, rows: 35_000, cols: 2 }, { seed: 1, trees: 3 })).not.toThrow();
  });

  it("finds the first NaN or Infinity wherever it is: SIMD lanes, the scalar tail, chunk edges", () => {
    const n = 70_001; // two chunks of 32,768 values and a tail; 70,001 is not a multiple of 8
    const base = finiteValues(n, 4);
    for (const at of [0, 1, 6, 7, 8, 15, 32_767, 32_768, 32_769, 65_535, 65_536, 69_999, 70_000]) {
      for (const v of [NaN, Infinity, -Infinity]) {
        const x = base.slice();
        x[at] = v;
        expect(firstNonFiniteIn(x)).toBe(at);
        if (at + 40_000 < n) x[at + 40_000] = NaN; // a later one does not hide it
        expect(firstNonFiniteIn(x)).toBe(at);
      }
    }
  });

  it("reads a view at its byteOffset", () => {
    const x = finiteValues(50_000, 5);
    x[12_345] = NaN;
    expect(firstNonFiniteIn(x.subarray(10_001))).toBe(12_345 - 10_001);
    expect(firstNonFiniteIn(x.subarray(12_346))).toBe(-1);
  });
});

describe("groupPicks (sample positions grouped by table chunk)", () => {
  it("lists every position once, chunk by chunk, in increasing order within a chunk", () => {
    const w = new WasmInstance();
    const rng = new Rng(8);
    const rows = 100_000;
    const chunkRows = 4096;
    const chunks = Math.ceil(rows / chunkRows);
    const picks = Uint32Array.from({ length: 5000 }, () => rng.int(rows));
    const p = w.copyIn(picks);
    const start = w.alloc((chunks + 1) * 4);
    const order = w.alloc(picks.length * 4);
    w.k.groupPicks(p, picks.length, chunkRows, chunks, start, order);
    const s = w.u32(start, chunks + 1);
    const o = w.u32(order, picks.length);
    expect(s[0]).toBe(0);
    expect(s[chunks]).toBe(picks.length);
    for (let b = 0; b < chunks; b++) {
      const expected = [...picks.keys()].filter((k) => Math.floor(picks[k] / chunkRows) === b);
      expect([...o.subarray(s[b], s[b + 1])]).toEqual(expected);
    }
  });
});

describe("fit's one pass over a dense table", () => {
  const trees = (f: IsolationForest): unknown[] => {
    const t = f.compactTrees;
    return [t.treeStart, t.feature, t.split, t.leafSize, t.right];
  };

  it("grows the same trees as from number[][] (rows gathered one by one), over several chunks", () => {
    for (const [rows, cols, opts] of [[40_000, 3, { seed: 2 }], [9000, 5, { seed: 3, maxFeatures: 2, trees: 20 }], [3, 20_000, { seed: 4, trees: 5 }]] as const) {
      const X = uniformTable(rows + cols, rows, cols);
      expect(trees(IsolationForest.fit(dense(X), opts))).toEqual(trees(IsolationForest.fit(X, opts)));
    }
  });

  it("refuses a NaN or Infinity in any chunk, naming the first, sampled or not", () => {
    const X = dense(uniformTable(6, 50_000, 3)); // 150,000 values: 5 chunks
    for (const [at, v] of [[149_999, NaN], [98_304, -Infinity], [32_767, Infinity]] as const) {
      const data = X.data.slice();
      data[at] = v;
      data[149_998] = NaN;
      const first = Math.min(at, 149_998);
      const msg = `X[${Math.floor(first / 3)}][${first % 3}] is ${data[first]}; values must be finite numbers`;
      expect(() => IsolationForest.fit({ data, rows: 50_000, cols: 3 }, { seed: 1, sampleSize: 16, trees: 2 })).toThrow(msg);
    }
  });
});

describe("checkRowValues (rows of numbers checked in one pass)", () => {
  /** What checkRowValues must match: copy `chunk` rows at a time, then assertFinite on the copy. */
  function reference(X: unknown[][], chunk: number): void {
    const rows = asRows(X as number[][]);
    const buf = new Float64Array(chunk * rows.cols);
    for (let from = 0; from < rows.rows; from += chunk) {
      const n = Math.min(chunk, rows.rows - from);
      rows.copy(from, n, buf);
      assertFinite(buf, n, rows.cols, from);
    }
  }
  const outcome = (fn: () => void): string => {
    try {
      fn();
      return "ok";
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };

  it("names the same cell with the same error as copying chunk by chunk", () => {
    const rng = new Rng(12);
    const bad: unknown[] = [NaN, Infinity, -Infinity, "4", null, undefined, {}];
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + rng.int(40);
      const cols = 1 + rng.int(4);
      const X: unknown[][] = Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
      for (let k = rng.int(4); k > 0; k--) X[rng.int(rows)][rng.int(cols)] = bad[rng.int(bad.length)];
      const chunk = 1 + rng.int(8);
      const got = outcome(() => checkRowValues(X as number[][], cols, chunk));
      expect(got).toBe(outcome(() => reference(X, chunk)));
    }
  });

  it("names a wrong type before a non-finite value earlier in the same chunk, not in an earlier one", () => {
    const X: unknown[][] = [[1, NaN], [2, "x"], [3, 4]];
    expect(() => checkRowValues(X as number[][], 2, 2)).toThrow(/X\[1\]\[1\] must be a number, got "x"/);
    expect(() => checkRowValues(X as number[][], 2, 1)).toThrow(/X\[0\]\[1\] is NaN/);
  });

  it("reads typed-array rows too", () => {
    expect(() => checkRowValues([Float64Array.of(1, 2), Float64Array.of(3, Infinity)], 2, 10)).toThrow(/X\[1\]\[1\] is Infinity/);
    expect(() => checkRowValues([Float32Array.of(1, 2)], 2, 10)).not.toThrow();
  });
});
