/**
 * nginx access logs written as JSON (`log_format main escape=json '{"time_local":"$time_local",
 * "remote_addr":"$remote_addr","request":"$request","status":"$status","body_bytes_sent":
 * "$body_bytes_sent","request_time":"$request_time",...}'`, as most guides write it). Numbers
 * come as strings; `request` is the request line; `request_time` and `upstream_response_time`
 * are seconds (the latter "0.010, 0.020" when several upstreams were tried: their sum).
 * Recognised by a `request`, `request_uri` or `uri` next to one of nginx's own names.
 */
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

/** Variable names only nginx templates use: one of them and a request make a line nginx's. */
const NGINX_ONLY = ["body_bytes_sent", "request_time", "time_local", "time_iso8601", "upstream_response_time", "remote_addr", "http_user_agent"].map(compilePath);
const REQUEST = ["request", "request_uri", "uri"].map(compilePath);

export const NGINX_JSON_SCHEMA: JsonSchema = {
  paths: {
    ts: ["time_iso8601", "time_local", "msec", "@timestamp", "timestamp", "time"],
    method: ["request_method"],
    route: ["request_uri", "uri"],
    status: ["status"],
    latency: ["request_time", "upstream_response_time"],
    bytes: ["body_bytes_sent", "bytes_sent"],
    ip: ["remote_addr", "realip_remote_addr"],
    user_agent: ["http_user_agent", "user_agent"],
  },
  latencyScale: [1000, 1000],
  forwarded: ["http_x_forwarded_for", "x_forwarded_for"],
  requestLine: ["request"],
  claims: (o) => hasAny(o, REQUEST) && hasAny(o, NGINX_ONLY),
};

/** The nginx-json format (registered in ./index.ts). */
export const nginxJsonFormat = jsonSchemaFormat("nginx-json", "nginx JSON (log_format escape=json)", NGINX_JSON_SCHEMA);
