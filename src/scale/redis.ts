/**
 * Redis itself, for the Redis transport (redis-transport.ts, redis-member.ts): the
 * redis:// address, the connection (retries with backoff, never giving up on a command)
 * and the key names. Nothing outside redis*.ts imports ioredis.
 *
 * Keys of stream NAME, group G (one Redis database holds any number of them):
 *   NAME:0 .. NAME:N-1       the shards: one stream each, entries {file, line, text}
 *   NAME:alerts              alerts of every group: entries {id, group, shard, entry, alert}
 *   NAME:G:lease:S           owner of shard S (a consumer name), with an expiry
 *   NAME:G:consumers         sorted set: consumer -> last heartbeat (ms)
 *   NAME:G:alerted:ID        marker: alert ID was written (so a re-delivery writes none)
 *   NAME:G:alert-counts      hash: shard -> alerts written
 */
import { Redis, type RedisOptions } from "ioredis";
import { retryDelay } from "./common.js";

/** A parsed redis://HOST:PORT[/KEY] address. */
export interface RedisAddress {
  host: string;
  port: number;
  /** The path after the port (a model key), or "" when none. */
  key: string;
}

/** Parse redis://HOST:PORT[/KEY]; `option` names the flag in the error. */
export function parseRedisUrl(url: string, option: string): RedisAddress {
  const m = /^redis:\/\/([^/:]+)(?::(\d+))?(?:\/(.*))?$/.exec(url);
  if (m === null) throw new RangeError(`${option} must be redis://HOST:PORT (optionally /KEY), got ${JSON.stringify(url)}`);
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new RangeError(`${option}: port must be in [1, 65535], got ${m[2]}`);
  return { host: m[1], port, key: m[3] ?? "" };
}

/**
 * Connect and check the server answers (PING) within `timeoutMs`; a clear error if not.
 * Afterwards the client reconnects with backoff forever and queues commands meanwhile.
 */
export async function connectRedis(addr: RedisAddress, timeoutMs = 5000): Promise<Redis> {
  const opts: RedisOptions = {
    host: addr.host,
    port: addr.port,
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: retryDelay,
    enableAutoPipelining: false,
  };
  const redis = new Redis(opts);
  let last = "";
  // Reconnects are the retry strategy's job and commands report their own failures; the last error explains a failed start.
  redis.on("error", (e: Error) => (last = e.message));
  const timer = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`cannot reach Redis at ${addr.host}:${addr.port} within ${timeoutMs} ms`)), timeoutMs);
    t.unref();
  });
  try {
    await Promise.race([redis.connect().then(() => redis.ping()), timer]);
  } catch (err) {
    redis.disconnect();
    const why = last !== "" ? last : err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach Redis at ${addr.host}:${addr.port}${why.startsWith("cannot reach") ? "" : `: ${why}`}`);
  }
  return redis;
}

/** QUIT, or drop the connection when Redis does not answer within 1 s (a queued QUIT would wait for a reconnect). */
export async function closeRedis(redis: Redis): Promise<void> {
  const quit = redis.quit().then(() => true, () => false);
  const answered = await Promise.race([quit, new Promise<boolean>((r) => setTimeout(() => r(false), 1000).unref())]);
  if (!answered) redis.disconnect();
}



/** Key names of one stream and group. */
export class Keys {
  constructor(readonly stream: string, readonly group: string) {}
  shard(s: number): string {
    return `${this.stream}:${s}`;
  }
  get alerts(): string {
    return `${this.stream}:alerts`;
  }
  lease(s: number): string {
    return `${this.stream}:${this.group}:lease:${s}`;
  }
  get consumers(): string {
    return `${this.stream}:${this.group}:consumers`;
  }
  alerted(id: string): string {
    return `${this.stream}:${this.group}:alerted:${id}`;
  }
  get alertCounts(): string {
    return `${this.stream}:${this.group}:alert-counts`;
  }
}

/** Milliseconds part of a stream entry id ("1700000000000-3" -> 1700000000000). */
export function entryMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** Compare two stream entry ids. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

/** A Redis reply [k1, v1, k2, v2, ...] as an object. */
export function replyObject(flat: Array<string | number | null>): Record<string, string | number | null> {
  const o: Record<string, string | number | null> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

