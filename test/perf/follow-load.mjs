// `detect --follow` under load, as a service runs it (--positions, --scores, --alerts):
//   files: 50 files at once, one writer process appending to all of them (round robin);
//   rate:  one file at 50,000 lines/s.
// A writer process appends simulated lines (json, realistic profile, incidents on) in
// paced batches every 10 ms; the detector is the CLI in its own process. Every second:
// the detector's RSS (/proc/PID/status VmRSS) and CPU, lines written (the writer's count),
// lines scored (rows in --scores), bytes written minus the positions saved (saved at most
// every 100 ms, so this includes up to 100 ms of lines already scored). Then a table:
// lines written and scored, peak and final RSS, RSS growth over the second half, max lag
// in lines and seconds (how long ago the line being scored was written), whether it kept up,
// and the rate it sustained. Stops by itself (the writer after SECONDS, the detector once it
// has caught up or DRAIN seconds later; --duration bounds it should this script be killed);
// writes only under a temp dir, removed at the end; kills its children on any exit. Usage (after npm run build):
//   node test/perf/follow-load.mjs [all|files|rate] [--seconds 60] [--rate 50000] [--files 50] [--files-rate 20000] [--drain 120] [--keep]
//
// Results, 2026-11-25, `npm run load` on a 2-core VM shared with other jobs (load average
// 0.7-3 during the run), Node 20.20.2; lag sampled once a second against the writer's count
// (reported every 10 ms):
//   50 files, 20,000 lines/s in all, 60 s: 1,200,000 written, 1,200,000 scored; RSS peak 115 MB,
//     final 109 MB, -2 MB over the second half; max lag 220 lines (under 0.1 s); detector CPU 98%.
//   1 file, 50,000 lines/s, 60 s: 3,000,000 written, 3,000,000 scored; RSS peak 110 MB, final
//     108 MB, +1 MB over the second half; no lag at any sample; detector CPU 27%.
//   Headroom, same machine: 1 file at 150,000 lines/s (30 s) kept up at 72% CPU; at 300,000
//     lines/s (20 s) the detector plateaus at ~223,000 lines/s on one core, lag grows to 5 s
//     (1.5 M lines), RSS stays 125-146 MB, caught up 7 s after the writer stopped, 0 lost.
//     50 files at 50,000 lines/s (30 s) kept up at ~100% CPU; 50 files at only 500 lines/s
//     cost 18% CPU (every change to one file makes the follower pump all 50 of them).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const BIN = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "60" },
    rate: { type: "string", default: "50000" },
    files: { type: "string", default: "50" },
    "files-rate": { type: "string", default: "20000" },
    drain: { type: "string", default: "120" },
    keep: { type: "boolean", default: false },
  },
});
const scenario = positionals[0] ?? "all";
if (!["all", "files", "rate"].includes(scenario)) throw new RangeError(`scenario must be all, files or rate, got ${scenario}`);
const int = (name, lo, hi) => {
  const v = Number(opt[name]);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`--${name} must be an integer in [${lo}, ${hi}], got ${opt[name]}`);
  return v;
};
const seconds = int("seconds", 5, 3600);
const rate = int("rate", 100, 1_000_000);
const fileCount = int("files", 1, 1000);
const filesRate = int("files-rate", 100, 1_000_000);
const drain = int("drain", 5, 3600);
if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first`);

const dir = mkdtempSync(join(tmpdir(), "logforest-load-"));
const children = new Set();
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (!opt.keep) rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => process.exit(130));
process.on("uncaughtException", (e) => {
  console.error(e);
  process.exit(1);
});

const cli = (...args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`logforest ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
};
// As the brief of issue 11 says: train on 30,000 clean lines; the lines written are another seed, incidents on.
const model = join(dir, "load.model");
cli("simulate", "--count", "30000", "--incidents", "none", "--out", join(dir, "t.log"));
cli("train", "--input", join(dir, "t.log"), "--model", model);
const source = join(dir, "source.log");
cli("simulate", "--count", "200000", "--seed", "2", "--incidents", "default", "--out", source);

// The writer: every 10 ms, the lines due by now, spread over the files in turn. The source
// repeats; each repetition is shifted by the source's time span, so line time moves on.
// It reports its count after every tick (time, lines, bytes) over IPC: lag is known to 10 ms.
const WRITER = `
const { openSync, readFileSync, writeSync } = require("node:fs");
const [files, rate, seconds, source] = JSON.parse(process.argv[1]);
const lines = readFileSync(source, "utf8").split("\\n").filter((l) => l.startsWith('{"ts":"'));
const first = Date.parse(lines[0].slice(7, 31)), span = Date.parse(lines[lines.length - 1].slice(7, 31)) - first + 1;
const fds = files.map((f) => openSync(f, "a"));
const t0 = Date.now(), end = t0 + seconds * 1000;
let sent = 0, bytes = 0;
const line = (k) => {
  const text = lines[k % lines.length];
  const shift = Math.floor(k / lines.length) * span;
  return shift === 0 ? text : text.slice(0, 7) + new Date(Date.parse(text.slice(7, 31)) + shift).toISOString() + text.slice(31);
};
const tick = () => {
  const now = Date.now();
  const due = Math.floor(((Math.min(now, end) - t0) / 1000) * rate);
  const chunks = files.map(() => []);
  for (; sent < due; sent++) chunks[sent % files.length].push(line(sent));
  chunks.forEach((c, i) => {
    if (c.length === 0) return;
    const buf = Buffer.from(c.join("\\n") + "\\n");
    writeSync(fds[i], buf);
    bytes += buf.length;
  });
  process.send({ t: Date.now(), lines: sent, bytes });
  if (now >= end) return void process.disconnect();
  setTimeout(tick, 10);
};
tick();`;

