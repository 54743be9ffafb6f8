/**
 * The receiving server of `detect --listen`: it checks a request (its origin, Host, method,
 * path, token and size), reads and decompresses its body within the limit, decodes it
 * (./decode.ts) and hands the lines to `submit`, which answers once they are scored and their
 * outputs written, or says the queue is full. Every refusal is counted by reason.
 *
 *   POST /v1/logs            OTLP/HTTP logs: application/x-protobuf or application/json, gzip or not
 *   POST /loki/api/v1/push   Loki push: application/x-protobuf (snappy block) or application/json (gzip or not)
 *   POST /ndjson             newline-delimited JSON (?source=NAME&message=FIELD), gzip or not
 */
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, inflate } from "node:zlib";
import { createRequire } from "node:module";
import { hostCheck, MAX_HEADER_BYTES, refuseMalformed, SECURITY_HEADERS } from "../../dashboard/http.js";
import { lokiJson, lokiProto, ndjson, otlpJson, otlpProto, PayloadError, type SourceLines } from "./decode.js";
import type { ResolvedListen } from "./options.js";
import { wireTypes, type WireTypes } from "./schema.js";

/** snappyjs (CommonJS, no types): the one function used, a raw snappy block to at most maxLength bytes. */
const snappy = createRequire(import.meta.url)("snappyjs") as { uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array };
const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** Why requests were refused (or failed), counted. */
export type RefusedReason = "bad_payload" | "too_large" | "overloaded" | "unauthorized" | "forbidden" | "not_found" | "bad_method" | "unsupported_media" | "stopping" | "failed";

/** What the server received: requests and records accepted (scored), refusals by reason. */
export interface ListenCounts {
  requests: number;
  records: number;
  refused: Partial<Record<RefusedReason, number>>;
}

/** Hand the lines to the run: resolves once scored and written; "full" when the queue has no room now, "stopping" once the run ends. */
export type Submit = (lines: SourceLines[], records: number) => Promise<void> | "full" | "stopping";

/** A refusal as the request is answered. */
class Refused extends Error {
  constructor(readonly status: number, readonly reason: RefusedReason, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const ROUTES = ["/v1/logs", "/loki/api/v1/push", "/ndjson"] as const;

/** The receiving server, listening once `start` resolves. */
export class Receiver {
  readonly counts: ListenCounts = { requests: 0, records: 0, refused: {} };
  private readonly server: Server;
  private readonly types: WireTypes = wireTypes();
  private hostAllowed: (host: string | undefined) => boolean = () => false;
  private stopping = false;

  constructor(private readonly o: ResolvedListen, private readonly submit: Submit) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = o.tls
      ? createHttps({ cert: o.tls.cert, key: o.tls.key, maxHeaderSize: MAX_HEADER_BYTES }, handler)
      : createHttp({ maxHeaderSize: MAX_HEADER_BYTES }, handler);
    this.server.on("clientError", refuseMalformed);
  }

  /** Listen; resolves with the URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.port, this.o.host, () => (this.server.off("error", reject), resolve()));
    });
    const bound = this.server.address() as AddressInfo;
    this.hostAllowed = hostCheck(this.o.host, bound);
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    return `${this.o.tls ? "https" : "http"}://${host}:${bound.port}`;
  }

  /** Refuse new requests (503) from now on and close the listening socket; resolves once every connection is closed (see `disconnect`). */
  async stop(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await closed;
  }

  /** Close every connection left (kept alive by clients) once what was let in is answered. */
  disconnect(): void {
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const lines = await this.receive(req);
      const records = lines.reduce((n, s) => n + s.lines.length, 0);
      const done = this.submit(lines, records);
      if (done === "full") throw new Refused(429, "overloaded", "the queue is full: retry later", { "retry-after": "1" });
      if (done === "stopping") throw stoppingRefusal();
      await done;
      this.counts.requests++;
      this.counts.records += records;
      this.answerOk(req, res);
    } catch (err) {
      const r = err instanceof Refused ? err : new Refused(503, "failed", `not scored: ${(err as Error).message}`, { "retry-after": "5" });
      this.counts.refused[r.reason] = (this.counts.refused[r.reason] ?? 0) + 1;
      // A refused body may still be arriving: close the connection rather than read it.
      const close: Record<string, string> = r.status === 413 || !req.complete ? { connection: "close" } : {};
      send(res, r.status, "text/plain; charset=utf-8", `${r.message}\n`, { ...r.headers, ...close });
      if (!req.complete) req.resume();
    }
  }

