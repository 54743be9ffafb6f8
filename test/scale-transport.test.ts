/**
 * The scale-out's transport seam (issue 14) is real, not a rename: no file of src/scale but
 * the Redis ones knows Redis, and one contract suite runs the same consumer code against two
 * implementations of src/scale/transport.ts: Redis (a real redis-server, started here as
 * test/redis.test.ts starts it) and an in-process test double (test/memory-transport.ts).
 * LOGFOREST_REDIS_TESTS=0 leaves Redis out.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IsolationForest } from "../src/forest/forest.js";
import { Detector } from "../src/streams/http/detect.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";
import { shardOf } from "../src/scale/common.js";
import { connectTransport } from "../src/scale/connect.js";
import { consume, type ConsumeOptions, type ConsumeRun, type ConsumeSummary } from "../src/scale/consumer.js";
import { status } from "../src/scale/status.js";
import type { Entry, GroupMember, LineBatch, StreamTransport } from "../src/scale/transport.js";
import { MemoryBroker } from "./memory-transport.js";
import { freePort, RedisServer, stopChild, waitFor } from "./redis-server.js";

const root = resolve(import.meta.dirname, "..");
const SHARDS = 4;

describe("the transport seam: only redis*.ts in src/scale knows Redis", () => {
  const scale = readdirSync(join(root, "src/scale")).filter((f) => f.endsWith(".ts"));
  const text = (f: string) => readFileSync(join(root, f), "utf8");
  const imports = (f: string) => [...text(f).matchAll(/(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2]);

  it("no file in src/scale but redis*.ts imports ioredis", () => {
    expect(scale).toContain("redis.ts");
    expect(imports("src/scale/redis.ts")).toContain("ioredis"); // the check reads real imports
    expect(scale.filter((f) => !f.startsWith("redis") && imports(`src/scale/${f}`).includes("ioredis"))).toEqual([]);
  });

  it("the consumer, leases, model source, ship writer and status import no redis*.ts: the transport comes through transport.ts (connect.ts alone picks it)", () => {
    const pickers = new Set(["connect.ts"]);
    const users = scale.filter((f) => !f.startsWith("redis") && !pickers.has(f));
    expect(users).toEqual(expect.arrayContaining(["consumer.ts", "leases.ts", "model-source.ts", "ship-writer.ts", "ship.ts", "status.ts"]));
    expect(users.flatMap((f) => imports(`src/scale/${f}`).filter((m) => /\/redis[^/]*\.js$/.test(m)).map((m) => `${f} -> ${m}`))).toEqual([]);
    for (const f of ["consumer.ts", "leases.ts", "model-source.ts", "ship-writer.ts", "status.ts"]) expect(imports(`src/scale/${f}`), f).toContain("./transport.js");
    const bins = readdirSync(join(root, "bin")).filter((f) => f.endsWith(".ts"));
    expect(bins.flatMap((f) => imports(`bin/${f}`).filter((m) => m === "ioredis" || /scale\/redis[^/]*\.js$/.test(m)).map((m) => `${f} -> ${m}`))).toEqual([]);
  });
});

/** How a contract test reaches one implementation. */
interface Harness {
  name: string;
  enabled: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  connect(): Promise<StreamTransport>;
  /** The --model address of a key in the transport's model store. */
  modelSpec(key: string): string;
  /** Lines per entry the contract's appenders ask for (the shipper packs runs of a file's lines). */
  linesPerEntry: number;
}

function memoryHarness(): Harness {
  let broker = new MemoryBroker();
  return {
    name: "memory (test double)",
    enabled: true,
    start: async () => void (broker = new MemoryBroker()),
    stop: async () => undefined,
    connect: async () => broker.connect(),
    modelSpec: (key) => `memory://${key}`,
    linesPerEntry: 1,
  };
}

