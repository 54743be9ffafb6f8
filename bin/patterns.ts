import { existsSync, writeFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { parseFile, patternsCsv, patternsSummary } from "../src/streams/text/patterns.js";
import { intOption } from "./options.js";

interface PatternsArgs {
  input: string;
  csv?: string;
  json: boolean;
  "max-templates": number;
  year?: number;
  shape?: string;
  top: number;
}

export const patternsCommand: CommandModule<object, PatternsArgs> = {
  command: "patterns",
  describe: "The templates of a free-text log: one row per line (Loghub's LineId,EventId,EventTemplate) and a summary",
  builder: (y) =>
    y
      .option("input", { type: "string", demandOption: true, describe: "the log file" })
      .option("csv", { type: "string", describe: "write LineId,EventId,EventTemplate per line to this file" })
      .option("json", { type: "boolean", default: false, describe: "print the summary as one JSON object" })
      .option("max-templates", { type: "number", default: 20000, describe: "most templates held; the least recently seen beyond are evicted" })
      .option("year", { type: "number", describe: "year assumed for times without one (default: this year)" })
      .option("shape", { type: "string", describe: "read this header shape instead of detecting it (e.g. log4j, syslog, plain)" })
      .option("top", { type: "number", default: 20, describe: "templates listed in the text summary" }),
  handler: async (a) => {
    intOption("max-templates", a["max-templates"], 1, 10_000_000);
    intOption("top", a.top, 0, 1_000_000);
    if (a.year !== undefined) intOption("year", a.year, 1970, 2199);
    if (!existsSync(a.input)) throw new RangeError(`--input ${a.input}: no such file`);
    const result = await parseFile(a.input, { year: a.year, shape: a.shape }, { maxTemplates: a["max-templates"] });
    if (a.csv !== undefined) writeFileSync(a.csv, patternsCsv(result));
    const summary = patternsSummary(result);
    if (a.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    const events = summary.events as { event_id: string; count: number; template: string }[];
    console.log(`${result.rows.length} lines, ${result.templates.size} templates (shape ${result.reader.name})`);
    for (const e of events.slice(0, a.top)) console.log(`${String(e.count).padStart(8)}  ${e.event_id.padEnd(7)} ${e.template}`);
    if (events.length > a.top && a.top > 0) console.log(`... ${events.length - a.top} more (--top, --json)`);
  },
};
