/**
 * `logforest detect --from redis://...`: one consumer of a group scoring the shards it owns.
 * It sees the transport only through GroupMember and ModelStore (transport.ts); the Redis
 * calls named here are those of the Redis transport (redis-member.ts).
 *
 * Why shards with owners, not plain consumer-group delivery: the features keep windows per
 * route and per client, so every line of a source must reach ONE detector, in order. Each
 * shard (one stream) is owned by one consumer at a time through a lease (SET NX PX, renewed
 * every third of its life); a consumer takes about its share (shards / live consumers) and
 * gives back extras when others join. The owner reads its shards with XREADGROUP and hands
 * them to the one run loop (runtime/run-detect.ts) as a source: each source (file) of a shard
 * is scored by its own detector (its windows: the loop's detectors keyed by shard and file),
 * whatever the model's stream kind; the loop writes the alerts, scores, sinks and metrics, and
 * only then does the consumer XACK.
 *
 * Taking a shard over (its owner stopped renewing, or gave it back): entries its old owner
 * had read but not acknowledged are claimed with XAUTOCLAIM once idle > claimIdleMs (none
 * are read anew before, so each source stays in order); then the window state is rebuilt by
 * replaying up to replayLines entries before the first unacknowledged one through fresh
 * detectors, alerts and scores discarded; then scoring resumes. The takeover gap: entries arriving
 * meanwhile wait (lag), and an alert whose window reaches further back than the replay can
 * differ from one without the takeover.
 *
 * Alerts are idempotent: the id is `${shard}:${entryId}`; a marker key set with NX in the
 * same script that XADDs the alert means a re-delivered entry writes no second alert, by
 * this consumer or any other (as long as Redis keeps the marker: a day).
 */
import { Detection } from "../runtime/detection.js";
import { runDetect, type DetectRunSummary, type LineSource, type OutputOptions, type RunLoop, type SinkOptions } from "../runtime/run-detect.js";
import type { DetectorSettings, StreamAlert } from "../streams/stream.js";
import { Leases } from "./leases.js";
import { ModelSource } from "./model-source.js";
import { checkName, checkShards, retryDelay, sleep } from "./common.js";
import { EntryFormatError, type Entry, type GroupMember, type StreamTransport } from "./transport.js";

/** Options of a consumer run. */
export interface ConsumeOptions {
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
  /** Lines read per shard per round (whole entries, at least one: XREADGROUP COUNT is this over the lines per entry seen). */
  batch?: number;
  durationSeconds?: number;
  signal?: AbortSignal;
}

/** What the run loop gets besides the shards: how detectors read (any stream kind), what is written, the sinks. */
export interface ConsumeRun {
  settings?: DetectorSettings;
  outputs?: Omit<OutputOptions, "sinks">;
  sinks?: SinkOptions;
}

/** Every default of a consumer, in one place. */
export const CONSUME_DEFAULTS = { shards: 4, leaseSeconds: 10, claimIdleMs: 30_000, replayLines: 20_000, batch: 4096 } as const;

