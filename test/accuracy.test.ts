import { describe, expect, it } from "vitest";
import { IsolationForest } from "../src/index.js";
import { SKLEARN_REFERENCE } from "../src/tools/accuracy.js";
import { readCsvTable, rocAuc } from "../src/tools/table.js";
import { DATA_DIR, dataFile } from "./data.js";

// scikit-learn's 20-seed mean AUC and the tolerance per table (src/tools/accuracy.ts, from
// LOGFOREST_DATA/README.md). http and forestcover take 10-20 s each here, so they are
// measured for the README (npm run accuracy) rather than in every test run.
const REFERENCE = Object.entries(SKLEARN_REFERENCE)
  .filter(([name]) => name !== "http" && name !== "forestcover")
  .map(([name, r]) => [name, r.auc, r.tolerance] as [string, number, number]);

describe.skipIf(DATA_DIR === null)("ROC AUC against scikit-learn on the shared tables (20 seeds)", () => {
  it.each(REFERENCE)("%s: mean AUC within tolerance of scikit-learn's %f", (name, reference, tolerance) => {
    const table = readCsvTable(dataFile(`tabular/${name}.csv`));
    const labels = table.labels;
    if (labels === null) throw new Error(`${name}.csv has no label column`);
    let sum = 0;
    for (let seed = 0; seed < 20; seed++) {
      sum += rocAuc(IsolationForest.fit(table, { trees: 100, sampleSize: 256, seed }).score(table), labels);
    }
    expect(Math.abs(sum / 20 - reference)).toBeLessThanOrEqual(tolerance);
  }, 60_000);
});

describe("rocAuc", () => {
  it("is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties", () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });
  it("counts a tie between a positive and a negative as half", () => {
    // pairs (pos, neg): (0.5 vs 0.5) = 1/2, (0.5 vs 0.1) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.1) = 1
    expect(rocAuc([0.1, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(3.5 / 4);
  });
});
