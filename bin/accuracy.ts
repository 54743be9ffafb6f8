import type { CommandModule } from "yargs";
import { runAccuracy, SKLEARN_REFERENCE } from "../src/tools/accuracy.js";
import { intOption } from "./options.js";

interface AccuracyArgs {
  data?: string;
  tables: string[];
  seeds: number;
  json: boolean;
}

export const accuracyCommand: CommandModule<object, AccuracyArgs> = {
  command: "accuracy",
  describe: "Mean ROC AUC over seeds on labelled tables, beside scikit-learn's",
  builder: (y) =>
    y
      .option("data", { type: "string", describe: "folder of labelled CSV tables (default: $LOGFOREST_DATA/tabular)" })
      .option("tables", { type: "string", array: true, default: Object.keys(SKLEARN_REFERENCE), describe: "table names (file names without .csv)" })
      .option("seeds", { type: "number", default: 20, describe: "seeds 0..N-1 to average over" })
      .option("json", { type: "boolean", default: false, describe: "one JSON object per table" }),
  handler: (a) => {
    const dir = a.data ?? (process.env.LOGFOREST_DATA ? `${process.env.LOGFOREST_DATA}/tabular` : undefined);
    if (!dir) throw new RangeError("--data is required when LOGFOREST_DATA is not set");
    intOption("seeds", a.seeds, 1, 1000);
    if (!a.json) console.log("| table | rows | features | logforest mean AUC (min-max) | scikit-learn | difference | tolerance | within |\n|---|---|---|---|---|---|---|---|");
    runAccuracy(dir, a.tables, a.seeds, (r) => {
      if (a.json) {
        console.log(JSON.stringify(r));
        return;
      }
      const diff = r.sklearnAuc === null ? "" : (r.meanAuc - r.sklearnAuc).toFixed(4);
      console.log(
        `| ${r.table} | ${r.rows.toLocaleString("en-US")} | ${r.cols} | ${r.meanAuc.toFixed(4)} (${r.minAuc.toFixed(3)}-${r.maxAuc.toFixed(3)}) | ${r.sklearnAuc?.toFixed(4) ?? "-"} | ${diff} | ${r.tolerance ?? "-"} | ${r.within === null ? "-" : r.within ? "yes" : "NO"} |`,
      );
    });
  },
};
