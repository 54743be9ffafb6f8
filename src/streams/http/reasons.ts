/**
 * Alert reasons: the forest's per-feature shares (forest/explain.ts) folded into the
 * few things an operator thinks in (latency, errors, size, route, rate, client,
 * method), each with the value seen and what is typical for the route.
 *
 * A reason is given only where it is true of the line: a group the forest leaned on
 * whose values are ordinary for the route (a 200 under "errors", a typical latency
 * under "latency") is left out, and a line with no such group says so instead.
 */
import type { AlertReason } from "../counts.js";
import type { ClientWindow, FeatureName, RouteBaseline } from "./features.js";
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
  client_novel_failures: "client",
};

/** Everything a reason's sentence may quote about the line. */
export interface ReasonContext {
  record: LogRecord;
  /** The route key ("GET /api/orders/:id") and whether training knew it. */
  route: string;
  known: boolean;
  /** Whether the path is novel: not a route of its own (it fell under a prefix route, or is unknown). */
  novel?: boolean;
  /** The client's raw window counts (the line included). */
  client?: ClientWindow;
  /** The route's 5xx share over about its last 10 requests (what error_burst reads). */
  recentErrorShare?: number;
  baseline: RouteBaseline;
  /** The line's feature values by name. */
  values: Partial<Record<FeatureName, number>>;
  windowSeconds: number;
}

/** The typical range [mid - spread, mid + spread] of a ln(1 + x) baseline, in x; never below 0. */
function typical(mid: number, spread: number): [number, number] {
  return [Math.max(0, Math.expm1(mid - spread)), Math.max(0, Math.expm1(mid + spread))];
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

/** Whether a group's evidence is true of this line (not merely what the forest leaned on). */
function holds(group: ReasonGroup, c: ReasonContext): boolean {
  const r = c.record;
  const v = c.values;
  const b = c.baseline;
  switch (group) {
    case "latency": {
      const z = v.latency_vs_route;
      return z !== undefined ? Math.abs(z) >= 1 || (v.route_latency_trend ?? 0) >= 2 : Number.isFinite(r.latencyMs);
    }
    case "errors":
      // The route's share is the route's story: a 200 is not an error, whatever its neighbours.
      return r.status >= 400;
    case "size": {
      const z = v.bytes_vs_route;
      return z !== undefined ? Math.abs(z) >= 1 || (v.route_bytes_trend ?? 0) >= 2 : false;
    }
    case "method":
      return (v.method_rarity ?? 0) >= 3; // fewer than 5% of training lines
    case "route":
      return !c.known || c.novel === true || b.share < 0.01;
    case "rate":
      return (v.route_rate_ratio ?? 0) >= Math.log(1.5);
    case "client": {
      const w = c.client;
      return w !== undefined && (w.failures >= 3 || w.requests >= 20);
    }
  }
}

/** The sentence for one group. */
function sentence(group: ReasonGroup, c: ReasonContext): string {
  const r = c.record;
  const b = c.baseline;
  const on = c.known ? ` on ${c.route}` : "";
  switch (group) {
    case "latency": {
      if (!Number.isFinite(b.latencyMid)) return `latency ${ms(r.latencyMs)}`;
      const [lo, hi] = typical(b.latencyMid, b.latencySpread);
      return `latency ${ms(r.latencyMs)}, typical ${ms(lo)}-${ms(hi)}${on}`;
    }
    case "errors": {
      const share = c.values.route_error_rate;
      const recent = c.recentErrorShare;
      const high = Math.max(0.05, 2 * b.errorRate);
      if ((share === undefined || share <= high) && (recent === undefined || recent <= high)) return `status ${r.status}`;
      const parts: string[] = [];
      if (recent !== undefined && recent > high) parts.push(`${pct(recent)} of its last ~10 requests`);
      if (share !== undefined) parts.push(`${pct(share)} over ${c.windowSeconds} s`);
      return `status ${r.status}; 5xx share${on || " on unknown routes"} ${parts.join(", ")}, typical ${pct(b.errorRate)}`;
    }
    case "size": {
      const [lo, hi] = typical(b.bytesMid, b.bytesSpread);
      return `response ${size(Number.isFinite(r.bytes) ? r.bytes : 0)}, typical ${size(lo)}-${size(hi)}${on}`;
    }
    case "method":
      return `method ${r.method || "(none)"} is rare`;
    case "route":
      if (!c.known) return `route ${r.method} ${r.route} was never seen in training`;
      if (c.novel) return `path ${r.route} was rare or never seen in training (counted under ${c.route})`;
      return `route ${c.route} is rare (${pct(b.share)} of answered training requests)`;
    case "rate": {
      const ratio = c.values.route_rate_ratio;
      return ratio === undefined ? `request rate on ${c.route}` : `${c.route} at ${Math.exp(ratio).toFixed(1)}x its usual share of traffic`;
    }
    case "client": {
      const w = c.client;
      const who = `client ${r.ip || "(unknown)"}`;
      if (w === undefined) return who;
      const parts = [`made ${w.requests} request${w.requests === 1 ? "" : "s"} in ${c.windowSeconds} s`];
      if (w.failures > 0) parts.push(`${w.failures} failed (${pct(w.failures / w.requests)})`);
      if (w.novelFailures > 0) parts.push(`${w.novelFailures} of them on paths not seen in training`);
      return `${who} ${parts.join(", ")}`;
    }
  }
}

/** The top `top` reasons of a line from its per-feature shares (in the spec's feature order). */
export function reasonsFor(features: readonly FeatureName[], shares: ArrayLike<number>, c: ReasonContext, top = 3): AlertReason[] {
  const byGroup = new Map<ReasonGroup, number>();
  features.forEach((f, i) => byGroup.set(FEATURE_GROUP[f], (byGroup.get(FEATURE_GROUP[f]) ?? 0) + shares[i]));
  const out = [...byGroup]
    .sort((a, b) => b[1] - a[1])
    .filter(([group]) => holds(group, c))
    .slice(0, top)
    .map(([group, share]) => ({ feature: group, share: Math.round(share * 1000) / 1000, text: sentence(group, c) }));
  if (out.length > 0) return out;
  return [{ feature: "combination", share: 1, text: "an unusual combination of values that are each within their typical range" }];
}
