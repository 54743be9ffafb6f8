/**
 * `logforest detect --from redis://...`: one consumer of a group scoring the shards it owns.
 *
 * Why shards with owners, not plain consumer-group delivery: the features keep windows per
 * route and per client, so every line of a source must reach ONE detector, in order. Each
 * shard (one stream) is owned by one consumer at a time through a lease (SET NX PX, renewed
 * every third of its life); a consumer takes about its share (shards / live consumers) and
 * gives back extras when others join. The owner reads its shards with XREADGROUP, scores
 * each source (file) with its own Detector, writes the alerts, and only then XACKs.
 *
 * Taking a shard over (its owner stopped renewing, or gave it back): entries its old owner
 * had read but not acknowledged are claimed with XAUTOCLAIM once idle > claimIdleMs (none
 * are read anew before, so each source stays in order); then the window state is rebuilt by
 * replaying up to replayLines entries before the first unacknowledged one through fresh
 * Detectors, alerts discarded; then scoring resumes. The takeover gap: entries arriving
 * meanwhile wait (lag), and an alert whose window reaches further back than the replay can
 * differ from one without the takeover.
 *
 * Alerts are idempotent: the id is `${shard}:${entryId}`; a marker key set with NX in the
 * same script that XADDs the alert means a re-delivered entry writes no second alert, by
 * this consumer or any other (as long as Redis keeps the marker: a day).
 */
import type { Writable } from "node:stream";
import type { Redis } from "ioredis";
import { Detector, type Alert } from "../streams/http/detect.js";
import { LineSink } from "../runtime/line-sink.js";
import type { FormatName } from "../streams/http/parse.js";
import type { Rules } from "../streams/http/rules.js";
import { Leases } from "./leases.js";
import { ModelSource } from "./model-source.js";
import { checkName, checkShards, closeRedis, connectRedis, Keys, parseRedisUrl, replyObject, retryDelay, sleep } from "./redis.js";

/** Options of a consumer run. */
export interface ConsumeOptions {
  /** redis://HOST:PORT */
  from: string;
  stream: string;
  group: string;
  consumer: string;
  /** A model file, or redis://HOST:PORT/KEY (a hash {generation, model}). */
  model: string;
  shards?: number;
  leaseSeconds?: number;
  claimIdleMs?: number;
  /** Entries replayed (without alerting) to rebuild a taken-over shard's windows. */
  replayLines?: number;
  /** Entries read per XREADGROUP per shard. */
  batch?: number;
  /** Append alerts (JSON lines) to this file instead of writing them to `out`. */
  alerts?: string;
  out?: Writable | null;
  rules?: Rules;
  format?: FormatName | "auto";
  explain?: boolean;
  durationSeconds?: number;
  signal?: AbortSignal;
}

/** Every default of a consumer, in one place. */
export const CONSUME_DEFAULTS = { shards: 4, leaseSeconds: 10, claimIdleMs: 30_000, replayLines: 20_000, batch: 1000 } as const;

/** Counts of one consumer run. */
export interface ConsumeSummary {
  consumer: string;
  entries: number;
  lines_scored: number;
  alerts: number;
  /** Alerts not written again: their entry had alerted before (a re-delivery). */
  alerts_already_written: number;
  /** Entries of a line already scored (a shipper's re-send) passed over. */
  duplicate_lines: number;
  skipped: Record<string, number>;
  takeovers: number;
  shards_released: number;
  claimed: number;
  replayed: number;
  model_reloads: number;
  /** Longest wait from acquiring a shard to scoring it again (ms). */
  takeover_ms_max: number;
  rss_max_mb: number;
  seconds: number;
}

/** An alert as the consumer writes it: the detector's alert with its idempotent id. */
export interface StreamAlert extends Alert {
  id: string;
  shard: number;
  entry: string;
}

type Entry = [id: string, fields: string[] | null];