  /** The request checked and its body decoded, or a Refused. */
  private async receive(req: IncomingMessage): Promise<SourceLines[]> {
    // A browser adds Origin to a cross-site POST; log shippers never do. No page may feed the detector.
    if (req.headers.origin !== undefined) throw new Refused(403, "forbidden", "requests from web pages are not accepted");
    if (!this.hostAllowed(req.headers.host)) throw new Refused(421, "forbidden", "unexpected Host header");
    const url = new URL(req.url ?? "/", "http://x");
    const route = ROUTES.find((r) => r === url.pathname);
    if (route === undefined) throw new Refused(404, "not_found", `no such endpoint: POST to ${ROUTES.join(", ")}`);
    if (req.method !== "POST") throw new Refused(405, "bad_method", `${route} takes POST`, { allow: "POST" });
    if (this.o.token !== null && !bearerMatches(req.headers.authorization, this.o.token)) {
      throw new Refused(401, "unauthorized", "a valid Authorization: Bearer token is required", { "www-authenticate": 'Bearer realm="logforest"' });
    }
    if (this.stopping) throw stoppingRefusal();
    const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const body = await this.body(req);
    try {
      if (route === "/v1/logs") {
        if (type === "application/x-protobuf") return otlpProto(body, this.types);
        if (type === "application/json") return otlpJson(body.toString("utf8"));
        throw new Refused(415, "unsupported_media", `${route} reads application/x-protobuf or application/json, got ${JSON.stringify(type)}`);
      }
      if (route === "/loki/api/v1/push") {
        if (type === "application/x-protobuf") return lokiProto(this.unsnappy(body), this.types);
        if (type === "application/json") return lokiJson(body.toString("utf8"));
        throw new Refused(415, "unsupported_media", `${route} reads application/x-protobuf (snappy) or application/json, got ${JSON.stringify(type)}`);
      }
      const message = url.searchParams.get("message");
      return ndjson(body.toString("utf8"), { source: url.searchParams.get("source") || "ndjson", message: message || null });
    } catch (err) {
      if (err instanceof PayloadError) throw new Refused(400, "bad_payload", `bad payload: ${err.message}`);
      throw err;
    }
  }

  /** The body, read within the limit and decompressed (gzip, deflate) within it too. */
  private async body(req: IncomingMessage): Promise<Buffer> {
    const limit = this.o.maxBodyBytes;
    const tooLarge = () => new Refused(413, "too_large", `the body is over ${limit} bytes (--listen-max-body)`);
    const length = Number(req.headers["content-length"] ?? NaN);
    if (length > limit) throw tooLarge();
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge();
      parts.push(chunk);
    }
    const raw = Buffer.concat(parts, size);
    const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (encoding === "identity" || encoding === "") return raw;
    const unzip = encoding === "gzip" || encoding === "x-gzip" ? gunzipAsync : encoding === "deflate" ? inflateAsync : null;
    if (unzip === null) throw new Refused(415, "unsupported_media", `content-encoding ${JSON.stringify(encoding)} is not read (gzip, deflate)`);
    try {
      return await unzip(raw, { maxOutputLength: limit });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge();
      throw new Refused(400, "bad_payload", `bad payload: not ${encoding}: ${(err as Error).message}`);
    }
  }

  private unsnappy(body: Buffer): Uint8Array {
    try {
      return snappy.uncompress(body, this.o.maxBodyBytes);
    } catch (err) {
      if (/too big/.test((err as Error).message)) throw new Refused(413, "too_large", `the body is over ${this.o.maxBodyBytes} bytes once decompressed (--listen-max-body)`);
      throw new Refused(400, "bad_payload", `bad payload: not a snappy block: ${(err as Error).message}`);
    }
  }

  /** 2xx as each protocol's clients expect: OTLP an empty ExportLogsServiceResponse, Loki 204. */
  private answerOk(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/v1/logs") {
      const json = (req.headers["content-type"] ?? "").startsWith("application/json");
      send(res, 200, json ? "application/json" : "application/x-protobuf", json ? "{}" : "");
    } else if (path === "/loki/api/v1/push") send(res, 204, null, "");
    else send(res, 200, "application/json", "{}");
  }
}

function stoppingRefusal(): Refused {
  return new Refused(503, "stopping", "the detector is stopping", { "retry-after": "5" });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, type: string | null, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const headers: Record<string, string> = { ...SECURITY_HEADERS, "cache-control": "no-store", ...extra };
  if (type !== null) headers["content-type"] = type;
  if (status !== 204) headers["content-length"] = String(Buffer.byteLength(body));
  res.writeHead(status, headers).end(status === 204 ? undefined : body);
}
