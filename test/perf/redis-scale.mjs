// The Redis Streams scale-out, measured (issue 14): end-to-end throughput with 1, 2 and 3
// consumers (shippers included), the lag while a killed consumer's shards are taken over,
// and memory per consumer. Needs redis-server and a build (npm run build).
//   node test/perf/redis-scale.mjs [LINES=200000] [LEASE_SECONDS=10] [pair]
// With "pair" it measures only one shipper (ship --input of one file) and one consumer, end to end:
// from the shipper's start until the consumer acknowledged every line (issue 24's figure), three runs.
// LOGFOREST_PROF=DIR writes both processes' --cpu-prof profiles there.
// Results of 2026-12-06 13:32-13:35 UTC, `400000 5 pair`, load average 4.0-6.3 (two other developers' work):
//   before (HEAD 4a64a71, a line per entry): 14,499 / 16,562 / 20,960 lines/s (the shipper 18-24 s of 19-28 s)
//   after (256 lines per entry):              74,618 / 68,110 / 38,479 lines/s (the shipper 3.6-10 s; the consumer is the limit)
// Results of 2026-11-25 on the shared 2-core dev machine (load average ~2.6 from other work), 200,000 lines,
// 4 shards, lease 10 s, two runs:
//   end to end (4 shippers + n consumers): 1 consumer 38,889 / 52,635 lines/s; 2: 30,527 / 50,199; 3: 45,448 / 34,571
//     (the shippers take 2.7-5.6 s of the 3.8-6.6 s: shipping, not scoring, bounds it on 2 cores)
//   scoring alone (stream filled first): 1 consumer 90,803 lines/s; 2: 91,387; 3: 128,943
//   takeover at 2,000 lines/s, one of 3 consumers (2 shards) SIGKILLed: lag 0 before, at most 9,600-9,749 lines
//     after, caught up 9.9-10 s after the kill (the lease); the new owners replayed 5,000 entries in 72-370 ms
//   memory: RSS at most 92-166 MB per consumer (one model, one detector per source, the replay batch)
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

const BIN = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;
const LINES = Number(process.argv[2] ?? 200_000);
const LEASE = Number(process.argv[3] ?? 10);
const SHARDS = 4;
const PAIR = process.argv[4] === "pair";
const PROF = process.env.LOGFOREST_PROF;
const dir = mkdtempSync(join(tmpdir(), "lf-redis-perf-"));
const procs = new Set();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
};
const child = (cmd, args) => {
  const p = spawn(cmd, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  p.err = "";
  p.stderr.on("data", (d) => (p.err += d));
  p.done = new Promise((r) => p.once("exit", r));
  procs.add(p);
  return p;
};
const cli = (args) => child(process.execPath, [...(PROF ? ["--cpu-prof", "--cpu-prof-dir", PROF] : []), BIN, ...args]);
const stop = async (p, sig = "SIGTERM") => {
  p.kill(sig);
  await Promise.race([p.done, sleep(15_000)]);
  procs.delete(p);
};
const freePort = () => new Promise((res) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => res(port));
  });
});

async function lag(r, stream) {
  let length = 0;
  let behind = 0;
  for (let s = 0; s < SHARDS; s++) {
    const n = await r.xlen(`${stream}:${s}`);
    length += n;
    if (n === 0) continue;
    const groups = await r.call("XINFO", "GROUPS", `${stream}:${s}`);
    const g = groups.map((x) => Object.fromEntries(x.flatMap((v, i) => (i % 2 ? [] : [[v, x[i + 1]]])))).find((x) => x.name === "detectors");
    behind += g === undefined ? n : Number(g.pending) + Number(g.lag);
  }
  return { length, behind };
}

