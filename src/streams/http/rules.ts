/**
 * Rules: which scored lines become alerts. A line alerts when the stream is past its
 * warm-up, one of the conditions holds with the line's severity at or above that
 * condition's floor (its own minSeverity, else the rules'; the first condition that
 * holds names the alert's rule), and the same rule has not alerted for the same
 * route (or client) within the cooldown.
 *
 * Client-level conditions compare one client's window against the highest any
 * single client reached in any window of training (the model's client peaks), so a
 * busy crawler or a NAT seen in training sets its own bar. A path never (or rarely)
 * seen in training does not alert by itself: visitors read rare pages every day.
 * A scanner is one client collecting many failures on such paths.
 *
 * A rules file is JSON with any of these keys; what it leaves out keeps the default.
 */
import { readFileSync } from "node:fs";
import { RULES_GIVEN } from "../stream.js";
import { checkTextRules, TEXT_RULE_KEYS, type TextRuleKeys } from "../text-rules.js";

/** The condition kinds a rule can use. */
export const CONDITION_TYPES = [
  "unknown_route", // the path is not a route of its own in the trained vocabulary (not in the defaults: rare pages are normal)
  "client_scan", // the line failed on a novel path, and its client has >= max(minRequests, factor x training peak) such failures in the window, with a failure share >= `share`
  "client_failures", // the line failed on a known route, and its client has >= max(minRequests, factor x training peak) such failures in the window, with a failure share >= `share`
  "client_rate_above", // the client's requests in the window >= max(minRequests, factor x the most any training client made)
  "status_at_least", // status >= `status`
  "route_error_burst", // the line is a 5xx, as are 2 of its route's last 3 answers; the route's 5xx share over about its last 10 requests > `share`; and the window holds at least `minRequests` 5xx on it (default 3: one error is no burst)
  "latency_above_route_p99", // latency > `factor` x the route's training p99, the route slower than the rest of the traffic by `trend`
  "latency_everywhere", // the latency trend of all traffic (about its last 20 lines) and of the line's route > `trend`: everything slow at once (a stalled process, a slow database)
  "bytes_above_route_p999", // response bytes > `factor` x the route's training p99.9
  "route_rate_above", // the route's request rate over the window > `factor` x its training rate
  "any", // always holds: severity alone decides
] as const;

export type ConditionType = (typeof CONDITION_TYPES)[number];

/** One condition of the rules file. */
export interface Condition {
  /** Name given to alerts this condition lets through. */
  name: string;
  type: ConditionType;
  /** status_at_least: the lowest status that holds. */
  status?: number;
  /** route_error_burst: the window's 5xx share that must be exceeded (default 0.2); client_scan/client_failures: the client's least failure share (default 0.5). */
  share?: number;
  /** Multiplier of the learned baseline (latency, bytes, rate). Default 1 (rate: 3). */
  factor?: number;
  /**
   * latency/bytes conditions: the route's moving average of the z-score
   * (route_latency_trend / route_bytes_trend) must also exceed this, so one slow
   * line in a healthy route does not alert. Default 0 (off).
   */
  trend?: number;
  /** route_rate_above: least requests on the route in the window (default 10); client conditions: least requests/failures of the client (defaults 10, 20, 100). */
  minRequests?: number;
  /** latency_above_route_p99: least latency in ms, whatever the route's p99 (a 9 ms request is never slow). Default 50. */
  minMs?: number;
  /**
   * latency_above_route_p99: seconds of line time the route must have been slow (lines
   * holding the condition, gaps under one window) before it alerts, so that a pause of
   * the whole process (a GC, a starved host) does not read as a slow route. Default 3.
   */
  forSeconds?: number;
  /** Severity floor for this condition, when its own evidence is strong enough to need less. Default: the rules' minSeverity. */
  minSeverity?: number;
  /** What the cooldown is counted per: the route (default), the client address, or nothing. */
  groupBy?: "route" | "client" | "none";
}

