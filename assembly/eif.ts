// Extended Isolation Forest kernels (Hariri, Kind & Brunner 2019): trees whose
// splits are random hyperplanes instead of axis-parallel cuts. Same ABI rules as
// index.ts: raw byte offsets into this instance's memory, owned by src/wasm.ts;
// no validation, allocation or I/O here.
//
// One tree as eifBuildTree writes it, nodes in preorder:
//   count      u32  non-zero coordinates of the node's normal vector n; 0 for a leaf
//   size       u32  training rows that reached the node (leaves; 0 for internal)
//   intercept  f64  b = p . n (internal): go left when sum_k x[feat_k] * val_k <= b
//   right      u32  index of the right child within the tree (left child = index + 1)
// and the coefficients of the internal nodes, node after node in preorder:
//   coefFeature u32, coefValue f64  (features ascending within a node)
//
// The TS side packs the trees end to end (count becoming coefStart) and lays
// them out for scoring (see "scoring" below).

// ---------------------------------------------------------------- random numbers
// xoshiro256** over the same 32-byte state layout as index.ts (seeded there by
// seedRng through splitmix64), so one stream runs through sampling and building.

let r0: u64 = 0;
let r1: u64 = 0;
let r2: u64 = 0;
let r3: u64 = 0;

function next(): u64 {
  const result = rotl<u64>(r1 * 5, 7) * 9;
  const t = r1 << 17;
  r2 ^= r0;
  r3 ^= r1;
  r1 ^= r2;
  r0 ^= r3;
  r2 ^= t;
  r3 = rotl<u64>(r3, 45);
  return result;
}

/** Uniform double in [0, 1), 53 random bits. */
function uniform(): f64 {
  return <f64>(next() >> 11) * 1.1102230246251565e-16; // 2^-53
}

/** Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject). */
function below(bound: u32): u32 {
  let m = (next() >> 32) * <u64>bound;
  let low = <u32>m;
  if (low < bound) {
    const floor: u32 = (<u32>0 - bound) % bound;
    while (low < floor) {
      m = (next() >> 32) * <u64>bound;
      low = <u32>m;
    }
  }
  return <u32>(m >> 32);
}

/** Standard normal deviate (Box-Muller, one value per pair of uniforms). */
function normal(): f64 {
  const u = 1.0 - uniform(); // (0, 1]: log stays finite
  const v = uniform();
  return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(6.283185307179586 * v);
}

// ---------------------------------------------------------------- building
// Build context (module globals: one build at a time per instance).
let gSample: usize = 0; // this tree's rows, f64 row-major [psi][cols]
let gCols: u32 = 0;
let gExt: u32 = 0;
let gHeight: u32 = 0;
let gIdx: usize = 0; // u32 row ids being partitioned
let gDot: usize = 0; // f64 per row id: (x . n) at the node being split
let gMin: usize = 0; // f64 per feature: the node's bounding box
let gMax: usize = 0;
let gFeats: usize = 0; // u32: the node's non-constant features
let gCount: usize = 0;
let gSize: usize = 0;
let gIntercept: usize = 0;
let gRight: usize = 0;
let gCoefFeature: usize = 0;
let gCoefValue: usize = 0;
let gNodes: u32 = 0;
let gCoefs: u32 = 0;

/** Scratch bytes eifBuildTree needs in `work` for psi rows of `cols` columns. */
export function eifWorkBytes(psi: u32, cols: u32): usize {
  return (<usize>psi << 2) + (<usize>psi << 3) + (<usize>cols << 4) + (<usize>cols << 2) + 8;
}

function leaf(id: u32, n: u32): u32 {
  store<u32>(gCount + (<usize>id << 2), 0);
  store<u32>(gSize + (<usize>id << 2), n);
  store<f64>(gIntercept + (<usize>id << 3), 0);
  store<u32>(gRight + (<usize>id << 2), 0);
  return id;
}

