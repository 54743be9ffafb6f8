import type { CommandModule } from "yargs";
import { openDashboard, serveUntilStopped } from "../src/dashboard/cli.js";
import { DEMO_DEFAULTS, runDemo } from "../src/tools/demo.js";
import { TEXT_DEMO_DEFAULTS, runTextDemo } from "../src/tools/demo-text.js";

interface DemoArgs {
  kind: "http" | "text";
  seed: number;
  "train-lines"?: number;
  lines?: number;
  rate?: number;
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
      .option("kind", { type: "string", choices: ["http", "text"] as const, default: "http" as const, describe: "http: a site's access log; text: a free-text service log (log4j) with sessions" })
      .option("seed", { type: "number", default: DEMO_DEFAULTS.seed, describe: "seed of the traffic and the forest" })
      .option("train-lines", { type: "number", defaultDescription: `${DEMO_DEFAULTS.trainLines} (text: ${TEXT_DEMO_DEFAULTS.trainLines})`, describe: "clean lines to train on" })
      .option("lines", { type: "number", defaultDescription: `${DEMO_DEFAULTS.liveLines} (text: ${TEXT_DEMO_DEFAULTS.liveLines})`, describe: "lines in the live stream" })
      .option("rate", { type: "number", defaultDescription: `${DEMO_DEFAULTS.rate} (text: ${TEXT_DEMO_DEFAULTS.rate})`, describe: "lines written to the live log per second" })
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
      if (a.kind === "text") {
        await runTextDemo({
          seed: a.seed, trainLines: a["train-lines"] ?? TEXT_DEMO_DEFAULTS.trainLines, liveLines: a.lines ?? TEXT_DEMO_DEFAULTS.liveLines,
          rate: a.rate ?? TEXT_DEMO_DEFAULTS.rate, keep: a.keep, json: a.json, signal: stop.signal, dashboard: dashboard?.hooks,
        });
        if (dashboard) await serveUntilStopped(dashboard, stop.signal);
        return;
      }
      await runDemo({
        seed: a.seed,
        trainLines: a["train-lines"] ?? DEMO_DEFAULTS.trainLines,
        liveLines: a.lines ?? DEMO_DEFAULTS.liveLines,
        rate: a.rate ?? DEMO_DEFAULTS.rate,
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