/** The rules. */
export interface Rules {
  /** Lowest severity (0-100) that can alert. */
  minSeverity: number;
  /** Seconds of stream time at the start during which nothing alerts (windows filling). */
  warmupSeconds: number;
  /** Seconds after an alert during which the same rule does not alert again for the same group. */
  cooldownSeconds: number;
  /** Conditions tried in order; a line must meet one of them. */
  conditions: Condition[];
  /**
   * Free-text models with sessions: `grouped` (default) alerts once per cooldown for sessions
   * unusual for the same reasons, `each` alerts every unusual session. Access logs ignore it.
   */
  sessionAlerts?: "grouped" | "each";
  /** What free-text models read besides (streams/text-rules.ts); access logs ignore it. */
  text?: TextRuleKeys;
}

/** The default rules; see the README for how they were chosen. */
export const DEFAULT_RULES: Rules = Object.freeze({
  minSeverity: 40,
  warmupSeconds: 10,
  cooldownSeconds: 30,
  conditions: [
    { name: "scanner", type: "client_scan", factor: 1.5, minRequests: 10, share: 0.5, groupBy: "client", minSeverity: 30 },
    { name: "brute_force", type: "client_failures", factor: 2, minRequests: 20, share: 0.5, groupBy: "client", minSeverity: 30 },
    { name: "client_flood", type: "client_rate_above", factor: 3, minRequests: 100, groupBy: "client", minSeverity: 30 },
    { name: "error_burst", type: "route_error_burst", share: 0.2 },
    { name: "slow", type: "latency_above_route_p99", factor: 1, trend: 2, minMs: 50, forSeconds: 3 },
    { name: "slow_everywhere", type: "latency_everywhere", trend: 2, minMs: 50, forSeconds: 3, groupBy: "none" },
    { name: "oversized", type: "bytes_above_route_p999", factor: 1, trend: 2, minSeverity: 30 },
    { name: "surge", type: "route_rate_above", factor: 3, minRequests: 20, minSeverity: 30 },
  ],
}) as Rules;

const KEYS = ["minSeverity", "warmupSeconds", "cooldownSeconds", "conditions", "sessionAlerts", ...TEXT_RULE_KEYS];
const CONDITION_KEYS = ["name", "type", "status", "share", "factor", "trend", "minRequests", "minMs", "forSeconds", "minSeverity", "groupBy"];
const CLIENT_TYPES: readonly ConditionType[] = ["client_scan", "client_failures", "client_rate_above"];
/** Defaults per client condition type: [factor, minRequests, share]. */
const CLIENT_DEFAULTS: Record<string, [number, number, number]> = {
  client_scan: [1.5, 10, 0.5],
  client_failures: [2, 20, 0.5],
  client_rate_above: [3, 100, 0],
};

