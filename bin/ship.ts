import type { CommandModule } from "yargs";
import { publishModel } from "../src/scale/model-source.js";
import { ship, SHIP_DEFAULTS } from "../src/scale/ship.js";

interface ShipArgs {
  to: string;
  stream?: string;
  input?: string;
  follow?: string[];
  shards: number;
  positions?: string;
  "from-start": boolean;
  "shard-key"?: string;
  maxlen: number;
  "lines-per-entry": number;
  "max-line-bytes": number;
  duration?: number;
  "publish-model"?: string;
}

export const shipCommand: CommandModule<object, ShipArgs> = {
  command: "ship",
  describe: "Append log lines (a file, or files followed live) to Redis streams, sharded by source, for `detect --from`",
  builder: (y) =>
    y
      .option("to", { type: "string", demandOption: true, describe: "Redis address, redis://HOST:PORT (with --publish-model: redis://HOST:PORT/KEY)" })
      .option("stream", { type: "string", describe: "stream name; shard S is the stream NAME:S" })
      .option("input", { type: "string", describe: "ship this whole file" })
      .option("follow", { type: "string", array: true, describe: "follow these files as they grow (as detect --follow does)" })
      .option("shards", { type: "number", default: SHIP_DEFAULTS.shards, describe: "number of shards (streams); a source always goes to the same one" })
      .option("positions", { type: "string", describe: "follow mode: positions file, saved only after Redis confirmed the lines" })
      .option("from-start", { type: "boolean", default: false, describe: "follow mode: read files with no saved position from their start" })
      .option("shard-key", { type: "string", describe: "shard every line by this key (a host or service name) instead of by its file" })
      .option("maxlen", { type: "number", default: SHIP_DEFAULTS.maxlen, describe: "trim each shard stream to about this many lines (XADD MAXLEN ~)" })
      .option("lines-per-entry", { type: "number", default: SHIP_DEFAULTS.linesPerEntry, describe: "most lines of one file in one stream entry (1: an entry per line, the format consumers older than entry packing read)" })
      .option("max-line-bytes", { type: "number", default: 65536, describe: "longest line shipped; a longer one is shipped empty, marked too_long" })
      .option("duration", { type: "number", describe: "follow mode: stop after this many seconds" })
      .option("publish-model", { type: "string", describe: "instead of shipping lines: publish this model file to the hash at --to redis://HOST:PORT/KEY (generation + 1)" }),
  handler: async (a) => {
    if (a["publish-model"] !== undefined) {
      const generation = await publishModel(a.to, a["publish-model"]);
      process.stderr.write(`published ${a["publish-model"]} as generation ${generation}\n`);
      return;
    }
    if (a.stream === undefined) throw new RangeError("ship needs --stream NAME");
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const summary = await ship({
        to: a.to, stream: a.stream, input: a.input, follow: a.follow, shards: a.shards, positions: a.positions,
        start: a["from-start"] ? "beginning" : "end", shardKey: a["shard-key"], maxlen: a.maxlen, linesPerEntry: a["lines-per-entry"],
        maxLineBytes: a["max-line-bytes"], durationSeconds: a.duration, signal: stop.signal,
      });
      process.stderr.write(`${JSON.stringify(summary)}\n`);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
