/**
 * TEST DOUBLE, not a product: an in-process implementation of the scale-out's transport
 * interface (src/scale/transport.ts), so that test/scale-transport.test.ts can run the same
 * consumer code and the same contract tests against it and against Redis. It keeps
 * everything in one MemoryBroker (shards, group state, leases, alerts, models); each
 * connect() is one process's connection. It never trims, never loses its connection and
 * has no durability: what it shows is that the interface, not Redis, is what the consumer
 * relies on.
 */
import type {
  Entry, EntryId, GroupMember, GroupMonitor, LineAppender, LineBatch, ModelStore, PublishedAlert, ShardInfo, StoredModel, StreamTransport,
} from "../src/scale/transport.js";

interface Delivery {
  consumer: string;
  at: number;
}

/** One group's view of one shard: how far it was delivered, and what is delivered but not acknowledged. */
interface GroupCursor {
  delivered: number;
  pending: Map<number, Delivery>;
}

interface MemoryShard {
  entries: Entry[];
  groups: Map<string, GroupCursor>;
}

/** The shared state every connection sees (one "server"). */
export class MemoryBroker {
  readonly shards = new Map<string, MemoryShard>();
  readonly leases = new Map<string, { owner: string; until: number }>();
  readonly beats = new Map<string, Map<string, number>>();
  readonly alerts: Array<PublishedAlert & { group: string }> = [];
  readonly written = new Set<string>();
  readonly counts = new Map<string, Map<number, number>>();
  readonly models = new Map<string, StoredModel>();
  private wake: Array<() => void> = [];

  /** A new connection. */
  connect(): StreamTransport {
    return new MemoryTransport(this);
  }

  shard(stream: string, s: number): MemoryShard {
    const key = `${stream}:${s}`;
    let sh = this.shards.get(key);
    if (sh === undefined) {
      sh = { entries: [], groups: new Map() };
      this.shards.set(key, sh);
    }
    return sh;
  }

