import { describe, expect, it } from "vitest";
import { IsolationForest, type Backend } from "../src/index.js";
import { uniformTable } from "./helpers.js";

const X = uniformTable(1, 300, 3);

describe("bad options are RangeErrors naming the option, the range and the value", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ trees: 0 }, /trees must be an integer in \[1, 10000\], got 0/],
    [{ trees: 2.5 }, /trees must be an integer in \[1, 10000\], got 2\.5/],
    [{ trees: 10001 }, /trees .*got 10001/],
    [{ sampleSize: 0 }, /sampleSize must be an integer in \[1, 65536\] or a fraction in \(0, 1\) of the rows, got 0/],
    [{ sampleSize: 70000 }, /sampleSize .*got 70000/],
    [{ sampleSize: -0.5 }, /sampleSize .*got -0\.5/],
    [{ maxFeatures: 4 }, /maxFeatures must be an integer in \[1, 3\] or a fraction in \(0, 1\) of the columns, got 4/],
    [{ maxFeatures: 0 }, /maxFeatures .*got 0/],
    [{ contamination: 0.6 }, /contamination must be "auto" or a number in \(0, 0\.5\], got 0\.6/],
    [{ contamination: 0 }, /contamination .*got 0/],
    [{ contamination: "high" }, /contamination .*got "high"/],
    [{ seed: -1 }, /seed must be an integer in \[0, 9007199254740991\], got -1/],
    [{ seed: NaN }, /seed .*got NaN/],
    [{ featureNames: ["a", "b"] }, /featureNames must be an array of 3 strings/],
  ];
  it.each(cases)("%o", (opts, message) => {
    expect(() => IsolationForest.fit(X, opts)).toThrow(RangeError);
    expect(() => IsolationForest.fit(X, opts)).toThrow(message);
  });

  it("an unknown option is a TypeError listing the known ones", () => {
    expect(() => IsolationForest.fit(X, { nEstimators: 10 } as never)).toThrow(TypeError);
    expect(() => IsolationForest.fit(X, { nEstimators: 10 } as never)).toThrow(/unknown option "nEstimators"; the options are trees, sampleSize/);
  });

  it("an unknown backend is a RangeError", () => {
    const f = IsolationForest.fit(X);
    expect(() => f.score(X, { backend: "gpu" as Backend })).toThrow(/backend must be "wasm" or "js", got "gpu"/);
  });
});

describe("bad tables are refused with the row and column named", () => {
  it("zero rows, zero columns, not a table", () => {
    expect(() => IsolationForest.fit([])).toThrow(/X must have at least 1 row, got 0/);
    expect(() => IsolationForest.fit([[]])).toThrow(/at least 1 column/);
    expect(() => IsolationForest.fit("1,2,3" as never)).toThrow(TypeError);
    expect(() => IsolationForest.fit([1, 2, 3] as never)).toThrow(/X\[0\] must be an array of numbers, got number 1/);
  });

  it("ragged rows", () => {
    expect(() => IsolationForest.fit([[1, 2], [3, 4], [5]])).toThrow(/X\[2\] has 1 values but X\[0\] has 2/);
  });

  it("a value that is not a number", () => {
    expect(() => IsolationForest.fit([[1, 2], [3, "4" as unknown as number]])).toThrow(/X\[1\]\[1\] must be a number, got "4"/);
  });

  it("a dense table whose length does not match rows * cols", () => {
    expect(() => IsolationForest.fit({ data: new Float64Array(5), rows: 2, cols: 3 })).toThrow(/X.data has 5 values but rows \* cols = 2 \* 3 = 6/);
    expect(() => IsolationForest.fit({ data: [1, 2] as never, rows: 1, cols: 2 })).toThrow(/Float64Array/);
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`${bad} at fit time`, () => {
      const Y = X.map((r) => [...r]);
      Y[123][2] = bad;
      expect(() => IsolationForest.fit(Y)).toThrow(RangeError);
      expect(() => IsolationForest.fit(Y)).toThrow(new RegExp(`X\\[123\\]\\[2\\] is ${bad}; values must be finite`));
    });

    it.each<Backend>(["wasm", "js"])(`${bad} at score time (%s)`, (backend) => {
      const f = IsolationForest.fit(X);
      const Y = X.map((r) => [...r]);
      Y[250][1] = bad;
      expect(() => f.score(Y, { backend })).toThrow(new RegExp(`X\\[250\\]\\[1\\] is ${bad}`));
    });
  }

  it.each<Backend>(["wasm", "js"])("a different column count at score time (%s)", (backend) => {
    const f = IsolationForest.fit(X);
    expect(() => f.score([[1, 2]], { backend })).toThrow(/X has 2 columns but the forest was trained on 3/);
  });
});
