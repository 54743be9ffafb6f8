/** What every part of the scale-out shares, whatever the transport: names, shards, backoff. */

/** Stable 32-bit FNV-1a hash of a string (UTF-16 code units). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of a source (its file path, or a --shard-key): stable across runs and machines. */
export function shardOf(key: string, shards: number): number {
  return fnv1a(key) % shards;
}

/** Check a shard count. */
export function checkShards(n: unknown, option = "--shards"): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1024) throw new RangeError(`${option} must be an integer in [1, 1024], got ${String(n)}`);
  return n;
}

/** Check a stream or group name: non-empty, no spaces or colons beyond the key's own. */
export function checkName(s: unknown, option: string): string {
  if (typeof s !== "string" || !/^[A-Za-z0-9_.\-]{1,100}$/.test(s)) throw new RangeError(`${option} must be 1-100 of [A-Za-z0-9_.-], got ${JSON.stringify(s)}`);
  return s;
}

/** Backoff between reconnection attempts: 50 ms doubling up to 2 s. */
export function retryDelay(attempt: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
}

/** Sleep `ms`, or less if `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
