/** `logforest status --from redis://...`: per shard, its owner, its lag and its alerts (read through the transport). */
import { checkName, checkShards } from "./common.js";
import type { StreamTransport } from "./transport.js";

/** One shard's state. */
export interface ShardStatus {
  shard: number;
  /** Consumer holding the lease, or null. */
  owner: string | null;
  /** Entries in the stream (after trimming). */
  length: number;
  /** Delivered, not acknowledged. */
  pending: number;
  /** Not delivered yet (null when the transport cannot tell: entries trimmed or deleted). */
  undelivered: number | null;
  /** pending + undelivered: entries not acknowledged. */
  lag: number | null;
  alerts: number;
}

/** Options of status(). */
export interface StatusOptions {
  stream: string;
  group: string;
  shards?: number;
}

/** Check status()'s options; RangeError naming the option otherwise. */
export function checkStatus(o: StatusOptions): { stream: string; group: string; shards: number } {
  return { stream: checkName(o.stream, "--stream"), group: checkName(o.group, "--group"), shards: checkShards(o.shards ?? 4) };
}

/** The state of every shard of a stream for a group. */
export async function status(transport: StreamTransport, o: StatusOptions): Promise<ShardStatus[]> {
  const c = checkStatus(o);
  const monitor = transport.monitor(c.stream, c.group);
  const counts = await monitor.alertCounts();
  const out: ShardStatus[] = [];
  for (let s = 0; s < c.shards; s++) {
    const { owner, length, pending, undelivered } = await monitor.shard(s);
    out.push({ shard: s, owner, length, pending, undelivered, lag: undelivered === null ? null : pending + undelivered, alerts: counts.get(s) ?? 0 });
  }
  return out;
}
