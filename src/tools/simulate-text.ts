/**
 * A simulator of a free-text service log (a Java order service writing log4j's
 * default layout) with labelled incidents, for `logforest bench`'s free-text
 * figures and for checking the text rules against known ground truth. Measure the
 * detector on real logs (docs/free-text.md); this is for speed and for a first look.
 *
 * As in the HTTP simulator, two seeded streams keep labels honest: normal traffic
 * draws only from `traffic`, what an incident adds or changes only from `chaos`.
 *
 * Normal traffic: about 20 requests a second, each a session keyed by `req=<hex>`
 * (received, validated, stock reserved, payment charged, completed in N ms), cache and
 * pool housekeeping, a rare warning, and a heartbeat every 10 s.
 * Incidents (60 s each, the heartbeat's 5 min, at fixed fractions of the run): a new error template with a
 * stack trace, a burst of an existing warning, the heartbeat stopping, completion times
 * 40x their usual, and orders skipping the payment step.
 */
import { appendFileSync } from "node:fs";
import { Rng } from "../forest/random.js";

export const TEXT_INCIDENT_KINDS = ["new_error", "warn_burst", "heartbeat_stopped", "slow_param", "missing_step"] as const;
export type TextIncidentKind = (typeof TEXT_INCIDENT_KINDS)[number];

export interface TextSimOptions {
  /** Lines to write (stack-trace lines count). */
  count: number;
  seed?: number;
  /** Inject the five incidents (default true). */
  incidents?: boolean;
  /** Epoch ms of the first line (default 2026-12-05 06:00 UTC). */
  start?: number;
}

export interface TextSimLine {
  text: string;
  /** The incident this line belongs to, when it does. */
  incident?: TextIncidentKind;
}

export interface TextSimIncident {
  kind: TextIncidentKind;
  /** Epoch ms; the incident covers [start, end). */
  start: number;
  end: number;
}

/** The session key expression of the simulated log, for `--session-key`. */
export const TEXT_SIM_SESSION_KEY = String.raw`req=([0-9a-f]{8})`;

const INCIDENT_AT: Record<TextIncidentKind, number> = { new_error: 0.25, warn_burst: 0.4, heartbeat_stopped: 0.55, slow_param: 0.8, missing_step: 0.92 };
/** How long each incident lasts: a heartbeat stopping is seen only after several of its intervals. */
const INCIDENT_MS: Record<TextIncidentKind, number> = { new_error: 60_000, warn_burst: 60_000, heartbeat_stopped: 300_000, slow_param: 60_000, missing_step: 60_000 };
const REQUESTS_PER_S = 20;

/**
 * The lines, lazily; returns the incidents (empty without). A RangeError names a bad option.
 * Lines are a little over 2 per request on average besides sessions, so `count` lines
 * cover about count / 110 seconds.
 */
