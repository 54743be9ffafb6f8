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
import { withExamples } from "./examples.js";
import { badNumber, closest, givenOptions, optionTable } from "./options.js";
import { patternsCommand } from "./patterns.js";

// `logforest detect ... | head`: when the reader goes away, stop quietly.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

// logforest's own version (dist/bin/ -> the package root): yargs' .version() alone
// reads the package.json nearest the working directory, the user's project.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

// "--input -" (stdin): yargs would take the "-" for a positional argument.
const argv = hideBin(process.argv).map((a, i, all) => (a.startsWith("--") && !a.includes("=") && all[i + 1] === "-" ? `${a}=-` : a))
  .filter((a, i, all) => !(a === "-" && all[i - 1]?.endsWith("=-")));

/** The help's head (usage and description, or the command list), and where the rest is. */
function shortUsage(help: string): string {
  const cut = help.search(/\n(Options|Positionals):/);
  const head = (cut < 0 ? help : help.slice(0, cut)).trimEnd();
  const command = COMMANDS.find((c) => c === argv[0]);
  return `${head}\n\nRun "logforest ${command ?? ""}${command ? " " : ""}--help" for every option and examples.`;
}

const COMMANDS = ["demo", "simulate", "train", "detect", "evaluate", "bench", "accuracy", "ship", "status", "patterns"];

const cli = yargs(argv)
  .scriptName("logforest")
  .usage("$0 <command> [options]")
  .command(withExamples(demoCommand))
  .command(withExamples(simulateCommand))
  .command(withExamples(trainCommand))
  .command(withExamples(detectCommand))
  .command(withExamples(evaluateCommand))
  .command(withExamples(benchCommand))
  .command(withExamples(accuracyCommand))
  .command(withExamples(shipCommand))
  .command(withExamples(statusCommand))
  .command(withExamples(patternsCommand))
  .demandCommand(1, "name a command (see --help)")
  .strict()
  .recommendCommands()
  .help()
  .alias("h", "help")
  .version(version)
  // Before yargs' own checks: a misspelt option is named (with the closest known one) rather
  // than reported as the required option it was meant to be; a number option given text is
  // named with that text rather than "NaN".
  .middleware((args) => {
    const o = optionTable(cli);
    const known = new Set<string>(["help", "h", "version", ...Object.keys(o.key), ...Object.values(o.alias).flat()]);
    const unknown = givenOptions(argv).find((n) => !known.has(n));
    if (unknown !== undefined) {
      const guess = closest(unknown, [...known].filter((k) => k.length > 1 && !/[A-Z]/.test(k)));
      throw new RangeError(`unknown option --${unknown}${guess !== null ? ` (did you mean --${guess}?)` : ""}\n\nRun "logforest ${String(args._[0] ?? "")} --help" for every option and examples.`);
    }
    const bad = badNumber(args, o.number, argv);
    if (bad !== null) throw bad;
  }, true)
  .fail((msg, err, y) => {
    // An option's own check (a coerce) failed: yargs wraps its error; it is a usage error.
    if (err) throw err.name === "YError" ? new RangeError(err.message) : err;
    // The error first, then the command's usage line, not the whole help.
    const typo = msg.startsWith("Did you mean") ? `unknown command "${argv[0] ?? ""}": d${msg.slice(1)}` : msg;
    console.error(`logforest: ${typo}\n\n${shortUsage(String(y.help()))}`);
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
