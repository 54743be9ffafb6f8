/**
 * What the scale-out needs from a log transport, and nothing more. The shipper, the
 * consumers (shard ownership, scoring, alerts), the model source and `status` are written
 * against these interfaces; src/scale/redis-transport.ts implements them on Redis Streams,
 * and a Kafka (kafkajs) implementation could sit behind them. Each member says what a Kafka
 * implementation would map it to, and where Kafka does not map (docs/scale-out.md, "The
 * transport interface, and what Kafka would take").
 *
 * Words: a stream NAME is split into shards 0..N-1 (Kafka: one topic, a partition per
 * shard); an entry has an id, increasing within its shard (Kafka: the offset); a group of
 * consumers shares the shards, each shard owned by one member at a time.
 */

/** An entry's id within its shard: ordered (Redis "ms-seq"; Kafka the offset as a string). */
export type EntryId = string;

/** One shipped log line as the transport carries it. */
export interface ShippedLine {
  /** The source file (or "" when the entry lacks it). */
  file: string;
  /** Its line number in the file (1-based; 0 when the entry lacks it). */
  line: number;
  text: string;
  /** The line was over --max-line-bytes: shipped with an empty text, counted skipped. */
  tooLong: boolean;
}

/**
 * One line of an entry read back from a shard; `line` is null when the entry was trimmed away
 * before it was read. An entry may hold several lines (the shipper packs runs of one file):
 * each is its own Entry with the entry's id and `part`, its place in the entry (0-based);
 * `part` is absent when the entry holds one line.
 */
export interface Entry {
  id: EntryId;
  line: ShippedLine | null;
  part?: number;
}

/**
 * An entry written in a format this version does not read (a newer shipper, or damage):
 * the consumer stops with this message rather than skip or mis-score lines.
 */
export class EntryFormatError extends Error {
  override readonly name = "EntryFormatError";
}

/** A batch of lines to append: parallel arrays (cheap to post to a worker thread), one element per line. */
export interface LineBatch {
  shards: number[];
  files: string[];
  lines: number[];
  texts: string[];
  /** 1 where the line was too long to hold (its text is ""). */
  tooLong: number[];
}

/** An alert as the group publishes it: `id` is derived from the source entry, so a re-delivery has the same one. */
export interface PublishedAlert {
  id: string;
  shard: number;
  entry: EntryId;
  /** The alert as one JSON text. */
  json: string;
}

/** A published model. */
export interface StoredModel {
  generation: number;
  bytes: Uint8Array;
}

/** One shard as the transport sees it, for `status`. */
export interface ShardInfo {
  /** The member owning it, or null. */
  owner: string | null;
  /** Entries kept (after trimming). */
  length: number;
  /** Delivered to the group, not acknowledged. */
  pending: number;
  /** Not delivered yet (null when the transport cannot tell). */
  undelivered: number | null;
}

/**
 * Appending lines (the shipper). Kafka: a producer with `acks: -1` (all in-sync replicas)
 * and `idempotent: true`, one message per line keyed by the shard key, sent to the shard's
 * partition; the fields as the message value or headers.
 */
export interface LineAppender {
  /**
   * Append every line of the batch to its shard, in order, and resolve only once all are
   * durably accepted; a failure is retried with backoff from the first line not accepted,
   * for as long as it takes (the caller bounds the wait). Kafka: `producer.send` resolving
   * after the acks; a retried send may repeat lines, as a retried XADD may.
   */
  append(batch: LineBatch): Promise<void>;
}

/**
 * One member of a consumer group: the shards it owns, reading, acknowledging, taking over
 * from a dead member, and its alerts. Calls may reject while the transport is cut off; the
 * consumer retries them.
 */
export interface GroupMember {
  /** This member's name, unique in the group. */
  readonly name: string;

  /**
   * Make the group exist on a shard before reading it (from its first entry). Kafka:
   * nothing (the group joins the topic; a new group starts at the earliest offset).
   */
  ensureShard(shard: number): Promise<void>;

  /**
   * Read up to `count` entries of each shard (each expanded into its lines), oldest first: "new" ones never delivered to the
   * group (waiting up to `blockMs` for any), or "own" ones delivered to this member and not
   * acknowledged (after a takeover or a reconnection). Kafka: `eachBatch` of the assigned
   * partitions from the position; "own" is seeking back to the committed offset, since Kafka
   * keeps no per-member list of delivered entries.
   */
  read(shards: readonly number[], which: "new" | "own", count: number, blockMs: number): Promise<Map<number, Entry[]>>;

  /**
   * Acknowledge entries: scored, their alerts written. Kafka: commit the offset after the
   * last of them. Does not map one to one: Kafka commits a position, not entries, so an
   * entry is done only when every one before it in its partition is (the consumer already
   * acknowledges in order, per shard, after each batch).
   */
  ack(shard: number, ids: readonly EntryId[]): Promise<void>;

