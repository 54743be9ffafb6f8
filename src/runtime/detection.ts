/**
 * The detectors of one run, of one stream kind (found in the registry, streams/kinds.ts): one
 * for a file, stdin or followed files, and one per source in the scale-out (each source keeps
 * its own windows: `get(key)`). What the run loop, the dashboard and the metrics read of them
 * (counts, model, severity) is read here, whichever the kind and however many there are.
 */
import type { IsolationForest } from "../forest/forest.js";
import { zeroCounts, type RunCounts, type ScoredBatch } from "../streams/counts.js";
import { kindOf, STREAM_KINDS } from "../streams/kinds.js";
import type { DetectorSettings, ModelDescription, StreamAlert, StreamDetector, StreamKind, StreamSummary } from "../streams/stream.js";

/** A scored batch with the detector that scored it (its severity scale). */
export type ScoredHook = (batch: ScoredBatch, detector: StreamDetector) => void;

/** The detectors of a run: made on first use per key, all of the model's kind. */
export class Detection {
  readonly kind: StreamKind;
  private readonly made = new Map<string, StreamDetector>();
  /** Counts of detectors dropped (a shard given back): kept in the run's totals. */
  private readonly dropped: RunCounts[] = [];
  /** While true, scored batches are not reported (a replay rebuilding windows). */
  quiet = false;

  private onScored: ScoredHook | null = null;
  /** Files whose kind has been checked (checkFile). */
  private readonly checked = new Set<string>();

  /** A model and the settings every detector gets (refused with a RangeError naming the option when they do not apply to its kind). */
  constructor(private model: IsolationForest, private readonly settings: DetectorSettings = {}) {
    this.kind = kindOf(model);
    this.kind.check(settings);
  }

  /** Who hears of every scored batch (set before the first detector is made: the run loop does). */
  setScoredHook(hook: ScoredHook | null): void {
    if (this.made.size > 0) throw new Error("Detection.setScoredHook: detectors already made");
    this.onScored = hook;
  }

  /**
   * Refuse a file whose first lines another kind reads and this one does not (an access log
   * for a metric-stream model, a CSV for an access-log model), saying what each is; called by
   * the run loop with a file's first batch.
   */
  checkFile(file: string, lines: readonly string[] | (() => readonly string[])): void {
    if (this.checked.has(file)) return;
    this.checked.add(file);
    const sample = (typeof lines === "function" ? lines() : lines).filter((l) => l.trim() !== "").slice(0, 50);
    if (sample.length < 2 || this.kind.recognise(sample) !== null) return;
    for (const other of STREAM_KINDS) {
      const what = other === this.kind ? null : other.recognise(sample);
      if (what === null) continue;
      throw new RangeError(
        `${file} ${what}, but the model was trained on ${this.kind.trainedOn(this.model)}: ` +
          `train a model on this log (logforest train${other.name === "metrics" ? " --format csv" : ""} --input ${file} --model ...)`,
      );
    }
  }

  /** The detector of `key` (one source's windows), made on first use. */
  get(key = ""): StreamDetector {
    let d = this.made.get(key);
    if (d === undefined) {
      const hook = this.onScored;
      let made: StreamDetector | null = null;
      const onScored = hook === null ? undefined : (b: ScoredBatch) => {
        if (!this.quiet && made !== null) hook(b, made);
      };
      made = this.kind.create(this.model, { ...this.settings, ...(onScored ? { onScored } : {}) });
      d = made;
      this.made.set(key, d);
    }
    return d;
  }

  /** The end of the input: every detector judges what it still holds open. */
  finish(emit: (a: StreamAlert) => void): void {
    for (const d of this.made.values()) d.endOfInput?.(emit);
  }

  /** Forget the detector of `key` (its windows); its counts stay in the totals. */
  drop(key: string): void {
    const d = this.made.get(key);
    if (d === undefined) return;
    this.dropped.push(structuredClone(d.counts()));
    this.made.delete(key);
  }

  /** Score with a new model from now on (the scale-out's reload): every detector is dropped, their windows start again. */
  replaceModel(model: IsolationForest): void {
    if (!this.kind.accepts(model)) throw new RangeError(`the new model is not of the run's stream kind (${this.kind.reads})`);
    for (const key of [...this.made.keys()]) this.drop(key);
    this.model = model;
  }

  /** The first detector made (the only one outside the scale-out). */
  private get primary(): StreamDetector {
    const first = this.made.values().next();
    return first.done ? this.get() : first.value;
  }

  /** The model in use (after a retraining refresh, the first detector's new one). */
  get forest(): IsolationForest {
    return this.made.size === 0 ? this.model : this.primary.forest;
  }

  /** The features the model reads. */
  get featureNames(): readonly string[] {
    return this.primary.featureNames;
  }

  /** The model as the dashboard shows it. */
  describe(): ModelDescription {
    return this.primary.describe();
  }

  /** Live counts: the one detector's, or the sum over all of them. */
  counts(): RunCounts {
    if (this.made.size === 1 && this.dropped.length === 0) return this.primary.counts();
    const sum = zeroCounts();
    for (const c of [...this.dropped, ...[...this.made.values()].map((d) => d.counts())]) addCounts(sum, c);
    return sum;
  }

  /** The run's summary: the one detector's (with all its kind's fields), or the counts summed. */
  summary(): StreamSummary {
    if (this.made.size <= 1 && this.dropped.length === 0) return this.primary.summary();
    return structuredClone(this.counts());
  }
}

/** Add the counts of `c` into `sum`. */
export function addCounts(sum: RunCounts, c: RunCounts): void {
  sum.lines_read += c.lines_read;
  sum.lines_scored += c.lines_scored;
  sum.alerts += c.alerts;
  for (const [k, v] of Object.entries(c.skipped)) sum.skipped[k] = (sum.skipped[k] ?? 0) + v;
  sum.skipped_examples.push(...c.skipped_examples.slice(0, Math.max(0, 20 - sum.skipped_examples.length)));
  sum.suppressed.warmup += c.suppressed.warmup;
  sum.suppressed.cooldown += c.suppressed.cooldown;
  for (const [k, v] of Object.entries(c.alerts_by_rule)) sum.alerts_by_rule[k] = (sum.alerts_by_rule[k] ?? 0) + v;
  for (const band of Object.keys(sum.alerts_by_severity) as Array<keyof RunCounts["alerts_by_severity"]>) sum.alerts_by_severity[band] += c.alerts_by_severity[band];
  sum.retrain.refreshes += c.retrain.refreshes;
  sum.retrain.generation = Math.max(sum.retrain.generation, c.retrain.generation);
}
