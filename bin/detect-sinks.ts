/** `logforest detect`'s alert sinks (--webhook, --exec) and metrics (--metrics): options and glue (see docs/sinks.md). */
import type { Dashboard } from "../src/dashboard/server.js";
import type { DetectMetrics, MetricsServer } from "../src/runtime/metrics.js";
import { SINK_DRAIN_MS, type SinkOptions } from "../src/runtime/run-detect.js";
import { EXEC_DEFAULTS } from "../src/runtime/sinks/exec.js";
import { QUEUE_DEFAULTS } from "../src/runtime/sinks/queue.js";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../src/runtime/sinks/webhook.js";
import { intOption } from "./options.js";

/** The options `detect` gains for sinks and metrics. */
export const SINK_OPTIONS = {
  webhook: { type: "string", describe: "POST each alert as JSON to this http:// or https:// URL (retried, queued; never holds up scoring)" },
  "webhook-format": { type: "string", choices: [...WEBHOOK_FORMATS], default: "json", describe: "with --webhook: the alert object (json) or a Slack-compatible {text, blocks} (slack)" },
  "webhook-queue": { type: "number", default: QUEUE_DEFAULTS.capacity, describe: "with --webhook: alerts waiting at most; when full, new alerts are dropped and counted" },
  "webhook-timeout": { type: "number", default: 5, describe: "with --webhook: seconds one try may take" },
  "webhook-retries": { type: "number", default: QUEUE_DEFAULTS.attempts - 1, describe: "with --webhook: tries after the first (waits of 0.25-0.5 s, doubling, at most 8 s)" },
  exec: { type: "string", describe: "run this shell command once per alert, the alert as one JSON line on its stdin" },
  "exec-queue": { type: "number", default: QUEUE_DEFAULTS.capacity, describe: "with --exec: alerts waiting at most; when full, new alerts are dropped and counted" },
  "exec-timeout": { type: "number", default: EXEC_DEFAULTS.timeoutMs / 1000, describe: "with --exec: seconds a run may take; then it is killed and counted failed" },
  "exec-concurrency": { type: "number", default: EXEC_DEFAULTS.concurrency, describe: "with --exec: commands running at once" },
  "sink-drain": { type: "number", default: SINK_DRAIN_MS / 1000, describe: "at the end: seconds the sinks may still deliver; what is left is counted as dropped" },
  metrics: { describe: "serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port); with --dashboard they are on its port as well" },
  "metrics-host": { type: "string", default: "127.0.0.1", describe: "address --metrics binds to; 127.0.0.1 keeps it on this machine" },
} as const;

/** The parsed values of SINK_OPTIONS. */
export interface SinkArgs {
  webhook?: string;
  "webhook-format": string;
  "webhook-queue": number;
  "webhook-timeout": number;
  "webhook-retries": number;
  exec?: string;
  "exec-queue": number;
  "exec-timeout": number;
  "exec-concurrency": number;
  "sink-drain": number;
  /** Raw `--metrics PORT`; checked by metricsPort. */
  metrics?: unknown;
  "metrics-host": string;
}

/** Seconds as whole milliseconds, or a RangeError naming the option. */
function ms(name: string, seconds: number, lo: number, hi: number): number {
  if (!(seconds >= lo && seconds <= hi)) throw new RangeError(`--${name} must be a number of seconds in [${lo}, ${hi}], got ${seconds}`);
  return Math.round(seconds * 1000);
}

/** The run's sink options from the command line (validated). */
export function sinkRunOptions(a: SinkArgs): SinkOptions {
  const out: SinkOptions = { drainMs: ms("sink-drain", a["sink-drain"], 0, 600) };
  if (a.webhook !== undefined) {
    out.webhook = {
      url: a.webhook,
      format: a["webhook-format"] as WebhookFormat,
      capacity: intOption("webhook-queue", a["webhook-queue"], 1, 1_000_000),
      timeoutMs: ms("webhook-timeout", a["webhook-timeout"], 0.001, 600),
      attempts: intOption("webhook-retries", a["webhook-retries"], 0, 19) + 1,
    };
  }
  if (a.exec !== undefined) {
    out.exec = {
      command: a.exec,
      capacity: intOption("exec-queue", a["exec-queue"], 1, 1_000_000),
      timeoutMs: ms("exec-timeout", a["exec-timeout"], 0.001, 3600),
      concurrency: intOption("exec-concurrency", a["exec-concurrency"], 1, 64),
    };
  }
  return out;
}

/** The run's metrics when --metrics or --dashboard is on, served where asked (addresses printed to stderr). */
export async function openMetrics(a: SinkArgs, dashboard: Dashboard | null): Promise<{ metrics: DetectMetrics | undefined; server: MetricsServer | null }> {
  if (a.metrics === undefined && dashboard === null) return { metrics: undefined, server: null };
  // prom-client is loaded only here: a run without metrics starts without it.
  const { DetectMetrics, metricsPort, serveMetrics, startMetricsServer } = await import("../src/runtime/metrics.js");
  const port = a.metrics === undefined ? undefined : metricsPort(a.metrics);
  const metrics = new DetectMetrics();
  dashboard?.serveMetrics((req, res) => serveMetrics(metrics, req, res));
  const server = port === undefined ? null : await startMetricsServer(metrics, { port, host: a["metrics-host"] });
  if (server) process.stderr.write(`metrics: ${server.url}\n`);
  return { metrics, server };
}

/** A line for stderr when a sink dropped alerts (also shown with --json). */
export function dropWarnings(sinks: Record<string, { dropped: number; dropped_at_stop: number }> | undefined): string[] {
  return Object.entries(sinks ?? {})
    .filter(([, c]) => c.dropped > 0)
    .map(([name, c]) => `warning: ${name} dropped ${c.dropped} alerts (${c.dropped - c.dropped_at_stop} on a full queue, ${c.dropped_at_stop} left at stop); every alert is still in the alerts output`);
}
