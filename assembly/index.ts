// logforest's WebAssembly kernels: sampling, tree building, layout and scoring.
//
// The ABI: every export below takes raw byte offsets into this instance's linear
// memory; src/wasm.ts owns that memory (allocation, copies, views). Nothing here
// validates, allocates or does I/O; the TypeScript side checks every argument.
//
// Canonical trees ("compact" form), one tree after another, nodes in preorder:
//   feature  i32  split feature, or -1 for a leaf
//   thresh   f32  go left when x[feature] <= thresh (internal nodes)
//   size     u32  training rows that reached the node (leaves; 0 for internal)
//   right    u32  index of the right child within the tree (left child = index + 1)
//
// Scoring form (complete trees of height L built from the compact form, one
// fixed-size array per tree): see "layout" below.

// ---------------------------------------------------------------- random numbers
// xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64. The state lives
// in memory (4 x u64 at `rng`) so one stream runs through sampling and building.

let s0: u64 = 0;
let s1: u64 = 0;
let s2: u64 = 0;
let s3: u64 = 0;

function splitmix64(x: u64): u64 {
  let z = x + 0x9e3779b97f4a7c15;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

function nextU64(): u64 {
  const result = rotl<u64>(s1 * 5, 7) * 9;
  const t = s1 << 17;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u64>(s3, 45);
  return result;
}

/** Uniform double in [0, 1) with 53 random bits. */
function nextDouble(): f64 {
  return <f64>(nextU64() >> 11) * 1.1102230246251565e-16; // 2^-53
}

/** Uniform integer in [0, bound), bound < 2^32, unbiased (Lemire's multiply-and-reject). */
function nextBelow(bound: u32): u32 {
  let m = (nextU64() >> 32) * <u64>bound;
  let low = <u32>m;
  if (low < bound) {
    const floor: u32 = (<u32>0 - bound) % bound;
    while (low < floor) {
      m = (nextU64() >> 32) * <u64>bound;
      low = <u32>m;
    }
  }
  return <u32>(m >> 32);
}

function loadRng(rng: usize): void {
  s0 = load<u64>(rng, 0);
  s1 = load<u64>(rng, 8);
  s2 = load<u64>(rng, 16);
  s3 = load<u64>(rng, 24);
}

function saveRng(rng: usize): void {
  store<u64>(rng, s0, 0);
  store<u64>(rng, s1, 8);
  store<u64>(rng, s2, 16);
  store<u64>(rng, s3, 24);
}

/** Seed the 32-byte generator state at `rng` from a 64-bit seed (given as two u32 halves). */
export function seedRng(rng: usize, seedLow: u32, seedHigh: u32): void {
  let x: u64 = (<u64>seedHigh << 32) | <u64>seedLow;
  x = splitmix64(x);
  s0 = x;
  x = splitmix64(x);
  s1 = x;
  x = splitmix64(x);
  s2 = x;
  x = splitmix64(x);
  s3 = x;
  saveRng(rng);
}

/** Next uniform double from the stream at `rng` (for tests of the generator). */
export function rngDouble(rng: usize): f64 {
  loadRng(rng);
  const d = nextDouble();
  saveRng(rng);
  return d;
}

// ---------------------------------------------------------------- sampling
/**
 * For each of `trees` trees, draw `psi` distinct row indices from [0, n) (Floyd's
 * algorithm, O(psi) whatever n is) into `out` (u32, trees x psi). `table` is scratch
 * for an open-addressing set of 2^tableBits u32 slots (2^tableBits >= 2 psi).
 */
export function sampleRows(rng: usize, n: u32, psi: u32, trees: u32, out: usize, table: usize, tableBits: u32): void {
  loadRng(rng);
  const mask: u32 = (1 << tableBits) - 1;
  for (let t: u32 = 0; t < trees; t++) {
    const dst = out + (<usize>t * psi << 2);
    if (psi == n) {
      for (let i: u32 = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), i);
      continue;
    }
    memory.fill(table, 0, <usize>(mask + 1) << 2);
    let k: u32 = 0;
    for (let j: u32 = n - psi; j < n; j++) {
      const r = nextBelow(j + 1);
      // Keys are stored plus one so that zero marks an empty slot.
      const pick = insertIfAbsent(table, mask, r + 1) ? r : j;
      if (pick == j) insertIfAbsent(table, mask, j + 1);
      store<u32>(dst + (<usize>k << 2), pick);
      k++;
    }
  }
  saveRng(rng);
}

