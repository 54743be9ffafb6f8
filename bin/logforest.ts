#!/usr/bin/env node
/** The logforest CLI: one command per file in bin/, each calling into src/. */
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { accuracyCommand } from "./accuracy.js";
import { benchCommand } from "./bench.js";
import { demoCommand } from "./demo.js";
import { simulateCommand } from "./simulate.js";
import { trainCommand } from "./train.js";
import { detectCommand } from "./detect.js";
import { evaluateCommand } from "./evaluate.js";
import { shipCommand } from "./ship.js";
import { statusCommand } from "./status.js";
import { patternsCommand } from "./patterns.js";

// `logforest detect ... | head`: when the reader goes away, stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

// logforest's own version (dist/bin/ -> the package root): yargs' .version() alone
// reads the package.json nearest the working directory, the user's project.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

const cli = yargs(hideBin(process.argv))
  .scriptName("logforest")
  .usage("$0 <command> [options]")
  .command(demoCommand)
  .command(simulateCommand)
  .command(trainCommand)
  .command(detectCommand)
  .command(evaluateCommand)
  .command(benchCommand)
  .command(accuracyCommand)
  .command(shipCommand)
  .command(statusCommand)
  .command(patternsCommand)
  .demandCommand(1, "name a command (see --help)")
  .strict()
  .help()
  .alias("h", "help")
  .version(version)
  .fail((msg, err, y) => {
    if (err) throw err;
    console.error(`${y.help()}\n\nlogforest: ${msg}`);
    process.exit(2);
  });

try {
  await cli.parseAsync();
} catch (e) {
  // Our own errors name what is wrong; a stack trace would only hide that.
  const err = e as Error;
  console.error(`logforest: ${err.message}`);
  process.exitCode = err instanceof RangeError || err instanceof TypeError ? 2 : 1;
}
