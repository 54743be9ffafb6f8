/** The options of `detect --listen`: defaults in one object, every check in `resolveListen`. */
import { readFileSync } from "node:fs";
import { isLoopback } from "../../dashboard/http.js";

/** How the receiving server listens and what it accepts. */
export interface ListenOptions {
  /** `[HOST:]PORT` (HOST default 127.0.0.1; PORT 0: any free port). */
  address: string;
  /** Bearer token every request must carry (Authorization: Bearer TOKEN); required on a non-loopback address. */
  token?: string;
  /** PEM certificate and key files: serve HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Largest request body, in bytes, before and after decompression (413 beyond). */
  maxBodyBytes?: number;
  /** Records received but not yet scored; a request that would go beyond waits outside with 429. */
  queueRecords?: number;
  /** Sources whose detectors (windows) are kept; beyond, the one unheard from longest is dropped (its windows start again if it returns). */
  maxSources?: number;
  /** Told the server's URL once it listens. */
  onListening?: (url: string) => void;
}

/** Defaults of ListenOptions. */
export const LISTEN_DEFAULTS = {
  host: "127.0.0.1",
  maxBodyBytes: 16 * 1024 * 1024,
  queueRecords: 200_000,
  maxSources: 10_000,
} as const;

/** The options checked, files read. */
export interface ResolvedListen {
  host: string;
  port: number;
  token: string | null;
  tls: { cert: Buffer; key: Buffer } | null;
  maxBodyBytes: number;
  queueRecords: number;
  maxSources: number;
  onListening: (url: string) => void;
}

/** Check the options (RangeError naming the option, the allowed values and the value given) and read the TLS files. */
export function resolveListen(o: ListenOptions): ResolvedListen {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(String(o.address));
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new RangeError(`--listen must be [HOST:]PORT with PORT in [0, 65535], got ${JSON.stringify(o.address)}`);
  const host = m[1] === undefined ? LISTEN_DEFAULTS.host : m[1].replace(/^\[|\]$/g, "");
  const token = o.token === undefined || o.token === "" ? null : o.token;
  if (token !== null && (token.length < 16 || /\s/.test(token))) throw new RangeError(`--listen-token must be at least 16 characters without spaces, got ${token.length} characters`);
  if (token === null && !isLoopback(host)) throw new RangeError(`--listen on ${host} (not this machine only) needs --listen-token: anyone who reaches the port could feed the detector`);
  const maxBodyBytes = o.maxBodyBytes ?? LISTEN_DEFAULTS.maxBodyBytes;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024 || maxBodyBytes > 1024 ** 3) throw new RangeError(`--listen-max-body must be an integer number of bytes in [1024, 1073741824], got ${maxBodyBytes}`);
  const queueRecords = o.queueRecords ?? LISTEN_DEFAULTS.queueRecords;
  if (!Number.isInteger(queueRecords) || queueRecords < 1 || queueRecords > 10_000_000) throw new RangeError(`--listen-queue must be an integer in [1, 10000000], got ${queueRecords}`);
  const maxSources = o.maxSources ?? LISTEN_DEFAULTS.maxSources;
  if (!Number.isInteger(maxSources) || maxSources < 1 || maxSources > 1_000_000) throw new RangeError(`--listen-max-sources must be an integer in [1, 1000000], got ${maxSources}`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new RangeError("--tls-cert and --tls-key go together: give both or neither");
  const tls = o.tlsCert !== undefined && o.tlsKey !== undefined ? { cert: readPem(o.tlsCert, "--tls-cert"), key: readPem(o.tlsKey, "--tls-key") } : null;
  return { host, port, token, tls, maxBodyBytes, queueRecords, maxSources, onListening: o.onListening ?? (() => undefined) };
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new RangeError(`${option} ${path}: ${(err as Error).message}`);
  }
}
