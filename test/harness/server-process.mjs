// The shop's apps (and the proxies in front of them) in a process of their own (forked by logs.mjs), so that the load
// generator's work does not hold up the handlers and skew the logged latencies.
// Messages: {type:"start", groups, dir, prefix, seed, faults} -> {type:"started", apps:[{port, files}]};
// {type:"close"} -> {type:"closed", stalls, busy}: the moments this process's event
// loop was held up, and how busy it was (stalls.mjs).
import { startServerFor } from "./servers.mjs";
import { watchStalls } from "./stalls.mjs";

let apps = [];
const watch = watchStalls();

process.on("message", (m) => {
  if (m.type === "start") {
    const faults = new Map(m.faults);
    (async () => {
      for (const loggers of m.groups) apps.push(await startServerFor(loggers, { dir: m.dir, prefix: m.prefix, seed: m.seed, faults }));
      process.send?.({ type: "started", apps: apps.map((a) => ({ port: a.port, files: a.files })) });
    })().catch((e) => process.send?.({ type: "error", message: String(e?.stack ?? e) }));
  } else if (m.type === "close") {
    (async () => {
      for (const a of apps) await a.close();
      apps = [];
      const { stalls, busy } = watch.stop();
      process.send?.({ type: "closed", stalls, busy }, () => process.disconnect());
    })().catch((e) => process.send?.({ type: "error", message: String(e?.stack ?? e) }));
  }
});

// The parent is gone (it closed us, or it died): never outlive it with a listening server.
process.on("disconnect", () => process.exit(0));