  /**
   * Take the entries other members were delivered and did not acknowledge, once idle for
   * `idleMs`; `waiting` when some are not idle enough yet (the caller tries again later, and
   * reads nothing new meanwhile, so a source stays in order). `claimed` counts what was
   * taken; Redis (XAUTOCLAIM) also counts this member's own idle entries, which stay its
   * own (at a takeover it has none). No Kafka
   * equivalent: a rebalance hands the whole partition over and the new owner starts at the
   * committed offset, so the dead member's uncommitted entries are delivered again
   * (`{claimed: 0, waiting: false}`).
   */
  claim(shard: number, idleMs: number): Promise<{ claimed: number; waiting: boolean }>;

  /**
   * The last `count` lines before the first entry the group has not acknowledged (or up to
   * the last one delivered, when all are), oldest first: replayed to rebuild the windows of
   * a shard taken over. Kafka: seek to the committed offset minus `count` and read up to it
   * (the topic's retention must keep them), or `offsetsForTimes` for a time window.
   */
  replay(shard: number, count: number): Promise<Entry[]>;

  /** Say this member is alive (its heartbeat). Kafka: the client's own group heartbeat. */
  heartbeat(): Promise<void>;

  /**
   * The members heard from within `withinMs` (this one included once it has beaten). Kafka:
   * the group's members (`admin.describeGroups`).
   */
  members(withinMs: number): Promise<string[]>;

  /**
   * Take a shard that no one holds, for `ms`; false when another member holds it. Kafka:
   * ownership is the group's partition assignment, not a lease: true exactly when the
   * partition is assigned to this member (the assignor, not this call, decides).
   */
  takeLease(shard: number, ms: number): Promise<boolean>;

  /** Extend this member's lease on a shard by `ms`; false when it is no longer ours. Kafka: still assigned. */
  renewLease(shard: number, ms: number): Promise<boolean>;

  /** Give a shard back (only if still ours). Kafka: nothing to do (a rebalance moves partitions). */
  releaseLease(shard: number): Promise<void>;

  /** Leave the group's members. Kafka: `consumer.disconnect()` leaves the group. */
  leave(): Promise<void>;

  /**
   * Publish an alert once: true when written now, false when an alert of this id was
   * written before (a re-delivered entry), by any member. Redis: a marker and the alert in
   * one script. Kafka: produce to the alerts topic keyed by id; Kafka cannot test-and-set,
   * so "written before" needs a store beside it (a Redis key, or a compacted topic keyed by
   * id read back), or the readers dedupe by id.
   */
  publishAlert(alert: PublishedAlert): Promise<boolean>;
}

/** The consumers' model, published under a key with a generation. */
export interface ModelStore {
  /**
   * The key a model address of this transport names: "" when it names none, null when
   * `spec` is not such an address (then it is a file). Redis: redis://HOST:PORT/KEY.
   */
  keyOf(spec: string): string | null;
  /** The current model under `key`, or null when none was published. Kafka: the last record of a compacted topic keyed by model key. */
  load(key: string): Promise<StoredModel | null>;
  /** The current generation under `key` (0 when none): watched between batches for a newer one. Kafka: the last record's generation header. */
  generation(key: string): Promise<number>;
  /** Publish a model under `key`, one generation above the current; resolves with it. */
  publish(key: string, bytes: Uint8Array): Promise<number>;
}

/** What `status` reads. Kafka: `admin.fetchTopicOffsets`, `admin.fetchOffsets` and `describeGroups`. */
export interface GroupMonitor {
  /**
   * One shard's owner, length, pending and undelivered. Kafka: length = high minus low
   * watermark, undelivered = high watermark minus committed offset; "pending" (delivered,
   * not acknowledged) has no Kafka equivalent: 0, the lag is all undelivered.
   */
  shard(shard: number): Promise<ShardInfo>;
  /** Alerts written so far, by shard. Kafka: counted by the consumers in a small topic or a key beside it. */
  alertCounts(): Promise<Map<number, number>>;
}

/**
 * A connected transport. Connecting (each implementation's own factory, see connect.ts)
 * checks the server answers within a timeout and fails with a clear error otherwise;
 * afterwards it reconnects with backoff forever, calls wait or reject meanwhile, and
 * `onReconnect` listeners hear when it is back.
 */
export interface StreamTransport {
  /** The engine's name, in messages ("Redis"). */
  readonly name: string;
  /**
   * A stream's lines, appended; `maxlen` roughly bounds the lines each shard keeps. Up to
   * `linesPerEntry` consecutive lines of one file go in one entry (default 1: an entry per
   * line); a transport may put fewer. Kafka: retention by size or time; a message per run of lines.
   */
  appender(stream: string, maxlen: number, linesPerEntry?: number): LineAppender;
  /** This process as member `consumer` of `group` over `stream`. */
  member(stream: string, group: string, consumer: string): GroupMember;
  /** Reading a group's state. */
  monitor(stream: string, group: string): GroupMonitor;
  readonly models: ModelStore;
  /** Call `listener` each time the connection is back after a loss (entries read before may need reading again). */
  onReconnect(listener: () => void): void;
  /** Close, without waiting long on a server that does not answer. */
  close(): Promise<void>;
}
