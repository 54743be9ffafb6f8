/**
 * The rules' side of HTTP detection: for a scored row above the severity floor,
 * warm-up, the first condition of the rules that holds (rules.ts: its types), and
 * the cooldown per condition and group. Reads the row's context from BatchRows and
 * the model in use; counts suppressions in the run's summary.
 */
import type { ClientPeaks, FeatureExtractor, FeatureName } from "./features.js";
import type { Condition, Rules } from "./rules.js";
import type { DetectSummary } from "./alert.js";
import type { BatchRows } from "./rows.js";

/** What the judge reads of the model in use (it changes on a retraining refresh). */
export interface JudgedModel {
  readonly features: FeatureExtractor;
  readonly peaks: ClientPeaks;
  readonly windowSeconds: number;
  readonly featureIndex: Readonly<Record<string, number>>;
}

/** Entries in a judge's cooldown and run maps from which a new key first prunes the stale ones. */
export const PRUNE_AT = 4096;

/** Decides which scored rows alert, under which rule. */
export class RuleJudge {
  private readonly lastAlert = new Map<string, number>();
  // Per condition and route: the run of lines that held a condition with forSeconds.
  private readonly runs = new Map<string, { onset: number; last: number }>();
  private firstSeconds = NaN;
  private pruneAt = PRUNE_AT;

  constructor(
    private readonly rules: Rules,
    private readonly stats: DetectSummary,
    private readonly rows: BatchRows,
    private readonly model: JudgedModel,
  ) {}

  /** Warm-up, conditions and cooldown for scored row j: the rule name, or null when it does not alert. */
  judge(j: number, severity: number, input: Float64Array, cols: number): string | null {
    const seconds = this.rows.seconds[j];
    if (Number.isNaN(this.firstSeconds)) this.firstSeconds = seconds;
    if (seconds - this.firstSeconds < this.rules.warmupSeconds) {
      this.stats.suppressed.warmup++;
      return null;
    }
    const min = this.rules.minSeverity;
    const cond = this.rules.conditions.find((c) => severity >= (c.minSeverity ?? min) && this.holds(c, j, input, cols));
    if (cond === undefined) {
      this.stats.above_min_severity_without_rule++;
      return null;
    }
    const group = cond.groupBy === "client" ? this.rows.ip[j] : cond.groupBy === "none" ? "" : this.rows.routeKey(j);
    const key = `${cond.name}\u0000${group}`;
    const last = this.lastAlert.get(key);
    // Lines a little out of order (a log written by several workers) fall in the same cooldown.
    if (last !== undefined && Math.abs(seconds - last) < this.rules.cooldownSeconds) {
      this.stats.suppressed.cooldown++;
      return null;
    }
    if (last === undefined && this.tracked >= this.pruneAt) this.prune(seconds);
    this.lastAlert.set(key, seconds);
    return cond.name;
  }

  /** Cooldowns and condition runs kept (they are pruned; see PRUNE_AT). */
  get tracked(): number {
    return this.lastAlert.size + this.runs.size;
  }

  /**
   * Forget what can no longer matter at line time `seconds`: alerts further back than the
   * cooldown (a group alerting again is let through either way) and runs broken by a gap
   * longer than the window (the next line starts a new run either way). Without this a
   * stream that meets many alerting clients or routes over weeks grows these maps forever.
   */
  private prune(seconds: number): void {
    for (const [key, last] of this.lastAlert) if (seconds - last >= this.rules.cooldownSeconds) this.lastAlert.delete(key);
    for (const [key, run] of this.runs) if (seconds - run.last > this.model.windowSeconds) this.runs.delete(key);
    // Many groups alerting at once: prune again only once they have doubled (amortised O(1) per key).
    this.pruneAt = Math.max(PRUNE_AT, 2 * this.tracked);
  }

