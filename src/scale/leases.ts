/**
 * Shard leases: which consumer of a group scores which shard. A lease holds the owner's
 * name with an expiry, renewed every third of its life; a consumer that stops renewing
 * loses its shards to the others once the expiry passes. Live consumers heartbeat; each
 * takes its share (see shareOf) and gives back extras when others join, so the shards
 * spread evenly. The lease calls are the transport's (GroupMember); the policy is here.
 */
import { fnv1a } from "./common.js";
import type { GroupMember } from "./transport.js";

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
    private readonly member: GroupMember, private readonly shards: number, private readonly leaseMs: number,
    /** How every transport call is made (the consumer retries through outages). */
    private readonly call: <T>(f: () => Promise<T>) => Promise<T>,
  ) {}

  /** Announce this consumer (before taking any shard, so those starting together see each other). */
  async join(): Promise<void> {
    await this.call(() => this.member.heartbeat());
  }

  /** Heartbeat, renew the leases of `owned`, give back extras over the share, take free shards up to it. */
  async round(owned: ReadonlySet<number>): Promise<LeaseRound> {
    const { member, leaseMs, shards } = this;
    await this.call(() => member.heartbeat());
    const live = await this.call(() => member.members(leaseMs));
    const out: LeaseRound = { lost: [], released: [], acquired: [] };
    const mine = new Set<number>();
    for (const shard of owned) {
      if (await this.call(() => member.renewLease(shard, leaseMs))) mine.add(shard);
      else out.lost.push(shard);
    }
    const share = shareOf(member.name, live, shards);
    for (const shard of [...mine].sort((a, b) => b - a)) {
      if (mine.size <= share) break;
      await this.call(() => member.releaseLease(shard));
      mine.delete(shard);
      out.released.push(shard);
    }
    // Each consumer looks from its own starting shard, so those starting together rarely race for one.
    const offset = fnv1a(member.name) % shards;
    for (let k = 0; k < shards && mine.size < share; k++) {
      const shard = (offset + k) % shards;
      if (mine.has(shard)) continue;
      if (!(await this.call(() => member.takeLease(shard, leaseMs)))) continue;
      mine.add(shard);
      out.acquired.push(shard);
    }
    return out;
  }

  /** Give a shard back (only if still ours). */
  async release(shard: number): Promise<void> {
    await this.member.releaseLease(shard);
  }

  /** Leave the set of live consumers. */
  async quit(): Promise<void> {
    await this.member.leave();
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
