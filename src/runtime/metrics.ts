/**
 * Prometheus metrics of a detect run (prom-client, a private Registry per run: two runs in
 * one process never share a metric). Counters are read from the run's own counts when
 * Prometheus scrapes (nothing is counted twice, nothing costs per line); alerts, batch
 * latencies and follow positions are told as they happen. Served at /metrics by the
 * dashboard or alone (startMetricsServer), with the dashboard's request guards.
 */
import { statSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunCounts } from "../streams/counts.js";
import { guardedServer, hostCheck, refusal, refuseMalformed, SECURITY_HEADERS, writeRefusal } from "../dashboard/http.js";
import type { AlertSink } from "./sinks/webhook.js";

/** What a counter's collect reads: each label set with its running total. */
type Totals = () => Iterable<[Record<string, string>, number]>;

/** The severity bands of the summary, as label values. */
function bandOf(severity: number): string {
  return severity >= 90 ? "90-100" : severity >= 75 ? "75-89" : severity >= 50 ? "50-74" : "0-49";
}

/** The metrics of one run; hand it to a run (detect's outputs.metrics) and serve `text()`. */
export class DetectMetrics {
  /** This run's registry (not prom-client's global one). */
  readonly registry = new Registry();
  private counts: () => RunCounts | null = () => null;
  private sinks: readonly AlertSink[] = [];
  /** Followed path -> byte offset just after the last line handed to the detector. */
  private readonly offsets = new Map<string, number>();
  private readonly alerts: Counter<"rule" | "severity">;
  private readonly batches: Histogram;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const c = () => this.counts();
    this.counter("logforest_lines_read_total", "Lines read (scored or skipped)", [], function* () {
      yield [{}, c()?.lines_read ?? 0];
    });
    this.counter("logforest_lines_scored_total", "Lines scored by the model", [], function* () {
      yield [{}, c()?.lines_scored ?? 0];
    });
    this.counter("logforest_lines_skipped_total", "Lines not scored, by reason (unparsed, too_long, ...)", ["reason"], function* () {
      for (const [reason, n] of Object.entries(c()?.skipped ?? {})) yield [{ reason }, n];
    });
    this.counter("logforest_alerts_suppressed_total", "Alerts held back, by reason (warmup, cooldown)", ["reason"], function* () {
      for (const [reason, n] of Object.entries(c()?.suppressed ?? {})) yield [{ reason }, n];
    });
    this.counter("logforest_retrain_refreshes_total", "Retraining refreshes done", [], function* () {
      yield [{}, c()?.retrain.refreshes ?? 0];
    });
    this.alerts = new Counter({ name: "logforest_alerts_total", help: "Alerts raised, by rule and severity band", labelNames: ["rule", "severity"], registers });
    this.batches = new Histogram({
      name: "logforest_scoring_batch_seconds",
      help: "Time to parse, score and judge one batch of lines",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: "logforest_model_generation", help: "Model generation in use (0: as loaded; +1 per retraining refresh)", registers,
      collect() {
        this.set(c()?.retrain.generation ?? 0);
      },
    });
    const offsets = this.offsets;
    new Gauge({
      name: "logforest_follow_lag_bytes", help: "Followed file's size minus the position read up to", labelNames: ["file"], registers,
      collect() {
        this.reset();
        for (const [file, offset] of offsets) {
          try {
            this.set({ file }, Math.max(0, statSync(file).size - offset));
          } catch {
            // no file at the path right now (rotated away): no lag to report
          }
        }
      },
    });
    const sinks = () => this.sinks;
    this.counter("logforest_sink_alerts_total", "Alerts handed to a sink, by what became of them (sent, failed, dropped)", ["sink", "outcome"], function* () {
      for (const s of sinks()) {
        const n = s.counts();
        for (const outcome of ["sent", "failed", "dropped"] as const) yield [{ sink: s.name, outcome }, n[outcome]];
      }
    });
    this.counter("logforest_sink_retries_total", "Tries repeated after a failed delivery", ["sink"], function* () {
      for (const s of sinks()) yield [{ sink: s.name }, s.counts().retried];
    });
    new Gauge({
      name: "logforest_sink_pending", help: "Alerts waiting or in flight in a sink's queue", labelNames: ["sink"], registers,
      collect() {
        for (const s of sinks()) {
          const n = s.counts();
          this.set({ sink: s.name }, n.alerts - n.sent - n.failed - n.dropped);
        }
      },
    });
  }

  /** The Content-Type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text Prometheus scrapes. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Read the run's counts (lines, skipped, suppressed, retraining) from here at each scrape. */
  watch(counts: () => RunCounts): void {
    this.counts = counts;
  }

  /** Report these sinks' counts. */
  watchSinks(sinks: readonly AlertSink[]): void {
    this.sinks = sinks;
  }

  /** Report what `detect --listen` received (runtime/listen/): requests and records scored, requests refused by reason. */
  watchReceived(counts: () => { requests: number; records: number; refused: Partial<Record<string, number>> }): void {
    this.counter("logforest_received_requests_total", "HTTP requests received and scored (--listen)", [], function* () {
      yield [{}, counts().requests];
    });
    this.counter("logforest_received_records_total", "Records received and scored (--listen)", [], function* () {
      yield [{}, counts().records];
    });
    this.counter("logforest_received_refused_total", "HTTP requests refused, by reason (bad_payload, too_large, overloaded, ...)", ["reason"], function* () {
      for (const [reason, n] of Object.entries(counts().refused)) yield [{ reason }, n ?? 0];
    });
  }

  /** An alert was raised. */
  alert(rule: string, severity: number): void {
    this.alerts.inc({ rule, severity: bandOf(severity) });
  }

  /** A batch took this long to score. */
  batchScored(seconds: number): void {
    this.batches.observe(seconds);
  }

  /** A followed file has been read up to this byte offset. */
  followed(file: string, offset: number): void {
    this.offsets.set(file, offset);
  }

  /** Where a followed file starts being read, unless lines from it were already told. */
  startsAt(file: string, offset: number): void {
    if (!this.offsets.has(file)) this.offsets.set(file, offset);
  }

  /** A counter kept equal to a running total read at scrape time (increased by the difference). */
  private counter(name: string, help: string, labelNames: string[], totals: Totals): void {
    const seen = new Map<string, number>();
    new Counter({
      name, help, labelNames, registers: [this.registry],
      collect() {
        for (const [labels, total] of totals()) {
          const key = JSON.stringify(labels);
          const before = seen.get(key);
          const d = total - (before ?? 0);
          // A label set is shown from its first scrape, at 0 if need be (rate() needs the zero).
          if (d <= 0 && before !== undefined) continue;
          seen.set(key, Math.max(total, before ?? 0));
          if (labelNames.length > 0) this.inc(labels, Math.max(0, d));
          else this.inc(Math.max(0, d));
        }
      },
    });
  }
}

