/** The second pass of training on more lines than maxLines (see train.ts). */
import type { Rng } from "../../forest/random.js";
import { FeatureExtractor, finiteRow, LINE_CLOCK_RATE, type FeatureSpec } from "./features.js";
import type { LineParser } from "./parse.js";
import { emptyRecord } from "./record.js";

/** The second pass of a sampled training: every line through the extractor, a seeded reservoir of the rows. */
export class RowSampler {
  readonly X: Float64Array;
  /** Rows held, finite rows seen, parsed lines seen. */
  rows = 0;
  seen = 0;
  private index = 0;
  private readonly r = emptyRecord();
  private readonly row: Float64Array;

  constructor(
    readonly spec: FeatureSpec,
    readonly fx: FeatureExtractor,
    private readonly parser: LineParser,
    private readonly capacity: number,
    private readonly lineClock: boolean,
    private readonly rng: Rng,
  ) {
    this.X = new Float64Array(capacity * fx.cols);
    this.row = new Float64Array(fx.cols);
  }

  /** Feed lines again, in the order of the first pass; `skipped` counts rows that are not finite. */
  add(lines: readonly string[], skipped: Record<string, number>): void {
    const { r, row, fx } = this;
    for (const line of lines) {
      if (this.parser.parse(line, r) !== null) continue; // counted in the first pass
      if (this.lineClock) r.ts = (this.index * 1000) / LINE_CLOCK_RATE;
      this.index++;
      fx.extract(r, row, 0);
      if (!finiteRow(row, 0, fx.cols)) {
        skipped.non_finite_features = (skipped.non_finite_features ?? 0) + 1;
        continue;
      }
      const slot = this.seen < this.capacity ? this.seen : this.rng.int(this.seen + 1);
      this.seen++;
      if (slot >= this.capacity) continue;
      this.X.set(row, slot * fx.cols);
      if (slot === this.rows) this.rows++;
    }
  }
}