/** Counts of one consumer run. */
export interface ConsumeSummary {
  consumer: string;
  /** Lines read from the streams (each line of an entry holding several counted). */
  entries: number;
  /** Stream entries read (an entry holds one line, or a run of a file's lines). */
  stream_entries: number;
  lines_scored: number;
  alerts: number;
  /** Alerts not written again: their entry had alerted before (a re-delivery). */
  alerts_already_written: number;
  /** Entries of a line already scored (a shipper's re-send) passed over. */
  duplicate_lines: number;
  /** Lines never seen between two scored ones of a file (lost with Redis's memory, or trimmed by MAXLEN). */
  lines_missing: number;
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
export type ShardAlert = { id: string; shard: number; entry: string } & StreamAlert;

interface ShardState {
  shard: number;
  phase: "claiming" | "reading";
  /** The run loop's detector keys of this shard's sources (files): their windows. */
  keys: Set<string>;
  /** Last line number scored per file (a repeated one is a shipper's re-send). */
  lastLine: Map<string, number>;
  /** Read own pending entries ("0") before new ones: after a takeover or a reconnection. */
  checkOwn: boolean;
  acquiredAt: number;
}

/** After a stop is asked for, how long a transport call may still wait (the server unreachable) before the run gives up on it (ms). */
const STOP_GRACE_MS = 5000;

/** Check the options; RangeError naming the option otherwise. */
export function checkConsume(o: ConsumeOptions) {
  const int = (v: number, name: string, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    return v;
  };
  const leaseSeconds = o.leaseSeconds ?? CONSUME_DEFAULTS.leaseSeconds;
  if (!(leaseSeconds >= 1 && leaseSeconds <= 3600)) throw new RangeError(`--lease-seconds must be in [1, 3600], got ${leaseSeconds}`);
  if (o.durationSeconds !== undefined && !(o.durationSeconds > 0)) throw new RangeError(`--duration must be > 0 seconds, got ${o.durationSeconds}`);
  return {
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

/** A consumer's counts and the run loop's summary (detection counts over every source, sinks). */
export interface ConsumeResult {
  summary: ConsumeSummary;
  detection: DetectRunSummary;
}

/**
 * Run one consumer over a connected transport until stopped (signal or duration), through the one run
 * loop with `run`'s detectors, outputs and sinks; resolves with its counts. The caller closes the transport.
 */
export async function consume(transport: StreamTransport, o: ConsumeOptions, run: ConsumeRun = {}): Promise<ConsumeResult> {
  const c = checkConsume(o);
  const settings: DetectorSettings = { format: "auto", explain: true, ...run.settings, untimedClock: "lines" };
  const model = await ModelSource.open(o.model, transport.models);
  const detection = new Detection(model.forest, settings);
  const consumer = new Consumer(transport, c, model, o);
  const { summary } = await runDetect(consumer, detection, { ...run.outputs, sinks: run.sinks });
  return { summary: consumer.summary, detection: summary };
}

/** The shards this consumer owns, as a source of the run loop. */
class Consumer implements LineSource {
  private readonly member: GroupMember;
  private readonly lease: Leases;
  private readonly owned = new Map<number, ShardState>();
  private readonly alerted = new Set<string>();
  readonly summary: ConsumeSummary;
  private loop: RunLoop | null = null;
  private nextLease = 0;
  private nextModelCheck = 0;
  private reconnected = false;
  /** Rejects STOP_GRACE_MS after a stop is asked for. */
  private stopped: Promise<never> = new Promise<never>(() => undefined);
  private gaveUp = false;
  /** The last error a call answered with (not a lost connection): said if a stop gives up on it. */
  private lastError: Error | null = null;
  /** Lines per entry of the last read (entries may hold runs of lines): turns --batch lines into an entry count. */
  private linesPerEntry = 64;

  constructor(
    private readonly transport: StreamTransport,
    private readonly c: ReturnType<typeof checkConsume>,
    private readonly model: ModelSource,
    private readonly o: ConsumeOptions,
  ) {
    this.member = transport.member(c.stream, c.group, c.consumer);
    this.lease = new Leases(this.member, c.shards, c.leaseMs, (f) => this.retry(f));
    this.summary = {
      consumer: c.consumer, entries: 0, stream_entries: 0, lines_scored: 0, alerts: 0, alerts_already_written: 0, duplicate_lines: 0, lines_missing: 0, skipped: {},
      takeovers: 0, shards_released: 0, claimed: 0, replayed: 0, model_reloads: 0, takeover_ms_max: 0, rss_max_mb: 0, seconds: 0,
    };
    transport.onReconnect(() => (this.reconnected = true));
  }

  /** Read, score (through `loop`) and acknowledge until stopped. */
  async run(loop: RunLoop): Promise<void> {
    this.loop = loop;
    const started = performance.now();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    // Calls wait through an outage (the transport reconnects meanwhile); once stopped, only a little longer.
    let grace: NodeJS.Timeout | null = null;
    this.stopped = new Promise<never>((_, reject) => {
      stop.signal.addEventListener("abort", () => {
        const what = () => (this.lastError === null ? "did not answer" : `kept failing (${this.lastError.message})`);
        grace = setTimeout(() => (this.gaveUp = true, reject(new Error(`stopped while ${this.transport.name} ${what()} for ${STOP_GRACE_MS} ms: unacknowledged entries stay pending for the next owner`))), STOP_GRACE_MS);
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
      await this.leave();
    }
    this.summary.seconds = (performance.now() - started) / 1000;
  }

  private get active(): RunLoop {
    if (this.loop === null) throw new Error("the consumer is not running");
    return this.loop;
  }

  /** One round: leases, model, claims, then one read of every owned shard. */
  private async step(signal: AbortSignal): Promise<void> {
    if (Date.now() >= this.nextLease) await this.leases();
    if (Date.now() >= this.nextModelCheck) {
      this.nextModelCheck = Date.now() + 1000;
      if (await this.retry(() => this.model.refresh())) {
        this.summary.model_reloads++;
        // New model, new windows: rebuilt from the replay as after a takeover.
        this.active.detection.replaceModel(this.model.forest);
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
      const own = await this.read([s], "own", 0);
      const entries = own.get(s.shard) ?? [];
      if (entries.length === 0) s.checkOwn = false;
      else await this.score(s, entries, true);
    }
    const got = await this.read(reading.filter((s) => !s.checkOwn), "new", 200);
    for (const [shard, entries] of got) {
      const s = this.owned.get(shard);
      if (s !== undefined && entries.length > 0) await this.score(s, entries, true);
    }
  }

  /** Read several shards ("new" entries, or this consumer's own unacknowledged ones); entries by shard. */
  private async read(shards: ShardState[], which: "new" | "own", blockMs: number): Promise<Map<number, Entry[]>> {
    if (shards.length === 0) return new Map();
    const count = Math.max(1, Math.floor(this.c.batch / this.linesPerEntry));
    const got = await this.retry(() => this.member.read(shards.map((s) => s.shard), which, count, blockMs));
    let lines = 0;
    let entries = 0;
    for (const list of got.values()) {
      lines += list.length;
      for (const e of list) if (e.part === undefined || e.part === 0) entries++;
    }
    if (entries > 0) this.linesPerEntry = Math.max(1, lines / entries);
    return got;
  }

  /** Score entries of one shard in order; with `live`, write alerts then acknowledge (a replay writes nothing). */
  private async score(s: ShardState, entries: Entry[], live: boolean): Promise<void> {
    const run = this.active;
    const alerts: ShardAlert[] = [];
    let i = 0;
    while (i < entries.length) {
      // A run: consecutive entries of one file with increasing line numbers.
      const file = entries[i].line?.file ?? "";
      const scored: Entry[] = [];
      const texts: string[] = [];
      const nos: number[] = [];
      for (; i < entries.length; i++) {
        const { line, part } = entries[i];
        // Another file, or a new file at the path (line 1 again): its own run, counted there.
        if (line !== null && (line.file !== file || (line.line === 1 && nos.length > 0))) break;
        if (live) {
          this.summary.entries++;
          if (part === undefined || part === 0) this.summary.stream_entries++;
        }
        if (line === null) continue; // trimmed away before it was read: nothing to score
        const no = line.line;
        const last = s.lastLine.get(file) ?? 0;
        if (no > 1 && no <= last) {
          if (live) this.summary.duplicate_lines++;
          continue;
        }
        if (live && last > 0 && no > last + 1) this.summary.lines_missing += no - last - 1;
        s.lastLine.set(file, no);
        if (line.tooLong) {
          if (live) this.summary.skipped.too_long = (this.summary.skipped.too_long ?? 0) + 1;
          continue;
        }
        scored.push(entries[i]);
        texts.push(line.text);
        nos.push(no);
      }
      if (texts.length === 0) continue;
      const key = `${s.shard}\t${file}`;
      s.keys.add(key);
      const d = run.detection.get(key);
      const before = d.counts().lines_scored;
      if (!live) {
        run.detection.quiet = true;
        try {
          run.score({ file, lines: texts, lineNo: nos, key }, () => undefined);
        } finally {
          run.detection.quiet = false;
        }
        this.summary.replayed += texts.length;
        continue;
      }
      // Alerts are few: the line's entry (and part) found when one is raised.
      let idOfLine: Map<number, string> | null = null;
      run.score({ file, lines: texts, lineNo: nos, key }, (a) => {
        idOfLine ??= new Map(nos.map((n, k) => [n, idOf(scored[k])]));
        const entry = idOfLine.get(a.line) ?? "";
        alerts.push({ id: `${s.shard}:${entry}`, shard: s.shard, entry, ...a });
      });
      this.summary.lines_scored += d.counts().lines_scored - before;
    }
    if (!live) return;
    const wrote = await this.publishAlerts(alerts);
    // The alerts and scores are written and on disk before the entries are acknowledged.
    run.flush();
    if (wrote > 0 || run.outputPaths.length > 0) run.sync();
    // One id per entry (its lines follow each other).
    const ids = entries.filter((e, k) => k === 0 || e.id !== entries[k - 1].id).map((e) => e.id);
    await this.retry(() => this.member.ack(s.shard, ids));
  }

  /** Publish each alert once per id (any consumer); hand the new ones to the loop; how many. */
  private async publishAlerts(alerts: ShardAlert[]): Promise<number> {
    let n = 0;
    for (const a of alerts) {
      if (this.alerted.has(a.id)) continue;
      const json = JSON.stringify(a);
      const wrote = await this.retry(() => this.member.publishAlert({ id: a.id, shard: a.shard, entry: a.entry, json }));
      this.alerted.add(a.id);
      if (!wrote) {
        this.summary.alerts_already_written++;
        continue;
      }
      this.summary.alerts++;
      this.active.emit(a);
      n++;
    }
    return n;
  }

  /** Heartbeat, renew owned leases, give back extras, take free shards up to the share (see Leases). */
  private async leases(): Promise<void> {
    this.nextLease = Date.now() + this.c.leaseMs / 3;
    const r = await this.lease.round(new Set(this.owned.keys()));
    for (const shard of [...r.lost, ...r.released]) {
      for (const key of this.owned.get(shard)?.keys ?? []) this.active.detection.drop(key);
      this.owned.delete(shard);
    }
    this.summary.shards_released += r.released.length;
    for (const shard of r.acquired) await this.acquire(shard);
  }

  private async acquire(shard: number): Promise<void> {
    await this.retry(() => this.member.ensureShard(shard));
    const s: ShardState = { shard, phase: "claiming", keys: new Set(), lastLine: new Map(), checkOwn: true, acquiredAt: Date.now() };
    this.owned.set(shard, s);
    this.summary.takeovers++;
  }

  private restart(s: ShardState): void {
    s.phase = "claiming";
    for (const key of s.keys) this.active.detection.drop(key);
    s.keys = new Set();
    s.lastLine = new Map();
    s.checkOwn = true;
    s.acquiredAt = Date.now();
  }

  /** Claim what the old owner left pending (once idle enough), then replay the windows and start reading. */
  private async claim(s: ShardState): Promise<void> {
    const got = await this.retry(() => this.member.claim(s.shard, this.c.claimIdleMs));
    this.summary.claimed += got.claimed;
    if (got.waiting) return; // not idle long enough yet: the next round tries again
    if (this.c.replayLines > 0) {
      // The entries before the first unacknowledged one, through the detectors, without alerts.
      const back = await this.retry(() => this.member.replay(s.shard, this.c.replayLines));
      for (let i = 0; i < back.length; i += this.c.batch) await this.score(s, back.slice(i, i + this.c.batch), false);
    }
    s.phase = "reading";
    s.checkOwn = true;
    this.summary.takeover_ms_max = Math.max(this.summary.takeover_ms_max, Date.now() - s.acquiredAt);
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
   * Run a transport call, retrying with backoff (a restarting Redis answers LOADING; a call cut with its
   * connection errors) for as long as the run goes on; after a stop, for STOP_GRACE_MS more.
   */
  private async retry<T>(f: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await Promise.race([f(), this.stopped]);
      } catch (err) {
        if (this.gaveUp || err instanceof EntryFormatError) throw err;
        this.lastError = err instanceof Error && !/connect|closed|ECONN|LOADING/i.test(err.message) ? err : null;
        await Promise.race([sleep(retryDelay(attempt)), this.stopped]);
      }
    }
  }
}

/** An entry's line as an alert names it: the entry's id, and its place when the entry holds several lines. */
function idOf(e: Entry): string {
  return e.part === undefined ? e.id : `${e.id}/${e.part}`;
}
