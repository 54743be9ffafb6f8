/**
 * Alert reasons: the forest's per-feature shares (src/explain.ts) folded into the
 * few things an operator thinks in (latency, errors, size, route, rate, client,
 * method), each with the value seen and what is typical for the route.
 */
import type { AlertReason } from "./detect.js";
import type { FeatureName, RouteBaseline } from "./features.js";
import type { LogRecord } from "./record.js";

/** What a feature is evidence of. */
export type ReasonGroup = "latency" | "errors" | "size" | "method" | "route" | "rate" | "client";

export const FEATURE_GROUP: Record<FeatureName, ReasonGroup> = {
  latency_log: "latency",
  latency_vs_route: "latency",
  route_latency_trend: "latency",
  status_class: "errors",
  server_error: "errors",
  route_error_rate: "errors",
  bytes_log: "size",
  bytes_vs_route: "size",
  route_bytes_trend: "size",
  method_rarity: "method",
  route_rarity: "route",
  route_rate_ratio: "rate",
  client_requests: "client",
  client_error_rate: "client",
};

/** Everything a reason's sentence may quote about the line. */
export interface ReasonContext {
  record: LogRecord;
  /** The route key ("GET /api/orders/:id") and whether training knew it. */
  route: string;
  known: boolean;
  baseline: RouteBaseline;
  /** The line's feature values by name. */
  values: Partial<Record<FeatureName, number>>;
  windowSeconds: number;
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)} s` : `${v >= 10 ? Math.round(v) : v.toFixed(1)} ms`;
}

function size(v: number): string {
  if (v < 1024) return `${Math.round(v)} B`;
  if (v < 1 << 20) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / (1 << 20)).toFixed(1)} MB`;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(v < 0.01 ? 1 : 0)}%`;
}

/** The sentence for one group. */
function sentence(group: ReasonGroup, c: ReasonContext): string {
  const r = c.record;
  const b = c.baseline;
  const on = c.known ? ` on ${c.route}` : "";
  switch (group) {
    case "latency":
      return Number.isFinite(b.latencyMid)
        ? `latency ${ms(r.latencyMs)}, typical ${ms(Math.expm1(b.latencyMid - b.latencySpread))}-${ms(Math.expm1(b.latencyMid + b.latencySpread))}${on}`
        : `latency ${ms(r.latencyMs)}`;
    case "errors": {
      const share = c.values.route_error_rate;
      return share === undefined
        ? `status ${r.status}`
        : `status ${r.status}; 5xx share${on || " on unknown routes"} over ${c.windowSeconds} s ${pct(share)}, typical ${pct(b.errorRate)}`;
    }
    case "size":
      return `response ${size(Number.isFinite(r.bytes) ? r.bytes : 0)}, typical ${size(Math.expm1(b.bytesMid - b.bytesSpread))}-${size(Math.expm1(b.bytesMid + b.bytesSpread))}${on}`;
    case "method":
      return `method ${r.method || "(none)"} is rare`;
    case "route":
      return c.known ? `route ${c.route} is rare (${pct(b.share)} of training lines)` : `route ${r.route} was never seen in training`;
    case "rate": {
      const ratio = c.values.route_rate_ratio;
      return ratio === undefined ? `request rate on ${c.route}` : `${c.route} at ${Math.exp(ratio).toFixed(1)}x its usual share of traffic`;
    }
    case "client": {
      const n = c.values.client_requests;
      const fail = c.values.client_error_rate;
      const k = n === undefined ? 0 : Math.round(Math.expm1(n));
      const count = n === undefined ? "" : ` made ${k} request${k === 1 ? "" : "s"} in ${c.windowSeconds} s`;
      const failed = fail === undefined ? "" : `${count ? "," : ""} ${pct(fail)} of them failed`;
      return `client ${r.ip || "(unknown)"}${count}${failed}`;
    }
  }
}

/** The top `top` reasons of a line from its per-feature shares (in the spec's feature order). */
export function reasonsFor(features: readonly FeatureName[], shares: ArrayLike<number>, c: ReasonContext, top = 3): AlertReason[] {
  const byGroup = new Map<ReasonGroup, number>();
  features.forEach((f, i) => byGroup.set(FEATURE_GROUP[f], (byGroup.get(FEATURE_GROUP[f]) ?? 0) + shares[i]));
  return [...byGroup]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([group, share]) => ({ feature: group, share: Math.round(share * 1000) / 1000, text: sentence(group, c) }));
}
