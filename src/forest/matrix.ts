/**
 * Input tables: `number[][]` (any array of array-likes) or a row-major
 * `{ data: Float64Array, rows, cols }`. Both are read in place, a chunk of rows at
 * a time, straight into whatever buffer the scorer reads (no intermediate copy).
 */

/** A table of numbers, one row per sample. */
export type Matrix = ReadonlyArray<ArrayLike<number>> | DenseMatrix;

/** A row-major table in one Float64Array: value (r, c) at data[r * cols + c]. */
export interface DenseMatrix {
  readonly data: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

/** Uniform read access to a validated Matrix. */
export interface Rows {
  readonly rows: number;
  readonly cols: number;
  /** Copy rows [from, from + count) row-major into dst (from index 0). */
  copy(from: number, count: number, dst: Float64Array): void;
  /** Copy row `row` into dst[offset + j * stride] for each column j. */
  gather(row: number, dst: Float64Array, offset: number, stride: number): void;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

function isDense(x: unknown): x is DenseMatrix {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "data" in x;
}

/**
 * Check the shape of X and wrap it. Shape and type errors name the row or cell;
 * finiteness is checked where values are copied (see firstNonFinite).
 */
export function asRows(X: Matrix, what = "X"): Rows {
  if (isDense(X)) return denseRows(X, what);
  if (!Array.isArray(X)) {
    throw new TypeError(`${what} must be an array of rows (number[][]) or { data: Float64Array, rows, cols }, got ${describe(X)}`);
  }
  const rows = X.length;
  if (rows === 0) throw new RangeError(`${what} must have at least 1 row, got 0`);
  const first: unknown = X[0];
  if (!isRowLike(first)) throw new TypeError(`${what}[0] must be an array of numbers, got ${describe(first)}`);
  const cols = first.length;
  if (cols === 0) throw new RangeError(`${what} must have at least 1 column, got 0`);
  for (let r = 0; r < rows; r++) {
    const row: unknown = X[r];
    if (!isRowLike(row)) throw new TypeError(`${what}[${r}] must be an array of numbers, got ${describe(row)}`);
    if (row.length !== cols) {
      throw new RangeError(`${what}[${r}] has ${row.length} values but ${what}[0] has ${cols}; every row must have the same length`);
    }
  }
  return {
    rows,
    cols,
    copy(from, count, dst) {
      let k = 0;
      for (let r = from; r < from + count; r++) {
        const row = X[r];
        for (let j = 0; j < cols; j++) {
          const v = row[j];
          if (typeof v !== "number") throw new TypeError(`${what}[${r}][${j}] must be a number, got ${describe(v)}`);
          dst[k++] = v;
        }
      }
    },
    gather(row, dst, offset, stride) {
      const src = X[row];
      for (let j = 0; j < cols; j++) {
        const v = src[j];
        if (typeof v !== "number") throw new TypeError(`${what}[${row}][${j}] must be a number, got ${describe(v)}`);
        dst[offset + j * stride] = v;
      }
    },
  };
}

function isRowLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function denseRows(X: DenseMatrix, what: string): Rows {
  const { data, rows, cols } = X;
  if (!(data instanceof Float64Array)) throw new TypeError(`${what}.data must be a Float64Array, got ${describe(data)}`);
  if (typeof rows !== "number" || !Number.isInteger(rows) || rows < 1) {
    throw new RangeError(`${what}.rows must be an integer >= 1, got ${describe(rows)}`);
  }
  if (typeof cols !== "number" || !Number.isInteger(cols) || cols < 1) {
    throw new RangeError(`${what}.cols must be an integer >= 1, got ${describe(cols)}`);
  }
  if (data.length !== rows * cols) {
    throw new RangeError(`${what}.data has ${data.length} values but rows * cols = ${rows} * ${cols} = ${rows * cols}`);
  }
  return {
    rows,
    cols,
    copy(from, count, dst) {
      dst.set(data.subarray(from * cols, (from + count) * cols));
    },
    gather(row, dst, offset, stride) {
      const base = row * cols;
      for (let j = 0; j < cols; j++) dst[offset + j * stride] = data[base + j];
    },
  };
}

/**
 * Refuse, in rows of numbers, a value that is not a number or one that is NaN or
 * +-Infinity, in one pass without a copy. The errors are those of copying `chunk`
 * rows at a time and checking each copy with assertFinite: a value of the wrong
 * type anywhere in a chunk is named before a non-finite one in the same chunk.
 */
export function checkRowValues(X: ReadonlyArray<ArrayLike<number>>, cols: number, chunk: number, what = "X"): void {
  for (let from = 0; from < X.length; from += chunk) {
    const to = Math.min(X.length, from + chunk);
    let badRow = -1;
    let badCol = 0;
    let badValue = 0;
    for (let r = from; r < to; r++) {
      const row = X[r];
      for (let j = 0; j < cols; j++) {
        const v = row[j];
        if (typeof v !== "number") throw new TypeError(`${what}[${r}][${j}] must be a number, got ${describe(v)}`);
        if (v - v !== 0 && badRow < 0) {
          badRow = r;
          badCol = j;
          badValue = v;
        }
      }
    }
    if (badRow >= 0) throwNonFinite(what, badRow, badCol, badValue);
  }
}

/** Throw a RangeError naming the first NaN or +-Infinity among `count` rows of `buf` (rows from `firstRow`). */
export function assertFinite(buf: Float64Array, count: number, cols: number, firstRow: number, what = "X"): void {
  const n = count * cols;
  for (let i = 0; i < n; i++) {
    const v = buf[i];
    if (v - v !== 0) throwNonFinite(what, firstRow + Math.floor(i / cols), i % cols, v);
  }
}

/** The error for a non-finite value at (row, col). */
export function throwNonFinite(what: string, row: number, col: number, v: number): never {
  throw new RangeError(`${what}[${row}][${col}] is ${v}; values must be finite numbers (no NaN or Infinity)`);
}
