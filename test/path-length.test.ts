import { describe, expect, it } from "vitest";
import { averagePathLength, harmonic } from "../src/forest/reference.js";
import { WasmInstance } from "../src/wasm.js";

// c(n) = 2 H(n-1) - 2 (n-1) / n, checked against exact fractions and a long exact sum.
const wasm = new WasmInstance().k;
const impls: Array<[string, (n: number) => number]> = [
  ["ts", averagePathLength],
  ["wasm", (n) => wasm.averagePathLength(n)],
];

describe.each(impls)("average path length c(n) (%s)", (_name, c) => {
  it("matches the closed forms for small n", () => {
    expect(c(0)).toBe(0);
    expect(c(1)).toBe(0);
    expect(c(2)).toBe(1);
    expect(c(3)).toBeCloseTo(2 * (1 + 1 / 2) - 4 / 3, 15); // 5/3
    expect(c(4)).toBeCloseTo(2 * (1 + 1 / 2 + 1 / 3) - 6 / 4, 15); // 13/6
  });

  it("matches an exact harmonic sum on both sides of the series cut-over", () => {
    for (const n of [256, 1024, 1025, 1026, 5000, 65536]) {
      let h = 0;
      for (let k = n - 1; k >= 1; k--) h += 1 / k;
      expect(Math.abs(c(n) - (2 * h - (2 * (n - 1)) / n))).toBeLessThan(1e-12);
    }
  });

  it("grows like 2 ln n", () => {
    expect(c(1e6) / (2 * Math.log(1e6))).toBeGreaterThan(0.9);
    expect(c(1e6)).toBeLessThan(2 * Math.log(1e6));
  });
});

describe("harmonic numbers", () => {
  it("H(1) = 1, H(2) = 1.5, H(3) = 11/6", () => {
    expect(harmonic(1)).toBe(1);
    expect(harmonic(2)).toBe(1.5);
    expect(harmonic(3)).toBeCloseTo(11 / 6, 15);
  });
});

describe("the WASM random stream (xoshiro256** seeded by splitmix64)", () => {
  // An independent BigInt implementation of the published algorithms.
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (64n - k))) & M;
  function splitmix(x: bigint): bigint {
    let z = (x + 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return z ^ (z >> 31n);
  }
  function reference(seed: bigint, count: number): number[] {
    const s: bigint[] = [];
    let x = seed;
    for (let i = 0; i < 4; i++) s.push((x = splitmix(x)));
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const result = (rotl((s[1] * 5n) & M, 7n) * 9n) & M;
      const t = (s[1] << 17n) & M;
      s[2] ^= s[0];
      s[3] ^= s[1];
      s[1] ^= s[2];
      s[0] ^= s[3];
      s[2] ^= t;
      s[3] = rotl(s[3], 45n);
      out.push(Number(result >> 11n) / 2 ** 53);
    }
    return out;
  }

  it("gives the reference sequence for several seeds, including ones above 2^32", () => {
    const w = new WasmInstance();
    const rng = w.alloc(32);
    for (const seed of [0, 1, 42, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
      w.k.seedRng(rng, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0);
      const got = Array.from({ length: 50 }, () => w.k.rngDouble(rng));
      expect(got).toEqual(reference(BigInt(seed), 50));
    }
  });
});