function growNode(lo: u32, hi: u32, depth: u32): u32 {
  const id = gNodes++;
  const n = hi - lo;
  if (depth >= gHeight || n <= 1) return leaf(id, n);
  const cols = gCols;
  const rowBytes = <usize>cols << 3;

  // The node's bounding box; hyperplanes use only its non-constant features, so
  // that a split can always separate some rows (as the standard forest skips
  // constant features). No such feature: the rows are all equal, a leaf.
  for (let f: u32 = 0; f < cols; f++) {
    store<f64>(gMin + (<usize>f << 3), Infinity);
    store<f64>(gMax + (<usize>f << 3), -Infinity);
  }
  for (let i = lo; i < hi; i++) {
    const row = gSample + <usize>load<u32>(gIdx + (<usize>i << 2)) * rowBytes;
    for (let f: u32 = 0; f < cols; f++) {
      const v = load<f64>(row + (<usize>f << 3));
      const pm = gMin + (<usize>f << 3);
      const pM = gMax + (<usize>f << 3);
      store<f64>(pm, min(load<f64>(pm), v));
      store<f64>(pM, max(load<f64>(pM), v));
    }
  }
  let m: u32 = 0;
  for (let f: u32 = 0; f < cols; f++) {
    if (load<f64>(gMax + (<usize>f << 3)) > load<f64>(gMin + (<usize>f << 3))) {
      store<u32>(gFeats + (<usize>m << 2), f);
      m++;
    }
  }
  if (m == 0) return leaf(id, n);

  // extensionLevel + 1 of them (fewer when fewer vary), uniformly: a partial Fisher-Yates shuffle.
  const k = min(gExt + 1, m);
  for (let j: u32 = 0; j < k; j++) {
    const r = j + below(m - j);
    const fr = load<u32>(gFeats + (<usize>r << 2));
    store<u32>(gFeats + (<usize>r << 2), load<u32>(gFeats + (<usize>j << 2)));
    store<u32>(gFeats + (<usize>j << 2), fr);
  }
  // Ascending features: the dot products then read each row front to back.
  for (let j: u32 = 1; j < k; j++) {
    const f = load<u32>(gFeats + (<usize>j << 2));
    let i = j;
    while (i > 0 && load<u32>(gFeats + (<usize>(i - 1) << 2)) > f) {
      store<u32>(gFeats + (<usize>i << 2), load<u32>(gFeats + (<usize>(i - 1) << 2)));
      i--;
    }
    store<u32>(gFeats + (<usize>i << 2), f);
  }

  // Normal n ~ N(0, 1) per chosen coordinate, intercept point p uniform in the box: b = p . n.
  const c0 = gCoefs;
  let b: f64 = 0;
  for (let j: u32 = 0; j < k; j++) {
    const f = load<u32>(gFeats + (<usize>j << 2));
    const nv = normal();
    const lo64 = load<f64>(gMin + (<usize>f << 3));
    const p = lo64 + uniform() * (load<f64>(gMax + (<usize>f << 3)) - lo64);
    store<u32>(gCoefFeature + (<usize>gCoefs << 2), f);
    store<f64>(gCoefValue + (<usize>gCoefs << 3), nv);
    gCoefs++;
    b += p * nv;
  }

  // Route every row by the same test the scorers apply: (x . n) <= b goes left.
  for (let i = lo; i < hi; i++) {
    const rid = load<u32>(gIdx + (<usize>i << 2));
    const row = gSample + <usize>rid * rowBytes;
    let s: f64 = 0;
    for (let j = c0; j < c0 + k; j++) {
      s += load<f64>(row + (<usize>load<u32>(gCoefFeature + (<usize>j << 2)) << 3)) * load<f64>(gCoefValue + (<usize>j << 3));
    }
    store<f64>(gDot + (<usize>rid << 3), s);
  }
  let a = lo;
  let z = hi;
  while (a < z) {
    const ra = load<u32>(gIdx + (<usize>a << 2));
    if (load<f64>(gDot + (<usize>ra << 3)) <= b) {
      a++;
    } else {
      z--;
      store<u32>(gIdx + (<usize>a << 2), load<u32>(gIdx + (<usize>z << 2)));
      store<u32>(gIdx + (<usize>z << 2), ra);
    }
  }
  store<u32>(gCount + (<usize>id << 2), k);
  store<u32>(gSize + (<usize>id << 2), 0);
  store<f64>(gIntercept + (<usize>id << 3), b);
  // A hyperplane may miss every row on one side (the paper keeps such splits): that child is an empty leaf.
  growNode(lo, a, depth + 1);
  store<u32>(gRight + (<usize>id << 2), growNode(a, hi, depth + 1));
  return id;
}

