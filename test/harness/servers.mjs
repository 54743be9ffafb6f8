// Which server writes a harness logger's log: the Express shop with its logger middlewares
// (app.mjs), the shop behind nginx or Caddy (proxies.mjs), or the shop on Fastify (fastify.mjs).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOGGERS, startApp } from "./app.mjs";
import { startFastify } from "./fastify.mjs";
import { PROXIES } from "./proxies.mjs";

/**
 * Producers the harness runs besides the Express loggers, with what their default log holds.
 * trustProxy: whether the client comes from X-Forwarded-For (the proxies log the header;
 * Fastify's trustProxy is on). Fastify logs no response size: oversized cannot be seen there.
 */
export const PRODUCERS = {
  "nginx-json": { trustProxy: true, latency: true, timestamp: true, bytes: true },
  caddy: { trustProxy: true, latency: true, timestamp: true, bytes: true },
  fastify: { trustProxy: true, latency: true, timestamp: true, bytes: false },
};
/** Names of the producers. */
export const PRODUCER_NAMES = Object.keys(PRODUCERS);

/** Every log source the harness can run: the Express loggers and the producers. */
export const ALL_LOGGERS = { ...LOGGERS, ...PRODUCERS };

/**
 * Start the server writing the logs of `loggers` (Express loggers share one app; a producer
 * is alone in its group): { port, files, close() }.
 * @param {string[]} loggers
 * @param {{ dir: string, prefix: string, seed: number, faults: Map<number, object> }} o
 */
export async function startServerFor(loggers, o) {
  const [first] = loggers;
  if (first === "fastify" && loggers.length === 1) return startFastify(o);
  const start = first !== undefined && loggers.length === 1 ? PROXIES[first] : undefined;
  if (start === undefined) return startApp({ loggers, ...o });
  const app = await startApp({ loggers: [], ...o });
  const file = join(o.dir, `${o.prefix}.${first}.log`);
  writeFileSync(file, "");
  try {
    const proxy = await start(o.dir, o.prefix, app.port, file);
    return {
      port: proxy.port,
      files: { [first]: file },
      async close() {
        await proxy.close();
        await app.close();
      },
    };
  } catch (e) {
    await app.close();
    throw e;
  }
}