/** Insert `key` (> 0); true when it was not there before. */
function insertIfAbsent(table: usize, mask: u32, key: u32): bool {
  let h = (key * 0x9e3779b1) & mask;
  while (true) {
    const slot = table + (<usize>h << 2);
    const v = load<u32>(slot);
    if (v == 0) {
      store<u32>(slot, key);
      return true;
    }
    if (v == key) return false;
    h = (h + 1) & mask;
  }
}

// ---------------------------------------------------------------- path lengths
const EULER_GAMMA: f64 = 0.5772156649015329;

/** Harmonic number H(m): exact sum for m <= 1024, asymptotic series beyond. */
function harmonic(m: f64): f64 {
  if (m <= 1024) {
    let h: f64 = 0;
    for (let k = <i32>m; k >= 1; k--) h += 1.0 / <f64>k;
    return h;
  }
  const inv = 1.0 / m;
  const inv2 = inv * inv;
  return Math.log(m) + EULER_GAMMA + 0.5 * inv - inv2 / 12.0 + (inv2 * inv2) / 120.0;
}

/** c(n): the average path length of an unsuccessful BST search among n points. */
export function averagePathLength(n: f64): f64 {
  if (n <= 1) return 0;
  return 2.0 * harmonic(n - 1) - (2.0 * (n - 1)) / n;
}

// ---------------------------------------------------------------- building
// Build context (module globals: one build at a time per instance).
let bSample: usize = 0; // this tree's sample, column-major f64 [cols][psi]
let bPsi: u32 = 0;
let bIdx: usize = 0; // u32 row ids being partitioned
let bFeatures: usize = 0; // u32 candidate features of this tree
let bFeatureCount: u32 = 0;
let bHeight: u32 = 0;
let bFeature: usize = 0;
let bThresh: usize = 0;
let bSize: usize = 0;
let bRight: usize = 0;
let bCount: u32 = 0;

/** The largest f32 strictly below `x` for finite x > -f32.MAX. */
function f32Below(x: f64): f32 {
  let f = <f32>x;
  if (<f64>f >= x) {
    const bits = reinterpret<u32>(f);
    if (f == 0) return reinterpret<f32>(<u32>0x80000001); // below +-0: the smallest negative
    f = reinterpret<f32>(f > 0 ? bits - 1 : bits + 1);
  }
  return f;
}

/**
 * A threshold stored as f32 that splits [lo, hi] like t does: t rounded up to f32
 * when that stays below hi, else the largest f32 below hi. NaN when no f32 lies in
 * [lo, hi): the feature is then treated as constant in the node.
 */
function f32Threshold(lo: f64, hi: f64, t: f64): f32 {
  let f = <f32>t;
  if (<f64>f < t) {
    const bits = reinterpret<u32>(f);
    f = reinterpret<f32>(f >= 0 ? bits + 1 : bits - 1);
  }
  if (<f64>f >= hi || <f64>f < lo) f = f32Below(hi);
  if (<f64>f < lo || <f64>f >= hi) return NaN;
  return f;
}

