/**
 * The delivery queue behind every alert sink (webhook, exec): scoring offers each alert
 * as a ready payload and returns at once; a few workers deliver in the background.
 *
 *   offer() --> [ waiting: at most `capacity` ] --> workers (at most `concurrency`) --> attempt()
 *                 full: the NEWEST is dropped          retried with backoff, then sent or failed
 *
 * When the queue is full the offered alert is dropped (drop-newest: alerts already waiting keep
 * their order and are not replaced); it is still in --alerts/stdout, the sinks only copy it.
 * Every alert offered ends in exactly one of sent, failed or dropped, once close() returned.
 */
import { Rng } from "../../forest/random.js";

/** How a sink's queue delivers; every field has a default in QUEUE_DEFAULTS. */
export interface QueueOptions {
  /** Alerts waiting at most; the next one is dropped (and counted). */
  capacity: number;
  /** Deliveries in flight at once. */
  concurrency: number;
  /** Tries per alert, the first included. */
  attempts: number;
  /** First retry waits about this long; each further retry twice as long (with jitter). */
  backoffMs: number;
  /** Longest wait between two tries. */
  maxBackoffMs: number;
  /** Seed of the jitter: the same seed gives the same waits. */
  seed: number;
}

/** The defaults, in one place: 5 tries, waits of 0.25-0.5, 0.5-1, 1-2 and 2-4 s between them (see backoff). */
export const QUEUE_DEFAULTS: Readonly<QueueOptions> = Object.freeze({ capacity: 1000, concurrency: 2, attempts: 5, backoffMs: 500, maxBackoffMs: 8000, seed: 1 });

/** What became of the alerts a sink was offered: alerts = sent + failed + dropped after close(). */
export interface SinkCounts {
  /** Alerts offered to the sink. */
  alerts: number;
  /** Delivered (a 2xx answer; the command exited 0). */
  sent: number;
  /** Tries that were repeated after a failure (one alert may count several times). */
  retried: number;
  /** Given up: the last try failed, or the failure cannot be helped by trying again. */
  failed: number;
  /** Never delivered: the queue was full, or still held them when the run stopped. */
  dropped: number;
  /** Of `dropped`, those still waiting or in flight when the drain time ran out. */
  dropped_at_stop: number;
  /** Why the first try that failed did (e.g. "connect ECONNREFUSED 127.0.0.1:9"); absent when none failed. */
  first_error?: string;
}

/** A failed try; `retry: false` when trying again cannot help (a 4xx answer, a certificate refused). */
export class DeliveryError extends Error {
  constructor(message: string, readonly retry: boolean) {
    super(message);
  }
}

/** One try at delivering a payload; rejects with a DeliveryError (anything else counts as retryable). */
export type Attempt = (payload: string, signal: AbortSignal) => Promise<void>;

