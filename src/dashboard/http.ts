/**
 * The dashboard's request guards, shared by every server logforest runs (the dashboard and
 * detect's /metrics): the headers every response carries, the refusals written straight to a
 * socket, and the Host names a loopback-bound server answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Bytes of request line and headers a request may carry (Node's maxHeaderSize); beyond, 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Sent with every response, errors and event streams included. The page needs only its
 * own scripts and stylesheets (uPlot styles through the CSSOM, which style-src does not
 * govern), fetch/EventSource to itself and the data: favicon; nothing may frame it.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
});

/** A request announcing a body: a Content-Length other than 0, or any Transfer-Encoding. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length.trim() !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/** The statuses Node itself would give these parser errors (any other: 400). */
const CLIENT_ERRORS: ReadonlyMap<string, [number, string]> = new Map([
  ["HPE_HEADER_OVERFLOW", [431, "Request Header Fields Too Large"]],
  ["HPE_CHUNK_EXTENSIONS_OVERFLOW", [413, "Payload Too Large"]],
  ["ERR_HTTP_REQUEST_TIMEOUT", [408, "Request Timeout"]],
]);

/** What Node's parser refuses (headers over MAX_HEADER_BYTES, malformed requests): answered with the same headers, then closed. */
export function refuseMalformed(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  const [status, text] = CLIENT_ERRORS.get(err.code ?? "") ?? [400, "Bad Request"];
  writeRefusal(socket, status, text);
}

/** A refusal written straight to the socket (outside the request handler), then the connection closed. */
export function writeRefusal(socket: Socket, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = `${text.toLowerCase()}\n`;
  const head = Object.entries({ ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "content-length": String(body.length), connection: "close", ...extra });
  socket.end(`HTTP/1.1 ${status} ${text}\r\n${head.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n${body}`);
}

/**
 * The Host values a loopback-bound dashboard answers: 127.0.0.1, localhost, [::1], the
 * address it is bound to and the one asked for, each with the port (bare too on port 80,
 * where browsers leave it out).
 */
export function loopbackHostNames(asked: string, bound: AddressInfo): Set<string> {
  const bracket = (a: string) => (a.includes(":") && !a.startsWith("[") ? `[${a}]` : a).toLowerCase();
  const names = new Set(["127.0.0.1", "localhost", "[::1]", bracket(bound.address), bracket(asked)]);
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${bound.port}`);
    if (bound.port === 80) hosts.add(name);
  }
  return hosts;
}

/** An address on this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A refusal to answer with: status, text body, extra headers. */
export interface Refusal {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * The refusals every logforest server makes first, in this order: a method other than GET/HEAD
 * (405; nothing served changes state), a body (413; no endpoint reads one), a foreign Host on
 * loopback (421), a request target that is not a plain path (400: only origin-form "/path?query",
 * no absolute URL, no "//authority", no "*"). Null: go on.
 */
export function refusal(req: IncomingMessage, what: string, hostAllowed: (host: string | undefined) => boolean): Refusal | null {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return { status: 405, body: `only GET and HEAD: ${what} is read-only\n`, headers: { allow: "GET, HEAD", connection: "close" } };
  }
  if (hasBody(req)) return { status: 413, body: "no request body is accepted\n", headers: { connection: "close" } };
  if (!hostAllowed(req.headers.host)) return { status: 421, body: "unexpected Host header\n", headers: {} };
  const target = req.url ?? "";
  if (!target.startsWith("/") || target.startsWith("//")) return { status: 400, body: "bad request target\n", headers: {} };
  return null;
}

/**
 * Whether a server bound to `bound` (asked for as `asked`) answers this Host header: on a
 * loopback address only the loopback names with its port (see loopbackHostNames), so that a
 * web page elsewhere that rebinds its own name to 127.0.0.1 cannot read it; bound to another
 * address, the user chose to expose it to that network, whose clients may name the machine
 * anyhow: any Host.
 */
export function hostCheck(asked: string, bound: AddressInfo): (host: string | undefined) => boolean {
  if (!isLoopback(asked)) return () => true;
  const names = loopbackHostNames(asked, bound);
  return (host) => host !== undefined && names.has(host.toLowerCase());
}


/** Limits on a server's connections: a slow client must not lock the others out. */
export interface ConnectionLimits {
  /** Open connections in all. */
  total: number;
  /** Open connections from one address. */
  perClient: number;
}

/** How long a request's headers may take, and the whole request; checked every second. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * An HTTP server that a slow or idle client cannot lock out: request headers must arrive
 * within HEADERS_TIMEOUT_MS (checked every second, not Node's default 30 s), and connections
 * are capped in all and per client address. At a cap, the oldest connection that is not
 * serving a request (half-sent headers, or idle between requests) is closed to make room,
 * so a new client is always let in; only when every connection is busy serving (event
 * streams, capped separately) is the new one refused.
 */
export function guardedServer(limits: ConnectionLimits): Server {
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000,
  });
  // Insertion-ordered: the oldest first. Busy = serving a request now.
  const open = new Map<Socket, { client: string; busy: boolean }>();
  const perClient = new Map<string, number>();
  const evictIdle = (client: string | null): boolean => {
    for (const [socket, c] of open) {
      if (c.busy || (client !== null && c.client !== client)) continue;
      socket.destroy();
      forget(socket);
      return true;
    }
    return false;
  };
  const forget = (socket: Socket): void => {
    const c = open.get(socket);
    if (c === undefined) return;
    open.delete(socket);
    const n = (perClient.get(c.client) ?? 1) - 1;
    if (n > 0) perClient.set(c.client, n);
    else perClient.delete(c.client);
  };
  server.on("connection", (socket: Socket) => {
    const client = socket.remoteAddress ?? "";
    const roomForClient = (perClient.get(client) ?? 0) < limits.perClient || evictIdle(client);
    if (!roomForClient || (open.size >= limits.total && !evictIdle(null))) {
      socket.destroy();
      return;
    }
    open.set(socket, { client, busy: false });
    perClient.set(client, (perClient.get(client) ?? 0) + 1);
    socket.once("close", () => forget(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const c = open.get(req.socket);
    if (c === undefined) return;
    c.busy = true;
    res.once("close", () => {
      c.busy = false;
    });
  });
  return server;
}