function growNode(lo: u32, hi: u32, depth: u32): u32 {
  const id = bCount++;
  const n = hi - lo;
  const off = <usize>id << 2;
  if (depth < bHeight && n > 1) {
    // Try the candidate features in random order (a progressive Fisher-Yates
    // shuffle), so the split feature is uniform among the non-constant ones.
    for (let k: u32 = 0; k < bFeatureCount; k++) {
      const j = k + nextBelow(bFeatureCount - k);
      const fj = load<u32>(bFeatures + (<usize>j << 2));
      store<u32>(bFeatures + (<usize>j << 2), load<u32>(bFeatures + (<usize>k << 2)));
      store<u32>(bFeatures + (<usize>k << 2), fj);
      const col = bSample + ((<usize>fj * bPsi) << 3);
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = lo; i < hi; i++) {
        const v = load<f64>(col + (<usize>load<u32>(bIdx + (<usize>i << 2)) << 3));
        // Selects, not f64.min/max: the sample is finite, so their NaN handling is wasted.
        mn = select<f64>(v, mn, v < mn);
        mx = select<f64>(v, mx, v > mx);
      }
      if (!(mx > mn)) continue;
      const th = f32Threshold(mn, mx, mn + nextDouble() * (mx - mn));
      if (isNaN(th)) continue;
      // Partition bIdx[lo, hi) so rows with x <= th come first, without a branch on
      // the comparison (a coin flip at most nodes): swap always, advance a when it holds.
      // The order within each side differs from a branching partition's, but a child
      // depends only on which rows it holds, so the trees are the same.
      const t64 = <f64>th;
      let a = lo;
      for (let i = lo; i < hi; i++) {
        const ri = load<u32>(bIdx + (<usize>i << 2));
        store<u32>(bIdx + (<usize>i << 2), load<u32>(bIdx + (<usize>a << 2)));
        store<u32>(bIdx + (<usize>a << 2), ri);
        a += <u32>(load<f64>(col + (<usize>ri << 3)) <= t64);
      }
      store<i32>(bFeature + off, <i32>fj);
      store<f32>(bThresh + off, th);
      store<u32>(bSize + off, 0);
      growNode(lo, a, depth + 1);
      store<u32>(bRight + off, growNode(a, hi, depth + 1));
      return id;
    }
  }
  store<i32>(bFeature + off, -1);
  store<f32>(bThresh + off, 0);
  store<u32>(bSize + off, n);
  store<u32>(bRight + off, 0);
  return id;
}

/**
 * Grow `trees` trees. `sample` holds each tree's rows as gathered, row-major:
 * f64 [trees][psi][cols]. Tree t's compact nodes go to the arrays at offset
 * t * (2 psi - 1) entries; its node count to `counts` (u32). Each tree draws
 * `maxFeatures` candidate features (all when equal to cols). `work` is scratch
 * for psi * cols f64 followed by psi + cols u32.
 */
export function buildTrees(
  rng: usize, sample: usize, psi: u32, cols: u32, trees: u32, maxFeatures: u32, height: u32,
  feature: usize, thresh: usize, size: usize, right: usize, counts: usize, work: usize,
): void {
  loadRng(rng);
  bPsi = psi;
  bHeight = height;
  // The tree being grown reads its sample column by column (min, max, partition).
  bSample = work;
  bIdx = work + (<usize>psi * cols << 3);
  bFeatures = bIdx + (<usize>psi << 2);
  const stride = <usize>(2 * psi - 1) << 2;
  for (let t: u32 = 0; t < trees; t++) {
    const rowsOfTree = sample + (<usize>t * psi * cols << 3);
    for (let i: u32 = 0; i < psi; i++) {
      for (let f: u32 = 0; f < cols; f++) {
        store<f64>(bSample + ((<usize>f * psi + i) << 3), load<f64>(rowsOfTree + ((<usize>i * cols + f) << 3)));
      }
    }
    for (let i: u32 = 0; i < psi; i++) store<u32>(bIdx + (<usize>i << 2), i);
    for (let f: u32 = 0; f < cols; f++) store<u32>(bFeatures + (<usize>f << 2), f);
    if (maxFeatures < cols) {
      // This tree's feature subset: the first maxFeatures of a partial shuffle.
      for (let k: u32 = 0; k < maxFeatures; k++) {
        const j = k + nextBelow(cols - k);
        const fj = load<u32>(bFeatures + (<usize>j << 2));
        store<u32>(bFeatures + (<usize>j << 2), load<u32>(bFeatures + (<usize>k << 2)));
        store<u32>(bFeatures + (<usize>k << 2), fj);
      }
    }
    bFeatureCount = maxFeatures;
    bFeature = feature + <usize>t * stride;
    bThresh = thresh + <usize>t * stride;
    bSize = size + <usize>t * stride;
    bRight = right + <usize>t * stride;
    bCount = 0;
    growNode(0, psi, 0);
    store<u32>(counts + (<usize>t << 2), bCount);
  }
  saveRng(rng);
}

