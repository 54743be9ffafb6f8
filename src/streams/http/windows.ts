/** Sliding-window counts per key (routes and clients), over the records' own time. */
/**
 * Window counts per key: `buckets` buckets of `bucketSeconds`, expired lazily when a
 * key is touched. Channel 0 counts every event; channels 1.. count the events whose
 * flag bit (1 << (channel - 1)) is set.
 */
export class WindowCounts {
  private readonly counts: Int32Array; // [key][bucket][channel]
  private readonly totals: Int32Array; // [key][channel]
  private readonly lastBucket: Float64Array;

  constructor(
    readonly keys: number,
    private readonly buckets: number,
    private readonly bucketSeconds: number,
    private readonly channels = 2,
  ) {
    this.counts = new Int32Array(keys * buckets * channels);
    this.totals = new Int32Array(keys * channels);
    this.lastBucket = new Float64Array(keys).fill(-Infinity);
  }

  /** Forget key k entirely (its slot is reused for another key). */
  reset(k: number): void {
    const per = this.buckets * this.channels;
    this.counts.fill(0, k * per, (k + 1) * per);
    this.totals.fill(0, k * this.channels, (k + 1) * this.channels);
    this.lastBucket[k] = -Infinity;
  }

  /** Count one event for key k at time `seconds`, with flag bits `flags` (bit c-1: channel c). */
  add(k: number, seconds: number, flags: number): void {
    const b = this.advance(k, seconds);
    const C = this.channels;
    const i = (k * this.buckets + mod(b, this.buckets)) * C;
    const t = k * C;
    this.counts[i]++;
    this.totals[t]++;
    for (let c = 1; c < C; c++) {
      if (flags & (1 << (c - 1))) {
        this.counts[i + c]++;
        this.totals[t + c]++;
      }
    }
  }

  /** Events for key k in the window ending at the last add. */
  total(k: number): number {
    return this.totals[k * this.channels];
  }

  /** Events of channel c (>= 1) for key k in the window. */
  totalOf(k: number, c: number): number {
    return this.totals[k * this.channels + c];
  }

  /** Move key k's window to the bucket of `seconds`, dropping buckets that fell out. */
  private advance(k: number, seconds: number): number {
    const b = Math.floor(seconds / this.bucketSeconds);
    const last = this.lastBucket[k];
    if (b < last - this.buckets) {
      // More than a window older than the key's newest line: the clock went back (a line
      // dated far ahead came before, or the source restarted): start the key's window again.
      this.reset(k);
      this.lastBucket[k] = b;
      return b;
    }
    if (b <= last) return last; // same bucket, or a little out of order: count it in the newest
    const steps = Math.min(b - last, this.buckets);
    const C = this.channels;
    for (let s = 1; s <= steps; s++) {
      const i = (k * this.buckets + mod(b - steps + s, this.buckets)) * C;
      for (let c = 0; c < C; c++) {
        this.totals[k * C + c] -= this.counts[i + c];
        this.counts[i + c] = 0;
      }
    }
    this.lastBucket[k] = b;
    return b;
  }
}

/** x mod n in [0, n), also for negative x (bucket numbers of times before 1970-01-01 00:00:30). */
function mod(x: number, n: number): number {
  return ((x % n) + n) % n;
}
