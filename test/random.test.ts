import { describe, expect, it } from "vitest";
import { Rng } from "../src/forest/random.js";

// An independent xoshiro128** written from the paper's definition with BigInt masks,
// so the Int32/Math.imul tricks in src/forest/random.ts are checked against plain arithmetic.
function referenceXoshiro(seedState: [number, number, number, number], n: number): number[] {
  const M = 0xffffffffn;
  let [a, b, c, d] = seedState.map((x) => BigInt(x) & M);
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((b * 5n) & M, 7n) * 9n) & M));
    const t = (b << 9n) & M;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11n);
  }
  return out;
}

describe("Rng (xoshiro128**)", () => {
  it("matches the algorithm on a raw state: hand-derived first outputs and a reference run", () => {
    const r = Rng.fromState(1, 2, 3, 4);
    // First three outputs worked by hand from state {1, 2, 3, 4}: rotl(2*5, 7)*9 = 11520, then s1 becomes 0, ...
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040]);
    const state: [number, number, number, number] = [0x9e3779b9, 0x7f4a7c15, 0xdeadbeef, 0x01234567];
    const a = Rng.fromState(...state);
    const got = Array.from({ length: 2000 }, () => a.nextU32());
    expect(got).toEqual(referenceXoshiro(state, 2000));
  });

  it("gives the same sequence for the same seed and different ones for different seeds", () => {
    const draw = (seed: number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 50 }, () => r.nextU32());
    };
    expect(draw(42)).toEqual(draw(42));
    const seeds = [0, 1, 2, -1, 42, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
    const firsts = seeds.map((s) => draw(s).join(","));
    expect(new Set(firsts).size).toBe(seeds.length);
  });

  it("keeps next() in [0, 1)", () => {
    const r = new Rng(3);
    let outside = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
    }
    expect(outside).toBe(0);
  });

  it("draws int(n) in range and roughly uniform (chi-square)", () => {
    const r = new Rng(7);
    const n = 10;
    const draws = 100000;
    const counts = new Array<number>(n).fill(0);
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const k = r.int(n);
      if (Number.isInteger(k) && k >= 0 && k < n) counts[k] += 1;
      else outside++;
    }
    expect(outside).toBe(0);
    const expected = draws / n;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: mean 9; 40 is far in the tail (p < 1e-5).
    expect(chi2).toBeLessThan(40);
    expect(r.int(1)).toBe(0);
  });

  it("is unbiased for a large n where plain modulo would not be", () => {
    // n = 3 * 2^30: with x % n the residues below 2^30 would come up twice as often (1/2 instead of 1/3).
    const r = new Rng(11);
    const n = 3 * 2 ** 30;
    let low = 0;
    const draws = 30000;
    for (let i = 0; i < draws; i++) if (r.int(n) < 2 ** 30) low++;
    expect(low / draws).toBeGreaterThan(0.3);
    expect(low / draws).toBeLessThan(0.366);
    const top = new Rng(5).int(2 ** 32);
    expect(top >= 0 && top < 2 ** 32).toBe(true);
  });

  it("draws normal() with mean 0 and standard deviation 1", () => {
    const r = new Rng(13);
    const n = 100000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    // Standard error of the mean is 1/sqrt(n) ~ 0.003; these bounds are about 6 of them.
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
  });

  it("picks every element of an array and refuses an empty one", () => {
    const r = new Rng(17);
    const items = ["a", "b", "c", "d"] as const;
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.pick(items));
    expect([...seen].sort()).toEqual(["a", "b", "c", "d"]);
    expect(() => r.pick([])).toThrow(RangeError);
  });

  it("rejects bad arguments with RangeErrors naming them", () => {
    expect(() => new Rng(1.5)).toThrow(/seed must be a safe integer, got 1.5/);
    expect(() => new Rng(Number.NaN)).toThrow(RangeError);
    const r = new Rng(1);
    expect(() => r.int(0)).toThrow(/n must be an integer in \[1, 2\^32\], got 0/);
    expect(() => r.int(2.5)).toThrow(RangeError);
    expect(() => r.int(2 ** 32 + 1)).toThrow(RangeError);
    expect(() => Rng.fromState(0, 0, 0, 0)).toThrow(/state must not be all zero/);
  });
});