// ---------------------------------------------------------------- layout
// Scoring form: each tree is one array of 2^(L+1) entries of 8 bytes, indexed
// from 1 (entry 0 is unused) so the children of entry i are 2i and 2i + 1 and a
// walk of L steps from entry 1 lands on the tree's leaves:
//
//   [ -- | 1 | 2 3 | 4 5 6 7 | ... | 2^(L-1) .. 2^L - 1 | 2^L .. 2^(L+1) - 1 ]
//          internal nodes: { f32 threshold, u32 feature * LANE_BYTES }      leaves: f64
//
// A leaf reached before depth L is padded with pass-through nodes (threshold
// +inf, so always left) down to depth L; every copy of it holds its path length.

/** Rows walked in lockstep; feature f of lane j sits at f * LANE_BYTES + j * 4 in a group. */
const LANES: u32 = 8;
const LANE_BYTES: u32 = LANES * 4;

let lFeature: usize = 0;
let lThresh: usize = 0;
let lSize: usize = 0;
let lRight: usize = 0;
let lTree: usize = 0;
let lHeight: u32 = 0;

function padLeaf(i: u32, depth: u32, value: f64): void {
  if (depth == lHeight) {
    store<f64>(lTree + (<usize>i << 3), value);
    return;
  }
  store<f32>(lTree + (<usize>i << 3), Infinity);
  store<u32>(lTree + (<usize>i << 3), 0, 4);
  padLeaf(2 * i, depth + 1, value);
  padLeaf(2 * i + 1, depth + 1, value);
}

function placeNode(id: u32, i: u32, depth: u32): void {
  const off = <usize>id << 2;
  const f = load<i32>(lFeature + off);
  if (f < 0) {
    padLeaf(i, depth, <f64>depth + averagePathLength(<f64>load<u32>(lSize + off)));
    return;
  }
  store<f32>(lTree + (<usize>i << 3), load<f32>(lThresh + off));
  store<u32>(lTree + (<usize>i << 3), <u32>f * LANE_BYTES, 4);
  placeNode(id + 1, 2 * i, depth + 1);
  placeNode(load<u32>(lRight + off), 2 * i + 1, depth + 1);
}

/**
 * Lay compact trees out in the scoring form (above), tree t at `out` + t * 2^(L+1) * 8.
 * `starts` (u32, trees + 1) gives each tree's first node in the compact arrays.
 */
export function layoutImplicit(
  feature: usize, thresh: usize, size: usize, right: usize, starts: usize, trees: u32, height: u32, out: usize,
): void {
  lHeight = height;
  const stride = <usize>(2 << height) << 3;
  for (let t: u32 = 0; t < trees; t++) {
    const start = <usize>load<u32>(starts + (<usize>t << 2)) << 2;
    lFeature = feature + start;
    lThresh = thresh + start;
    lSize = size + start;
    lRight = right + start;
    lTree = out + <usize>t * stride;
    store<u64>(lTree, 0);
    placeNode(0, 1, 0);
  }
}

/** Path length (depth + c(size)) of every leaf of the compact trees into `values` (f64 per node). */
export function leafValues(feature: usize, size: usize, right: usize, starts: usize, trees: u32, values: usize): void {
  for (let t: u32 = 0; t < trees; t++) {
    const start = load<u32>(starts + (<usize>t << 2));
    fillLeafValue(feature, size, right, values, start, 0, 0);
  }
}

