// The explanation kernel: which features isolated each row (see src/explain.ts
// for the method). It walks the compact trees (layout in assembly/index.ts) as
// scoreCompact does and credits each split on the row's path to its feature with
// weight[child] * |x[f] - thresh| / scale[f].
//
//   weight  f64 per node: ln(size(parent) / size(node)) for entering the node from
//           its parent; 0 for roots (computed in TypeScript)
//   scale   f64 per feature: the spread of the forest's thresholds on it
//   out     f64 rows x cols, row-major: each row's shares, summing to 1
//
// Every operation runs in the same order as in the TypeScript reference, so
// both give bit-identical shares.

/** Cap on one split's margin, so that no sum of credits overflows to Infinity. */
const MAX_MARGIN: f64 = 1e100;

/**
 * Shares of `rows` rows (f64, row-major, `cols` wide) at `x` into `out`. A row whose
 * paths hold no split at all (every tree a single leaf) gets 1 / cols everywhere.
 */
export function explainRows(
  x: usize, rows: u32, cols: u32, feature: usize, thresh: usize, right: usize, starts: usize, trees: u32,
  weight: usize, scale: usize, out: usize,
): void {
  const rowBytes = <usize>cols << 3;
  for (let r: u32 = 0; r < rows; r++) {
    const p = x + <usize>r * rowBytes;
    const o = out + <usize>r * rowBytes;
    memory.fill(o, 0, rowBytes);
    for (let t: u32 = 0; t < trees; t++) {
      const base = load<u32>(starts + (<usize>t << 2));
      let id = base;
      let f = load<i32>(feature + (<usize>id << 2));
      while (f >= 0) {
        const off = <usize>id << 2;
        const v = load<f64>(p + (<usize>f << 3));
        const th = <f64>load<f32>(thresh + off);
        id = v <= th ? id + 1 : base + load<u32>(right + off);
        const margin = min<f64>(abs<f64>(v - th) / load<f64>(scale + (<usize>f << 3)), MAX_MARGIN);
        const slot = o + (<usize>f << 3);
        store<f64>(slot, load<f64>(slot) + load<f64>(weight + (<usize>id << 3)) * margin);
        f = load<i32>(feature + (<usize>id << 2));
      }
    }
    let total: f64 = 0;
    for (let j: u32 = 0; j < cols; j++) total += load<f64>(o + (<usize>j << 3));
    if (total > 0) {
      for (let j: u32 = 0; j < cols; j++) {
        const slot = o + (<usize>j << 3);
        store<f64>(slot, load<f64>(slot) / total);
      }
    } else {
      const even = 1.0 / <f64>cols;
      for (let j: u32 = 0; j < cols; j++) store<f64>(o + (<usize>j << 3), even);
    }
  }
}
