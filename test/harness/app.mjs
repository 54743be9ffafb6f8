// A small Express 5 shop on 127.0.0.1 whose access log is written by real
// loggers (pino-http, morgan, express-winston), not by logforest's simulator.
// Handler times are real: seeded log-normal delays per route, drawn from the
// request's rid so that a request is as slow on every run whatever the arrival order.
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import express from "express";
import morgan from "morgan";
import pino from "pino";
import pinoHttp from "pino-http";
import winston from "winston";
import expressWinston from "express-winston";
import { Rng } from "../../dist/src/forest/random.js";
import { BLOG_SLUGS, CATALOGUE, GOOD_PASSWORD, ROUTE_DELAY, SEARCH_TERMS, STATIC_FILES } from "./traffic.mjs";

/**
 * The logger variants, what their default output holds, and whether the app
 * trusts X-Forwarded-For. Only morgan reads req.ip: morgan users behind a proxy
 * set `trust proxy` so that :remote-addr is the client, and we do the same.
 * pino-http and express-winston are left at their defaults with trust proxy off:
 * pino-http logs the socket's address (the proxy, 127.0.0.1) and express-winston's
 * default request whitelist has no address; the client is only in the
 * x-forwarded-for header, as in the real deployments issue 10 describes.
 */
export const LOGGERS = {
  "pino-http": { trustProxy: false, latency: true, timestamp: true },
  "morgan-combined": { trustProxy: true, latency: false, timestamp: true },
  "morgan-combined-rt": { trustProxy: true, latency: true, timestamp: true },
  "winston-ts": { trustProxy: false, latency: true, timestamp: true },
  "winston-json": { trustProxy: false, latency: true, timestamp: false },
};

/** Names of every logger variant. */
export const LOGGER_NAMES = Object.keys(LOGGERS);

/** A logger middleware writing `file`, and how to flush and close it. */
function makeLogger(name, file) {
  switch (name) {
    case "pino-http": {
      // pino's default file destination (asynchronous sonic-boom).
      const dest = pino.destination(file);
      return {
        middleware: pinoHttp({ logger: pino(dest) }),
        async close() {
          dest.end();
          await once(dest, "close");
        },
      };
    }
    case "morgan-combined":
    case "morgan-combined-rt": {
      const stream = createWriteStream(file, { flags: "a" });
      // combined, then the response time in ms as people commonly append it.
      const format = name === "morgan-combined" ? "combined" : `${morgan.combined} :response-time`;
      return {
        middleware: morgan(format, { stream }),
        async close() {
          stream.end();
          await once(stream, "close");
        },
      };
    }
    case "winston-ts":
    case "winston-json": {
      const format = name === "winston-ts" ? winston.format.combine(winston.format.timestamp(), winston.format.json()) : winston.format.json();
      const transport = new winston.transports.File({ filename: file });
      const logger = winston.createLogger({ transports: [transport], format });
      let failure = null;
      logger.on("error", (e) => (failure ??= e));
      return {
        middleware: expressWinston.logger({ winstonInstance: logger }),
        async close() {
          // Ending winston while lines still wait in its pipe gives "write after end":
          // let the logger and the file transport drain first (bounded).
          const until = Date.now() + 10_000;
          while ((logger.readableLength > 0 || transport.writableLength > 0) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 20));
          }
          const done = once(transport, "finish");
          logger.end();
          await done;
          if (failure !== null) throw failure;
        },
      };
    }
    default:
      throw new RangeError(`logger must be one of ${LOGGER_NAMES.join(", ")}, got ${name}`);
  }
}

/** Deterministic filler text of about `n` bytes. */
function filler(seed, n) {
  const words = ["coffee", "roast", "bean", "aroma", "crema", "origin", "blend", "grind", "brew", "fresh", "notes", "body"];
  const r = new Rng(seed);
  let s = "";
  while (s.length < n) s += words[r.int(words.length)] + " ";
  return s.slice(0, n);
}

/** Static files of fixed, realistic sizes in `dir`. */
export function writeStatic(dir) {
  mkdirSync(join(dir, "img"), { recursive: true });
  STATIC_FILES.js.forEach((f, i) => writeFileSync(join(dir, f), `/* ${f} */\n` + filler(100 + i, [182_000, 412_000, 64_000][i] ?? 50_000)));
  STATIC_FILES.css.forEach((f, i) => writeFileSync(join(dir, f), filler(200 + i, 38_000)));
  STATIC_FILES.img.forEach((f, i) => writeFileSync(join(dir, "img", `${f}.png`), Buffer.alloc(4_000 + ((i * 7919) % 90_000), i)));
}

/**
 * The shop's routes, framework-neutral: [method, path, handler(req, res)] with express's
 * req (query, params, body) and res (status, type, json, send), and the not-found handler.
 * Express uses them as they are; fastify.mjs adapts its request and reply.
 * @param {{ seed: number, faults: Map<number, { slow?: number, status?: number, big?: number }> }} o
 */
