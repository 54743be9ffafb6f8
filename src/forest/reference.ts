/**
 * The plain-TypeScript reference scorer: walks each tree node by node, exactly as
 * the paper describes. It reads the same stored trees (f32 split values) as the
 * WASM scorer, so the two give the same scores; it is also the baseline the WASM
 * scorer is measured against.
 */
import type { CompactTrees } from "../wasm.js";

const EULER_GAMMA = 0.5772156649015329;

/** Harmonic number H(m): exact sum for m <= 1024, asymptotic series beyond (error < 1e-16). */
export function harmonic(m: number): number {
  if (m <= 1024) {
    let h = 0;
    for (let k = Math.floor(m); k >= 1; k--) h += 1 / k;
    return h;
  }
  const inv = 1 / m;
  const inv2 = inv * inv;
  return Math.log(m) + EULER_GAMMA + 0.5 * inv - inv2 / 12 + (inv2 * inv2) / 120;
}

/** c(n) = 2 H(n-1) - 2 (n-1) / n: average path length of an unsuccessful BST search; c(1) = 0, c(2) = 1. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  return 2 * harmonic(n - 1) - (2 * (n - 1)) / n;
}

/** s = 2^(-mean path / c(psi)); 0.5 when c(psi) = 0 (a forest grown on one row has no notion of depth). */
export function pathToScore(meanPath: number, cPsi: number): number {
  return cPsi > 0 ? Math.pow(2, -meanPath / cPsi) : 0.5;
}

/** Path length of every leaf (depth + c(size)); 0 for internal nodes. */
export function leafPathLengths(t: CompactTrees): Float64Array {
  const values = new Float64Array(t.feature.length);
  for (let tree = 0; tree < t.trees; tree++) {
    const base = t.treeStart[tree];
    const stack: Array<[number, number]> = [[0, 0]];
    while (stack.length > 0) {
      const [id, depth] = stack.pop() as [number, number];
      const node = base + id;
      if (t.feature[node] < 0) {
        values[node] = depth + averagePathLength(t.leafSize[node]);
      } else {
        stack.push([t.right[node], depth + 1], [id + 1, depth + 1]);
      }
    }
  }
  return values;
}

/** Score `rows` rows (row-major in x, `cols` wide) into out. */
export function scoreReference(
  t: CompactTrees, leafValues: Float64Array, cPsi: number, x: Float64Array, rows: number, cols: number, out: Float64Array,
): void {
  const { feature, split, right, treeStart, trees } = t;
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let sum = 0;
    for (let tree = 0; tree < trees; tree++) {
      const base = treeStart[tree];
      let node = base;
      while (feature[node] >= 0) {
        node = x[row + feature[node]] <= split[node] ? node + 1 : base + right[node];
      }
      sum += leafValues[node];
    }
    out[r] = pathToScore(sum / trees, cPsi);
  }
}
