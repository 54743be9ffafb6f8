/**
 * Envoy's and Istio's default access log as JSON (Istio `accessLogEncoding: JSON`, Envoy's
 * default fields in a `json_format`): `{"start_time":"2026-12-06T02:00:00.123Z","method":"GET",
 * "path":"/p","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","bytes_sent":512,
 * "duration":12,"x_forwarded_for":"10.0.0.1","user_agent":"curl/8.0",
 * "downstream_remote_address":"10.0.0.1:5123",...}`. `duration` is ms. Recognised by
 * `response_code` next to `path` or `method`.
 */
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

const CODE = ["response_code"].map(compilePath);
const REQUEST = ["path", "method", "authority"].map(compilePath);

export const ENVOY_SCHEMA: JsonSchema = {
  paths: {
    ts: ["start_time", "timestamp"],
    method: ["method"],
    route: ["path", '["x-envoy-original-path"]'],
    status: ["response_code"],
    latency: ["duration"],
    bytes: ["bytes_sent"],
    ip: ["downstream_remote_address", "downstream_direct_remote_address"],
    user_agent: ["user_agent"],
  },
  latencyScale: [1],
  forwarded: ["x_forwarded_for"],
  claims: (o) => hasAny(o, CODE) && hasAny(o, REQUEST),
};

/** The envoy format (registered in ./index.ts). */
export const envoyFormat = jsonSchemaFormat("envoy", "Envoy / Istio JSON access log", ENVOY_SCHEMA);