/**
 * Grow one hyperplane tree on the `psi` rows at `sample` (f64, row-major, `cols`
 * wide) to height `height`, with `ext` + 1 non-zero coordinates per normal vector.
 * Nodes and coefficients go to the arrays above (room for 2^(height+1) - 1 nodes
 * and (2^height - 1) (ext + 1) coefficients); `work` holds eifWorkBytes(psi, cols).
 * Draws from the generator state at `rng`; returns the node count.
 */
export function eifBuildTree(
  rng: usize, sample: usize, psi: u32, cols: u32, ext: u32, height: u32,
  count: usize, size: usize, intercept: usize, right: usize, coefFeature: usize, coefValue: usize, work: usize,
): u32 {
  r0 = load<u64>(rng, 0);
  r1 = load<u64>(rng, 8);
  r2 = load<u64>(rng, 16);
  r3 = load<u64>(rng, 24);
  gSample = sample;
  gCols = cols;
  gExt = ext;
  gHeight = height;
  gDot = (work + 7) & ~(<usize>7);
  gMin = gDot + (<usize>psi << 3);
  gMax = gMin + (<usize>cols << 3);
  gIdx = gMax + (<usize>cols << 3);
  gFeats = gIdx + (<usize>psi << 2);
  gCount = count;
  gSize = size;
  gIntercept = intercept;
  gRight = right;
  gCoefFeature = coefFeature;
  gCoefValue = coefValue;
  gNodes = 0;
  gCoefs = 0;
  for (let i: u32 = 0; i < psi; i++) store<u32>(gIdx + (<usize>i << 2), i);
  growNode(0, psi, 0);
  store<u64>(rng, r0, 0);
  store<u64>(rng, r1, 8);
  store<u64>(rng, r2, 16);
  store<u64>(rng, r3, 24);
  return gNodes;
}

// ---------------------------------------------------------------- scoring
// Scoring form (laid out by src/eif.ts): every tree one stream of nodes in
// preorder, a node's coefficients right after its header, so the walk reads
// forward in memory and a left child starts where its parent's coefficients end:
//
//   header  16 bytes: u32 count (0 = leaf) | u32 right child (byte offset from `model`) | f64 b, or the leaf's path length
//   coef    16 bytes each (count of them):  u32 feature * 8 | u32 0 | f64 value
//
// `roots` (u32, trees) holds each tree's root as a byte offset from `model`.

/** Rows per block: every tree walks a block while the block stays in cache. */
const BLOCK: u32 = 256;

/**
 * Score `rows` rows (f64, row-major, `cols` wide) at `x` against trees in the
 * scoring form at `model`; s(x) = 2^(-mean path / cPsi) into `out` (f64). Dot
 * products run over the coefficients in stored order and path lengths are
 * summed in tree order, both in f64, as the TS reference does.
 */
export function eifScore(x: usize, rows: u32, cols: u32, model: usize, roots: usize, trees: u32, cPsi: f64, out: usize): void {
  const rowBytes = <usize>cols << 3;
  memory.fill(out, 0, <usize>rows << 3);
  for (let rb: u32 = 0; rb < rows; rb += BLOCK) {
    const re = min(rows, rb + BLOCK);
    for (let t: u32 = 0; t < trees; t++) {
      const root = model + <usize>load<u32>(roots + (<usize>t << 2));
      for (let r = rb; r < re; r++) {
        const p = x + <usize>r * rowBytes;
        let node = root;
        let count = load<u32>(node);
        while (count != 0) {
          let s: f64 = 0;
          let c = node + 16;
          const end = c + (<usize>count << 4);
          while (c < end) {
            s += load<f64>(p + <usize>load<u32>(c)) * load<f64>(c, 8);
            c += 16;
          }
          node = s <= load<f64>(node, 8) ? end : model + <usize>load<u32>(node, 4);
          count = load<u32>(node);
        }
        const o = out + (<usize>r << 3);
        store<f64>(o, load<f64>(o) + load<f64>(node, 8));
      }
    }
  }
  const nTrees = <f64>trees;
  for (let r: u32 = 0; r < rows; r++) {
    const o = out + (<usize>r << 3);
    store<f64>(o, cPsi > 0 ? Math.pow(2.0, -(load<f64>(o) / nTrees) / cPsi) : 0.5);
  }
}
