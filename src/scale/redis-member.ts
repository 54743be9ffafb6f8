/**
 * A consumer-group member on Redis Streams (the GroupMember of transport.ts): XREADGROUP,
 * XACK, XAUTOCLAIM, XREVRANGE for the replay, leases as keys with an expiry (SET NX PX,
 * renewed by a script that checks the owner), a sorted set of heartbeats, and alerts
 * written once through a marker set in the same script as the alert's XADD.
 */
import type { Redis } from "ioredis";
import { entryLines, linesOf } from "./redis-entries.js";
import { replyObject, type Keys } from "./redis.js";
import type { Entry, EntryId, GroupMember, PublishedAlert } from "./transport.js";

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// KEYS: marker, alerts stream, counts hash; ARGV: alert id, group, shard, entry, json, marker ttl (s).
const WRITE_ALERT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'id', ARGV[1], 'group', ARGV[2], 'shard', ARGV[3], 'entry', ARGV[4], 'alert', ARGV[5])
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  return 1
end
return 0`;
/** How long Redis remembers that an alert was written (a re-delivery after that would write it again). */
const MARKER_TTL_SECONDS = 86_400;

type RawEntry = [id: string, fields: string[] | null];

/** Says what the member did that the user should know; default: a line on stderr. */
export type Notice = (message: string) => void;
const toStderr: Notice = (m) => void process.stderr.write(`logforest: ${m}\n`);

/** One member of a group, over one connection. */
export class RedisMember implements GroupMember {
  /** Times Redis was found to have lost its data (the group and streams made again). */
  recreated = 0;
  private epoch: string | null = null;

  constructor(private readonly redis: Redis, private readonly keys: Keys, readonly name: string, private readonly notice: Notice = toStderr) {}

  async ensureShard(shard: number): Promise<void> {
    await this.checkEpoch();
    await this.createGroup(shard);
  }

  /**
   * Redis's memory, told apart by a key set once (NX) with the group: when the one this member
   * saw is gone, Redis lost its data (restarted without persistence, or flushed). Said once per loss.
   */
  private async checkEpoch(): Promise<void> {
    const key = `${this.keys.consumers}:epoch`;
    await this.redis.set(key, `${Date.now()}-${this.name}`, "NX");
    const now = await this.redis.get(key);
    if (this.epoch !== null && now !== this.epoch) {
      this.recreated++;
      this.notice(`Redis lost its data (restarted without persistence, or flushed): the consumer group "${this.keys.group}" is made again on each shard `
        + `from the entries its stream holds now; entries shipped before the loss and not yet scored are gone with it `
        + `(lines_missing in the summary counts the gaps in line numbers this consumer sees)`);
    }
    this.epoch = now;
  }

  /** XGROUP CREATE from the first entry (MKSTREAM); false when the group was there already. */
  private async createGroup(shard: number): Promise<boolean> {
    try {
      await this.redis.call("XGROUP", "CREATE", this.keys.shard(shard), this.keys.group, "0", "MKSTREAM");
      return true;
    } catch (err) {
      if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
      return false;
    }
  }

  /**
   * Run `f` on `shards`; if Redis says a group is gone (NOGROUP: restarted without persistence,
   * or the stream deleted), make it again from the stream's first entry (every entry there now
   * came after the loss), say so (checkEpoch), and run `f` once more.
   */
  private async withGroup<T>(shards: readonly number[], f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("NOGROUP"))) throw err;
      await this.checkEpoch();
      for (const shard of shards) await this.createGroup(shard);
      return await f();
    }
  }

  async read(shards: readonly number[], which: "new" | "own", count: number, blockMs: number): Promise<Map<number, Entry[]>> {
    const res = new Map<number, Entry[]>();
    if (shards.length === 0) return res;
    const byKey = new Map(shards.map((s) => [this.keys.shard(s), s]));
    const args: Array<string | number> = ["GROUP", this.keys.group, this.name, "COUNT", count];
    if (blockMs > 0) args.push("BLOCK", blockMs);
    const from = which === "new" ? ">" : "0";
    args.push("STREAMS", ...byKey.keys(), ...shards.map(() => from));
    const reply = await this.withGroup(shards, async () => (await this.redis.call("XREADGROUP", ...args)) as Array<[string, RawEntry[]]> | null);
    for (const [key, entries] of reply ?? []) {
      const shard = byKey.get(key);
      if (shard !== undefined) res.set(shard, entries.flatMap(([id, fields]) => entryLines(id, fields, key)));
    }
    return res;
  }

  async ack(shard: number, ids: readonly EntryId[]): Promise<void> {
    await this.redis.xack(this.keys.shard(shard), this.keys.group, ...ids);
  }

  async claim(shard: number, idleMs: number): Promise<{ claimed: number; waiting: boolean }> {
    const key = this.keys.shard(shard);
    if ((await this.withGroup([shard], () => this.othersPending(key))) === 0) return { claimed: 0, waiting: false };
    let claimed = 0;
    let cursor = "0-0";
    for (let round = 0; round < 1000; round++) {
      const r = (await this.redis.call("XAUTOCLAIM", key, this.keys.group, this.name, idleMs, cursor, "COUNT", 1000, "JUSTID")) as [string, string[]];
      claimed += r[1].length;
      cursor = r[0];
      if (cursor === "0-0") break;
    }
    return { claimed, waiting: (await this.othersPending(key)) > 0 };
  }

  /** Consumers other than this one holding pending entries of a shard. */
  private async othersPending(key: string): Promise<number> {
    const p = (await this.redis.call("XPENDING", key, this.keys.group)) as [number, string | null, string | null, Array<[string, string]> | null];
    return (p[3] ?? []).filter(([name]) => name !== this.name).length;
  }

  async replay(shard: number, count: number): Promise<Entry[]> {
    const key = this.keys.shard(shard);
    const p = await this.withGroup([shard], async () => (await this.redis.call("XPENDING", key, this.keys.group)) as [number, string | null, ...unknown[]]);
    let end: string;
    if (Number(p[0]) > 0 && p[1] !== null) {
      end = `(${p[1]}`;
    } else {
      const groups = (await this.redis.call("XINFO", "GROUPS", key)) as Array<Array<string | number | null>>;
      const g = groups.map(replyObject).find((x) => x.name === this.keys.group);
      const last = g?.["last-delivered-id"];
      if (typeof last !== "string" || last === "0-0") return [];
      end = last;
    }
    // Back from `end` a page at a time until `count` lines are in hand (entries hold one line or a run).
    const pages: RawEntry[][] = [];
    let lines = 0;
    let entries = 0;
    while (lines < count) {
      const want = Math.min(1000, Math.max(1, Math.ceil((count - lines) / (entries === 0 ? 64 : lines / entries))));
      const page = (await this.redis.call("XREVRANGE", key, end, "-", "COUNT", want)) as RawEntry[];
      for (const [, fields] of page) lines += linesOf(fields);
      entries += page.length;
      pages.push(page);
      if (page.length < want) break;
      end = `(${page[page.length - 1][0]}`;
    }
    const back = pages.flat().reverse().flatMap(([id, fields]) => entryLines(id, fields, key));
    return back.slice(Math.max(0, back.length - count));
  }

  async heartbeat(): Promise<void> {
    await this.redis.zadd(this.keys.consumers, Date.now(), this.name);
  }

  async members(withinMs: number): Promise<string[]> {
    const now = Date.now();
    await this.redis.zremrangebyscore(this.keys.consumers, "-inf", now - 10 * withinMs);
    return this.redis.zrangebyscore(this.keys.consumers, now - withinMs, "+inf");
  }

  async takeLease(shard: number, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.lease(shard), this.name, "PX", ms, "NX")) === "OK";
  }

  async renewLease(shard: number, ms: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys.lease(shard), this.name, String(ms))) === 1;
  }

  async releaseLease(shard: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.lease(shard), this.name);
  }

  async leave(): Promise<void> {
    await this.redis.zrem(this.keys.consumers, this.name);
  }

  async publishAlert(a: PublishedAlert): Promise<boolean> {
    const k = this.keys;
    const wrote = await this.redis.eval(WRITE_ALERT, 3, k.alerted(a.id), k.alerts, k.alertCounts,
      a.id, k.group, String(a.shard), a.entry, a.json, String(MARKER_TTL_SECONDS));
    return wrote === 1;
  }
}