  /** Wake readers blocked for new entries. */
  notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  /** Wait for new entries, up to `ms`. */
  waitForEntries(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** The entry id of position `i` (0-based) in a shard; ids increase with the position. */
const idOf = (i: number): EntryId => `${i + 1}-0`;
const indexOf = (id: EntryId): number => Number(id.slice(0, id.indexOf("-"))) - 1;

class MemoryTransport implements StreamTransport {
  readonly name = "memory";
  readonly models: ModelStore;

  constructor(private readonly broker: MemoryBroker) {
    this.models = new MemoryModels(broker);
  }

  appender(stream: string): LineAppender {
    const broker = this.broker;
    return {
      async append(b: LineBatch): Promise<void> {
        for (let i = 0; i < b.shards.length; i++) {
          const sh = broker.shard(stream, b.shards[i]);
          sh.entries.push({ id: idOf(sh.entries.length), line: { file: b.files[i], line: b.lines[i], text: b.texts[i], tooLong: b.tooLong[i] === 1 } });
        }
        broker.notify();
      },
    };
  }

  member(stream: string, group: string, consumer: string): GroupMember {
    return new MemoryMember(this.broker, stream, group, consumer);
  }

  monitor(stream: string, group: string): GroupMonitor {
    const broker = this.broker;
    return {
      async shard(s: number): Promise<ShardInfo> {
        const sh = broker.shard(stream, s);
        const lease = broker.leases.get(`${stream}:${group}:${s}`);
        const g = sh.groups.get(group);
        return {
          owner: lease !== undefined && lease.until > Date.now() ? lease.owner : null,
          length: sh.entries.length,
          pending: g?.pending.size ?? 0,
          undelivered: sh.entries.length - (g?.delivered ?? 0),
        };
      },
      async alertCounts(): Promise<Map<number, number>> {
        return new Map(broker.counts.get(`${stream}:${group}`) ?? []);
      },
    };
  }

  onReconnect(): void {
    // never disconnects
  }

  async close(): Promise<void> {
    // nothing held
  }
}

class MemoryMember implements GroupMember {
  constructor(private readonly broker: MemoryBroker, private readonly stream: string, private readonly group: string, readonly name: string) {}

  private cursor(shard: number): GroupCursor {
    const g = this.broker.shard(this.stream, shard).groups.get(this.group);
    if (g === undefined) throw new Error(`no group ${this.group} on shard ${shard}`);
    return g;
  }

  async ensureShard(shard: number): Promise<void> {
    const sh = this.broker.shard(this.stream, shard);
    if (!sh.groups.has(this.group)) sh.groups.set(this.group, { delivered: 0, pending: new Map() });
  }

  async read(shards: readonly number[], which: "new" | "own", count: number, blockMs: number): Promise<Map<number, Entry[]>> {
    const once = (): Map<number, Entry[]> => {
      const out = new Map<number, Entry[]>();
      for (const s of shards) {
        const sh = this.broker.shard(this.stream, s);
        const g = this.cursor(s);
        if (which === "own") {
          const mine = [...g.pending].filter(([, d]) => d.consumer === this.name).map(([i]) => i).sort((a, b) => a - b);
          out.set(s, mine.slice(0, count).map((i) => sh.entries[i]));
          continue;
        }
        const got = sh.entries.slice(g.delivered, g.delivered + count);
        for (let k = 0; k < got.length; k++) g.pending.set(g.delivered + k, { consumer: this.name, at: Date.now() });
        g.delivered += got.length;
        if (got.length > 0) out.set(s, got);
      }
      return out;
    };
    const first = once();
    if (which === "own" || first.size > 0 || blockMs === 0) return first;
    await this.broker.waitForEntries(blockMs);
    return once();
  }

  async ack(shard: number, ids: readonly EntryId[]): Promise<void> {
    const g = this.cursor(shard);
    for (const id of ids) g.pending.delete(indexOf(id));
  }

  async claim(shard: number, idleMs: number): Promise<{ claimed: number; waiting: boolean }> {
    const g = this.cursor(shard);
    let claimed = 0;
    let waiting = false;
    const now = Date.now();
    for (const [i, d] of g.pending) {
      if (d.consumer === this.name) continue;
      if (now - d.at < idleMs) {
        waiting = true;
        continue;
      }
      g.pending.set(i, { consumer: this.name, at: now });
      claimed++;
    }
    return { claimed, waiting };
  }

  async replay(shard: number, count: number): Promise<Entry[]> {
    const sh = this.broker.shard(this.stream, shard);
    const g = this.cursor(shard);
    const end = g.pending.size > 0 ? Math.min(...g.pending.keys()) : g.delivered;
    return sh.entries.slice(Math.max(0, end - count), end);
  }

  private beats(): Map<string, number> {
    const key = `${this.stream}:${this.group}`;
    let b = this.broker.beats.get(key);
    if (b === undefined) {
      b = new Map();
      this.broker.beats.set(key, b);
    }
    return b;
  }

  async heartbeat(): Promise<void> {
    this.beats().set(this.name, Date.now());
  }

  async members(withinMs: number): Promise<string[]> {
    const now = Date.now();
    const b = this.beats();
    for (const [name, at] of b) if (at < now - 10 * withinMs) b.delete(name);
    return [...b].filter(([, at]) => at >= now - withinMs).map(([name]) => name);
  }

  private leaseKey(shard: number): string {
    return `${this.stream}:${this.group}:${shard}`;
  }

  /** The lease's owner, or null once expired. */
  private holder(shard: number): string | null {
    const l = this.broker.leases.get(this.leaseKey(shard));
    return l !== undefined && l.until > Date.now() ? l.owner : null;
  }

  async takeLease(shard: number, ms: number): Promise<boolean> {
    if (this.holder(shard) !== null) return false;
    this.broker.leases.set(this.leaseKey(shard), { owner: this.name, until: Date.now() + ms });
    return true;
  }

  async renewLease(shard: number, ms: number): Promise<boolean> {
    if (this.holder(shard) !== this.name) return false;
    this.broker.leases.set(this.leaseKey(shard), { owner: this.name, until: Date.now() + ms });
    return true;
  }

  async releaseLease(shard: number): Promise<void> {
    if (this.holder(shard) === this.name) this.broker.leases.delete(this.leaseKey(shard));
  }

  async leave(): Promise<void> {
    this.beats().delete(this.name);
  }

  async publishAlert(a: PublishedAlert): Promise<boolean> {
    const key = `${this.stream}:${this.group}`;
    if (this.broker.written.has(`${key}:${a.id}`)) return false;
    this.broker.written.add(`${key}:${a.id}`);
    this.broker.alerts.push({ ...a, group: this.group });
    let c = this.broker.counts.get(key);
    if (c === undefined) {
      c = new Map();
      this.broker.counts.set(key, c);
    }
    c.set(a.shard, (c.get(a.shard) ?? 0) + 1);
    return true;
  }
}

/** Models addressed memory://KEY. */
class MemoryModels implements ModelStore {
  constructor(private readonly broker: MemoryBroker) {}

  keyOf(spec: string): string | null {
    return spec.startsWith("memory://") ? spec.slice("memory://".length) : null;
  }

  async load(key: string): Promise<StoredModel | null> {
    return this.broker.models.get(key) ?? null;
  }

  async generation(key: string): Promise<number> {
    return this.broker.models.get(key)?.generation ?? 0;
  }

  async publish(key: string, bytes: Uint8Array): Promise<number> {
    const generation = (this.broker.models.get(key)?.generation ?? 0) + 1;
    this.broker.models.set(key, { generation, bytes: bytes.slice() });
    return generation;
  }
}
