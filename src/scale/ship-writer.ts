/**
 * The shipper's Redis writer, in a worker thread: the follower hands lines over
 * synchronously and, before it saves a position, must know they are in Redis. So the
 * main thread posts batches here and blocks (Atomics.wait) on the count of batches
 * confirmed, which this thread raises after each batch's XADD pipeline succeeded.
 *
 * Shared Int32Array: [0] batches confirmed, [1] 1 once this thread failed for good.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Redis } from "ioredis";
import { closeRedis, connectRedis, retryDelay, type RedisAddress } from "./redis.js";

/** One batch: parallel arrays, one element per line. */
export interface ShipBatch {
  keys: string[];
  files: string[];
  lines: number[];
  texts: string[];
  /** 1 where the line was too long to hold (its text is ""). */
  tooLong: number[];
}

/** What the main thread gives this worker. */
export interface WriterData {
  addr: RedisAddress;
  maxlen: number;
  shared: SharedArrayBuffer;
  connectTimeoutMs: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as WriterData;
  const state = new Int32Array(data.shared);
  let redis: Redis;
  try {
    redis = await connectRedis(data.addr, data.connectTimeoutMs);
  } catch (err) {
    Atomics.store(state, 1, 1);
    Atomics.notify(state, 0);
    port.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
    return;
  }
  port.postMessage({ type: "ready" });
  let queue = Promise.resolve();
  port.on("message", (m: { type: "batch"; batch: ShipBatch } | { type: "close" }) => {
    if (m.type === "close") {
      queue = queue.then(async () => {
        await closeRedis(redis);
        port.close();
      });
      return;
    }
    queue = queue.then(() => write(redis, m.batch, data.maxlen)).then(() => {
      Atomics.add(state, 0, 1);
      Atomics.notify(state, 0);
    });
  });
}

/** XADD every line of the batch, in order; from the first failed one on, again after a backoff, until all are in. */
async function write(redis: Redis, b: ShipBatch, maxlen: number): Promise<void> {
  let from = 0;
  for (let attempt = 0; from < b.keys.length; attempt++) {
    const p = redis.pipeline();
    for (let i = from; i < b.keys.length; i++) {
      const fields = ["file", b.files[i], "line", String(b.lines[i]), "text", b.texts[i]];
      if (b.tooLong[i] === 1) fields.push("too_long", "1");
      p.xadd(b.keys[i], "MAXLEN", "~", String(maxlen), "*", ...fields);
    }
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await p.exec();
    } catch {
      results = null;
    }
    const failed = results === null ? 0 : results.findIndex(([err]) => err !== null);
    if (failed < 0) return;
    // Lines before the first failure are in (a retry from there keeps each file's order).
    from += failed;
    await new Promise((r) => setTimeout(r, retryDelay(attempt)));
  }
}

void main();
