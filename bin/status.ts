import type { CommandModule } from "yargs";
import { checkAddress, connectTransport } from "../src/scale/connect.js";
import { checkStatus, status } from "../src/scale/status.js";

interface StatusArgs {
  from: string;
  stream: string;
  group: string;
  shards: number;
  json: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: "status",
  describe: "Per shard of a shipped stream: the consumer owning it, its lag (entries not acknowledged) and its alerts",
  builder: (y) =>
    y
      .option("from", { type: "string", demandOption: true, describe: "Redis address, redis://HOST:PORT" })
      .option("stream", { type: "string", demandOption: true, describe: "stream name (as given to ship)" })
      .option("group", { type: "string", default: "detectors", describe: "consumer group" })
      .option("shards", { type: "number", default: 4, describe: "number of shards" })
      .option("json", { type: "boolean", default: false, describe: "one JSON array instead of a table" }),
  handler: async (a) => {
    const options = { stream: a.stream, group: a.group, shards: a.shards };
    checkAddress(a.from, "--from");
    checkStatus(options); // bad options are refused before connecting
    const transport = await connectTransport(a.from, "--from");
    const rows = await status(transport, options).finally(() => transport.close());
    if (a.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    process.stdout.write("shard  owner                 length   pending  undelivered  lag      alerts\n");
    for (const r of rows) {
      const cells = [String(r.shard).padEnd(6), (r.owner ?? "-").padEnd(21), String(r.length).padEnd(8), String(r.pending).padEnd(8),
        String(r.undelivered ?? "?").padEnd(12), String(r.lag ?? "?").padEnd(8), String(r.alerts)];
      process.stdout.write(`${cells.join(" ")}\n`);
    }
  },
};