/** VmRSS of a process in MB, or null once it is gone. */
function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
/** User + system CPU seconds of a process, or null once it is gone. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** Counts the rows of the growing --scores CSV, reading only what was added (the header is not a row). */
function rowCounter(path) {
  let offset = 0, rows = 0, header = true;
  const buf = Buffer.alloc(1 << 20);
  return () => {
    if (!existsSync(path)) return 0;
    const fd = openSync(path, "r");
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n === 0) break;
        for (let i = 0; i < n; i++) if (buf[i] === 10) rows++;
        if (header && offset === 0 && buf.subarray(0, 5).toString() === "file,") rows--;
        header = false;
        offset += n;
      }
    } finally {
      closeSync(fd);
    }
    return rows;
  };
}

/** The sum of the offsets in the positions file (the previous sum while it is being replaced). */
function positionsReader(path) {
  let last = 0;
  return () => {
    try {
      const doc = JSON.parse(readFileSync(path, "utf8"));
      last = Object.values(doc.files).reduce((s, f) => s + f.offset, 0);
    } catch {
      // missing before the first save, or read between write and rename: keep the last
    }
    return last;
  };
}

async function run(name, files, totalRate) {
  const sub = join(dir, name);
  spawnSync("mkdir", ["-p", sub]);
  const paths = Array.from({ length: files }, (_, i) => join(sub, `app${i}.log`));
  for (const p of paths) writeFileSync(p, "");
  const scores = join(sub, "scores.csv");
  const positions = join(sub, "positions.json");
  const args = [BIN, "detect", "--model", model, "--follow", ...paths, "--positions", positions, "--scores", scores, "--alerts", join(sub, "alerts.jsonl"), "--from-start", "--json",
    // A bound even if this script is killed (SIGKILL) before it can stop the detector.
    "--duration", String(seconds + drain + 60)];
  const detector = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  children.add(detector);
  let stderr = "";
  detector.stderr.setEncoding("utf8");
  detector.stderr.on("data", (c) => (stderr += c));
  const detectorExit = new Promise((resolve) => detector.on("exit", (code, signal) => resolve(code ?? signal)));
  await new Promise((r) => setTimeout(r, 1500)); // the detector loads its model and starts following

  const progress = [{ t: Date.now(), lines: 0, bytes: 0 }];
  const writer = spawn(process.execPath, ["-e", WRITER, JSON.stringify([paths, totalRate, seconds, source])], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(writer);
  writer.on("message", (m) => progress.push(m));
  let writing = true;
  writer.on("exit", () => (writing = false));

  const countRows = rowCounter(scores);
  const readPositions = positionsReader(positions);
  /** When the writer had written `n` lines (the first report at or past n). */
  const writtenAt = (n) => {
    let lo = 0, hi = progress.length - 1;
    if (progress[hi].lines < n) return null;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (progress[mid].lines >= n) hi = mid;
      else lo = mid + 1;
    }
    return progress[lo].t;
  };
  const samples = [];
  const start = Date.now();
  let lastCpu = cpuSeconds(detector.pid), lastT = start, drainStart = null;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = Date.now();
    const w = progress[progress.length - 1];
    const scored = countRows();
    const cpu = cpuSeconds(detector.pid);
    const at = scored >= w.lines ? now : writtenAt(scored + 1);
    const s = {
      t: (now - start) / 1000, writing, written: w.lines, scored, lagLines: Math.max(0, w.lines - scored),
      lagSeconds: at === null ? null : (now - at) / 1000, lagBytes: Math.max(0, w.bytes - readPositions()),
      rssMb: rssMb(detector.pid), cpuPct: cpu === null || lastCpu === null ? null : (100 * (cpu - lastCpu)) / ((now - lastT) / 1000),
    };
    lastCpu = cpu;
    lastT = now;
    samples.push(s);
    if (samples.length % 5 === 0 || !writing) {
      console.log(`  ${name} t=${s.t.toFixed(0)}s written=${s.written} scored=${s.scored} lag=${s.lagLines} lines/${s.lagSeconds?.toFixed(1)} s rss=${s.rssMb?.toFixed(0)} MB cpu=${s.cpuPct?.toFixed(0)}%`);
    }
    if (detector.exitCode !== null || detector.signalCode !== null) break;
    if (!writing) {
      drainStart ??= now;
      if (scored >= w.lines || now - drainStart > drain * 1000) break;
    }
  }
  const caughtUpAfter = drainStart === null ? null : (Date.now() - drainStart) / 1000;
  detector.kill("SIGTERM");
  const exit = await Promise.race([detectorExit, new Promise((r) => setTimeout(() => r("timeout"), 15_000))]);
  if (exit === "timeout") detector.kill("SIGKILL");
  const summary = JSON.parse(stderr.split("\n").find((l) => l.startsWith("{")) ?? "null");
  const scoredFinal = countRows();
  const written = progress[progress.length - 1].lines;

  const during = samples.filter((s) => s.writing);
  const half = during.slice(Math.floor(during.length / 2));
  const rss = samples.map((s) => s.rssMb).filter((x) => x !== null);
  const firstHalfEnd = half[0], lastWriting = during[during.length - 1];
  const sustained = half.length > 1 ? (half[half.length - 1].scored - half[0].scored) / (half[half.length - 1].t - half[0].t) : null;
  const maxLag = during.reduce((m, s) => Math.max(m, s.lagLines), 0);
  const maxLagS = during.reduce((m, s) => Math.max(m, s.lagSeconds ?? Infinity), 0);
  const maxUnsaved = during.reduce((m, s) => Math.max(m, s.lagBytes), 0);
  const lagLastHalfGrows = half.length > 2 && half[half.length - 1].lagLines > 2 * Math.max(totalRate, half[0].lagLines);
  const result = {
    scenario: name, files, rate_lines_per_s: totalRate, seconds,
    lines_written: written, lines_scored: scoredFinal, lost_or_unscored: written - scoredFinal,
    rss_peak_mb: Math.round(Math.max(...rss)), rss_final_mb: Math.round(lastWriting?.rssMb ?? NaN),
    rss_growth_last_half_mb: Math.round((lastWriting?.rssMb ?? NaN) - (firstHalfEnd?.rssMb ?? NaN)),
    max_lag_lines: maxLag, max_lag_s: Number(maxLagS.toFixed(1)),
    max_unsaved_bytes: maxUnsaved, lag_at_writer_end_lines: lastWriting?.lagLines ?? null,
    caught_up_s_after_writer: scoredFinal >= written ? caughtUpAfter : null,
    sustained_lines_per_s_last_half: sustained === null ? null : Math.round(sustained),
    detector_cpu_pct_mean: Math.round(during.reduce((a, s) => a + (s.cpuPct ?? 0), 0) / Math.max(1, during.length)),
    kept_up: maxLagS <= 5 && !lagLastHalfGrows && scoredFinal >= written && (caughtUpAfter ?? Infinity) <= 5,
    detector_exit: exit, alerts: summary?.alerts ?? null, skipped: summary?.skipped ?? null,
  };
  writeFileSync(join(sub, "samples.json"), JSON.stringify(samples));
  return result;
}

