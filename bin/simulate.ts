/** `logforest simulate`: write realistic HTTP logs with labelled incidents (options only; work in src/). */
import type { Argv, CommandModule } from "yargs";
import { startProgress } from "../src/runtime/progress.js";
import { writeTelemetrySimulation } from "../src/tools/telemetry-cli.js";
import { TEXT_SIM_SESSION_KEY, writeTextSimulation } from "../src/tools/simulate-text.js";
import { DEFAULT_INCIDENT_KINDS, INCIDENT_KINDS, SIM_FORMATS, SIM_PROFILES, SIMULATE_DEFAULTS, formatSummary, writeSimulation } from "../src/tools/simulate.js";

/** Parsed arguments of `simulate`. */
export interface SimulateArgs {
  count: number | undefined;
  rate: number | undefined;
  duration: number | undefined;
  seed: number;
  out: string | undefined;
  truth: string | undefined;
  incidents: string;
  format: (typeof SIM_FORMATS)[number];
  profile: (typeof SIM_PROFILES)[number];
  start: string | undefined;
  realtime: boolean | undefined;
  kind: string;
  series: number;
}

/** The yargs command module for `simulate`. */
export const simulateCommand: CommandModule<object, SimulateArgs> = {
  command: "simulate",
  describe: "Generate realistic HTTP application logs (or a telemetry stream) with labelled incidents",
  builder: (y: Argv<object>): Argv<SimulateArgs> =>
    y
      .option("count", {
        type: "number",
        default: undefined,
        defaultDescription: `${SIMULATE_DEFAULTS.count} unless --rate/--duration`,
        describe: "Number of lines, written as fast as possible with simulated timestamps",
      })
      .option("rate", {
        type: "number",
        default: undefined,
        defaultDescription: `${SIMULATE_DEFAULTS.rate} with --duration`,
        describe: "Lines per second (rate mode); paced in real time unless --no-realtime",
      })
      .option("duration", {
        type: "number",
        default: undefined,
        defaultDescription: `${SIMULATE_DEFAULTS.duration} with --rate`,
        describe: "Seconds to simulate (rate mode)",
      })
      .option("seed", { type: "number", default: SIMULATE_DEFAULTS.seed, describe: "Seed of every random choice" })
      .option("out", {
        type: "string",
        default: undefined,
        defaultDescription: "stdout",
        describe: "Log file to APPEND to",
      })
      .option("truth", {
        type: "string",
        default: undefined,
        describe: "Ground-truth file: one JSON line {line, kind, incident} per labelled log line (appended with --out)",
      })
      .option("incidents", {
        type: "string",
        default: SIMULATE_DEFAULTS.incidents,
        describe: `default (${DEFAULT_INCIDENT_KINDS.join(",")}), all, none, or a comma list of ${INCIDENT_KINDS.join(",")}`,
      })
      .option("format", {
        type: "string",
        choices: SIM_FORMATS,
        default: SIMULATE_DEFAULTS.format,
        describe: "json lines, combined (Apache/nginx + request time) or seed (plain level lines)",
      })
      .option("profile", {
        type: "string",
        choices: SIM_PROFILES,
        default: SIMULATE_DEFAULTS.profile,
        describe: "classic (14 API routes, one client mix) or realistic (long-tail pages, static assets, sessions, crawlers, API clients, NAT, everyday noise)",
      })
      .option("start", {
        type: "string",
        default: undefined,
        defaultDescription: `${new Date(SIMULATE_DEFAULTS.start).toISOString()}, or now with --realtime`,
        describe: "Time of the first line: ISO 8601 date or epoch milliseconds",
      })
      .option("kind", {
        type: "string",
        choices: ["http", "telemetry", "text"],
        default: "http",
        describe: "http logs, a telemetry stream (CSV metrics: a timestamp and value columns; --count rows), or a free-text service log (log4j layout, sessions by req=<hex>; --incidents none or any other value for all five)",
      })
      .option("series", { type: "number", default: 3, describe: "telemetry: value columns" })
      .option("realtime", {
        type: "boolean",
        default: undefined,
        defaultDescription: "true in rate mode",
        describe: "Pace lines in wall-clock time (rate mode only)",
      }),
  handler: async (argv) => {
    if (argv.kind === "telemetry") {
      const r = writeTelemetrySimulation({
        count: argv.count,
        seed: argv.seed,
        series: argv.series,
        incidents: argv.incidents,
        start: argv.start,
        out: argv.out,
        truth: argv.truth,
      });
      if (argv.out !== undefined) process.stderr.write(`wrote ${r.lines} telemetry lines to ${argv.out}, ${r.labelled} labelled, ${r.incidents} incidents\n`);
      return;
    }
    if (argv.kind === "text") {
      const start = argv.start === undefined ? undefined : /^\d+$/.test(argv.start) ? Number(argv.start) : Date.parse(argv.start);
      if (start !== undefined && Number.isNaN(start)) throw new RangeError(`--start must be an ISO 8601 date or epoch milliseconds, got ${JSON.stringify(argv.start)}`);
      const r = writeTextSimulation({ count: argv.count ?? SIMULATE_DEFAULTS.count, seed: argv.seed, incidents: argv.incidents !== "none", start, out: argv.out, truth: argv.truth });
      if (argv.out !== undefined) {
        process.stderr.write(`wrote ${r.lines} free-text lines to ${argv.out}, ${r.labelled} labelled; incidents: ${r.incidents.map((i) => `${i.kind} ${new Date(i.start).toISOString()}..${new Date(i.end).toISOString()}`).join(", ") || "none"}\n`);
        process.stderr.write(`sessions: --session-key '${TEXT_SIM_SESSION_KEY}'\n`);
      }
      return;
    }
    const rateMode = argv.rate !== undefined || argv.duration !== undefined;
    // A bar (stderr, on a terminal) only when the log goes to a file: on stdout it would mix with the lines.
    const bar = argv.out !== undefined ? startProgress({ label: "simulate", total: 1000 }) : null;
    const summary = await writeSimulation({
      count: argv.count,
      rate: argv.rate,
      duration: argv.duration,
      seed: argv.seed,
      out: argv.out,
      truth: argv.truth,
      incidents: argv.incidents,
      format: argv.format,
      profile: argv.profile,
      start: argv.start,
      realtime: argv.realtime ?? rateMode,
      onProgress: (lines, done) => bar?.update(done * 1000, lines),
    }).finally(() => bar?.stop());
    // With --out, stdout is free but stderr keeps the log stream clean either way.
    if (argv.out !== undefined) process.stderr.write(formatSummary(summary));
  },
};