async function until(what, ms, f) {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

const port = await freePort();
const url = `redis://127.0.0.1:${port}`;
try {
  const server = child("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", dir]);
  await sleep(500);
  const r = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: null });
  run(["simulate", "--count", "20000", "--seed", "3", "--incidents", "none", "--out", "train.log"]);
  run(["train", "--input", "train.log", "--model", "m.lfm"]);
  // One file per shard (names picked by the shard hash the shipper uses).
  const { shardOf } = await import("../../dist/src/scale/common.js");
  const files = [0, 1, 2, 3].map((s) => {
    for (let n = 0; ; n++) if (shardOf(`host${n}.log`, SHARDS) === s) return `host${n}.log`;
  });
  files.forEach((f, i) => run(["simulate", "--count", String(LINES / SHARDS), "--seed", String(40 + i), "--out", f]));
  const consumerArgs = (stream, name) => ["detect", "--from", url, "--stream", stream, "--model", "m.lfm", "--shards", String(SHARDS),
    "--lease-seconds", String(LEASE), "--claim-idle-ms", String(LEASE * 1000), "--consumer", name, "--alerts", `${stream}-${name}.jsonl`];

  if (PAIR) {
    // One shipper, one consumer: all lines in one file (one shard), acknowledged lines counted from the group.
    run(["simulate", "--count", String(LINES), "--seed", "40", "--out", "pair.log"]);
    for (let k = 1; k <= 3; k++) {
      const stream = `pair${k}`;
      const c = cli(consumerArgs(stream, "c1"));
      await until("shards owned", 60_000, async () => (await Promise.all([0, 1, 2, 3].map((s) => r.get(`${stream}:detectors:lease:${s}`)))).every((o) => o !== null));
      const t0 = performance.now();
      const shipper = cli(["ship", "--input", "pair.log", "--to", url, "--stream", stream, "--shards", String(SHARDS)]);
      await shipper.done;
      const shipped = (performance.now() - t0) / 1000;
      if (shipper.exitCode !== 0) throw new Error(`ship failed: ${shipper.err}`);
      await until("all scored", 600_000, async () => (await lag(r, stream)).behind === 0);
      const seconds = (performance.now() - t0) / 1000;
      await stop(c);
      const sum = JSON.parse(c.err.trim().split("\n").pop());
      if (sum.lines_scored !== LINES) throw new Error(`scored ${sum.lines_scored} of ${LINES} lines`);
      console.log(JSON.stringify({ pair: true, run: k, lines: LINES, seconds: +seconds.toFixed(2), lines_per_s: Math.round(LINES / seconds),
        ship_seconds: +shipped.toFixed(2), rss_max_mb: sum.rss_max_mb, load: (await import("node:os")).loadavg().map((x) => +x.toFixed(2)) }));
    }
  }
  for (const n of PAIR ? [] : [1, 2, 3]) {
    const stream = `t${n}`;
    const cs = Array.from({ length: n }, (_, i) => cli(consumerArgs(stream, `c${i + 1}`)));
    await until("shards owned", 60_000, async () => (await Promise.all([0, 1, 2, 3].map((s) => r.get(`${stream}:detectors:lease:${s}`)))).every((o) => o !== null));
    const t0 = performance.now();
    const shippers = files.map((f) => cli(["ship", "--input", f, "--to", url, "--stream", stream, "--shards", String(SHARDS)]));
    await Promise.all(shippers.map((p) => p.done));
    const shipped = (performance.now() - t0) / 1000;
    await until("all scored", 600_000, async () => {
      const l = await lag(r, stream);
      return l.length === LINES && l.behind === 0;
    });
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(cs.map((p) => stop(p)));
    const sums = cs.map((p) => JSON.parse(p.err.trim().split("\n").pop()));
    console.log(JSON.stringify({ consumers: n, lines: LINES, seconds: +seconds.toFixed(2), lines_per_s: Math.round(LINES / seconds),
      ship_seconds: +shipped.toFixed(2), rss_max_mb: sums.map((s) => s.rss_max_mb), entries: sums.map((s) => s.entries) }));
  }

  // Scoring alone: the lines shipped first, then n consumers drain the stream (timed from when they own every shard).
  for (const n of PAIR ? [] : [1, 2, 3]) {
    const stream = `p${n}`;
    await Promise.all(files.map((f) => cli(["ship", "--input", f, "--to", url, "--stream", stream, "--shards", String(SHARDS)]).done));
    const cs = Array.from({ length: n }, (_, i) => cli(consumerArgs(stream, `c${i + 1}`)));
    await until("shards owned", 60_000, async () => (await Promise.all([0, 1, 2, 3].map((s) => r.get(`${stream}:detectors:lease:${s}`)))).every((o) => o !== null));
    const t0 = performance.now();
    await until("all scored", 600_000, async () => (await lag(r, stream)).behind === 0);
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(cs.map((p) => stop(p)));
    console.log(JSON.stringify({ scoring_only: true, consumers: n, lines: LINES, seconds: +seconds.toFixed(2), lines_per_s: Math.round(LINES / seconds) }));
  }

  if (!PAIR) {
    // Takeover: 3 consumers, lines followed at a steady rate, one consumer killed; lag sampled every 100 ms.
    const stream = "kill";
    const live = files.map((f) => `live-${f}`);
    live.forEach((f) => writeFileSync(join(dir, f), ""));
    const cs = [1, 2, 3].map((i) => cli(consumerArgs(stream, `c${i}`)));
    const shipper = cli(["ship", "--follow", ...live, "--to", url, "--stream", stream, "--shards", String(SHARDS), "--positions", "kill.pos", "--from-start"]);
    await until("shards owned", 60_000, async () => (await Promise.all([0, 1, 2, 3].map((s) => r.get(`${stream}:detectors:lease:${s}`)))).every((o) => o !== null));
    const texts = files.map((f) => readFileSync(join(dir, f), "utf8").split(/(?<=\n)/));
    const perTick = 50; // per file per 100 ms: 2,000 lines/s in all
    const ticks = Math.floor(texts[0].length / perTick);
    let killedAt = -1;
    let maxLag = 0;
    let recovered = -1;
    const samples = [];
    for (let k = 0; k < ticks && (recovered < 0 || k < killedAt + 50); k++) {
      texts.forEach((t, i) => appendFileSync(join(dir, live[i]), t.slice(k * perTick, (k + 1) * perTick).join("")));
      if (k === 100) {
        cs[0].kill("SIGKILL");
        killedAt = k;
      }
      await sleep(100);
      const l = await lag(r, stream);
      samples.push(l.behind);
      if (killedAt >= 0) {
        maxLag = Math.max(maxLag, l.behind);
        if (recovered < 0 && k > killedAt + 5 && l.behind <= 2 * perTick * SHARDS) recovered = (k - killedAt) / 10;
      }
    }
    const before = samples.slice(50, 100);
    console.log(JSON.stringify({ takeover: { lease_seconds: LEASE, rate_lines_per_s: perTick * SHARDS * 10, lag_before_kill_max: Math.max(...before),
      lag_after_kill_max: maxLag, seconds_to_catch_up: recovered } }));
    await stop(shipper);
    await Promise.all(cs.slice(1).map((p) => stop(p)));
    for (const p of cs.slice(1)) console.log(p.err.trim().split("\n").pop());
  }
  r.disconnect();
  await stop(server);
} finally {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