/** Validate queue options; errors name the option, the allowed range and the value. */
export function resolveQueueOptions(o: Partial<QueueOptions>, names: Partial<Record<keyof QueueOptions, string>> = {}): QueueOptions {
  const r = { ...QUEUE_DEFAULTS, ...o };
  const int = (k: keyof QueueOptions, lo: number, hi: number) => {
    const v = r[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${names[k] ?? k} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int("capacity", 1, 1_000_000);
  int("concurrency", 1, 64);
  int("attempts", 1, 20);
  int("backoffMs", 0, 600_000);
  int("maxBackoffMs", 0, 3_600_000);
  if (!Number.isSafeInteger(r.seed)) throw new RangeError(`${names.seed ?? "seed"} must be a safe integer, got ${r.seed}`);
  return r;
}

/**
 * Milliseconds to wait before retry n (1-based), given u uniform in [0, 1): with
 * d = min(maxBackoffMs, backoffMs * 2^(n-1)), half of d fixed and half jitter, in [d/2, d).
 */
export function retryWait(n: number, o: Pick<QueueOptions, "backoffMs" | "maxBackoffMs">, u: number): number {
  const d = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** (n - 1));
  return d / 2 + (u * d) / 2;
}

/** A bounded queue with retrying workers; make one per sink. */
export class DeliveryQueue {
  private readonly waiting: string[] = [];
  private head = 0;
  private active = 0;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly rng: Rng;
  private readonly c: SinkCounts = { alerts: 0, sent: 0, retried: 0, failed: 0, dropped: 0, dropped_at_stop: 0 };
  private idle: (() => void) | null = null;

  /**
   * @param name the sink's name in messages ("webhook", "exec")
   * @param attempt one try at one payload
   * @param onProblem told of the first failure and of the first drop (each once), for stderr
   */
  constructor(
    readonly name: string,
    private readonly attempt: Attempt,
    readonly options: QueueOptions,
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {
    this.rng = new Rng(options.seed);
  }

  /** A copy of the counts so far. */
  counts(): SinkCounts {
    return { ...this.c };
  }

  /** Queue a payload for delivery; never waits. Dropped (and counted) when the queue is full or stopping. */
  offer(payload: string): void {
    this.c.alerts++;
    if (this.stopping || this.waiting.length - this.head >= this.options.capacity) {
      if (this.c.dropped === 0) this.onProblem(`${this.name}: queue full (${this.options.capacity} alerts waiting): dropping new alerts until it drains; they are still in the alerts output`);
      this.c.dropped++;
      return;
    }
    this.waiting.push(payload);
    this.pump();
  }

  /**
   * Stop taking alerts and deliver what is queued for up to `drainMs`; then abort what is in
   * flight and count it and what still waits as dropped. Resolves with the final counts.
   */
  async close(drainMs: number): Promise<SinkCounts> {
    this.stopping = true;
    if (this.active > 0 || this.pending() > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((resolve) => (this.idle = resolve));
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
    }
    const left = this.pending();
    this.head = this.waiting.length;
    this.c.dropped += left;
    this.c.dropped_at_stop += left;
    if (this.active > 0) {
      const settled = new Promise<void>((resolve) => (this.idle = resolve));
      this.abort.abort();
      await settled;
    }
    return this.counts();
  }

  private pending(): number {
    return this.waiting.length - this.head;
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.pending() > 0) {
      const payload = this.waiting[this.head++];
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head); // taken items are dropped from the array now and then, not on every take
        this.head = 0;
      }
      this.active++;
      void this.deliver(payload).finally(() => {
        this.active--;
        if (!this.abort.signal.aborted) this.pump();
        if (this.active === 0 && (this.pending() === 0 || this.abort.signal.aborted)) this.idle?.();
      });
    }
  }

  /** Try one payload up to `attempts` times; count what became of it. */
  private async deliver(payload: string): Promise<void> {
    const signal = this.abort.signal;
    for (let n = 1; ; n++) {
      try {
        await this.attempt(payload, signal);
        this.c.sent++;
        return;
      } catch (err) {
        if (signal.aborted) return this.droppedAtStop();
        this.c.first_error ??= (err as Error).message;
        const retry = !(err instanceof DeliveryError) || err.retry;
        if (!retry || n >= this.options.attempts) {
          if (this.c.failed === 0) this.onProblem(`${this.name}: delivery failed${retry ? ` after ${n} tries` : ""} (${(err as Error).message}); further failures are counted in the summary`);
          this.c.failed++;
          return;
        }
        this.c.retried++;
        if (!(await this.sleep(this.backoff(n), signal))) return this.droppedAtStop();
      }
    }
  }

  private droppedAtStop(): void {
    this.c.dropped++;
    this.c.dropped_at_stop++;
  }

  private backoff(n: number): number {
    return retryWait(n, this.options, this.rng.next());
  }

  /** Resolves true after `ms`, false as soon as the signal aborts. */
  private sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve(false);
      const onAbort = () => (clearTimeout(timer), resolve(false));
      const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve(true)), ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
