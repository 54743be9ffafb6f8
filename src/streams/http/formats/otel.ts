/**
 * OpenTelemetry HTTP semantic conventions, as a log record's attributes (top level or under
 * `attributes`, flat dotted keys): `{"timestamp":"2026-12-06T02:00:00.123Z","attributes":
 * {"http.request.method":"GET","url.path":"/p","http.response.status_code":200,
 * "client.address":"10.0.0.1","user_agent.original":"curl/8.0","http.response.body.size":512,
 * "http.server.request.duration":0.012}}`. `http.server.request.duration` is seconds (the
 * metric's unit); `duration_ms` ms. The older names (`http.method`, `http.target`,
 * `http.status_code`) are read too. OTLP's key/value arrays are not: export flat attributes.
 * Recognised by `http.response.status_code` (or `http.status_code`) as a dotted key, on a line
 * that is not ECS.
 */
import { ECS_SCHEMA } from "./ecs.js";
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

/** A semconv attribute at the top level or under `attributes`. */
const attr = (...names: string[]): string[] => names.flatMap((n) => [`["${n}"]`, `attributes["${n}"]`]);
const STATUS = attr("http.response.status_code", "http.status_code").map(compilePath);

export const OTEL_SCHEMA: JsonSchema = {
  paths: {
    ts: ["timestamp", "time", "observedTimestamp"],
    method: attr("http.request.method", "http.method"),
    route: attr("url.path", "http.target", "url.full", "http.url"),
    status: attr("http.response.status_code", "http.status_code"),
    latency: [...attr("http.server.request.duration"), "duration_ms", ...attr("duration_ms")],
    bytes: attr("http.response.body.size", "http.response_content_length"),
    ip: attr("client.address", "network.peer.address", "net.sock.peer.addr", "http.client_ip"),
    user_agent: attr("user_agent.original", "http.user_agent"),
  },
  latencyScale: [1000, 1000, 1, 1, 1],
  forwarded: attr("http.request.header.x-forwarded-for"),
  // ECS shares these names; its own (ecs.version, event.duration, ...) make a line ECS.
  claims: (o) => hasAny(o, STATUS) && !(ECS_SCHEMA.claims?.(o) ?? false),
};

/** The otel format (registered in ./index.ts). */
export const otelFormat = jsonSchemaFormat("otel", "OpenTelemetry HTTP semantic conventions", OTEL_SCHEMA);
