import { describe, expect, it } from "vitest";
import { WasmInstance } from "../src/wasm.js";

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
