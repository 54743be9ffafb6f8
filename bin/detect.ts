import type { CommandModule } from "yargs";
import { formatSummary, humanAlerts } from "../src/runtime/alert-format.js";
import { openDashboard, serveUntilStopped } from "../src/dashboard/cli.js";
import { detect } from "../src/runtime/detect.js";
import { fileProgress, writerAbove } from "../src/runtime/progress.js";
import { DETECT_OPTIONS, groupsOf, type DetectArgs } from "./detect-args.js";
import { detectExitCode } from "./options.js";
import { LISTEN_OPTIONS, listenOf, type ListenArgs } from "./detect-listen.js";
import { detectFromRedis, REDIS_DETECT_OPTIONS, type RedisDetectArgs } from "./detect-redis.js";
import { dropWarnings, openMetrics, SINK_OPTIONS, sinkRunOptions, type SinkArgs } from "./detect-sinks.js";
import { METRIC_DETECT_OPTIONS, type MetricDetectArgs } from "./detect-metrics.js";

type Args = DetectArgs & RedisDetectArgs & SinkArgs & MetricDetectArgs & ListenArgs;

export const detectCommand: CommandModule<object, Args> = {
  command: "detect",
  describe: "Score log lines and raise alerts (a file, stdin, files followed live, logs received over HTTP, or shipped lines from Redis)",
  builder: (y) => y.options(DETECT_OPTIONS).options(METRIC_DETECT_OPTIONS).options(SINK_OPTIONS).options(LISTEN_OPTIONS).options(REDIS_DETECT_OPTIONS) as never,
  handler: async (a) => {
    const listen = listenOf(a);
    if (a.from === undefined && !a.input && !a.follow && !listen && process.stdin.isTTY) {
      throw new RangeError("no input: pass --input FILE, --follow FILE..., --listen PORT, or pipe log lines into stdin");
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const sinks = sinkRunOptions(a);
    const dashboard = await openDashboard(a.dashboard, a.host);
    const served = await openMetrics(a, dashboard).catch(async (err: unknown) => {
      await dashboard?.close();
      throw err;
    });
    // A bar for --input on a terminal (stderr); alert lines printed there go above it.
    const bar = a.input !== undefined ? fileProgress("detect", a.input, a.json) : null;
    const pretty = !a.json && !a.alerts && humanAlerts(process.stdout.isTTY === true);
    let lines = 0;
    const outputs = {
      alerts: a.alerts, scores: a.scores, pretty, metrics: served.metrics, ...dashboard?.hooks,
      ...(bar?.active && pretty ? { out: writerAbove(bar, process.stdout) } : {}),
      onBatch: (_file: string, n: number, bytes?: number) => {
        lines += n;
        bar?.update(bytes ?? 0, lines);
      },
    };
    try {
      if (a.from !== undefined) {
        // A Redis model key is not a file: a refreshed model is saved only where --retrain-save says.
        await detectFromRedis(a, { ...groupsOf(a, undefined), outputs, sinks }, stop.signal);
      } else {
        const groups = groupsOf(a, a.model);
        const { summary, seconds, listen: received } = await detect({ ...groups, input: { ...groups.input, listen }, outputs, sinks, signal: stop.signal }).finally(() => bar?.stop());
        if (received) process.stderr.write(`received: ${JSON.stringify(received)}\n`);
        for (const line of dropWarnings(summary.sinks)) process.stderr.write(`${line}\n`);
        process.exitCode = detectExitCode(summary, process.exitCode);
        if (a.json) process.stderr.write(`${JSON.stringify(summary)}\n`);
        else for (const line of formatSummary(summary, seconds)) process.stderr.write(`${line}\n`);
      }
      if (dashboard) await serveUntilStopped(dashboard, stop.signal);
    } finally {
      await served.server?.close();
      await dashboard?.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