function num(where: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`${where} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validate rules (from a file or an object) on top of the defaults; errors name the key, range and value. */
export function resolveRules(input: unknown, source = "rules"): Rules {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new TypeError(`${source} must be a JSON object, got ${Array.isArray(input) ? "an array" : JSON.stringify(input)}`);
  }
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k)) throw new RangeError(`${source}: unknown key "${k}"; the keys are ${KEYS.join(", ")}`);
  }
  const rules: Rules = {
    minSeverity: num(`${source}: minSeverity`, o.minSeverity ?? DEFAULT_RULES.minSeverity, 0, 100),
    warmupSeconds: num(`${source}: warmupSeconds`, o.warmupSeconds ?? DEFAULT_RULES.warmupSeconds, 0, 86400),
    cooldownSeconds: num(`${source}: cooldownSeconds`, o.cooldownSeconds ?? DEFAULT_RULES.cooldownSeconds, 0, 86400),
    conditions: DEFAULT_RULES.conditions,
  };
  Object.defineProperty(rules, RULES_GIVEN, { value: Object.keys(o), enumerable: false });
  const text = checkTextRules(o, source);
  if (Object.keys(text).length > 0) rules.text = text;
  if (o.sessionAlerts !== undefined) {
    if (o.sessionAlerts !== "grouped" && o.sessionAlerts !== "each") throw new RangeError(`${source}: sessionAlerts must be "grouped" or "each", got ${JSON.stringify(o.sessionAlerts)}`);
    rules.sessionAlerts = o.sessionAlerts;
  }
  if (o.conditions !== undefined) {
    if (!Array.isArray(o.conditions) || o.conditions.length === 0) {
      throw new RangeError(`${source}: conditions must be a non-empty array, got ${JSON.stringify(o.conditions)}`);
    }
    rules.conditions = o.conditions.map((c, i) => resolveCondition(c, `${source}: conditions[${i}]`));
  }
  return rules;
}

function resolveCondition(c: unknown, where: string): Condition {
  if (typeof c !== "object" || c === null || Array.isArray(c)) throw new TypeError(`${where} must be an object`);
  const o = c as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!CONDITION_KEYS.includes(k)) throw new RangeError(`${where}: unknown key "${k}"; the keys are ${CONDITION_KEYS.join(", ")}`);
  }
  if (!CONDITION_TYPES.includes(o.type as ConditionType)) {
    throw new RangeError(`${where}.type must be one of ${CONDITION_TYPES.join(", ")}, got ${JSON.stringify(o.type)}`);
  }
  const type = o.type as ConditionType;
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) throw new RangeError(`${where}.name must be a non-empty string`);
  const groupBy = o.groupBy ?? (CLIENT_TYPES.includes(type) || type === "unknown_route" ? "client" : type === "latency_everywhere" ? "none" : "route");
  if (groupBy !== "route" && groupBy !== "client" && groupBy !== "none") {
    throw new RangeError(`${where}.groupBy must be one of route, client, none, got ${JSON.stringify(groupBy)}`);
  }
  const out: Condition = { name: (o.name as string | undefined) ?? type, type, groupBy };
  if (o.minSeverity !== undefined) out.minSeverity = num(`${where}.minSeverity`, o.minSeverity, 0, 100);
  if (type === "status_at_least") out.status = num(`${where}.status`, o.status ?? 500, 100, 599);
  if (type === "route_error_burst") {
    out.share = num(`${where}.share`, o.share ?? 0.2, 0, 1);
    out.minRequests = num(`${where}.minRequests`, o.minRequests ?? 3, 0, 1e9);
  }
  if (type === "latency_above_route_p99" || type === "bytes_above_route_p999" || type === "route_rate_above") {
    out.factor = num(`${where}.factor`, o.factor ?? (type === "route_rate_above" ? 3 : 1), 0, 1e6);
  }
  if (type === "latency_above_route_p99" || type === "bytes_above_route_p999") out.trend = num(`${where}.trend`, o.trend ?? 0, -10, 50);
  if (type === "latency_everywhere") out.trend = num(`${where}.trend`, o.trend ?? 2, -10, 50);
  if (type === "latency_above_route_p99" || type === "latency_everywhere") {
    out.minMs = num(`${where}.minMs`, o.minMs ?? 50, 0, 1e9);
    out.forSeconds = num(`${where}.forSeconds`, o.forSeconds ?? 3, 0, 86400);
  }
  if (type === "route_rate_above") out.minRequests = num(`${where}.minRequests`, o.minRequests ?? 10, 0, 1e9);
  const client = CLIENT_DEFAULTS[type];
  if (client !== undefined) {
    out.factor = num(`${where}.factor`, o.factor ?? client[0], 0, 1e6);
    out.minRequests = num(`${where}.minRequests`, o.minRequests ?? client[1], 1, 1e9);
    if (type !== "client_rate_above") out.share = num(`${where}.share`, o.share ?? client[2], 0, 1);
  }
  return out;
}

/** The lowest severity any condition accepts: lines below it cannot alert. */
export function severityFloor(rules: Rules): number {
  return Math.min(rules.minSeverity, ...rules.conditions.map((c) => c.minSeverity ?? rules.minSeverity));
}

/** Read and validate a rules file. */
export function loadRules(path: string): Rules {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new RangeError(`rules file ${path}: ${(e as Error).message}`);
  }
  return resolveRules(parsed, `rules file ${path}`);
}
