/**
 * Google Cloud's `httpRequest` (Cloud Logging's LogEntry, load balancers, Cloud Run):
 * `{"httpRequest":{"requestMethod":"GET","requestUrl":"https://shop.example/p?q=1","status":200,
 * "responseSize":"512","userAgent":"curl/8.0","remoteIp":"10.0.0.1","latency":"0.012s"},
 * "timestamp":"2026-12-06T02:00:00.123Z",...}`. `latency` is a duration string ("0.012s");
 * a bare number is seconds. Recognised by the `httpRequest` object.
 */
import { jsonSchemaFormat, type JsonSchema } from "./json.js";

export const GCP_SCHEMA: JsonSchema = {
  paths: {
    ts: ["timestamp", "receiveTimestamp", "time"],
    method: ["httpRequest.requestMethod"],
    route: ["httpRequest.requestUrl"],
    status: ["httpRequest.status"],
    latency: ["httpRequest.latency"],
    bytes: ["httpRequest.responseSize"],
    ip: ["httpRequest.remoteIp"],
    user_agent: ["httpRequest.userAgent"],
  },
  latencyScale: [1000],
  forwarded: [],
  claims: (o) => typeof o.httpRequest === "object" && o.httpRequest !== null,
};

/** The gcp format (registered in ./index.ts). */
export const gcpFormat = jsonSchemaFormat("gcp", "Google Cloud httpRequest", GCP_SCHEMA);
