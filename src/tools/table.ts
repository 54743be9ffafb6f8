/** Numeric CSV tables (a header row, then numbers) and ROC AUC, for benchmarks and accuracy checks. */
import { readFileSync } from "node:fs";
import type { DenseMatrix } from "../forest/matrix.js";

/** A table read from CSV: the feature columns, and the `label` column when there is one. */
export interface Table extends DenseMatrix {
  /** Names of the feature columns. */
  readonly names: string[];
  /** 1 = anomaly, 0 = normal, when the CSV has a `label` column; else null. */
  readonly labels: Uint8Array | null;
}

/** Parse a numeric CSV with a header; a column named `label` becomes the labels. Errors name the line. */
export function parseCsvTable(text: string, source = "CSV"): Table {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length < 2) throw new RangeError(`${source}: needs a header and at least one row, got ${lines.length} line(s)`);
  const header = lines[0].split(",").map((h) => h.trim());
  const labelAt = header.indexOf("label");
  const names = header.filter((_, i) => i !== labelAt);
  const rows = lines.length - 1;
  const cols = names.length;
  if (cols === 0) throw new RangeError(`${source}: no feature columns in the header`);
  const data = new Float64Array(rows * cols);
  const labels = labelAt >= 0 ? new Uint8Array(rows) : null;
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1].split(",");
    if (cells.length !== header.length) {
      throw new RangeError(`${source} line ${r + 2}: ${cells.length} fields, the header has ${header.length}`);
    }
    let k = r * cols;
    for (let c = 0; c < cells.length; c++) {
      const v = Number(cells[c]);
      if (cells[c].trim() === "" || !Number.isFinite(v)) {
        throw new RangeError(`${source} line ${r + 2}, column "${header[c]}": ${JSON.stringify(cells[c])} is not a finite number`);
      }
      if (c === labelAt) {
        if (v !== 0 && v !== 1) throw new RangeError(`${source} line ${r + 2}: label must be 0 or 1, got ${cells[c]}`);
        (labels as Uint8Array)[r] = v;
      } else {
        data[k++] = v;
      }
    }
  }
  return { data, rows, cols, names, labels };
}

/** Read a numeric CSV file (see parseCsvTable). */
export function readCsvTable(path: string): Table {
  return parseCsvTable(readFileSync(path, "utf8"), path);
}

/**
 * ROC AUC of scores against 0/1 labels (higher score = more likely 1): the
 * Mann-Whitney statistic with tied scores given their average rank.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`rocAuc: ${n} scores but ${labels.length} labels`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        positives++;
        rankSum += avgRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError("rocAuc: needs at least one positive and one negative label");
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
