/** `logforest status --from redis://...`: per shard, its owner, its lag and its alerts. */
import { checkName, checkShards, closeRedis, connectRedis, Keys, parseRedisUrl, replyObject } from "./redis.js";

/** One shard's state. */
export interface ShardStatus {
  shard: number;
  /** Consumer holding the lease, or null. */
  owner: string | null;
  /** Entries in the stream (after trimming). */
  length: number;
  /** Delivered, not acknowledged. */
  pending: number;
  /** Not delivered yet (null when Redis cannot tell: entries trimmed or deleted). */
  undelivered: number | null;
  /** pending + undelivered: entries not acknowledged. */
  lag: number | null;
  alerts: number;
}

/** The state of every shard of a stream for a group. */
export async function status(o: { from: string; stream: string; group: string; shards?: number }): Promise<ShardStatus[]> {
  const addr = parseRedisUrl(o.from, "--from");
  const keys = new Keys(checkName(o.stream, "--stream"), checkName(o.group, "--group"));
  const shards = checkShards(o.shards ?? 4);
  const redis = await connectRedis(addr);
  try {
    const counts = await redis.hgetall(keys.alertCounts);
    const out: ShardStatus[] = [];
    for (let s = 0; s < shards; s++) {
      const key = keys.shard(s);
      const [owner, length] = await Promise.all([redis.get(keys.lease(s)), redis.xlen(key)]);
      let pending = 0;
      let undelivered: number | null = length;
      if (length > 0) {
        const groups = (await redis.call("XINFO", "GROUPS", key)) as Array<Array<string | number | null>>;
        const g = groups.map(replyObject).find((x) => x.name === o.group);
        if (g !== undefined) {
          pending = Number(g.pending ?? 0);
          undelivered = g.lag === null || g.lag === undefined ? null : Number(g.lag);
        }
      }
      out.push({ shard: s, owner, length, pending, undelivered, lag: undelivered === null ? null : pending + undelivered, alerts: Number(counts[String(s)] ?? 0) });
    }
    return out;
  } finally {
    await closeRedis(redis);
  }
}
