/** What a training set leaves undetectable, and signs that it holds incidents. */
import { LINE_CLOCK_RATE, type FeatureSpec } from "./features.js";
import { isProbe } from "./spec.js";
import type { Tally } from "./tally.js";

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** What the training set leaves undetectable, and signs that it holds incidents. */
export function trainingWarnings(c: Tally, spec: FeatureSpec, untimed: number, minRouteCount: number): string[] {
  const out: string[] = [];
  if (spec.clock === "lines") {
    out.push(
      `no usable timestamps (${count(untimed)} of ${count(c.n)} lines lack one): windows count line order, ` +
        `${LINE_CLOCK_RATE} lines as 1 s, here and at detection`,
    );
  } else if (untimed > 0) {
    out.push(`${count(untimed)} lines have no usable timestamp: each takes the time of the line before`);
  }
  if (!spec.features.some((f) => f.startsWith("latency"))) out.push("no latency field: slow requests cannot be seen (map one with --field latency=... or use a format that logs it)");
  if (c.withBytes * 2 < c.n) out.push("no response size on most lines: oversized responses cannot be seen");
  if (c.withIp * 2 < c.n) {
    out.push("no client address on most lines: client-level incidents (scanners, brute force, a client flooding) cannot be seen");
  } else if (c.addresses.length === 1 && c.n >= 100) {
    const [only] = c.addresses;
    out.push(
      `every line has the same client address (${only}): a proxy's? Client-level incidents cannot be told apart; ` +
        "log the real client (x-forwarded-for) or map it with --field ip=...",
    );
  }
  const peaks = spec.clients;
  if (peaks && peaks.novelFailures >= 20) {
    out.push(`one client had ${peaks.novelFailures} failed requests on rare paths within ${spec.windowSeconds} s: it raises the bar for catching scanners`);
  }
  if (peaks && peaks.knownFailures >= 20) {
    out.push(`one client had ${peaks.knownFailures} failed requests on known routes within ${spec.windowSeconds} s: it raises the bar for catching a brute force`);
  }
  const probes = probeRoutes(c, minRouteCount);
  if (probes.length > 0) {
    out.push(
      `${probes.length === 1 ? "1 path" : `${probes.length} paths`} seen only from one client and mostly failing ${probes.length === 1 ? "was not learned as a route" : "were not learned as routes"} ` +
        `(e.g. ${probes.slice(0, 3).join(", ")}): incidents in the training data?`,
    );
  }
  return out;
}

/** Client addresses with 20+ failed requests in training, over half of their requests failing. */
export function suspectClients(c: Tally): Set<string> {
  const found: [string, number][] = [];
  for (const [ip, [total, failed, rank]] of c.perClient) if (failed >= 20 && 2 * failed > total) found.push([ip, rank]);
  // In the order of their first failure.
  return new Set(found.sort((a, b) => a[1] - b[1]).map(([ip]) => ip));
}

/** Route keys with enough lines to be a route but only one client, mostly failing. */
function probeRoutes(c: Tally, minRouteCount: number): string[] {
  const distinct = c.clients.length;
  return [...c.keys].filter(([, k]) => k.count >= minRouteCount && isProbe(k, distinct)).map(([key]) => key);
}

/** Latencies below this (ms) are no HTTP request's time: 10 µs. */
const TINY_MS = 0.01;
/** Latencies above this (ms) are no usual request's time: 10 minutes. */
const HUGE_MS = 600_000;

/**
 * Counts latencies that contradict their unit (a duration in seconds read as ms gives
 * 0.0009 "ms"; µs read as ms, 1,197 s), for a warning in train and detect: a unit is never
 * guessed silently wrong.
 */
export class LatencyUnitCheck {
  private seen = 0;
  private tiny = 0;
  private huge = 0;

  /** Count one line's latency in ms (NaN: none). */
  add(ms: number): void {
    if (!(ms >= 0)) return;
    this.seen++;
    if (ms < TINY_MS) this.tiny++;
    else if (ms > HUGE_MS) this.huge++;
  }

  /** A warning when most latencies (of 20 or more) contradict their unit; null otherwise. */
  warning(): string | null {
    if (this.seen < 20) return null;
    const of = `${count(this.seen)} latencies`;
    if (this.tiny * 2 > this.seen) {
      return `${count(this.tiny)} of ${of} read as under 0.01 ms: is the latency field in seconds read as ms? ` +
        "Pass --latency-unit s, or map the field with --field latency=...";
    }
    if (this.huge * 2 > this.seen) {
      return `${count(this.huge)} of ${of} read as over 10 minutes: is the latency field in µs or ms read as a larger unit? ` +
        "Pass --latency-unit ms or us, or map the field with --field latency=...";
    }
    return null;
  }
}
