/**
 * `listenSource`: records received over HTTP (./server.ts) as a source of the one run loop
 * (runtime/run-detect.ts). Each source (an OTel service, a Loki stream, an NDJSON ?source=) is
 * scored by its own detector, `key` and `file` both its name, its lines numbered from 1 in the
 * order received; so alerts, scores, the dashboard and the metrics name it.
 *
 * Honest delivery: a request waits in a bounded queue (queueRecords records; one request is
 * always let in when the queue is empty, however large) and is answered 2xx only after its
 * lines are scored and `loop.flush()` has written their alerts and scores. A request that
 * would overfill the queue is answered 429 with Retry-After and nothing of it is kept: a
 * retrying client loses nothing. Requests waiting together are scored together and share
 * one flush.
 */
import type { LineSource, RunLoop } from "../run-detect.js";
import type { SourceLines } from "./decode.js";
import { resolveListen, type ListenOptions } from "./options.js";
import { Receiver, type ListenCounts } from "./server.js";

/** A received request waiting to be scored. */
interface Job {
  lines: SourceLines[];
  records: number;
  done: (err: Error | null) => void;
}

/** The listening source, with what its server received so far. */
export interface ListenSource extends LineSource {
  counts(): ListenCounts;
}

/** Records received over HTTP until the run is stopped (signal, or `durationSeconds`). */
export function listenSource(options: ListenOptions, o: { durationSeconds?: number } = {}): ListenSource {
  const listen = resolveListen(options);
  let receiver: Receiver | null = null;
  return {
    counts: () => receiver?.counts ?? { requests: 0, records: 0, refused: {} },
    async run(loop, signal) {
      const queue = new Queue(listen.queueRecords, listen.maxSources, loop);
      receiver = new Receiver(listen, (lines, records) => queue.submit(lines, records));
      const server = receiver;
      loop.metrics?.watchReceived(() => server.counts);
      let stop: (err?: Error) => void = () => undefined;
      const stopped = new Promise<Error | undefined>((resolve) => (stop = resolve));
      queue.onFailure = (err) => stop(err);
      listen.onListening(await server.start());
      const timer = o.durationSeconds !== undefined ? setTimeout(stop, o.durationSeconds * 1000) : null;
      const abort = () => stop();
      signal?.addEventListener("abort", abort);
      if (signal?.aborted) stop();
      const failure = await stopped;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      // What was let in is scored and answered; what comes after is refused with 503.
      const closed = server.stop();
      queue.close();
      await queue.idle();
      server.disconnect();
      await closed;
      if (failure) throw failure;
    },
  };
}

/** The bounded queue of received requests, drained into the loop between I/O turns. */
class Queue {
  private jobs: Job[] = [];
  private queued = 0;
  private scheduled = false;
  private failed: Error | null = null;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly lineNos = new Map<string, number>();
  onFailure: (err: Error) => void = () => undefined;

  /** Sources with a detector, the one heard from longest ago first. */
  private readonly live = new Set<string>();

  constructor(private readonly limit: number, private readonly maxSources: number, private readonly loop: RunLoop) {}

  /** `source` is heard from: it becomes the newest; past maxSources the oldest one's detector is dropped (its counts kept). */
  private touch(source: string): void {
    this.live.delete(source);
    this.live.add(source);
    if (this.live.size <= this.maxSources) return;
    const oldest = this.live.values().next().value;
    if (oldest === undefined) return;
    this.live.delete(oldest);
    this.loop.detection.drop(oldest);
  }

  submit(lines: SourceLines[], records: number): Promise<void> | "full" | "stopping" {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return "stopping";
    if (this.queued > 0 && this.queued + records > this.limit) return "full";
    return new Promise<void>((resolve, reject) => {
      this.jobs.push({ lines, records, done: (err) => (err ? reject(err) : resolve()) });
      this.queued += records;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.drain());
      }
    });
  }

  /** Take nothing more (the run is ending): what is queued is still scored. */
  close(): void {
    this.closed = true;
  }

  /** Resolves once nothing is queued. */
  idle(): Promise<void> {
    if (this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Score every waiting request, write their outputs once, then answer them. */
  private drain(): void {
    this.scheduled = false;
    const jobs = this.jobs;
    this.jobs = [];
    let err: Error | null = null;
    try {
      for (const job of jobs) {
        for (const { source, lines } of job.lines) {
          const first = this.lineNos.get(source) ?? 1;
          this.lineNos.set(source, first + lines.length);
          this.touch(source);
          this.loop.score({ file: source, key: source, lines, lineNo: first });
          this.loop.read(source, lines.length);
        }
      }
      this.loop.flush();
    } catch (e) {
      // A failed write: these requests are not acknowledged (their clients retry elsewhere or later), and the run stops.
      err = e instanceof Error ? e : new Error(String(e));
      this.failed = err;
      this.onFailure(err);
    }
    this.queued -= jobs.reduce((n, j) => n + j.records, 0);
    for (const job of jobs) job.done(err);
    if (this.jobs.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
