/**
 * Shard leases: which consumer of a group scores which shard. A lease is a key holding the
 * owner's name with an expiry (SET NX PX), renewed every third of its life; a consumer that
 * stops renewing loses its shards to the others once the expiry passes. Live consumers
 * heartbeat into a sorted set; each takes its share (see shareOf) and gives back extras
 * when others join, so the shards spread evenly.
 */
import type { Redis } from "ioredis";
import { fnv1a, type Keys } from "./redis.js";

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** What one round of lease keeping changed. */
export interface LeaseRound {
  /** Expired while we were cut off (a new owner may have them): drop their state. */
  lost: number[];
  /** Given back: over our share. */
  released: number[];
  /** Newly ours: take them over. */
  acquired: number[];
}

/** The leases of one consumer. */
export class Leases {
  constructor(
    private readonly redis: Redis, private readonly keys: Keys, private readonly me: string,
    private readonly shards: number, private readonly leaseMs: number,
    /** How every Redis call is made (the consumer retries through outages). */
    private readonly call: <T>(f: () => Promise<T>) => Promise<T>,
  ) {}

  /** Announce this consumer (before taking any shard, so those starting together see each other). */
  async join(): Promise<void> {
    await this.call(() => this.redis.zadd(this.keys.consumers, Date.now(), this.me));
  }

  /** Heartbeat, renew the leases of `owned`, give back extras over the share, take free shards up to it. */
  async round(owned: ReadonlySet<number>): Promise<LeaseRound> {
    const { redis, keys, me, leaseMs, shards } = this;
    const now = Date.now();
    await this.call(() => redis.zadd(keys.consumers, now, me));
    await this.call(() => redis.zremrangebyscore(keys.consumers, "-inf", now - 10 * leaseMs));
    const live = await this.call(() => redis.zrangebyscore(keys.consumers, now - leaseMs, "+inf"));
    const out: LeaseRound = { lost: [], released: [], acquired: [] };
    const mine = new Set<number>();
    for (const shard of owned) {
      const kept = await this.call(() => redis.eval(RENEW, 1, keys.lease(shard), me, String(leaseMs)));
      if (kept === 1) mine.add(shard);
      else out.lost.push(shard);
    }
    const share = shareOf(me, live, shards);
    for (const shard of [...mine].sort((a, b) => b - a)) {
      if (mine.size <= share) break;
      await this.call(() => this.release(shard));
      mine.delete(shard);
      out.released.push(shard);
    }
    // Each consumer looks from its own starting shard, so those starting together rarely race for one.
    const offset = fnv1a(me) % shards;
    for (let k = 0; k < shards && mine.size < share; k++) {
      const shard = (offset + k) % shards;
      if (mine.has(shard)) continue;
      const got = await this.call(() => redis.set(keys.lease(shard), me, "PX", leaseMs, "NX"));
      if (got !== "OK") continue;
      mine.add(shard);
      out.acquired.push(shard);
    }
    return out;
  }

  /** Give a shard back (only if still ours). */
  async release(shard: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.lease(shard), this.me);
  }

  /** Leave the set of live consumers. */
  async quit(): Promise<void> {
    await this.redis.zrem(this.keys.consumers, this.me);
  }
}

/**
 * Shards this consumer should own: the live consumers, sorted by name, split the shards as
 * evenly as they go, the first ones taking one more (so the shares add up to the shard count).
 */
export function shareOf(me: string, live: readonly string[], shards: number): number {
  const names = [...new Set([...live, me])].sort();
  const rank = names.indexOf(me);
  return Math.floor(shards / names.length) + (rank < shards % names.length ? 1 : 0);
}
