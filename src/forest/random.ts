/**
 * A small seeded PRNG: xoshiro128** (Blackman & Vigna) on four 32-bit words,
 * seeded through splitmix32 so that any integer seed, including 0, gives a
 * well-mixed, non-zero state. Not cryptographic; for reproducible simulation,
 * sampling and tree building.
 */

const TWO_POW_32 = 4294967296;

/** One splitmix32 step: returns [output, next state]; used only for seeding. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Seeded xoshiro128** generator; each instance owns its state. */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  // Polar method yields normals in pairs; the second is kept for the next call.
  private spare = 0;
  private hasSpare = false;

  /** A generator seeded from any safe integer (negative and > 2^32 included). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`seed must be a safe integer, got ${String(seed)}`);
    }
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    let a = low;
    // A second splitmix stream for the high word keeps seeds >= 2^32 distinct from their low halves.
    let b = high ^ 0x5bd1e995;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [x, na] = splitmix32(a);
      const [y, nb] = splitmix32(b);
      a = na;
      b = nb;
      words.push(high === 0 ? x : (x ^ y) >>> 0);
    }
    const [w0, w1, w2, w3] = words;
    this.setState(w0, w1, w2, w3);
  }

  /** A generator with the raw xoshiro128** state (for reference vectors); not all zero. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const r = new Rng(0);
    r.setState(s0, s1, s2, s3);
    return r;
  }

  private setState(s0: number, s1: number, s2: number, s3: number): void {
    if ((s0 | s1 | s2 | s3) === 0) {
      // The all-zero state is a fixed point of xoshiro; splitmix never yields it in practice.
      throw new RangeError("state must not be all zero, got [0, 0, 0, 0]");
    }
    this.s0 = s0 | 0;
    this.s1 = s1 | 0;
    this.s2 = s2 | 0;
    this.s3 = s3 | 0;
    this.hasSpare = false;
  }

  /** The next 32-bit output as an unsigned integer in [0, 2^32). */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`n must be an integer in [1, 2^32], got ${String(n)}`);
    }
    // Accept only draws below the largest multiple of n, so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal deviate (mean 0, standard deviation 1), Marsaglia polar method. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError("pick needs a non-empty array, got length 0");
    return arr[this.int(arr.length)];
  }
}
