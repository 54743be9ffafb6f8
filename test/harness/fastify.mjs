// The shop (app.mjs's routes) served by Fastify with its default request logging (pino):
// two lines per request, "incoming request" and "request completed", joined by reqId.
// trustProxy on, as behind a proxy: req.remoteAddress is then the forwarded client.
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import Fastify from "fastify";
import pino from "pino";
import { shopRoutes, writeStatic } from "./app.mjs";

const TYPES = { ".js": "application/javascript", ".css": "text/css", ".png": "image/png" };

/** express's res API (status, type, json, send) over a Fastify reply. */
function resOf(reply) {
  const res = {
    status(n) {
      reply.code(n);
      return res;
    },
    type(t) {
      reply.type(t === "html" ? "text/html; charset=utf-8" : t);
      return res;
    },
    json(v) {
      reply.send(v);
    },
    send(v) {
      reply.send(v);
    },
  };
  return res;
}

/**
 * Start the shop on Fastify on 127.0.0.1 (a free port), logging to `<dir>/<prefix>.fastify.log`.
 * @param {{ dir: string, prefix: string, seed: number, faults: Map<number, object> }} o
 */
export async function startFastify(o) {
  const file = join(o.dir, `${o.prefix}.fastify.log`);
  const dest = pino.destination({ dest: file, sync: false });
  const app = Fastify({ loggerInstance: pino(dest), trustProxy: true, keepAliveTimeout: 60_000 });
  const staticDir = mkdtempSync(join(o.dir, "static-"));
  writeStatic(staticDir);
  const shop = shopRoutes(o);
  for (const [method, path, h] of shop.routes) {
    app.route({ method: method.toUpperCase(), url: path, handler: async (req, reply) => {
      await h(req, resOf(reply));
      return reply;
    } });
  }
  app.get("/static/*", async (req, reply) => {
    const rel = normalize(String(req.params["*"] ?? ""));
    if (rel.startsWith("..")) return reply.code(404).send();
    try {
      const body = readFileSync(join(staticDir, rel));
      return reply.type(TYPES[extname(rel)] ?? "application/octet-stream").send(body);
    } catch {
      return reply.code(404).type("text/html; charset=utf-8").send("<h1>Not found</h1>");
    }
  });
  app.setNotFoundHandler((req, reply) => shop.notFound(req, resOf(reply)));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new Error("fastify has no port");
  return {
    port: addr.port,
    files: { fastify: file },
    async close() {
      await app.close();
      dest.end();
      await once(dest, "close");
      rmSync(staticDir, { recursive: true, force: true });
    },
  };
}
