/** Examples shown in each command's --help (logforest.ts adds them to the commands' builders). */
import type { Argv, CommandModule } from "yargs";

/** Command -> [command line, what it does]. */
export const EXAMPLES: Record<string, [string, string][]> = {
  demo: [["$0 demo", "simulate a shop, train, detect and evaluate in a temp dir"]],
  simulate: [["$0 simulate --count 50000 --out app.log --truth truth.jsonl", "a labelled log with incidents, for trying things out"]],
  train: [
    ["$0 train --input /var/log/nginx/access.log --model web.model", "learn normal traffic (format and units recognised)"],
    ["zcat access.log.1.gz | $0 train --input - --model web.model", "learn from stdin"],
    ["$0 train --input app.log --field latency=elapsed --field route=req.path", "a JSON log with its own field names"],
  ],
  detect: [
    ["$0 detect --model web.model --input access.log", "score a whole file, alerts on stdout"],
    ["$0 detect --model web.model --follow /var/log/nginx/access.log --alerts alerts.jsonl", "follow a live log like tail -F"],
    ["tail -f app.log | $0 detect --model web.model --input -", "score stdin"],
    ["$0 detect --model web.model --follow access.log --webhook https://hooks.example/x", "send alerts to a webhook"],
  ],
  evaluate: [["$0 evaluate --alerts alerts.jsonl --truth truth.jsonl", "precision and recall against labelled incidents"]],
  bench: [["$0 bench", "fit and score speed against the JS baseline"]],
  accuracy: [["$0 accuracy", "detection quality on the simulator's incidents"]],
  ship: [["$0 ship --to redis://127.0.0.1:6379 --follow access.log", "ship lines to a Redis stream for scaled-out detection"]],
  status: [["$0 status --from redis://127.0.0.1:6379", "the state of a scaled-out detection"]],
  patterns: [
    ["$0 patterns --input /var/log/auth.log", "the templates of a free-text log, with their counts"],
    ["$0 patterns --input HDFS_2k.log --csv HDFS_2k.log_structured.csv", "Loghub's LineId,EventId,EventTemplate columns, to score with its tools"],
  ],
};

/** `cmd` with its EXAMPLES added to its --help. */
export function withExamples<U>(cmd: CommandModule<object, U>): CommandModule<object, U> {
  const name = typeof cmd.command === "string" ? (cmd.command.split(" ")[0] ?? "") : "";
  const examples = EXAMPLES[name] ?? [];
  const builder = cmd.builder;
  if (typeof builder !== "function") return cmd;
  return {
    ...cmd,
    builder: (y: Argv) => {
      const built = builder(y) as Argv<U>;
      for (const [line, what] of examples) built.example(line, what);
      return built;
    },
  };
}