const results = [];
if (scenario === "all" || scenario === "files") results.push(await run("files", fileCount, filesRate));
if (scenario === "all" || scenario === "rate") results.push(await run("rate", 1, rate));

const rows = [
  ["scenario", (r) => `${r.files} file(s) at ${r.rate_lines_per_s.toLocaleString("en-US")} lines/s for ${r.seconds} s`],
  ["lines written", (r) => r.lines_written.toLocaleString("en-US")],
  ["lines scored", (r) => r.lines_scored.toLocaleString("en-US")],
  ["RSS peak / final (MB)", (r) => `${r.rss_peak_mb} / ${r.rss_final_mb}`],
  ["RSS growth, last half (MB)", (r) => String(r.rss_growth_last_half_mb)],
  ["max lag (lines)", (r) => r.max_lag_lines.toLocaleString("en-US")],
  ["max lag (s)", (r) => String(r.max_lag_s)],
  ["max bytes past saved position", (r) => r.max_unsaved_bytes.toLocaleString("en-US")],
  ["lag when writer stopped", (r) => `${(r.lag_at_writer_end_lines ?? 0).toLocaleString("en-US")} lines`],
  ["caught up after writer (s)", (r) => (r.caught_up_s_after_writer === null ? "no" : r.caught_up_s_after_writer.toFixed(1))],
  ["sustained, last half (lines/s)", (r) => (r.sustained_lines_per_s_last_half ?? 0).toLocaleString("en-US")],
  ["detector CPU (mean %)", (r) => String(r.detector_cpu_pct_mean)],
  ["kept up", (r) => (r.kept_up ? "yes" : "no")],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nload average ${loadavg().map((x) => x.toFixed(2)).join(" ")} on a ${spawnSync("nproc").stdout.toString().trim()}-core machine; node ${process.version}`);
for (const r of results) {
  console.log("");
  for (const [k, f] of rows) console.log(`${k.padEnd(width)}  ${f(r)}`);
}
console.log("\n" + results.map((r) => JSON.stringify(r)).join("\n"));
if (opt.keep) console.log(`kept ${dir}`);
