import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { IsolationForest } from "../src/index.js";
import { asRows } from "../src/forest/matrix.js";
import { PARALLEL_MIN_ROWS, ScoringPool, checkThreads, threadsFor } from "../src/forest/parallel.js";
import { WasmScorer } from "../src/wasm.js";
import { dense, uniformTable } from "./helpers.js";

const train = uniformTable(21, 3000, 5);
const forest = IsolationForest.fit(train, { seed: 21 });
// Several worker chunks (13107 rows each at 5 columns) and a ragged tail.
const big = dense(uniformTable(22, 40_003, 5, 1.5));
afterAll(() => forest.close());

/** Sleep without the event loop (the pool's workers boot on their own threads). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe("scoring on several threads", () => {
  it("gives exactly the single-threaded scores for 2 and 3 threads, dense and number[][] input", () => {
    const one = forest.score(big, { threads: 1 });
    expect(forest.score(big, { threads: 2 })).toEqual(one);
    expect(forest.score(big, { threads: 3 })).toEqual(one);
    const rows = Array.from({ length: 5000 }, (_, r) => Array.from(big.data.subarray(r * 5, r * 5 + 5)));
    expect(forest.score(rows, { threads: 2 })).toEqual(one.subarray(0, 5000));
  });

  it("has workers that really score: a booted pool gives the same scores", () => {
    const local = new WasmScorer(forest.compactTrees, forest.cols, forest.height, forest.sampleSize);
    const pool = new ScoringPool(local.image(), 2);
    try {
      for (let i = 0; i < 600 && pool.booted < 2; i++) sleep(50);
      expect(pool.booted).toBe(2);
      const out = new Float64Array(big.rows);
      pool.score(asRows(big), out, local, () => {
        throw new Error("no row is non-finite");
      });
      expect(out).toEqual(forest.score(big, { threads: 1 }));
      expect(pool.workerChunks).toBeGreaterThan(0);
    } finally {
      pool.close();
    }
  });

  it("names the same first NaN or Infinity as one thread, wherever it falls", () => {
    for (const at of [3, 17_000, 40_002]) {
      const data = big.data.slice();
      data[at * 5 + 2] = NaN;
      data[(at + 1) * 5 - 1] = Infinity; // a later one in the same row must not win
      if (at + 2000 < big.rows) data[(at + 2000) * 5] = -Infinity;
      const X = { data, rows: big.rows, cols: 5 };
      const message = `X[${at}][2] is NaN; values must be finite numbers (no NaN or Infinity)`;
      expect(() => forest.score(X, { threads: 1 })).toThrow(message);
      expect(() => forest.score(X, { threads: 2 })).toThrow(message);
    }
    // The pool is still usable after an error.
    expect(forest.score(big, { threads: 2 })).toEqual(forest.score(big, { threads: 1 }));
  });

  it("keeps small batches on the calling thread with threads auto", () => {
    expect(threadsFor("auto", 1)).toBe(1);
    expect(threadsFor("auto", PARALLEL_MIN_ROWS - 1)).toBe(1);
    expect(threadsFor("auto", PARALLEL_MIN_ROWS)).toBeGreaterThanOrEqual(1);
    expect(threadsFor(3, 1)).toBe(3);
    const small = { data: big.data.subarray(0, 50), rows: 10, cols: 5 };
    expect(forest.score(small)).toEqual(forest.score(small, { threads: 1 }));
  });

  it("scores again after close(), starting new workers", () => {
    const f = IsolationForest.fit(train, { seed: 5 });
    const a = f.score(big, { threads: 2 });
    f.close();
    f.close();
    expect(f.score(big, { threads: 2 })).toEqual(a);
    f.close();
  });

  it("refuses bad thread counts, naming the option, the range and the value", () => {
    expect(() => checkThreads(0)).toThrow(new RangeError('threads must be "auto" or an integer in [1, 256], got 0'));
    expect(() => checkThreads(1.5)).toThrow(RangeError);
    expect(() => checkThreads(257)).toThrow(RangeError);
    expect(() => checkThreads("all")).toThrow('threads must be "auto" or an integer in [1, 256], got "all"');
    expect(() => forest.score(big, { threads: -2 })).toThrow('got -2');
  });

  // The built CLI package (npm run build; the test script builds it first): a
  // process that scored on workers and never closed the forest must still exit.
  const dist = fileURLToPath(new URL("../dist/src/index.js", import.meta.url));
  it.skipIf(!existsSync(dist))("does not keep the process alive", () => {
    const script = `
      import { IsolationForest } from ${JSON.stringify(dist)};
      const X = Array.from({ length: 2000 }, (_, i) => [i % 7, (i * 13) % 11]);
      const f = IsolationForest.fit(X, { seed: 1 });
      const data = new Float64Array(200000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 10;
      const s = f.score({ data, rows: 100000, cols: 2 }, { threads: 2 });
      console.log("scored", s.length);
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("scored 100000");
    expect(r.status).toBe(0);
  });
});