export function* simulateText(o: TextSimOptions): Generator<TextSimLine, TextSimIncident[], undefined> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new RangeError(`count must be an integer >= 1, got ${o.count}`);
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const traffic = new Rng(seed);
  const chaos = new Rng(seed + 0x9e37);
  const t0 = o.start ?? Date.UTC(2026, 11, 5, 6, 0, 0);
  // About 5.6 lines a request (5 session steps plus housekeeping) and a heartbeat per 10 s.
  const span = (o.count / (REQUESTS_PER_S * 5.6)) * 1000;
  const incidents: TextSimIncident[] = o.incidents === false ? [] : TEXT_INCIDENT_KINDS.map((kind) => {
    const start = t0 + Math.round(span * INCIDENT_AT[kind]);
    return { kind, start, end: start + INCIDENT_MS[kind] };
  });
  /** Whether incident `kind` is going on at `t` (on a short run incidents may overlap). */
  const active = (kind: TextIncidentKind, t: number): boolean => incidents.some((i) => i.kind === kind && t >= i.start && t < i.end);
  let written = 0;
  const pending: { at: number; line: TextSimLine }[] = [];
  let t = t0;
  let nextBeat = t0;
  const threads = 12;
  const emit = function* (line: TextSimLine): Generator<TextSimLine, void, undefined> {
    if (written < o.count) {
      written++;
      yield line;
    }
  };
  while (written < o.count) {
    t += Math.max(1, Math.round(-Math.log(1 - traffic.next()) * (1000 / REQUESTS_PER_S)));
    // Steps of earlier requests due by now, in time order.
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && pending[0].at <= t && written < o.count) yield* emit(pending.shift()!.line);
    if (t >= nextBeat) {
      if (!active("heartbeat_stopped", t)) yield* emit({ text: line(t, "INFO ", "registry-heartbeat", "com.acme.orders.RegistryClient", `Heartbeat sent to registry at 10.0.${traffic.int(4)}.${1 + traffic.int(250)}:8761, status=UP`) });
      else {
        traffic.int(4); // the same draws as a heartbeat, so the traffic around the incident is unchanged
        traffic.int(250);
      }
      nextBeat += 10_000;
    }
    const thread = `http-nio-8080-exec-${1 + traffic.int(threads)}`;
    const req = traffic.int(0x100000000).toString(16).padStart(8, "0");
    const user = 1000 + traffic.int(90_000);
    const items = 1 + traffic.int(6);
    const ms = Math.round(Math.exp(Math.log(35) + 0.45 * traffic.normal()));
    const order = 5_000_000 + traffic.int(4_000_000);
    const skip = active("missing_step", t);
    const slow = active("slow_param", t);
    const steps: [number, string, string, string][] = [
      [0, "INFO ", "com.acme.orders.OrderController", `Received order request req=${req} from user ${user} with ${items} items`],
      [2, "DEBUG", "com.acme.orders.OrderValidator", `Validated order req=${req}: ${items} items, total ${(items * 12.5 + traffic.int(400) / 4).toFixed(2)} EUR`],
      [5, "INFO ", "com.acme.orders.StockService", `Reserved stock for req=${req} in warehouse WH-${1 + traffic.int(3)}`],
      [9, "INFO ", "com.acme.payments.PaymentClient", `Charged payment for req=${req} via provider ${traffic.int(3) === 0 ? "adyen" : "stripe"}, authorization ${traffic.int(0x1000000).toString(16)}`],
      [Math.max(12, ms), "INFO ", "com.acme.orders.OrderController", `Order ${order} completed in ${ms} ms req=${req}`],
    ];
    for (const [i, [after, level, cls, msg]] of steps.entries()) {
      if (skip && i === 3) continue;
      const changed = (skip && i === 4) || (slow && i === 4);
      const text = slow && i === 4 ? `Order ${order} completed in ${Math.round(ms * (35 + chaos.int(10)))} ms req=${req}` : msg;
      const at = t + (slow && i === 4 ? ms * 40 : after);
      pending.push({ at, line: { text: line(at, level, thread, cls, text), ...(changed ? { incident: skip ? ("missing_step" as const) : ("slow_param" as const) } : {}) } });
    }
    const r = traffic.next();
    if (r < 0.05) yield* emit({ text: line(t, "DEBUG", thread, "com.acme.cache.ProductCache", `Cache miss for product ${traffic.int(20_000)}, loading from database`) });
    else if (r < 0.07) yield* emit({ text: line(t, "INFO ", "HikariPool-1 housekeeper", "com.zaxxer.hikari.pool.HikariPool", `HikariPool-1 - Pool stats (total=${10}, active=${traffic.int(10)}, idle=${traffic.int(10)}, waiting=0)`) });
    else if (r < 0.0715) yield* emit({ text: line(t, "WARN ", thread, "com.acme.orders.StockService", `Stock for product ${traffic.int(20_000)} below threshold: ${traffic.int(5)} left`) });
    if (active("warn_burst", t) && chaos.next() < 0.6) {
      yield* emit({ text: line(t, "WARN ", thread, "com.acme.orders.StockService", `Stock for product ${chaos.int(20_000)} below threshold: ${chaos.int(5)} left`), incident: "warn_burst" });
    }
    if (active("new_error", t) && chaos.next() < 0.1) {
      yield* emit({ text: line(t, "ERROR", thread, "com.acme.orders.OrderRepository", `Failed to persist order req=${req}: org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for non-replication superuser connections`), incident: "new_error" });
      for (const frame of ["org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:646)", "com.zaxxer.hikari.pool.PoolBase.newConnection(PoolBase.java:364)", "com.acme.orders.OrderRepository.save(OrderRepository.java:88)"]) {
        yield* emit({ text: `\tat ${frame}`, incident: "new_error" });
      }
    }
  }
  return incidents;
}

/** One log4j default-layout line (`%d %-5p [%t] %c - %m`). */
function line(at: number, level: string, thread: string, cls: string, msg: string): string {
  const d = new Date(at).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)},${d.slice(20, 23)} ${level} [${thread}] ${cls} - ${msg}`;
}

/**
 * Write a simulated free-text log to `out` (appended) or stdout, and its truth (one JSON
 * line per labelled line: `{line, kind, incident}`, the incident numbered from 1) to `truth`.
 */
export function writeTextSimulation(o: TextSimOptions & { out?: string; truth?: string }): { lines: number; labelled: number; incidents: TextSimIncident[] } {
  const gen = simulateText(o);
  let text: string[] = [];
  const truth: string[] = [];
  let lines = 0;
  const flush = (): void => {
    const body = text.join("\n") + "\n";
    if (o.out) appendFileSync(o.out, body);
    else process.stdout.write(body);
    text = [];
  };
  let r = gen.next();
  while (r.done !== true) {
    lines++;
    if (r.value.incident !== undefined) truth.push(JSON.stringify({ line: lines, kind: r.value.incident, incident: TEXT_INCIDENT_KINDS.indexOf(r.value.incident) + 1 }));
    text.push(r.value.text);
    if (text.length === 10_000) flush();
    r = gen.next();
  }
  if (text.length > 0) flush();
  if (o.truth) appendFileSync(o.truth, truth.length ? truth.join("\n") + "\n" : "");
  return { lines, labelled: truth.length, incidents: r.value };
}