function fillLeafValue(feature: usize, size: usize, right: usize, values: usize, base: u32, id: u32, depth: u32): void {
  const off = <usize>(base + id) << 2;
  if (load<i32>(feature + off) < 0) {
    store<f64>(values + (<usize>(base + id) << 3), <f64>depth + averagePathLength(<f64>load<u32>(size + off)));
    return;
  }
  store<f64>(values + (<usize>(base + id) << 3), 0);
  fillLeafValue(feature, size, right, values, base, id + 1, depth + 1);
  fillLeafValue(feature, size, right, values, base, load<u32>(right + off), depth + 1);
}

// ---------------------------------------------------------------- scoring
// The tree being walked is copied to SLOT, a fixed address, so every node load
// is one instruction with a constant offset (V8 does not schedule or unroll much:
// instruction count per step is what the scorer's speed is made of).
/** Rows per block: the block's rows, in groups, stay in L1 while every tree walks them. */
const BLOCK: u32 = 512;
/** The largest tree in the scoring form: height 11, 2^12 entries of 8 bytes (IMPLICIT_MAX_HEIGHT in src/wasm.ts). */
const SLOT_BYTES: usize = 32768;
const SLOT = memory.data(<i32>SLOT_BYTES, 64);

/** Scratch bytes scoreImplicit needs for `cols` columns. */
export function scoreScratchBytes(cols: u32): usize {
  return <usize>BLOCK * cols * 4 + (<usize>BLOCK << 3);
}

/** The smallest f32 >= x, for finite x: x > t exactly when f32Ceil(x) > t, for every f32 t. */
function f32Ceil(x: f64): f32 {
  let f = <f32>x;
  if (<f64>f < x) {
    const bits = reinterpret<u32>(f);
    f = reinterpret<f32>(f > 0 ? bits + 1 : f == 0 ? 1 : bits - 1);
  }
  return f;
}

/** Turn summed path lengths into scores s = 2^(-mean / c(psi)), in place. */
function finishScores(out: usize, rows: u32, trees: u32, cPsi: f64): void {
  const nTrees = <f64>trees;
  for (let r: u32 = 0; r < rows; r++) {
    const p = out + (<usize>r << 3);
    store<f64>(p, cPsi > 0 ? Math.pow(2.0, -(load<f64>(p) / nTrees) / cPsi) : 0.5);
  }
}

/**
 * Score `rows` rows (f64, row-major, `cols` wide) at `x` against trees in the
 * scoring form at `model`; s(x) into `out` (f64). `scratch` holds
 * scoreScratchBytes(cols) bytes.
 *
 * Rows go in blocks of 512, rounded up to f32 and regrouped so that 8 rows sit
 * side by side per feature; every tree in turn walks each group of 8 rows in
 * lockstep (eight independent load chains keep the core busy). Path lengths are
 * summed in f64 in tree order, as the reference scorer sums them.
 */
