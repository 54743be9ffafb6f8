/** `logforest detect --listen`: the options of the receiving server (see src/runtime/listen/) and how they become ListenOptions. */
import { LISTEN_DEFAULTS, type ListenOptions } from "../src/runtime/listen/options.js";

/** The options `detect` gains for --listen. */
export const LISTEN_OPTIONS = {
  listen: { type: "string", describe: "receive logs over HTTP on [HOST:]PORT (HOST default 127.0.0.1): OTLP/HTTP POST /v1/logs, Loki POST /loki/api/v1/push, NDJSON POST /ndjson; see docs/ingest.md" },
  "listen-token": { type: "string", describe: "with --listen: bearer token every request must carry (required on a non-loopback HOST; default: $LOGFOREST_LISTEN_TOKEN)" },
  "tls-cert": { type: "string", describe: "with --listen: PEM certificate file: serve HTTPS (with --tls-key)" },
  "tls-key": { type: "string", describe: "with --listen: PEM private key file of --tls-cert" },
  "listen-max-body": { type: "number", default: LISTEN_DEFAULTS.maxBodyBytes, describe: "with --listen: largest request body in bytes, compressed or not (413 beyond)" },
  "listen-queue": { type: "number", default: LISTEN_DEFAULTS.queueRecords, describe: "with --listen: records received and not yet scored; beyond, requests get 429 with Retry-After" },
  "listen-max-sources": { type: "number", default: LISTEN_DEFAULTS.maxSources, describe: "with --listen: sources (services, Loki streams) whose windows are kept; beyond, the one unheard from longest starts again when it returns" },
} as const;

/** The parsed values of LISTEN_OPTIONS. */
export interface ListenArgs {
  listen?: string;
  "listen-token"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "listen-max-body": number;
  "listen-queue": number;
  "listen-max-sources": number;
}

/** The ListenOptions asked for (undefined without --listen); the URL is written to stderr once listening. */
export function listenOf(a: ListenArgs & { from?: string }): ListenOptions | undefined {
  const other = a["tls-cert"] !== undefined ? "tls-cert" : a["tls-key"] !== undefined ? "tls-key" : a["listen-token"] !== undefined ? "listen-token" : null;
  if (a.listen === undefined) {
    if (other !== null) throw new RangeError(`--${other} needs --listen`);
    return undefined;
  }
  if (a.from !== undefined) throw new RangeError("--listen cannot be combined with --from: receive over HTTP, or consume shipped lines");
  return {
    address: String(a.listen), token: a["listen-token"] ?? process.env.LOGFOREST_LISTEN_TOKEN, tlsCert: a["tls-cert"], tlsKey: a["tls-key"],
    maxBodyBytes: a["listen-max-body"], queueRecords: a["listen-queue"], maxSources: a["listen-max-sources"],
    onListening: (url) => void process.stderr.write(`listening on ${url} (POST /v1/logs, /loki/api/v1/push, /ndjson)\n`),
  };
}
