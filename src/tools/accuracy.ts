/**
 * `logforest accuracy`: mean ROC AUC over seeds on labelled tables, beside
 * scikit-learn's figures for the same tables (the reference the tests use).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { IsolationForest } from "../forest/forest.js";
import { readCsvTable, rocAuc } from "./table.js";

/**
 * scikit-learn 1.2.1 IsolationForest, 100 trees, 256 samples, mean ROC AUC over
 * random_state 0-19, and the tolerance for a second implementation's 20-seed mean;
 * from the README of logforest's shared data (ODDS tables as packaged by ADBench).
 */
export const SKLEARN_REFERENCE: Readonly<Record<string, { auc: number; tolerance: number }>> = {
  http: { auc: 0.9995, tolerance: 0.01 },
  smtp: { auc: 0.9071, tolerance: 0.01 },
  shuttle: { auc: 0.9969, tolerance: 0.01 },
  forestcover: { auc: 0.8819, tolerance: 0.0314 },
  mammography: { auc: 0.8611, tolerance: 0.01 },
  annthyroid: { auc: 0.8199, tolerance: 0.0137 },
  satellite: { auc: 0.698, tolerance: 0.0148 },
  breastw: { auc: 0.9868, tolerance: 0.01 },
  pima: { auc: 0.6697, tolerance: 0.0107 },
  ionosphere: { auc: 0.8481, tolerance: 0.01 },
};

/** One table's result. */
export interface AccuracyRow {
  table: string;
  rows: number;
  cols: number;
  meanAuc: number;
  minAuc: number;
  maxAuc: number;
  sklearnAuc: number | null;
  tolerance: number | null;
  within: boolean | null;
  seconds: number;
}

/** Mean AUC over `seeds` seeds for each named table in `dir` (CSV files with a label column). */
export function runAccuracy(dir: string, tables: string[], seeds: number, log: (row: AccuracyRow) => void = () => {}): AccuracyRow[] {
  const out: AccuracyRow[] = [];
  for (const name of tables) {
    const path = join(dir, `${name}.csv`);
    if (!existsSync(path)) throw new RangeError(`table ${name}: ${path} does not exist`);
    const t0 = performance.now();
    const table = readCsvTable(path);
    if (!table.labels) throw new RangeError(`table ${name}: ${path} has no label column`);
    const aucs: number[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      aucs.push(rocAuc(IsolationForest.fit(table, { trees: 100, sampleSize: 256, seed }).score(table), table.labels));
    }
    const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
    const ref = SKLEARN_REFERENCE[name];
    const row: AccuracyRow = {
      table: name,
      rows: table.rows,
      cols: table.cols,
      meanAuc: mean,
      minAuc: Math.min(...aucs),
      maxAuc: Math.max(...aucs),
      sklearnAuc: ref?.auc ?? null,
      tolerance: ref?.tolerance ?? null,
      within: ref ? Math.abs(mean - ref.auc) <= ref.tolerance : null,
      seconds: (performance.now() - t0) / 1000,
    };
    log(row);
    out.push(row);
  }
  return out;
}
