/**
 * The package as a user gets it: `npm pack` (its prepack build) on a copy of the
 * working tree, the tarball installed into a fresh CommonJS project and a fresh
 * ESM/TypeScript project (module nodenext, nothing else), then required, imported,
 * type-checked, compiled and run there.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const own = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string; files: string[] };
const tsc = join(root, "node_modules", ".bin", "tsc");
// npm's cache holds every dependency since the project's own install; ask the
// registry only for what is missing.
const installFlags = ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=warn"];

// Inliers on a 10 x 10 lattice, one row far away: any seed ranks it first.
const fitAndScore = `
  const X = [];
  for (let i = 0; i < 100; i++) X.push([i % 10, Math.floor(i / 10)]);
  X.push([100, -100]);
  const f = IsolationForest.fit(X, { trees: 50, sampleSize: 64, seed: 3 });
  const s = f.score(X);
  const inlierMax = Math.max(...Array.from(s).slice(0, 100));
  console.log(JSON.stringify({ outlier: s[100], inlierMax, n: s.length }));
`;

interface Scores { outlier: number; inlierMax: number; n: number }

let dir = "";
let tarball = "";
let packed: string[] = [];
let cjs = "";
let esm = "";
let installOutput = "";

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function install(project: string, pkg: object): void {
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify(pkg, null, 2));
  const r = spawnSync("npm", [...installFlags, tarball], { cwd: project, encoding: "utf8" });
  installOutput += r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`npm install in ${project} failed:\n${r.stdout}${r.stderr}`);
}

function expectOutlierFirst(out: string): void {
  const r = JSON.parse(out.trim().split("\n").at(-1) ?? "") as Scores;
  expect(r.n).toBe(101);
  expect(r.outlier).toBeGreaterThan(r.inlierMax);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "logforest-pack-"));
  // A copy, so prepack's clean build never touches the dist/ other tests run.
  const stage = join(dir, "stage");
  const skip = new Set(["node_modules", "dist", "build", ".git", "test"]);
  for (const entry of readdirSync(root)) {
    if (!skip.has(entry)) cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  for (const f of own.files.filter((f) => f.startsWith("test/"))) cpSync(join(root, f), join(stage, f));
  symlinkSync(join(root, "node_modules"), join(stage, "node_modules"), "dir");
  const json = run("npm", ["pack", "--json", "--pack-destination", dir], stage);
  const info = JSON.parse(json.slice(json.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info[0].filename);
  packed = info[0].files.map((f) => f.path);

  cjs = join(dir, "cjs");
  install(cjs, { name: "cjs-consumer", version: "1.0.0", main: "index.js", type: "commonjs", license: "ISC" });
  esm = join(dir, "esm");
  install(esm, { name: "esm-consumer", version: "2.0.0", type: "module", private: true });
}, 1_800_000); // a hang guard: with four CPU-bound processes beside it, packing and two installs took about 390 s (docs/reliability.md)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm pack: the tarball", () => {
  it("holds the built entry, the types and the wasm, and no source maps or CLI declarations", () => {
    for (const f of ["dist/src/index.js", "dist/src/index.d.ts", "types/index.d.ts", "dist/bin/logforest.js", "build/logforest.wasm", "package.json"]) {
      expect(packed).toContain(f);
    }
    expect(packed.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(packed.filter((f) => f.startsWith("dist/bin/") && f.endsWith(".d.ts"))).toEqual([]);
    const entry = readFileSync(join(cjs, "node_modules", "logforest", "dist", "src", "index.js"), "utf8");
    expect(entry).not.toContain("sourceMappingURL");
  });

  it("matches a file with every entry of package.json's `files` (npm skips a stale one silently)", () => {
    for (const entry of own.files) {
      const re = new RegExp(`^${entry.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*")}(/|$)`);
      expect(packed.some((f) => re.test(f)), entry).toBe(true);
    }
  });

  it("ships every picture and page the README links to, so they resolve inside the package", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect(packed).toContain(l);
  });

  it("shows pictures by an address that resolves on the registry: this version's file in this tarball", () => {
    // npm's site resolves relative image paths against a repository; the package's own
    // files, served by unpkg for the published version, need none.
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThan(0);
    for (const img of images) {
      const m = /^https:\/\/unpkg\.com\/logforest@([^/]+)\/(.+)$/.exec(img);
      expect(m, img).not.toBeNull();
      expect(m?.[1], img).toBe(own.version);
      expect(packed, img).toContain(m?.[2]);
    }
  });

  it("installs without install-time scripts or warnings about them", () => {
    const pkg = JSON.parse(readFileSync(join(cjs, "node_modules", "logforest", "package.json"), "utf8")) as { scripts?: Record<string, string> };
    for (const s of ["preinstall", "install", "postinstall", "prepare"]) expect(pkg.scripts?.[s]).toBeUndefined();
    expect(installOutput).not.toMatch(/install-scripts|prepare/);
  });
});

describe("a CommonJS project", () => {
  it("require()s logforest, fits a forest and scores", () => {
    const out = run("node", ["-e", `const { IsolationForest } = require("logforest");${fitAndScore}`], cjs);
    expectOutlierFirst(out);
  });

  it("`npx logforest --version` prints logforest's version, not the project's", () => {
    expect(run("npx", ["logforest", "--version"], cjs).trim()).toBe(own.version);
  });
});

describe("an ESM/TypeScript project (module nodenext, strict, nothing else)", () => {
  it("imports logforest, fits a forest and scores", () => {
    const out = run("node", ["--input-type=module", "-e", `import { IsolationForest } from "logforest";${fitAndScore}`], esm);
    expectOutlierFirst(out);
  });

  it("type-checks and runs an ES module and a CommonJS module (.cts) that use the API", () => {
    writeFileSync(join(esm, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", strict: true, outDir: "out" } }));
    const typed = `
      const X: number[][] = [];
      for (let i = 0; i < 100; i++) X.push([i % 10, Math.floor(i / 10)]);
      X.push([100, -100]);
      const f: IsolationForest = IsolationForest.fit(X, { trees: 50, sampleSize: 64, seed: 3 });
      const s: Float64Array = f.score(X);
      const inlierMax = Math.max(...Array.from(s).slice(0, 100));
      console.log(JSON.stringify({ outlier: s[100], inlierMax, n: s.length }));
    `;
    writeFileSync(join(esm, "use.ts"), `import { IsolationForest } from "logforest";\n${typed}`);
    writeFileSync(join(esm, "use-cjs.cts"), `import { IsolationForest } from "logforest";\n${typed}`);
    // A type error must fail the check: the same code with a wrong type does.
    writeFileSync(join(esm, "wrong.ts"), `import { IsolationForest } from "logforest";\nconst n: number = IsolationForest.fit([[1]]).score([[1]]);\n`);
    const bad = spawnSync(tsc, ["-p", ".", "--noEmit"], { cwd: esm, encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/wrong\.ts.*Float64Array/);
    expect(bad.stdout).not.toMatch(/use(-cjs)?\.c?ts|node_modules/);
    rmSync(join(esm, "wrong.ts"));

    // TypeScript 7 includes no @types by default: logforest's types must pull in
    // Node's themselves. The same check with `types: []` shows they do.
    writeFileSync(join(esm, "tsconfig.no-types.json"), JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { types: [], noEmit: true } }));
    run(tsc, ["-p", "tsconfig.no-types.json"], esm);

    run(tsc, ["-p", "."], esm);
    expectOutlierFirst(run("node", ["out/use.js"], esm));
    expectOutlierFirst(run("node", ["out/use-cjs.cjs"], esm));
    expect(readFileSync(join(esm, "out", "use-cjs.cjs"), "utf8")).toContain('require("logforest")');
  }, 900_000); // tsc twice and node twice: 283 s with four CPU-bound processes beside it; a hang guard
});