/** Options of startMetricsServer. */
export interface MetricsServerOptions {
  /** TCP port; 0 picks any free port. */
  port: number;
  /** Address to bind. Default 127.0.0.1 (this machine only). */
  host?: string;
}

/** Check `--metrics PORT` (a RangeError naming it otherwise). */
export function metricsPort(v: unknown): number {
  const n = typeof v === "number" ? v : Number(v);
  if (typeof v === "boolean" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`--metrics must be a port, an integer in [0, 65535] (0: any free port), got ${String(v)}`);
  }
  return n;
}

/** Answer a scrape of /metrics (GET or HEAD): the text, or 500 when collecting failed. */
export function serveMetrics(metrics: DetectMetrics, req: IncomingMessage, res: ServerResponse): void {
  metrics.text().then(
    (text) => {
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": metrics.contentType, "cache-control": "no-store", "content-length": String(Buffer.byteLength(text)) });
      res.end(req.method === "HEAD" ? undefined : text);
    },
    (err: Error) => {
      res.writeHead(500, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.end(`collecting the metrics failed: ${err.message}\n`);
    },
  );
}

/** A server of /metrics alone (`detect --metrics PORT`); `url` is the scrape address. */
export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serve `metrics` at http://host:port/metrics, refusing what the dashboard refuses. */
export async function startMetricsServer(metrics: DetectMetrics, o: MetricsServerOptions): Promise<MetricsServer> {
  const port = metricsPort(o.port);
  const host = o.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "") throw new RangeError(`--metrics-host must be a non-empty address, got ${JSON.stringify(host)}`);
  const server: Server = guardedServer({ total: 64, perClient: 32 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(new Error(`metrics: port ${port} on ${host} ${e.code === "EADDRINUSE" ? "is in use (pick another port, or 0 for any free one)" : `cannot be used (${e.message})`}`));
    });
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const hostAllowed = hostCheck(host, bound);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const refused = refusal(req, "the metrics endpoint", hostAllowed);
    const path = (req.url ?? "").split("?")[0];
    if (refused === null && path === "/metrics") return serveMetrics(metrics, req, res);
    const [status, body, extra] = refused !== null ? [refused.status, refused.body, refused.headers] : [404, "not found: the metrics are at /metrics\n", {}];
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "content-length": String(Buffer.byteLength(body)), ...extra });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => refuseMalformed(err, socket));
  server.on("connect", (_req: IncomingMessage, socket: Socket) => writeRefusal(socket, 405, "Method Not Allowed", { allow: "GET, HEAD" }));
  const shown = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