function redisHarness(linesPerEntry: number): Harness {
  const children = new Set<ChildProcess>();
  let server: RedisServer | null = null;
  let dir = "";
  const url = () => `redis://127.0.0.1:${server?.port ?? 0}`;
  return {
    name: `Redis (a real redis-server), up to ${linesPerEntry} line(s) per entry`,
    linesPerEntry,
    enabled: process.env.LOGFOREST_REDIS_TESTS !== "0",
    async start() {
      if (spawnSync("redis-server", ["--version"]).status !== 0) throw new Error("redis-server is not installed (apt-get install redis-server), or set LOGFOREST_REDIS_TESTS=0");
      dir = mkdtempSync(join(tmpdir(), "lf-transport-"));
      server = new RedisServer(await freePort(), dir, children);
      await server.start();
    },
    async stop() {
      await server?.stop();
      await Promise.all([...children].map((p) => stopChild(p, "SIGKILL", children)));
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    },
    connect: () => connectTransport(url(), "--from"),
    modelSpec: (key) => `${url()}/${key}`,
  };
}

/** Four file names, one on each shard. */
const FILES = ["web-a.log", "web-b.log", "api-c.log", "api-d.log"].map((base, shard) => {
  for (let n = 0; n < 1000; n++) if (shardOf(`t${n}_${base}`, SHARDS) === shard) return `t${n}_${base}`;
  throw new Error(`no name for shard ${shard}`);
});
const PER_FILE = 4000;

/** A batch of lines of one file on its shard. */
function batchOf(file: string, texts: readonly string[], first: number, tooLong: (i: number) => boolean = () => false): LineBatch {
  const shard = shardOf(file, SHARDS);
  return {
    shards: texts.map(() => shard), files: texts.map(() => file), lines: texts.map((_, i) => first + i),
    texts: [...texts], tooLong: texts.map((_, i) => (tooLong(i) ? 1 : 0)),
  };
}

const lineNos = (entries: readonly Entry[] | undefined) => (entries ?? []).map((e) => e.line?.line);

/** A Writable keeping the alert lines a consumer writes. */
function collector(): { out: Writable; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
      done();
    },
  });
  return { out, lines };
}

/**
 * A transport whose group member stops answering from its `dieAtAck`-th acknowledgement on
 * (that call and every later one never settle), as a process killed after writing a batch's
 * alerts and before acknowledging it.
 */
