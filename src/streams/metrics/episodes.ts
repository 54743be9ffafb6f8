/**
 * Episodes of a stream of scores in [0, 1]: how many separate times the last `size`
 * values reached a level x, where an episode starts at a value reaching x with none of
 * the `gap` values before it doing so (a lasting run is one episode, as the hold makes
 * it one alert). Counted as (values >= x) - (values >= x whose previous `gap` held one
 * >= x), each kept in a Fenwick tree over BINS bins of the score: a push and a query
 * are O(log BINS), and x is resolved to 1 / BINS.
 */
const BINS = 4096;

/** Counts of values per bin over a sliding window, with counts at or above a bin. */
class BinCounts {
  private readonly tree = new Int32Array(BINS + 1);

  add(bin: number, d: number): void {
    for (let i = bin + 1; i <= BINS; i += i & -i) this.tree[i] += d;
  }

  /** Values in bins below `bin`. */
  below(bin: number): number {
    let n = 0;
    for (let i = bin; i > 0; i -= i & -i) n += this.tree[i];
    return n;
  }

  clear(): void {
    this.tree.fill(0);
  }
}

function binOf(x: number): number {
  return Math.min(BINS - 1, Math.max(0, Math.floor(x * BINS)));
}

/** The episodes of the last `size` values reaching a level (see the top of the file). */
export class Episodes {
  private readonly all = new BinCounts();
  private readonly joined = new BinCounts();
  // Per value of the window, its bin and its joined bin (-1: none), in a ring.
  private readonly bins: Int32Array;
  private readonly joinedBins: Int32Array;
  private readonly before: SlidingMax;
  private head = 0;
  private count = 0;

  constructor(readonly size: number, gap: number) {
    this.bins = new Int32Array(size);
    this.joinedBins = new Int32Array(size);
    this.before = new SlidingMax(gap);
  }

  /** Episodes among the window reaching x (to 1 / BINS). */
  reaching(x: number): number {
    const b = binOf(x);
    return this.count - this.all.below(b) - (this.count - this.joined.below(b));
  }

  push(x: number): void {
    if (this.count === this.size) {
      this.all.add(this.bins[this.head], -1);
      this.joined.add(this.joinedBins[this.head], -1);
    } else this.count++;
    const b = binOf(x);
    // The smaller of x and the largest of the `gap` values before it: >= a level only when both are.
    const j = binOf(Math.min(x, this.before.max()));
    this.bins[this.head] = b;
    this.joinedBins[this.head] = j;
    this.all.add(b, 1);
    this.joined.add(j, 1);
    this.before.push(x);
    this.head = (this.head + 1) % this.size;
  }

  clear(): void {
    this.all.clear();
    this.joined.clear();
    this.before.clear();
    this.head = this.count = 0;
  }
}
/** The largest of the last `size` values pushed (-Infinity before any), O(1) amortised: a ring of candidates, decreasing. */
class SlidingMax {
  private readonly vals: Float64Array;
  private readonly at: Float64Array;
  private head = 0;
  private len = 0;
  private n = 0;

  constructor(private readonly size: number) {
    this.vals = new Float64Array(size + 1);
    this.at = new Float64Array(size + 1);
  }

  push(x: number): void {
    const cap = this.vals.length;
    while (this.len > 0 && this.vals[(this.head + this.len - 1) % cap] <= x) this.len--;
    const slot = (this.head + this.len) % cap;
    this.vals[slot] = x;
    this.at[slot] = this.n++;
    this.len++;
    while (this.at[this.head] <= this.n - 1 - this.size) {
      this.head = (this.head + 1) % cap;
      this.len--;
    }
  }

  max(): number {
    return this.len > 0 ? this.vals[this.head] : -Infinity;
  }

  clear(): void {
    this.head = this.len = this.n = 0;
  }
}
