/** What a training set leaves undetectable, and signs that it holds incidents. */
import { LINE_CLOCK_RATE, type FeatureSpec } from "./features.js";
import { Columns } from "./columns.js";
import { isProbe, keyStats } from "./spec.js";

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** What the training set leaves undetectable, and signs that it holds incidents. */
export function trainingWarnings(c: Columns, spec: FeatureSpec, untimed: number, minRouteCount: number): string[] {
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
  let bytes = 0;
  let ips = 0;
  const addresses = new Set<string>();
  for (let i = 0; i < c.n; i++) {
    if (Number.isFinite(c.bytes[i])) bytes++;
    if (c.ip[i] !== "") {
      ips++;
      if (addresses.size < 2) addresses.add(c.ip[i]);
    }
  }
  if (bytes * 2 < c.n) out.push("no response size on most lines: oversized responses cannot be seen");
  if (ips * 2 < c.n) {
    out.push("no client address on most lines: client-level incidents (scanners, brute force, a client flooding) cannot be seen");
  } else if (addresses.size === 1 && c.n >= 100) {
    const [only] = addresses;
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
export function suspectClients(c: Columns): Set<string> {
  const total = new Map<string, number>();
  const failed = new Map<string, number>();
  for (let i = 0; i < c.n; i++) {
    const ip = c.ip[i];
    if (ip === "") continue;
    total.set(ip, (total.get(ip) ?? 0) + 1);
    if (c.status[i] >= 400) failed.set(ip, (failed.get(ip) ?? 0) + 1);
  }
  const out = new Set<string>();
  for (const [ip, f] of failed) if (f >= 20 && 2 * f > (total.get(ip) ?? 0)) out.add(ip);
  return out;
}

/** Route keys with enough lines to be a route but only one client, mostly failing. */
function probeRoutes(c: Columns, minRouteCount: number): string[] {
  const { byKey, clients } = keyStats(c);
  return [...byKey].filter(([, k]) => k.idx.length >= minRouteCount && isProbe(k, clients)).map(([key]) => key);
}
