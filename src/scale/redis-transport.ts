/**
 * The scale-out's transport on Redis Streams (the StreamTransport of transport.ts): one
 * connection (ioredis, reconnecting with backoff forever), the shipper's XADD pipeline, the
 * model hash {generation, model}, and what `status` reads (XLEN, XINFO GROUPS, the lease
 * keys, the alert counts). A group member's calls are in redis-member.ts; the key names in
 * redis.ts.
 */
import type { Redis } from "ioredis";
import { retryDelay } from "./common.js";
import { packEntries } from "./redis-entries.js";
import { RedisMember } from "./redis-member.js";
import { closeRedis, connectRedis, Keys, parseRedisUrl, replyObject, type RedisAddress } from "./redis.js";
import type { GroupMember, GroupMonitor, LineAppender, LineBatch, ModelStore, ShardInfo, StoredModel, StreamTransport } from "./transport.js";

/** A StreamTransport over one Redis connection. */
export class RedisTransport implements StreamTransport {
  readonly name = "Redis";
  readonly models: ModelStore;

  private constructor(private readonly redis: Redis) {
    this.models = new RedisModels(redis);
  }

  /** Connect and check Redis answers within `timeoutMs`; an Error "cannot reach Redis at HOST:PORT..." if not. */
  static async connect(addr: RedisAddress, timeoutMs = 5000): Promise<RedisTransport> {
    return new RedisTransport(await connectRedis(addr, timeoutMs));
  }

  appender(stream: string, maxlen: number, linesPerEntry = 1): LineAppender {
    return new RedisAppender(this.redis, stream, maxlen, linesPerEntry);
  }

  member(stream: string, group: string, consumer: string): GroupMember {
    return new RedisMember(this.redis, new Keys(stream, group), consumer);
  }

  monitor(stream: string, group: string): GroupMonitor {
    return new RedisMonitor(this.redis, new Keys(stream, group));
  }

  onReconnect(listener: () => void): void {
    // Connected means ready once already: every later "ready" follows a loss.
    this.redis.on("ready", listener);
  }

  close(): Promise<void> {
    return closeRedis(this.redis);
  }
}

/**
 * The shipper's side: XADD with MAXLEN ~, in pipelines, runs of a file's lines packed into
 * entries (redis-entries.ts). MAXLEN counts entries: each shard's is `maxlen` lines over the
 * lines per entry this appender has written there so far, so a shard keeps about `maxlen` lines.
 */
class RedisAppender implements LineAppender {
  /** Per shard: [lines, entries] written. */
  private readonly written = new Map<number, [number, number]>();

  constructor(private readonly redis: Redis, private readonly stream: string, private readonly maxlen: number, private readonly linesPerEntry: number) {}

  /** XADD every line of the batch, in order; from the first failed entry on, again after a backoff, until all are in. */
  async append(b: LineBatch): Promise<void> {
    let from = 0;
    for (let attempt = 0; from < b.shards.length; attempt++) {
      const p = this.redis.pipeline();
      const entries = packEntries(b, from, this.linesPerEntry);
      for (const e of entries) p.xadd(`${this.stream}:${e.shard}`, "MAXLEN", "~", String(this.entriesKept(e.shard, e.count)), "*", ...e.fields);
      let results: Array<[Error | null, unknown]> | null;
      try {
        results = await p.exec();
      } catch {
        results = null;
      }
      const failed = results === null ? 0 : results.findIndex(([err]) => err !== null);
      if (failed < 0) return;
      // Entries before the first failure are in (a retry from there keeps each file's order).
      from = entries[failed].from;
      await new Promise((r) => setTimeout(r, retryDelay(attempt)));
    }
  }

  /** MAXLEN for a shard getting an entry of `count` lines. */
  private entriesKept(shard: number, count: number): number {
    const w = this.written.get(shard) ?? [0, 0];
    w[0] += count;
    w[1]++;
    this.written.set(shard, w);
    return Math.max(1000, Math.ceil((this.maxlen * w[1]) / w[0]));
  }
}

/** The model as a hash {generation, model}, addressed redis://HOST:PORT/KEY. */
class RedisModels implements ModelStore {
  constructor(private readonly redis: Redis) {}

  keyOf(spec: string): string | null {
    if (!spec.startsWith("redis://")) return null;
    return parseRedisUrl(spec, "--model").key;
  }

  async load(key: string): Promise<StoredModel | null> {
    const [gen, bytes] = await Promise.all([this.redis.hget(key, "generation"), this.redis.hgetBuffer(key, "model")]);
    if (gen === null || bytes === null) return null;
    return { generation: Number(gen), bytes: new Uint8Array(bytes) };
  }

  async generation(key: string): Promise<number> {
    return Number(await this.redis.hget(key, "generation"));
  }

  async publish(key: string, bytes: Uint8Array): Promise<number> {
    const res = await this.redis.multi().hset(key, "model", Buffer.from(bytes)).hincrby(key, "generation", 1).exec();
    return Number(res?.[1]?.[1]);
  }
}

/** What `status` reads of one stream and group. */
class RedisMonitor implements GroupMonitor {
  constructor(private readonly redis: Redis, private readonly keys: Keys) {}

  async shard(s: number): Promise<ShardInfo> {
    const key = this.keys.shard(s);
    const [owner, length] = await Promise.all([this.redis.get(this.keys.lease(s)), this.redis.xlen(key)]);
    let pending = 0;
    let undelivered: number | null = length;
    if (length > 0) {
      const groups = (await this.redis.call("XINFO", "GROUPS", key)) as Array<Array<string | number | null>>;
      const g = groups.map(replyObject).find((x) => x.name === this.keys.group);
      if (g !== undefined) {
        pending = Number(g.pending ?? 0);
        undelivered = g.lag === null || g.lag === undefined ? null : Number(g.lag);
      }
    }
    return { owner, length, pending, undelivered };
  }

  async alertCounts(): Promise<Map<number, number>> {
    const counts = await this.redis.hgetall(this.keys.alertCounts);
    return new Map(Object.entries(counts).map(([s, n]) => [Number(s), Number(n)]));
  }
}
