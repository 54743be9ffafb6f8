// The pass of fit over the whole training table: refuse NaN and Infinity anywhere
// in it, and pick out the sampled rows on the way. The table lives in JavaScript
// memory, so src/forest/build.ts copies it here a chunk at a time (a chunk stays in L2);
// every chunk is scanned with SIMD and the sampled rows that fall in it are copied
// to their places in the sample, so the table is read once, front to back.

/**
 * False when all `count` f64 at `x` are finite; true when one is NaN or +-Infinity,
 * and also, rarely, when none is: callers confirm with firstNonFinite. Each lane
 * sums differences of pairs of values, which is NaN or infinite once a non-finite
 * value is met (NaN and Infinity do not cancel out) but may also overflow on huge
 * finite ones. Two operations per two vectors instead of two per vector.
 */
export function maybeNonFinite(x: usize, count: u32): bool {
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let c = f64x2.splat(0);
  let d = f64x2.splat(0);
  const n16 = count & ~15;
  const end = x + (<usize>n16 << 3);
  for (let p = x; p < end; p += 128) {
    a = f64x2.add(a, f64x2.sub(v128.load(p), v128.load(p, 16)));
    b = f64x2.add(b, f64x2.sub(v128.load(p, 32), v128.load(p, 48)));
    c = f64x2.add(c, f64x2.sub(v128.load(p, 64), v128.load(p, 80)));
    d = f64x2.add(d, f64x2.sub(v128.load(p, 96), v128.load(p, 112)));
  }
  // t - t is +0 (no bits set) exactly for finite t.
  const t = f64x2.add(f64x2.add(a, b), f64x2.add(c, d));
  if (v128.any_true(f64x2.sub(t, t))) return true;
  for (let i = n16; i < count; i++) {
    const v = load<f64>(x + (<usize>i << 3));
    if (v - v != 0) return true;
  }
  return false;
}

/**
 * Group the `m` sampled row indices at `picks` (u32) by the chunk of `chunkRows`
 * rows they fall in (a counting sort): `order` (u32, m) receives the sample
 * positions k, chunk by chunk; chunk b's are order[start[b] .. start[b + 1]).
 * `start` holds `chunks` + 1 u32.
 */
export function groupPicks(picks: usize, m: u32, chunkRows: u32, chunks: u32, start: usize, order: usize): void {
  memory.fill(start, 0, <usize>(chunks + 1) << 2);
  for (let k: u32 = 0; k < m; k++) {
    const b = load<u32>(picks + (<usize>k << 2)) / chunkRows;
    const at = start + (<usize>(b + 1) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  for (let b: u32 = 1; b <= chunks; b++) {
    const at = start + (<usize>b << 2);
    store<u32>(at, load<u32>(at) + load<u32>(at - 4));
  }
  // Place with start[b] as the cursor, then shift back: start[b] ends where b + 1 began.
  for (let k: u32 = 0; k < m; k++) {
    const at = start + (<usize>(load<u32>(picks + (<usize>k << 2)) / chunkRows) << 2);
    const pos = load<u32>(at);
    store<u32>(order + (<usize>pos << 2), k);
    store<u32>(at, pos + 1);
  }
  for (let b = chunks; b > 0; b--) store<u32>(start + (<usize>b << 2), load<u32>(start + (<usize>(b - 1) << 2)));
  store<u32>(start, 0);
}

/**
 * One chunk of the pass: `rows` rows (f64, row-major, `cols` wide) at `chunk`, the
 * table's rows from `firstRow` on. Copies the sampled rows in it, sample positions
 * order[from .. to), to sample + k * cols f64; returns the index in the chunk of its
 * first NaN or Infinity, or -1.
 */
export function scanGather(
  chunk: usize, rows: u32, cols: u32, firstRow: u32, picks: usize, order: usize, from: u32, to: u32, sample: usize,
): i32 {
  const rowBytes = <usize>cols << 3;
  for (let j = from; j < to; j++) {
    const k = load<u32>(order + (<usize>j << 2));
    const src = chunk + <usize>(load<u32>(picks + (<usize>k << 2)) - firstRow) * rowBytes;
    const dst = sample + <usize>k * rowBytes;
    for (let o: usize = 0; o < rowBytes; o += 8) store<f64>(dst + o, load<f64>(src + o));
  }
  const count = rows * cols;
  return maybeNonFinite(chunk, count) ? firstNonFinite(chunk, count) : -1;
}

/** Index of the first NaN or +-Infinity among `count` f64 at `x`, or -1. */
export function firstNonFinite(x: usize, count: u32): i32 {
  for (let i: u32 = 0; i < count; i++) {
    const v = load<f64>(x + (<usize>i << 3));
    if (v - v != 0) return <i32>i;
  }
  return -1;
}