class Dying implements StreamTransport {
  private acks = 0;
  private dead = false;
  constructor(private readonly inner: StreamTransport, private readonly dieAtAck: number) {}
  get name(): string {
    return this.inner.name;
  }
  get models() {
    return this.inner.models;
  }
  appender(stream: string, maxlen: number, linesPerEntry?: number) {
    return this.inner.appender(stream, maxlen, linesPerEntry);
  }
  monitor(stream: string, group: string) {
    return this.inner.monitor(stream, group);
  }
  onReconnect(listener: () => void): void {
    this.inner.onReconnect(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  member(stream: string, group: string, consumer: string): GroupMember {
    const m = this.inner.member(stream, group, consumer);
    const gate = <T>(f: () => Promise<T>): Promise<T> => (this.dead ? new Promise<T>(() => undefined) : f());
    return {
      name: m.name,
      ensureShard: (s) => gate(() => m.ensureShard(s)),
      read: (s, which, count, blockMs) => gate(() => m.read(s, which, count, blockMs)),
      ack: (s, ids) => {
        if (++this.acks >= this.dieAtAck) this.dead = true;
        return gate(() => m.ack(s, ids));
      },
      claim: (s, idleMs) => gate(() => m.claim(s, idleMs)),
      replay: (s, count) => gate(() => m.replay(s, count)),
      heartbeat: () => gate(() => m.heartbeat()),
      members: (withinMs) => gate(() => m.members(withinMs)),
      takeLease: (s, ms) => gate(() => m.takeLease(s, ms)),
      renewLease: (s, ms) => gate(() => m.renewLease(s, ms)),
      releaseLease: (s) => gate(() => m.releaseLease(s)),
      leave: () => gate(() => m.leave()),
      publishAlert: (a) => gate(() => m.publishAlert(a)),
    };
  }
}

describe.each([memoryHarness(), redisHarness(1), redisHarness(64)])("the transport contract: $name", (h) => {
  let forest: IsolationForest;
  const texts = new Map<string, string[]>();
  /** file:line:rule of each alert one Detector per file raises over the whole file. */
  let reference: string[] = [];
  const open: StreamTransport[] = [];
  const connect = async () => {
    const t = await h.connect();
    open.push(t);
    return t;
  };

  beforeAll(async () => {
    if (!h.enabled) return;
    await h.start();
    const train = [...simulate({ count: 10_000, seed: 3, incidents: "none" })].map((l) => l.text);
    forest = trainFromLines(train, { forest: { seed: 7 } }).forest;
    FILES.forEach((f, i) => texts.set(f, [...simulate({ count: PER_FILE, seed: 40 + i })].map((l) => l.text)));
    reference = FILES.flatMap((f) => {
      const d = new Detector(forest, { format: "auto", explain: true, untimedClock: "lines" });
      const keys: string[] = [];
      const all = texts.get(f) ?? [];
      for (let i = 0; i < all.length; i += 700) d.processBatch(f, all.slice(i, i + 700), i + 1, (a) => keys.push(`${a.file}:${a.line}:${a.rule}`));
      return keys;
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    if (h.enabled) await h.stop();
  });

  /** Ship every file to `stream` through the appender, in batches of 1,000. */
  async function shipAll(t: StreamTransport, stream: string): Promise<void> {
    const app = t.appender(stream, 1_000_000, h.linesPerEntry);
    for (const f of FILES) {
      const all = texts.get(f) ?? [];
      for (let i = 0; i < all.length; i += 1000) await app.append(batchOf(f, all.slice(i, i + 1000), i + 1));
    }
  }

  /** Wait until every entry shipped to `stream` (all shipped before) is acknowledged by group g. */
  async function drained(t: StreamTransport, stream: string): Promise<void> {
    const length = (rows: Array<{ length: number }>) => rows.reduce((s, r) => s + r.length, 0);
    const shipped = length(await status(t, { stream, group: "g", shards: SHARDS }));
    expect(shipped).toBe(FILES.length * Math.ceil(PER_FILE / 1000) * Math.ceil(1000 / h.linesPerEntry)); // shipAll's batches of 1,000, packed
    await waitFor("every entry acknowledged", 90_000, async () => {
      const rows = await status(t, { stream, group: "g", shards: SHARDS });
      return length(rows) === shipped && rows.every((r) => r.lag === 0);
    });
  }

  const options = (stream: string, consumer: string, model: string, out: Writable, signal: AbortSignal): [ConsumeOptions, ConsumeRun] => [
    { stream, group: "g", consumer, model, shards: SHARDS, leaseSeconds: 1, claimIdleMs: 200, batch: 500, signal },
    { outputs: { out } },
  ];
  const consumeWith = (t: StreamTransport, [o, run]: [ConsumeOptions, ConsumeRun]) => consume(t, o, run).then((r) => r.summary);

  it.skipIf(!h.enabled)("append and read back: each entry delivered once, own entries re-read until acknowledged, claimed once idle, replayed before the first unacknowledged", async () => {
    const t = await connect();
    await t.appender("p", 100_000).append(batchOf(FILES[0], Array.from({ length: 10 }, (_, i) => `text ${i + 1}`), 1, (i) => i === 2));
    const [m1, m2] = [t.member("p", "g", "m1"), t.member("p", "g", "m2")];
    const shard = shardOf(FILES[0], SHARDS);
    await m1.ensureShard(shard);
    await m2.ensureShard(shard); // a second time is no error
    const first = (await m1.read([shard], "new", 4, 0)).get(shard);
    expect(lineNos(first)).toEqual([1, 2, 3, 4]);
    expect(first?.[0].line).toEqual({ file: FILES[0], line: 1, text: "text 1", tooLong: false });
    expect(first?.[2].line?.tooLong).toBe(true);
    const second = (await m2.read([shard], "new", 100, 0)).get(shard) ?? [];
    expect(lineNos(second)).toEqual([5, 6, 7, 8, 9, 10]);
    expect([...(await m1.read([shard], "new", 100, 50)).values()].flat()).toEqual([]); // nothing new: waits, then none
    expect(lineNos((await m1.read([shard], "own", 100, 0)).get(shard))).toEqual([1, 2, 3, 4]);
    await m2.ack(shard, second.map((e) => e.id));
    expect(await t.monitor("p", "g").shard(shard)).toMatchObject({ length: 10, pending: 4, undelivered: 0 });
    expect(await m2.claim(shard, 60_000)).toEqual({ claimed: 0, waiting: true }); // m1's are not idle that long
    expect(await m2.claim(shard, 0)).toEqual({ claimed: 4, waiting: false });
    expect(lineNos((await m1.read([shard], "own", 100, 0)).get(shard))).toEqual([]);
    const mine = (await m2.read([shard], "own", 100, 0)).get(shard) ?? [];
    expect(lineNos(mine)).toEqual([1, 2, 3, 4]);
    await m2.ack(shard, mine.slice(0, 2).map((e) => e.id));
    expect(await t.monitor("p", "g").shard(shard)).toMatchObject({ length: 10, pending: 2, undelivered: 0 });
    expect(lineNos(await m2.replay(shard, 5))).toEqual([1, 2]); // before the first unacknowledged (3)
    expect(lineNos(await m2.replay(shard, 1))).toEqual([2]);
    await m2.ack(shard, mine.slice(2).map((e) => e.id));
    expect(lineNos(await m2.replay(shard, 3))).toEqual([8, 9, 10]); // all acknowledged: up to the last delivered
    expect(await t.monitor("p", "g").shard(shard)).toMatchObject({ length: 10, pending: 0, undelivered: 0 });
  });

  it.skipIf(!h.enabled || h.linesPerEntry === 1)("packed entries: each line read with its entry's id and place; acknowledged and claimed by entry, replayed by line", async () => {
    const t = await connect();
    await t.appender("q", 100_000, 4).append(batchOf(FILES[0], Array.from({ length: 10 }, (_, i) => `text ${i + 1}`), 1, (i) => i === 5));
    // A file started again at the same path (line 1 once more) begins an entry of its own.
    await t.appender("q", 100_000, 4).append(batchOf(FILES[0], ["again 1", "again 2"], 1));
    const [m1, m2] = [t.member("q", "g", "m1"), t.member("q", "g", "m2")];
    const shard = shardOf(FILES[0], SHARDS);
    await m1.ensureShard(shard);
    const first = (await m1.read([shard], "new", 1, 0)).get(shard) ?? [];
    expect(lineNos(first)).toEqual([1, 2, 3, 4]);
    expect(first.map((e) => e.part)).toEqual([0, 1, 2, 3]);
    expect(new Set(first.map((e) => e.id)).size).toBe(1);
    expect(first[3].line).toEqual({ file: FILES[0], line: 4, text: "text 4", tooLong: false });
    const rest = (await m2.read([shard], "new", 100, 0)).get(shard) ?? [];
    expect(lineNos(rest)).toEqual([5, 6, 7, 8, 9, 10, 1, 2]);
    expect(rest.map((e) => e.line?.tooLong)).toEqual([false, true, false, false, false, false, false, false]);
    expect(rest.map((e) => e.line?.text).slice(-2)).toEqual(["again 1", "again 2"]);
    expect(new Set(rest.map((e) => e.id)).size).toBe(3);
    expect(await t.monitor("q", "g").shard(shard)).toMatchObject({ length: 4, pending: 4, undelivered: 0 });
    await m2.ack(shard, [...new Set(rest.map((e) => e.id))]);
    expect(await m2.claim(shard, 0)).toEqual({ claimed: 1, waiting: false });
    expect(lineNos(await m2.replay(shard, 3))).toEqual([]); // nothing before the first unacknowledged entry
    await m2.ack(shard, [first[0].id]);
    expect(lineNos(await m2.replay(shard, 3))).toEqual([10, 1, 2]); // lines, not entries
    expect(lineNos(await m2.replay(shard, 100))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]);
    expect(await t.monitor("q", "g").shard(shard)).toMatchObject({ length: 4, pending: 0, undelivered: 0 });
  });

  it.skipIf(!h.enabled)("leases: one holder at a time, renewed only by it, free once released or expired; members heard from", async () => {
    const t = await connect();
    const [m1, m2] = [t.member("l", "g", "m1"), t.member("l", "g", "m2")];
    const owner = async () => (await t.monitor("l", "g").shard(2)).owner;
    expect(await m1.takeLease(2, 300)).toBe(true);
    expect(await m2.takeLease(2, 300)).toBe(false);
    expect(await m2.renewLease(2, 300)).toBe(false);
    await m2.releaseLease(2); // not m2's: no effect
    expect(await owner()).toBe("m1");
    expect(await m1.renewLease(2, 300)).toBe(true);
    await waitFor("the lease to expire", 5000, async () => (await owner()) === null);
    expect(await m1.renewLease(2, 300)).toBe(false);
    expect(await m2.takeLease(2, 10_000)).toBe(true);
    await m2.releaseLease(2);
    expect(await owner()).toBe(null);
    await m1.heartbeat();
    await m2.heartbeat();
    expect((await m1.members(10_000)).sort()).toEqual(["m1", "m2"]);
    await m1.leave();
    expect(await m2.members(10_000)).toEqual(["m2"]);
  });

  it.skipIf(!h.enabled)("an alert id is published once, whichever member tries again; a published model loads with its generation", async () => {
    const t = await connect();
    const a = { id: "1:5-0", shard: 1, entry: "5-0", json: "{}" };
    expect(await t.member("a", "g", "m1").publishAlert(a)).toBe(true);
    expect(await t.member("a", "g", "m1").publishAlert(a)).toBe(false);
    expect(await t.member("a", "g", "m2").publishAlert(a)).toBe(false);
    expect(await t.member("a", "g", "m2").publishAlert({ ...a, id: "1:6-0", entry: "6-0" })).toBe(true);
    expect(await t.member("a", "other", "m1").publishAlert(a)).toBe(true); // another group has its own
    expect([...(await t.monitor("a", "g").alertCounts())]).toEqual([[1, 2]]);
    const key = t.models.keyOf(h.modelSpec("models/c"));
    expect(key).toBe("models/c");
    expect(t.models.keyOf("model.lfm")).toBe(null);
    expect(await t.models.load("models/c")).toBe(null);
    expect(await t.models.publish("models/c", forest.toBytes())).toBe(1);
    expect(await t.models.publish("models/c", forest.toBytes())).toBe(2);
    const got = await t.models.load("models/c");
    expect(got?.generation).toBe(2);
    expect(got?.bytes).toEqual(forest.toBytes());
  });

  it.skipIf(!h.enabled)("two consumers over 4 shards: every entry scored once, the alerts of one Detector per file", async () => {
    expect(reference.length).toBeGreaterThan(5);
    const t = await connect();
    await t.models.publish("models/two", forest.toBytes());
    await shipAll(t, "two");
    const stop = new AbortController();
    const outs = [collector(), collector()];
    const runs = await Promise.all([0, 1].map(() => connect()));
    const done = runs.map((rt, i) => consumeWith(rt, options("two", `c${i}`, h.modelSpec("models/two"), outs[i].out, stop.signal)));
    await drained(t, "two");
    stop.abort();
    const sums = await Promise.all(done);
    expect(sums.reduce((s, x) => s + x.entries, 0)).toBe(FILES.length * PER_FILE);
    expect(sums.every((x) => x.lines_scored > 0)).toBe(true); // both had shards
    const alerts = outs.flatMap((o) => o.lines).map((l) => JSON.parse(l) as { id: string; file: string; line: number; rule: string });
    expect(alerts.map((a) => `${a.file}:${a.line}:${a.rule}`).sort()).toEqual([...reference].sort());
    const rows = await status(t, { stream: "two", group: "g", shards: SHARDS });
    expect(rows.reduce((s, r) => s + r.alerts, 0)).toBe(reference.length);
  }, 120_000);

  it.skipIf(!h.enabled)("one shard holding two files, their batches interleaved: each line read and scored once, every entry acknowledged", async () => {
    const t = await connect();
    await t.models.publish("models/mix", forest.toBytes());
    const app = t.appender("mix", 1_000_000, h.linesPerEntry);
    const shard = shardOf(FILES[0], SHARDS);
    for (let i = 0; i < 4; i++) {
      for (const f of FILES.slice(0, 2)) {
        const b = batchOf(f, (texts.get(f) ?? []).slice(i * 100, (i + 1) * 100), i * 100 + 1);
        await app.append({ ...b, shards: b.shards.map(() => shard) });
      }
    }
    const stop = new AbortController();
    const out = collector();
    const done = consumeWith(await connect(), options("mix", "c1", h.modelSpec("models/mix"), out.out, stop.signal));
    await waitFor("every entry acknowledged", 90_000, async () => {
      const row = (await status(t, { stream: "mix", group: "g", shards: SHARDS }))[shard];
      return row.length > 0 && row.lag === 0;
    });
    stop.abort();
    const sum = await done;
    expect([sum.entries, sum.lines_scored, sum.duplicate_lines, sum.lines_missing]).toEqual([800, 800, 0, 0]);
  }, 120_000);

  it.skipIf(!h.enabled)("a consumer that stops answering at an acknowledgement: the other takes its shards over and claims its entries; nothing pending, no alert twice", async () => {
    const t = await connect();
    await t.models.publish("models/kill", forest.toBytes());
    await shipAll(t, "kill");
    const stop = new AbortController();
    const dyingStop = new AbortController();
    const [o1, o2] = [collector(), collector()];
    const dying = new Dying(await connect(), 2);
    const lost = consumeWith(dying, options("kill", "c1", h.modelSpec("models/kill"), o1.out, dyingStop.signal));
    const survivor = consumeWith(await connect(), options("kill", "c2", h.modelSpec("models/kill"), o2.out, stop.signal));
    await drained(t, "kill");
    stop.abort();
    dyingStop.abort();
    const sum: ConsumeSummary = await survivor;
    await expect(lost).rejects.toThrow(/did not answer for 5000 ms/);
    expect(sum.claimed).toBeGreaterThan(0);
    expect(sum.takeovers).toBeGreaterThan(SHARDS / 2); // its own share, then the dead one's
    const rows = await status(t, { stream: "kill", group: "g", shards: SHARDS });
    expect(rows.every((r) => r.pending === 0 && r.lag === 0)).toBe(true);
    const alerts = [...o1.lines, ...o2.lines].map((l) => JSON.parse(l) as { id: string; file: string; line: number; rule: string });
    expect(new Set(alerts.map((a) => a.id)).size).toBe(alerts.length);
    expect(rows.reduce((s, r) => s + r.alerts, 0)).toBe(alerts.length);
    // Outside the takeover gap the alerts are those of one Detector per file.
    const got = new Set(alerts.map((a) => `${a.file}:${a.line}:${a.rule}`));
    const ref = new Set(reference);
    const differ = [...got].filter((x) => !ref.has(x)).length + [...ref].filter((x) => !got.has(x)).length;
    expect(differ).toBeLessThanOrEqual(Math.max(2, Math.ceil(0.05 * reference.length)));
  }, 120_000);
});