export function scoreImplicit(
  x: usize, rows: u32, cols: u32, model: usize, trees: u32, height: u32, cPsi: f64, out: usize, scratch: usize,
): void {
  const rowBytes = <usize>cols << 3;
  const groupBytes = <usize>cols * LANE_BYTES;
  const treeBytes = <usize>(2 << height) << 3;
  for (let rb: u32 = 0; rb < rows; rb += BLOCK) {
    const nb = min(BLOCK, rows - rb);
    const ng = (nb + LANES - 1) / LANES;
    const xb = x + <usize>rb * rowBytes;
    for (let r: u32 = 0; r < ng * LANES; r++) {
      const dst = scratch + <usize>(r / LANES) * groupBytes + (<usize>(r % LANES) << 2);
      const src = xb + <usize>r * rowBytes;
      // Rows past the end of the input are padded with zeros and never stored.
      for (let f: u32 = 0; f < cols; f++) {
        store<f32>(dst + <usize>f * LANE_BYTES, r < nb ? f32Ceil(load<f64>(src + (<usize>f << 3))) : 0);
      }
    }
    const acc = scratch + <usize>ng * groupBytes;
    memory.fill(acc, 0, <usize>ng * LANES << 3);
    for (let t: u32 = 0; t < trees; t++) {
      memory.copy(SLOT, model + <usize>t * treeBytes, treeBytes);
      let gp = scratch;
      let a = acc;
      for (let k: u32 = 0; k < ng; k++) {
        // Byte offsets of each lane's current entry; child = 2i + (x > threshold).
        let o0: usize = 8, o1: usize = 8, o2: usize = 8, o3: usize = 8;
        let o4: usize = 8, o5: usize = 8, o6: usize = 8, o7: usize = 8;
        for (let d: u32 = 0; d < height; d++) {
          let l = o0 << 1;
          o0 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o0, SLOT + 4)) > load<f32>(o0, SLOT));
          l = o1 << 1;
          o1 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o1, SLOT + 4), 4) > load<f32>(o1, SLOT));
          l = o2 << 1;
          o2 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o2, SLOT + 4), 8) > load<f32>(o2, SLOT));
          l = o3 << 1;
          o3 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o3, SLOT + 4), 12) > load<f32>(o3, SLOT));
          l = o4 << 1;
          o4 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o4, SLOT + 4), 16) > load<f32>(o4, SLOT));
          l = o5 << 1;
          o5 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o5, SLOT + 4), 20) > load<f32>(o5, SLOT));
          l = o6 << 1;
          o6 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o6, SLOT + 4), 24) > load<f32>(o6, SLOT));
          l = o7 << 1;
          o7 = select<usize>(l + 8, l, load<f32>(gp + load<u32>(o7, SLOT + 4), 28) > load<f32>(o7, SLOT));
        }
        store<f64>(a, load<f64>(a) + load<f64>(o0, SLOT));
        store<f64>(a, load<f64>(a, 8) + load<f64>(o1, SLOT), 8);
        store<f64>(a, load<f64>(a, 16) + load<f64>(o2, SLOT), 16);
        store<f64>(a, load<f64>(a, 24) + load<f64>(o3, SLOT), 24);
        store<f64>(a, load<f64>(a, 32) + load<f64>(o4, SLOT), 32);
        store<f64>(a, load<f64>(a, 40) + load<f64>(o5, SLOT), 40);
        store<f64>(a, load<f64>(a, 48) + load<f64>(o6, SLOT), 48);
        store<f64>(a, load<f64>(a, 56) + load<f64>(o7, SLOT), 56);
        gp += groupBytes;
        a += LANES << 3;
      }
    }
    memory.copy(out + (<usize>rb << 3), acc, <usize>nb << 3);
  }
  finishScores(out, rows, trees, cPsi);
}

/**
 * Score by walking the compact trees (for forests too tall for the implicit layout).
 * `values` holds each leaf's path length (see leafValues).
 */
export function scoreCompact(
  x: usize, rows: u32, cols: u32, feature: usize, thresh: usize, right: usize, values: usize, starts: usize,
  trees: u32, cPsi: f64, out: usize,
): void {
  const rowBytes = <usize>cols << 3;
  for (let r: u32 = 0; r < rows; r++) {
    const p = x + <usize>r * rowBytes;
    let sum: f64 = 0;
    for (let t: u32 = 0; t < trees; t++) {
      let id = load<u32>(starts + (<usize>t << 2));
      const base = id;
      let f = load<i32>(feature + (<usize>id << 2));
      while (f >= 0) {
        const off = <usize>id << 2;
        id = load<f64>(p + (<usize>f << 3)) <= <f64>load<f32>(thresh + off) ? id + 1 : base + load<u32>(right + off);
        f = load<i32>(feature + (<usize>id << 2));
      }
      sum += load<f64>(values + (<usize>id << 3));
    }
    store<f64>(out + (<usize>r << 3), sum);
  }
  finishScores(out, rows, trees, cPsi);
}

/** First byte past the module's static data: where src/wasm.ts starts its arena. */
export function heapBase(): usize {
  return __heap_base;
}

export { firstNonFinite, maybeNonFinite, groupPicks, scanGather } from "./table";
export { explainRows } from "./explain";
export { eifWorkBytes, eifBuildTree, eifScore } from "./eif";
