// logforest beside scikit-learn on the same seeded table, in one run (run `npm run build`
// first; scikit-learn from Debian: `apt-get install python3-sklearn`, then /usr/bin/python3):
//   node test/perf/sklearn.mjs [--fit-rows 1000000] [--score-rows 100000] [--cols 8] [--runs 5] [--python /usr/bin/python3]
// Both: 100 trees x 256 rows, one thread, fit on --fit-rows rows, score --score-rows rows;
// the medians of --runs runs, and the range. The table goes to Python as raw float64.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { IsolationForest } from "../../dist/src/index.js";
import { syntheticTable } from "../../dist/src/tools/bench.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const fitRows = Number(opt("fit-rows", 1_000_000));
const scoreRows = Number(opt("score-rows", 100_000));
const cols = Number(opt("cols", 8));
const runs = Number(opt("runs", 5));
const python = opt("python", "/usr/bin/python3");

const table = syntheticTable(Math.max(fitRows, scoreRows), cols, 1);
const fitX = { data: table.data.subarray(0, fitRows * cols), rows: fitRows, cols };
const scoreX = { data: table.data.subarray(0, scoreRows * cols), rows: scoreRows, cols };

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s[s.length - 1] };
};

// logforest: the WASM scorer, warmed up by a small call first (V8 has no on-stack replacement for wasm).
IsolationForest.fit({ data: table.data.subarray(0, 2560 * cols), rows: 2560, cols }, { seed: 0 }).score(scoreX, { threads: 1 });
const lfFit = [];
const lfScore = [];
const lfScore2 = [];
for (let r = 0; r < runs; r++) {
  let t0 = performance.now();
  const f = IsolationForest.fit(fitX, { trees: 100, sampleSize: 256, seed: r });
  lfFit.push(performance.now() - t0);
  t0 = performance.now();
  f.score(scoreX, { threads: 1 });
  lfScore.push(scoreRows / ((performance.now() - t0) / 1000));
  f.score(scoreX, { threads: 2 }); // starts the worker, untimed
  t0 = performance.now();
  f.score(scoreX, { threads: 2 });
  lfScore2.push(scoreRows / ((performance.now() - t0) / 1000));
  f.close();
}

const dir = mkdtempSync(join(tmpdir(), "logforest-sklearn-"));
const file = join(dir, "table.f64");
writeFileSync(file, Buffer.from(table.data.buffer, table.data.byteOffset, Math.max(fitRows, scoreRows) * cols * 8));
const py = `
import json, sys, time
import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
fit_rows, score_rows, cols, runs = ${fitRows}, ${scoreRows}, ${cols}, ${runs}
X = np.fromfile(${JSON.stringify(file)}, dtype=np.float64).reshape(-1, cols)
fits, scores = [], []
for r in range(runs):
    t0 = time.perf_counter()
    f = IsolationForest(n_estimators=100, max_samples=256, random_state=r, n_jobs=1).fit(X[:fit_rows])
    fits.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    f.score_samples(X[:score_rows])
    scores.append(score_rows / (time.perf_counter() - t0))
print(json.dumps({"version": sklearn.__version__, "fit_ms": fits, "rows_per_s": scores}))
`;
const res = spawnSync(python, ["-c", py], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
rmSync(dir, { recursive: true, force: true });
const out = { table: { fitRows, scoreRows, cols, runs }, logforest: { fit_ms: summary(lfFit), rows_per_s: summary(lfScore), rows_per_s_2_threads: summary(lfScore2) } };
if (res.status !== 0) {
  out.sklearn = { error: (res.stderr || res.error?.message || "python failed").trim().split("\n").slice(-1)[0] };
} else {
  const sk = JSON.parse(res.stdout);
  out.sklearn = { version: sk.version, fit_ms: summary(sk.fit_ms), rows_per_s: summary(sk.rows_per_s) };
  out.ratio = { score: out.logforest.rows_per_s.median / out.sklearn.rows_per_s.median, fit: out.sklearn.fit_ms.median / out.logforest.fit_ms.median };
}
console.log(JSON.stringify(out, null, 2));
