// Compare logforest with the npm packages isolation-forest and ml-isolation-forest
// on the same seeded table (run `npm run build` first):
//   node test/perf/compare.mjs [--train 20000] [--score 20000] [--cols 8] [--runs 3] [--json]
// Both packages train every tree on ALL training rows (isolation-forest 0.0.9
// draws a subsample but never uses it; ml-isolation-forest has no sample size and
// a depth limit of ceil(log2(rows))), so their fit grows with the table; logforest
// draws 256 rows per tree. isolation-forest takes rows as objects ({ f0: .. }).
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";
import { IsolationForest } from "../../dist/src/index.js";
import { syntheticTable } from "../../dist/src/tools/bench.js";
import { rocAuc } from "../../dist/src/tools/table.js";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const trainRows = opt("train", 20000);
const scoreRows = opt("score", 20000);
const cols = opt("cols", 8);
const runs = opt("runs", 3);
const json = args.includes("--json");

const table = syntheticTable(Math.max(trainRows, scoreRows), cols, 1);
const rowsOf = (n) => Array.from({ length: n }, (_, r) => Array.from(table.data.subarray(r * cols, (r + 1) * cols)));
const train = rowsOf(trainRows);
const probe = rowsOf(scoreRows);
const labels = table.labels.subarray(0, scoreRows);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
function time(fn, n) {
  const out = [];
  let value;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    value = fn();
    out.push(performance.now() - t0);
  }
  return { ms: median(out), value };
}
function report(r) {
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(
      `${r.library.padEnd(30)} fit ${r.fit_ms.toFixed(1).padStart(9)} ms   score ${Math.round(r.rows_per_s).toLocaleString("en-US").padStart(11)} rows/s   AUC ${r.auc.toFixed(4)}   ${r.note}`,
    );
  }
}

const dense = { data: table.data.subarray(0, trainRows * cols), rows: trainRows, cols };
const probeDense = { data: table.data.subarray(0, scoreRows * cols), rows: scoreRows, cols };
const candidates = [
  {
    library: "logforest (wasm, 1 thread)",
    note: "100 trees x 256 rows; dense Float64Array input",
    fit: () => IsolationForest.fit(dense, { trees: 100, sampleSize: 256, seed: 1 }),
    score: (m) => m.score(probeDense, { threads: 1 }),
  },
  {
    library: "logforest (wasm, all cores)",
    note: "threads: auto",
    fit: () => IsolationForest.fit(dense, { trees: 100, sampleSize: 256, seed: 1 }),
    score: (m) => m.score(probeDense),
  },
  {
    library: "logforest (number[][])",
    note: "same model, rows as arrays",
    fit: () => IsolationForest.fit(train, { trees: 100, sampleSize: 256, seed: 1 }),
    score: (m) => m.score(probe, { threads: 1 }),
  },
  {
    library: "isolation-forest 0.0.9",
    note: "100 trees, subsample 256 requested, but every tree is grown on all rows",
    prepare: () => {
      const toObj = (row) => Object.fromEntries(row.map((v, j) => [`f${j}`, v]));
      return { train: train.map(toObj), probe: probe.map(toObj) };
    },
    fit: (d) => {
      const { IsolationForest: F } = require("isolation-forest");
      const f = new F(100, 256);
      f.fit(d.train);
      return f;
    },
    score: (m, d) => m.predict(d.probe),
  },
  {
    library: "ml-isolation-forest 0.1.0",
    note: "100 trees, each on all rows, depth limit ceil(log2(rows))",
    fit: () => {
      const mod = require("ml-isolation-forest");
      const F = mod.IsolationForest ?? mod.default ?? mod;
      const f = new F({ nEstimators: 100 });
      f.train(train);
      return f;
    },
    score: (m) => m.predict(probe),
  },
];

for (const c of candidates) {
  const d = c.prepare ? c.prepare() : null;
  const warm = c.fit(d);
  c.score(warm, d);
  const fit = time(() => c.fit(d), runs);
  const score = time(() => c.score(fit.value, d), runs);
  report({
    library: c.library, train_rows: trainRows, score_rows: scoreRows, cols, fit_ms: fit.ms,
    rows_per_s: scoreRows / (score.ms / 1000), auc: rocAuc(Array.from(score.value), labels), note: c.note,
  });
  fit.value.close?.();
}
