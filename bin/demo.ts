import type { CommandModule } from "yargs";
import { openDashboard, serveUntilStopped } from "../src/dashboard/cli.js";
import { DEMO_DEFAULTS, runDemo } from "../src/tools/demo.js";

interface DemoArgs {
  seed: number;
  "train-lines": number;
  lines: number;
  rate: number;
  keep: boolean;
  json: boolean;
  /** Raw `--dashboard [PORT]`: true when bare; checked by openDashboard. */
  dashboard?: unknown;
  host: string;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: "demo",
  describe: "Simulate traffic, train, then watch a live log with incidents (about 20 s)",
  builder: (y) =>
    y
      .option("seed", { type: "number", default: DEMO_DEFAULTS.seed, describe: "seed of the traffic and the forest" })
      .option("train-lines", { type: "number", default: DEMO_DEFAULTS.trainLines, describe: "clean lines to train on" })
      .option("lines", { type: "number", default: DEMO_DEFAULTS.liveLines, describe: "lines in the live stream" })
      .option("rate", { type: "number", default: DEMO_DEFAULTS.rate, describe: "lines written to the live log per second" })
      .option("keep", { type: "boolean", default: false, describe: "keep the temporary log, model and truth files" })
      .option("json", { type: "boolean", default: false, describe: "alerts and the final summary as JSON lines" })
      .option("dashboard", {
        describe: "serve a live dashboard on this port (bare: 8377; 0: any free port); it stays up after the demo until Ctrl-C",
      })
      .option("host", { type: "string", default: "127.0.0.1", describe: "address the dashboard binds to; 127.0.0.1 keeps it on this machine, another (e.g. 0.0.0.0) exposes it: your choice" }),
  handler: async (a) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const dashboard = await openDashboard(a.dashboard, a.host);
    try {
      await runDemo({
        seed: a.seed,
        trainLines: a["train-lines"],
        liveLines: a.lines,
        rate: a.rate,
        keep: a.keep,
        json: a.json,
        color: process.stdout.isTTY === true,
        signal: stop.signal,
        dashboard: dashboard?.hooks,
      });
      if (dashboard) await serveUntilStopped(dashboard, stop.signal);
    } finally {
      await dashboard?.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