  private holds(c: Condition, j: number, input: Float64Array, cols: number): boolean {
    const b = this.model.features.baseline(this.rows.route[j]);
    switch (c.type) {
      case "any":
        return true;
      case "unknown_route":
        return this.rows.novel[j] === 1;
      case "client_scan": {
        const failures = this.rows.client[4 * j + 2];
        return this.rows.novel[j] === 1 && this.rows.status[j] >= 400 && this.clientHolds(c, j, failures, this.model.peaks.novelFailures);
      }
      case "client_failures": {
        const failures = this.rows.client[4 * j + 3];
        // Without client addresses, failures on known routes are the route's story (error_burst), not a client's.
        return this.rows.ip[j] !== "" && this.rows.novel[j] === 0 && this.rows.status[j] >= 400 && this.clientHolds(c, j, failures, this.model.peaks.knownFailures);
      }
      case "client_rate_above":
        return this.rows.ip[j] !== "" && this.rows.client[4 * j] >= Math.max(c.minRequests ?? 100, (c.factor ?? 3) * this.model.peaks.requests);
      case "status_at_least":
        return this.rows.status[j] >= (c.status ?? 500);
      case "route_error_burst":
        // The recent share reads a burst while it happens, and lets go of it as soon as
        // it ends (the 30 s window share would lag it and then blame a later, lone 5xx).
        // Two of the route's last three answers 5xx: the line is part of a run, not a lone error after one.
        return this.rows.status[j] >= 500 && this.rows.routeErrors[j] >= (c.minRequests ?? 3)
          && this.rows.errorsOfLast3[j] >= 2 && this.rows.recent[4 * j] > (c.share ?? 0.2);
      case "latency_above_route_p99": {
        if (!(this.rows.latency[j] >= (c.minMs ?? 0) && this.rows.latency[j] > (c.factor ?? 1) * b.latencyP99)) return false;
        // Slower than the rest of the traffic (when everything is slow at once, latency_everywhere
        // speaks, once): the route itself, or its family of sibling routes.
        const all = Math.max(0, this.rows.recent[4 * j + 2]);
        const bar = c.trend ?? 0;
        if (this.rows.recent[4 * j + 1] - all > bar && this.lasted(c, j, this.rows.routeKey(j))) return true;
        const family = this.rows.family[j];
        return family >= 0 && this.rows.recent[4 * j + 3] - all > bar && this.lasted(c, j, `family ${family}`);
      }
      case "latency_everywhere":
        // The line's own route slow too: one big route's spike lifts the all-traffic trend, but leaves the others be.
        return this.rows.latency[j] >= (c.minMs ?? 0) && this.rows.recent[4 * j + 2] > (c.trend ?? 2)
          && this.rows.recent[4 * j + 1] > (c.trend ?? 2) && this.lasted(c, j, "");
      case "bytes_above_route_p999":
        return this.rows.bytes[j] > (c.factor ?? 1) * b.bytesP999 && this.feature(input, cols, j, "route_bytes_trend", c.trend);
      case "route_rate_above":
        // A surge is many clients: a burst of one or two (a crawler, an app, a NAT) is
        // theirs, and client_rate_above speaks for it; at least half of the route's last 8
        // requests from distinct clients. Static assets come in bursts after page views:
        // their rate follows the pages'.
        return this.rows.novel[j] === 0 && !this.model.features.isAsset(this.rows.route[j]) && this.rows.routeCount[j] >= (c.minRequests ?? 10)
          && (this.rows.ip[j] === "" || this.rows.routeClients[j] >= 4)
          && this.feature(input, cols, j, "route_rate_ratio", Math.log(c.factor ?? 3));
    }
  }

  /**
   * Whether condition c has held for `group` (a route, a family, "") for c.forSeconds of line time: since
   * the first line of a run of lines that held it, none more than a window apart.
   */
  private lasted(c: Condition, j: number, group: string): boolean {
    const need = c.forSeconds ?? 0;
    if (need <= 0) return true;
    const seconds = this.rows.seconds[j];
    const key = `${c.name}\u0000${group}`;
    const run = this.runs.get(key);
    if (run === undefined || seconds - run.last > this.model.windowSeconds || seconds < run.onset) {
      if (run === undefined && this.tracked >= this.pruneAt) this.prune(seconds);
      this.runs.set(key, { onset: seconds, last: seconds });
      return false;
    }
    run.last = Math.max(run.last, seconds);
    return seconds - run.onset >= need;
  }

  /** A client condition for row j: `count` failures past max(minRequests, factor x the training peak), and the client's failure share. */
  private clientHolds(c: Condition, j: number, count: number, peak: number): boolean {
    if (count < Math.max(c.minRequests ?? 10, (c.factor ?? 1) * peak)) return false;
    // A log without client addresses is one "client": the whole stream, whose failure
    // share a scanner cannot dominate; its count against training's peak must do.
    if (this.rows.ip[j] === "") return true;
    return this.rows.client[4 * j + 1] >= (c.share ?? 0.5) * this.rows.client[4 * j];
  }

  /** Whether row j's feature `name` exceeds `above` (true when no bound; false when the model lacks the feature). */
  private feature(input: Float64Array, cols: number, j: number, name: FeatureName, above: number | undefined): boolean {
    if (above === undefined || above <= -10) return true;
    const at = this.model.featureIndex[name];
    return at !== undefined && input[j * cols + at] > above;
  }
}
