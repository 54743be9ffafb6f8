/**
 * Caddy's access log (JSON by default): `{"level":"info","ts":1733450000.12,"logger":
 * "http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.1","client_ip":
 * "10.0.0.1","method":"GET","uri":"/p?q=1","headers":{"User-Agent":["curl/8.0"]}},
 * "duration":0.0012,"size":512,"status":200,"resp_headers":{...}}`. `ts` is epoch seconds,
 * `duration` seconds, headers are arrays (the first value is read). `client_ip` is the
 * client when `trusted_proxies` is set, else the peer. Recognised by `request.uri`
 * next to `duration` or the message "handled request".
 */
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

const URI = [compilePath("request.uri")];
const CADDY_ONLY = ["duration", "resp_headers"].map(compilePath);

export const CADDY_SCHEMA: JsonSchema = {
  paths: {
    ts: ["ts"],
    method: ["request.method"],
    route: ["request.uri"],
    status: ["status"],
    latency: ["duration"],
    bytes: ["size"],
    ip: ["request.client_ip", "request.remote_ip", "request.remote_addr"],
    user_agent: ['request.headers["User-Agent"]'],
  },
  latencyScale: [1000],
  forwarded: ['request.headers["X-Forwarded-For"]'],
  claims: (o) => hasAny(o, URI) && (hasAny(o, CADDY_ONLY) || o.msg === "handled request"),
};

/** The caddy format (registered in ./index.ts). */
export const caddyFormat = jsonSchemaFormat("caddy", "Caddy JSON access log", CADDY_SCHEMA);