interface ShardState {
  shard: number;
  key: string;
  phase: "claiming" | "reading";
  /** One detector per source (file): its windows. */
  detectors: Map<string, Detector>;
  /** Last line number scored per file (a repeated one is a shipper's re-send). */
  lastLine: Map<string, number>;
  /** Read own pending entries ("0") before new ones: after a takeover or a reconnection. */
  checkOwn: boolean;
  acquiredAt: number;
}

// KEYS: marker, alerts stream, counts hash; ARGV: alert id, group, shard, entry, json, marker ttl (s).
const WRITE_ALERT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'id', ARGV[1], 'group', ARGV[2], 'shard', ARGV[3], 'entry', ARGV[4], 'alert', ARGV[5])
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  return 1
end
return 0`;
const MARKER_TTL_SECONDS = 86_400;
/** After a stop is asked for, how long a Redis call may still wait (Redis unreachable) before the run gives up on it (ms). */
const STOP_GRACE_MS = 5000;

/** Check the options; RangeError naming the option otherwise. */
function checkConsume(o: ConsumeOptions) {
  const int = (v: number, name: string, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    return v;
  };
  const leaseSeconds = o.leaseSeconds ?? CONSUME_DEFAULTS.leaseSeconds;
  if (!(leaseSeconds >= 1 && leaseSeconds <= 3600)) throw new RangeError(`--lease-seconds must be in [1, 3600], got ${leaseSeconds}`);
  if (o.durationSeconds !== undefined && !(o.durationSeconds > 0)) throw new RangeError(`--duration must be > 0 seconds, got ${o.durationSeconds}`);
  return {
    addr: parseRedisUrl(o.from, "--from"),
    stream: checkName(o.stream, "--stream"),
    group: checkName(o.group, "--group"),
    consumer: checkName(o.consumer, "--consumer"),
    shards: checkShards(o.shards ?? CONSUME_DEFAULTS.shards),
    leaseMs: Math.round(leaseSeconds * 1000),
    claimIdleMs: int(o.claimIdleMs ?? CONSUME_DEFAULTS.claimIdleMs, "--claim-idle-ms", 0, 86_400_000),
    replayLines: int(o.replayLines ?? CONSUME_DEFAULTS.replayLines, "--replay-lines", 0, 10_000_000),
    batch: int(o.batch ?? CONSUME_DEFAULTS.batch, "--batch", 1, 100_000),
  };
}

/** Run one consumer until stopped (signal or duration); resolves with its counts. */
export async function consume(o: ConsumeOptions): Promise<ConsumeSummary> {
  const c = checkConsume(o);
  const redis = await connectRedis(c.addr);
  try {
    const model = await ModelSource.open(o.model, redis);
    const run = new Consumer(redis, c, model, o);
    return await run.run();
  } finally {
    await closeRedis(redis);
  }
}

class Consumer {
  private readonly keys: Keys;
  private readonly lease: Leases;
  private readonly owned = new Map<number, ShardState>();
  private readonly alerted = new Set<string>();
  private readonly sink: LineSink | null;
  private readonly out: Writable | null;
  private readonly summary: ConsumeSummary;
  private nextLease = 0;
  private nextModelCheck = 0;
  private reconnected = false;
  /** Rejects STOP_GRACE_MS after a stop is asked for. */
  private stopped: Promise<never> = new Promise<never>(() => undefined);
  private gaveUp = false;

  constructor(
    private readonly redis: Redis,
    private readonly c: ReturnType<typeof checkConsume>,
    private readonly model: ModelSource,
    private readonly o: ConsumeOptions,
  ) {
    this.keys = new Keys(c.stream, c.group);
    this.lease = new Leases(redis, this.keys, c.consumer, c.shards, c.leaseMs, (f) => this.retry(f));
    this.sink = o.alerts ? new LineSink(o.alerts, "--alerts") : null;
    this.out = o.out === undefined ? process.stdout : o.out;
    this.summary = {
      consumer: c.consumer, entries: 0, lines_scored: 0, alerts: 0, alerts_already_written: 0, duplicate_lines: 0, skipped: {},
      takeovers: 0, shards_released: 0, claimed: 0, replayed: 0, model_reloads: 0, takeover_ms_max: 0, rss_max_mb: 0, seconds: 0,
    };
    let first = true;
    redis.on("ready", () => {
      if (!first) this.reconnected = true;
      first = false;
    });
  }

  async run(): Promise<ConsumeSummary> {
    const started = performance.now();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    // Calls wait through an outage (ioredis queues them until it reconnects); once stopped, only a little longer.
    let grace: NodeJS.Timeout | null = null;
    this.stopped = new Promise<never>((_, reject) => {
      stop.signal.addEventListener("abort", () => {
        grace = setTimeout(() => (this.gaveUp = true, reject(new Error(`stopped while Redis did not answer for ${STOP_GRACE_MS} ms: unacknowledged entries stay pending for the next owner`))), STOP_GRACE_MS);
      }, { once: true });
    });
    this.stopped.catch(() => undefined);
    this.o.signal?.addEventListener("abort", onAbort);
    if (this.o.signal?.aborted) stop.abort();
    const timer = this.o.durationSeconds !== undefined ? setTimeout(onAbort, this.o.durationSeconds * 1000) : null;
    try {
      await this.lease.join();
      // Let consumers started together see each other before taking shares.
      await sleep(Math.min(1000, this.c.leaseMs / 3), stop.signal);
      while (!stop.signal.aborted) {
        await this.step(stop.signal);
        this.summary.rss_max_mb = Math.max(this.summary.rss_max_mb, Math.round(process.memoryUsage().rss / 2 ** 20));
      }
    } finally {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      this.o.signal?.removeEventListener("abort", onAbort);
      this.sink?.close();
      await this.leave();
    }
    this.summary.seconds = (performance.now() - started) / 1000;
    return this.summary;
  }

  /** One round: leases, model, claims, then one read of every owned shard. */
  private async step(signal: AbortSignal): Promise<void> {
    if (Date.now() >= this.nextLease) await this.leases();
    if (Date.now() >= this.nextModelCheck) {
      this.nextModelCheck = Date.now() + 1000;
      if (await this.retry(() => this.model.refresh())) {
        this.summary.model_reloads++;
        // New model, new windows: rebuilt from the replay as after a takeover.
        for (const s of this.owned.values()) this.restart(s);
      }
    }
    if (this.reconnected) {
      this.reconnected = false;
      for (const s of this.owned.values()) s.checkOwn = true;
    }
    for (const s of this.owned.values()) if (s.phase === "claiming") await this.claim(s);
    const reading = [...this.owned.values()].filter((s) => s.phase === "reading");
    if (reading.length === 0) {
      await sleep(100, signal);
      return;
    }
    for (const s of reading.filter((r) => r.checkOwn)) {
      const own = await this.read([s], "0", 0);
      const entries = own.get(s.shard) ?? [];
      if (entries.length === 0) s.checkOwn = false;
      else await this.score(s, entries, true);
    }
    const got = await this.read(reading.filter((s) => !s.checkOwn), ">", 200);
    for (const [shard, entries] of got) {
      const s = this.owned.get(shard);
      if (s !== undefined && entries.length > 0) await this.score(s, entries, true);
    }
  }

  /** XREADGROUP over several shards; entries by shard. */
  private async read(shards: ShardState[], from: string, blockMs: number): Promise<Map<number, Entry[]>> {
    const byKey = new Map(shards.map((s) => [s.key, s.shard]));
    const res = new Map<number, Entry[]>();
    if (shards.length === 0) return res;
    const args: Array<string | number> = ["GROUP", this.c.group, this.c.consumer, "COUNT", this.c.batch];
    if (blockMs > 0) args.push("BLOCK", blockMs);
    args.push("STREAMS", ...shards.map((s) => s.key), ...shards.map(() => from));
    const reply = (await this.retry(() => this.redis.call("XREADGROUP", ...args))) as Array<[string, Entry[]]> | null;
    for (const [key, entries] of reply ?? []) {
      const shard = byKey.get(key);
      if (shard !== undefined) res.set(shard, entries);
    }
    return res;
  }

  /** Score entries of one shard in order; with `live`, write alerts then XACK. */
  private async score(s: ShardState, entries: Entry[], live: boolean): Promise<void> {
    const alerts: StreamAlert[] = [];
    let i = 0;
    while (i < entries.length) {
      // A run: consecutive entries of one file with increasing line numbers.
      const file = fieldOf(entries[i][1], "file");
      const ids: string[] = [];
      const texts: string[] = [];
      const nos: number[] = [];
      for (; i < entries.length; i++) {
        const [id, fields] = entries[i];
        if (live) this.summary.entries++;
        if (fields === null) continue; // trimmed away before it was read: nothing to score
        if (fieldOf(fields, "file") !== file) break;
        const no = Number(fieldOf(fields, "line"));
        const last = s.lastLine.get(file) ?? 0;
        if (no > 1 && no <= last) {
          if (live) this.summary.duplicate_lines++;
          continue;
        }
        if (no === 1 && nos.length > 0) break; // a new file at the path: its own run
        s.lastLine.set(file, no);
        if (fieldOf(fields, "too_long") === "1") {
          if (live) this.summary.skipped.too_long = (this.summary.skipped.too_long ?? 0) + 1;
          continue;
        }
        ids.push(id);
        texts.push(fieldOf(fields, "text"));
        nos.push(no);
      }
      if (texts.length === 0) continue;
      const d = this.detectorFor(s, file);
      const idOfLine = new Map<number, string>();
      nos.forEach((n, k) => idOfLine.set(n, ids[k]));
      const before = d.stats.lines_scored;
      d.processBatch(file, texts, nos, (a) => {
        if (!live) return;
        const entry = idOfLine.get(a.line) ?? "";
        alerts.push({ id: `${s.shard}:${entry}`, shard: s.shard, entry, ...a });
      });
      if (live) this.summary.lines_scored += d.stats.lines_scored - before;
      else this.summary.replayed += texts.length;
    }
    if (!live) return;
    await this.writeAlerts(alerts);
    const ids = entries.map((e) => e[0]);
    await this.retry(() => this.redis.xack(s.key, this.c.group, ...ids));
  }

  private async writeAlerts(alerts: StreamAlert[]): Promise<void> {
    const lines: string[] = [];
    for (const a of alerts) {
      if (this.alerted.has(a.id)) continue;
      const json = JSON.stringify(a);
      const wrote = await this.retry(() =>
        this.redis.eval(WRITE_ALERT, 3, this.keys.alerted(a.id), this.keys.alerts, this.keys.alertCounts,
          a.id, this.c.group, String(a.shard), a.entry, json, String(MARKER_TTL_SECONDS)),
      );
      this.alerted.add(a.id);
      if (wrote !== 1) {
        this.summary.alerts_already_written++;
        continue;
      }
      this.summary.alerts++;
      lines.push(`${json}\n`);
    }
    if (lines.length === 0) return;
    if (this.sink !== null) {
      this.sink.write(lines.join(""));
      this.sink.sync();
    } else {
      this.out?.write(lines.join(""));
    }
  }

  private detectorFor(s: ShardState, file: string): Detector {
    let d = s.detectors.get(file);
    if (d === undefined) {
      d = new Detector(this.model.forest, {
        rules: this.o.rules, format: this.o.format ?? "auto", explain: this.o.explain ?? true, untimedClock: "lines",
      });
      s.detectors.set(file, d);
    }
    return d;
  }

  /** Heartbeat, renew owned leases, give back extras, take free shards up to the share (see Leases). */
  private async leases(): Promise<void> {
    this.nextLease = Date.now() + this.c.leaseMs / 3;
    const r = await this.lease.round(new Set(this.owned.keys()));
    for (const shard of [...r.lost, ...r.released]) this.owned.delete(shard);
    this.summary.shards_released += r.released.length;
    for (const shard of r.acquired) await this.acquire(shard);
  }

  private async acquire(shard: number): Promise<void> {
    const key = this.keys.shard(shard);
    await this.retry(async () => {
      try {
        await this.redis.call("XGROUP", "CREATE", key, this.c.group, "0", "MKSTREAM");
      } catch (err) {
        if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
      }
    });
    const s: ShardState = { shard, key, phase: "claiming", detectors: new Map(), lastLine: new Map(), checkOwn: true, acquiredAt: Date.now() };
    this.owned.set(shard, s);
    this.summary.takeovers++;
  }

  private restart(s: ShardState): void {
    s.phase = "claiming";
    s.detectors = new Map();
    s.lastLine = new Map();
    s.checkOwn = true;
    s.acquiredAt = Date.now();
  }

  /** Claim what the old owner left pending (once idle enough), then replay the windows and start reading. */
  private async claim(s: ShardState): Promise<void> {
    const others = async () => {
      const p = (await this.retry(() => this.redis.call("XPENDING", s.key, this.c.group))) as [number, string | null, string | null, Array<[string, string]> | null];
      return { count: Number(p[0]), min: p[1], byConsumer: (p[3] ?? []).filter(([name]) => name !== this.c.consumer) };
    };
    let pending = await others();
    if (pending.byConsumer.length > 0) {
      let cursor = "0-0";
      for (let round = 0; round < 1000; round++) {
        const r = (await this.retry(() => this.redis.call("XAUTOCLAIM", s.key, this.c.group, this.c.consumer, this.c.claimIdleMs, cursor, "COUNT", 1000, "JUSTID"))) as [string, string[]];
        this.summary.claimed += r[1].length;
        cursor = r[0];
        if (cursor === "0-0") break;
      }
      pending = await others();
      if (pending.byConsumer.length > 0) return; // not idle long enough yet: the next round tries again
    }
    await this.replay(s, pending.count > 0 ? pending.min : null);
    s.phase = "reading";
    s.checkOwn = true;
    this.summary.takeover_ms_max = Math.max(this.summary.takeover_ms_max, Date.now() - s.acquiredAt);
  }

  /** Replay the entries before the first unacknowledged one (or all delivered ones) through the detectors, without alerts. */
  private async replay(s: ShardState, firstPending: string | null): Promise<void> {
    if (this.c.replayLines === 0) return;
    let end: string;
    if (firstPending !== null) {
      end = `(${firstPending}`;
    } else {
      const groups = (await this.retry(() => this.redis.call("XINFO", "GROUPS", s.key))) as Array<Array<string | number | null>>;
      const g = groups.map(replyObject).find((x) => x.name === this.c.group);
      const last = g?.["last-delivered-id"];
      if (typeof last !== "string" || last === "0-0") return;
      end = last;
    }
    const back = (await this.retry(() => this.redis.call("XREVRANGE", s.key, end, "-", "COUNT", this.c.replayLines))) as Entry[];
    back.reverse();
    for (let i = 0; i < back.length; i += this.c.batch) await this.score(s, back.slice(i, i + this.c.batch), false);
  }

  /** Give back leases and leave the consumer set (entries are all acknowledged: nothing is pending). */
  private async leave(): Promise<void> {
    if (this.gaveUp) return; // Redis is not answering: the leases expire by themselves
    const quick = async (f: () => Promise<unknown>) => {
      try {
        await Promise.race([f(), new Promise((r) => setTimeout(r, 2000).unref())]);
      } catch {
        // leases expire by themselves
      }
    };
    for (const shard of this.owned.keys()) await quick(() => this.lease.release(shard));
    await quick(() => this.lease.quit());
    this.owned.clear();
  }

  /**
   * Run a Redis call, retrying with backoff (a restarting Redis answers LOADING; a call cut with its
   * connection errors) for as long as the run goes on; after a stop, for STOP_GRACE_MS more.
   */
  private async retry<T>(f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await Promise.race([f(), this.stopped]);
      } catch (err) {
        if (this.gaveUp) throw err;
        await Promise.race([sleep(retryDelay(attempt)), this.stopped]);
      }
    }
  }
}

/** A field of a stream entry ("" when absent). */
function fieldOf(fields: string[] | null, name: string): string {
  if (fields === null) return "";
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return "";
}
