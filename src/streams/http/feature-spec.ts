/**
 * What features an HTTP model extracts: the feature names, a route's learned
 * baseline and the FeatureSpec training learns and the model carries.
 */
/** Every feature logforest knows, in the order columns are laid out. */
export const ALL_FEATURES = [
  "latency_log", // ln(1 + latency ms)
  "latency_vs_route", // robust z-score of ln(1 + latency) against the route's training baseline
  "route_latency_trend", // moving average of latency_vs_route over the route's recent lines
  "status_class", // 1..5 (2 = 2xx)
  "server_error", // 1 when status >= 500
  "route_error_rate", // share of 5xx on this route over the window
  "bytes_log", // ln(1 + response bytes)
  "bytes_vs_route", // robust z-score of ln(1 + bytes) against the route's baseline
  "route_bytes_trend", // moving average of bytes_vs_route over the route's recent lines
  "method_rarity", // -ln(share of training lines with this method)
  "route_rarity", // -ln(share of training lines on this route); unknown routes rarest of all
  "route_rate_ratio", // ln of how many times its training rate the route runs at, against the rest of the traffic
  "client_requests", // ln(1 + requests from this client address over the window)
  "client_error_rate", // share of 4xx/5xx answers to this client over the window
  "client_novel_failures", // ln(1 + failed requests from this client on novel paths over the window)
] as const;

/** Name of one feature. */
export type FeatureName = (typeof ALL_FEATURES)[number];

/** A route's baseline learned from training traffic. */
export interface RouteBaseline {
  /** Training lines on the route. */
  count: number;
  /** Median and robust spread (1.4826 MAD) of ln(1 + latency ms); NaN without latency. */
  latencyMid: number;
  latencySpread: number;
  /** 99th percentile of latency in ms (the rules' "above the route's p99"). */
  latencyP99: number;
  /** Median and robust spread of ln(1 + bytes) over responses with a body. */
  bytesMid: number;
  bytesSpread: number;
  /** 99.9th percentile of response bytes. */
  bytesP999: number;
  /** Share of all training lines that were on this route. */
  share: number;
  /** Share of 5xx answers on the route. */
  errorRate: number;
  /** Share of 4xx and 5xx answers on the route. */
  failRate: number;
}

/** What detection needs to extract the same features as training; stored in the model. */
export interface FeatureSpec {
  version: 1;
  /** The active features, in column order (latency ones only when training lines had latency). */
  features: FeatureName[];
  /** Width of the sliding windows in seconds. */
  windowSeconds: number;
  /** Known routes (normalized) and their baselines. */
  routes: Record<string, RouteBaseline>;
  /** Baseline for routes outside the vocabulary (all training lines pooled). */
  overall: RouteBaseline;
  /** -ln(share) of each method seen in training. */
  methodRarity: Record<string, number>;
  /** Rarity given to an unseen method or route: -ln(1 / (training lines + 1)). */
  unseenRarity: number;
  /** Training lines. */
  lines: number;
  /**
   * Per-client peaks over any window of training (absent in models from before they
   * were learned): the client-level rules compare against them.
   */
  clients?: ClientPeaks;
  /**
   * "timestamps": windows run on the lines' own time. "lines": training had no usable
   * timestamps, so windows run on line order at `linesPerSecond`. Absent: timestamps.
   */
  clock?: "timestamps" | "lines";
  /** Lines per second of training (its mean rate; the nominal rate with the line clock). */
  linesPerSecond?: number;
}

/** The highest per-client window counts seen in training. */
export interface ClientPeaks {
  /** Requests from one client in one window. */
  requests: number;
  /** Failed (4xx/5xx) requests from one client on routes of their own (not novel). */
  knownFailures: number;
  /** Failed requests from one client on novel paths. */
  novelFailures: number;
  /** Distinct clients in training. */
  distinct: number;
}

/** Lines per second of the line-order clock (a log without timestamps): 30 s windows hold 3,000 lines. */
export const LINE_CLOCK_RATE = 100;