export function shopRoutes(o) {
  /** @type {[string, string, (req: any, res: any) => unknown][]} */
  const routes = [];
  let fallback = 1e9;
  const ridOf = (req) => {
    const v = Number(req.query.rid);
    return Number.isInteger(v) ? v : fallback++;
  };
  // The request's own generator: same delay for the same rid on every run.
  const rngOf = (req) => new Rng(o.seed * 16_777_216 + ridOf(req));
  const wait = (req, route) => {
    const [median, sigma] = ROUTE_DELAY[route];
    const r = rngOf(req);
    const f = o.faults.get(ridOf(req));
    const ms = median * Math.exp(sigma * r.normal()) * (f?.slow ?? 1);
    return { r, fault: f, done: new Promise((res) => setTimeout(res, ms)) };
  };
  /** Wrap a handler: wait the route's delay, then answer or fail as the plan says. */
  const handle = (route, fn, rareErrors = 0) => async (req, res) => {
    const w = wait(req, route);
    await w.done;
    if (w.fault?.status !== undefined || w.r.next() < rareErrors) {
      res.status(w.fault?.status ?? 500).json({ error: "internal server error", request: ridOf(req) });
      return;
    }
    fn(req, res, w.r, w.fault);
  };

  routes.push(["get", "/health", handle("health", (req, res) => res.json({ status: "ok" }))]);
  const home = `<!doctype html><html><head><title>Shop</title></head><body>${filler(1, 12_000)}</body></html>`;
  routes.push(["get", "/", handle("home", (req, res) => res.type("html").send(home))]);
  routes.push(["get", "/api/products", handle("products", (req, res) => {
    const page = Math.max(1, Math.min(CATALOGUE.pages, Number(req.query.page) || 1));
    const items = Array.from({ length: 20 }, (_, i) => ({ id: (page - 1) * 20 + i + 1, name: `Coffee ${(page - 1) * 20 + i + 1}`, price: 9.5 + ((i * 37) % 20) }));
    res.json({ page, items });
  })]);
  routes.push(["get", "/api/products/:id", handle("product", (req, res, _r, fault) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1 || id > CATALOGUE.products) {
      res.status(404).json({ error: "no such product" });
      return;
    }
    res.json({ id, name: `Coffee ${id}`, price: 9.5 + (id % 20), description: filler(id, (300 + ((id * 131) % 600)) * (fault?.big ?? 1)) });
  })]);
  routes.push(["get", "/api/search", handle("search", (req, res) => {
    const q = String(req.query.q ?? "");
    const hits = (SEARCH_TERMS.indexOf(q) + 2) * 2;
    res.json({ q, results: Array.from({ length: hits }, (_, i) => ({ id: 1 + ((i * 97) % CATALOGUE.products), name: `Coffee ${i}` })) });
  }, 0.001)]);
  routes.push(["post", "/api/cart", handle("cart", (req, res) => res.status(201).json({ items: 1 + ((req.body?.product ?? 0) % 5), added: req.body?.product ?? null }))]);
  routes.push(["post", "/checkout", handle("checkout", (req, res, r) => res.json({ order: `ord-${r.int(1e9)}`, status: "confirmed", eta: "2-3 days" }), 0.002)]);
  routes.push(["post", "/login", handle("login", (req, res, r) => {
    if (req.body?.password === GOOD_PASSWORD) res.json({ token: r.int(2 ** 32).toString(16).padStart(8, "0") });
    else res.status(401).json({ error: "invalid credentials" });
  })]);
  const pages = new Map(BLOG_SLUGS.map((s, i) => [s, `<!doctype html><html><body><h1>${s}</h1>${filler(1000 + i, 6_000 + ((i * 2713) % 14_000))}</body></html>`]));
  routes.push(["get", "/blog/:slug", handle("blog", (req, res) => {
    const page = pages.get(req.params.slug);
    if (page === undefined) res.status(404).type("html").send("<h1>Not found</h1>");
    else res.type("html").send(page);
  })]);
  return { routes, notFound: (req, res) => res.status(404).type("html").send("<h1>Not found</h1>") };
}

/**
 * Start the shop on 127.0.0.1 (a free port) with these loggers, each writing
 * `<dir>/<prefix>.<logger>.log`. `faults` (rid -> fault) is what the load plan
 * asks the server to do differently for incident requests; `seed` seeds the delays.
 * @param {{ loggers: string[], dir: string, prefix: string, seed: number, faults: Map<number, { slow?: number, status?: number }> }} o
 */
export async function startApp(o) {
  const trust = new Set(o.loggers.map((n) => LOGGERS[n]?.trustProxy));
  if (trust.size > 1) throw new RangeError(`loggers of one app must agree on trust proxy, got ${o.loggers.join(", ")}`);
  const app = express();
  // Only the morgan variants trust the proxy (see LOGGERS).
  app.set("trust proxy", [...trust][0] === true);
  app.set("etag", false);
  const files = {};
  const loggers = o.loggers.map((name) => {
    const file = join(o.dir, `${o.prefix}.${name}.log`);
    files[name] = file;
    writeFileSync(file, ""); // every logger appends: start each run from an empty file
    const l = makeLogger(name, file);
    app.use(l.middleware);
    return l;
  });
  // Inside the run's directory, so that whoever removes the run removes these too.
  const staticDir = mkdtempSync(join(o.dir, "static-"));
  writeStatic(staticDir);

  app.use(express.json());
  app.use("/static", express.static(staticDir, { etag: false, lastModified: false }));
  const shop = shopRoutes(o);
  for (const [method, path, h] of shop.routes) app[method](path, h);
  app.use(shop.notFound);

  const server = app.listen(0, "127.0.0.1");
  // Longer than any pause between two requests on a pooled connection: with node's
  // 5 s default the server may close a socket the client is just reusing (ECONNRESET).
  server.keepAliveTimeout = 60_000;
  await once(server, "listening");
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("server has no port");
  return {
    port: addr.port,
    files,
    /** Stop accepting, drop idle connections, then flush and close every log file. */
    async close() {
      const closed = new Promise((res) => server.close(() => res(undefined)));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(timer);
      for (const l of loggers) await l.close();
      rmSync(staticDir, { recursive: true, force: true });
    },
  };
}
