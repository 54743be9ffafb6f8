// A/B timings of two or more builds of logforest on a shared machine: each "root"
// is a directory holding a build (dist/, build/logforest.wasm, package.json and
// node_modules, e.g. a `git worktree` after `npm run build`). The builds run in
// turn, round after round, so that a busy spell hits them alike; each figure is
// reported as the median over rounds and its range. CPU time (process.cpuUsage)
// is given beside wall time: time slices lost to other processes do not count in
// it (memory-bandwidth contention still does).
//
//   node test/perf/ab.mjs fit [--rounds 6] [--calls 25] ROOT...
//     IsolationForest.fit on the bench's seeded 1,000,000 x 8 table (100 trees of
//     256), growTrees alone and checkAllFinite alone; each round is a fresh process
//     per root, the median of `calls` calls.
//   node test/perf/ab.mjs detect [--format json] [--lines 200000] [--rounds 6] ROOT...
//     runDetect over one simulated log file, every root in one process (the first
//     round is a warm-up and not counted); rate in lines/s.
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const mode = args.shift();
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = args.splice(i, 2)[1];
  return typeof dflt === "number" ? Number(v) : v;
};
const rounds = opt("rounds", 6);
const calls = opt("calls", 25);
const format = opt("format", "json");
const lines = opt("lines", 200_000);
const roots = args.map((r) => resolve(r));
if (!["fit", "detect", "fit-one"].includes(mode) || roots.length === 0) {
  console.error("usage: node test/perf/ab.mjs fit|detect [options] ROOT...");
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = (xs, digits) => ({ median: +median(xs).toFixed(digits), min: +Math.min(...xs).toFixed(digits), max: +Math.max(...xs).toFixed(digits) });

if (mode === "fit-one") {
  // One round for one root, in this process (what "fit" runs per root and round).
  const root = roots[0];
  const { IsolationForest, checkAllFinite, growTrees } = await import(`${root}/dist/src/forest/forest.js`);
  const { syntheticTable } = await import(`${root}/dist/src/tools/bench.js`);
  const { asRows } = await import(`${root}/dist/src/forest/matrix.js`);
  const { resolveOptions } = await import(`${root}/dist/src/forest/options.js`);
  const t = syntheticTable(1_000_000, 8, 1);
  const table = { data: t.data, rows: t.rows, cols: t.cols };
  const o = { trees: 100, sampleSize: 256, seed: 1 };
  const rows = asRows(table);
  const resolved = resolveOptions(o, rows.rows, rows.cols);
  const parts = {
    fit: () => IsolationForest.fit(table, o),
    build: () => growTrees(table, rows, resolved),
    validate: () => checkAllFinite(table, rows),
  };
  const out = {};
  for (const k in parts) out[k] = { wall: [], cpu: [] };
  for (let i = 0; i < 3; i++) parts.fit();
  for (let i = 0; i < calls; i++) {
    for (const [k, fn] of Object.entries(parts)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      out[k].wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      out[k].cpu.push((c.user + c.system) / 1000);
    }
  }
  const res = {};
  for (const k in out) res[k] = { wall: median(out[k].wall), best: Math.min(...out[k].wall), cpu: median(out[k].cpu) };
  console.log(JSON.stringify(res));
} else if (mode === "fit") {
  const self = fileURLToPath(import.meta.url);
  const per = new Map(roots.map((r) => [r, []]));
  for (let i = 0; i < rounds; i++) {
    for (const root of roots) {
      const text = execFileSync(process.execPath, [self, "fit-one", "--calls", String(calls), root], { encoding: "utf8" });
      per.get(root).push(JSON.parse(text));
    }
  }
  for (const [root, rs] of per) {
    const res = { mode, root, rounds, calls };
    for (const part of ["fit", "build", "validate"]) {
      res[part] = {};
      for (const m of ["wall", "best", "cpu"]) res[part][`${m}_ms`] = summary(rs.map((r) => r[part][m]), 2);
    }
    console.log(JSON.stringify(res));
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), "logforest-ab-"));
  try {
    const path = join(dir, `app-${format}.log`);
    const { simulate } = await import(`${roots[0]}/dist/src/tools/simulate.js`);
    const out = createWriteStream(path);
    let chunk = [];
    for (const l of simulate({ count: lines, seed: 7, format, start: Date.UTC(2026, 10, 25, 6) })) {
      chunk.push(l.text);
      if (chunk.length === 10_000) {
        if (!out.write(chunk.join("\n") + "\n")) await new Promise((r) => out.once("drain", r));
        chunk = [];
      }
    }
    out.write(chunk.join("\n") + (chunk.length ? "\n" : ""));
    await new Promise((r) => out.end(r));
    const runs = [];
    for (const root of roots) {
      // Builds from before the grouped options (runtime/detect.ts) take runDetect's flat ones.
      const mod = await import(`${root}/dist/src/index.js`);
      const runDetect = mod.detect ? (o) => mod.detect({ input: { file: o.input }, model: { model: o.model }, outputs: { out: o.out } }) : mod.runDetect;
      const { trainFromLines } = await import(`${root}/dist/src/streams/http/train.js`);
      const train = [...simulate({ count: 30_000, seed: 11, incidents: "none", format })].map((l) => l.text);
      const { forest } = trainFromLines(train, { forest: { seed: 1 } });
      runs.push({ root, runDetect, forest, wall: [], cpu: [], alerts: 0 });
    }
    for (let i = 0; i <= rounds; i++) {
      for (const r of runs) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const { summary: s } = await r.runDetect({ model: r.forest, input: path, out: null });
        const wall = performance.now() - t0;
        const c = process.cpuUsage(c0);
        r.alerts = s.alerts;
        if (i === 0) continue;
        r.wall.push(lines / (wall / 1000));
        r.cpu.push(lines / ((c.user + c.system) / 1e6));
      }
    }
    for (const r of runs) {
      console.log(JSON.stringify({
        mode, format, lines, rounds, root: r.root, alerts: r.alerts,
        lines_per_s_wall: summary(r.wall, 0), lines_per_s_cpu: summary(r.cpu, 0),
      }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
