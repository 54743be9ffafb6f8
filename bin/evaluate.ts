import type { CommandModule } from "yargs";
import { evaluate, isAlertLike, isTruthLine, readJsonLines } from "../src/tools/evaluate.js";

interface EvaluateArgs {
  alerts: string;
  truth: string;
  json: boolean;
}

export const evaluateCommand: CommandModule<object, EvaluateArgs> = {
  command: "evaluate",
  describe: "Precision, recall and F1 of alerts against a truth file from `simulate --truth`",
  builder: (y) =>
    y
      .option("alerts", { type: "string", demandOption: true, describe: "alerts file (JSON lines with `line`)" })
      .option("truth", { type: "string", demandOption: true, describe: "truth file (JSON lines with `line`, `kind`, `incident`)" })
      .option("json", { type: "boolean", default: false, describe: "print the result as JSON" }),
  handler: (a) => {
    const e = evaluate(readJsonLines(a.alerts, isAlertLike, "an alert"), readJsonLines(a.truth, isTruthLine, "a truth line"));
    if (a.json) {
      console.log(JSON.stringify(e));
      return;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(`alerts ${e.alerts}: ${e.true_alerts} on incident lines, precision ${e.precision.toFixed(3)}`);
    console.log(`incident lines ${e.truth_lines}: ${pct(e.recall)} alerted (line recall ${e.recall.toFixed(4)}, F1 ${e.f1.toFixed(4)})`);
    console.log(`incidents ${e.incidents}: ${e.incidents_caught} caught (incident recall ${e.incident_recall.toFixed(3)})`);
    for (const [kind, k] of Object.entries(e.by_kind)) {
      console.log(`  ${kind.padEnd(14)} ${k.caught}/${k.incidents} caught, ${k.alerted_lines}/${k.lines} lines alerted`);
    }
    const fa = Object.entries(e.false_alerts_by_rule);
    if (fa.length) console.log(`false alerts by rule: ${fa.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  },
};
