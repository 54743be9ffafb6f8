/**
 * Elastic Common Schema (ecs-logging libraries, Filebeat's nginx/apache modules, APM):
 * `{"@timestamp":"2026-12-06T02:00:00.123Z","http":{"request":{"method":"GET"},"response":
 * {"status_code":200,"body":{"bytes":512}}},"url":{"path":"/p"},"event":{"duration":12000000},
 * "source":{"ip":"10.0.0.1"},"user_agent":{"original":"curl/8.0"},"ecs":{"version":"8.11.0"}}`,
 * nested or with dotted keys (`"url.path"`). `event.duration` is nanoseconds. Recognised by
 * `http.response.status_code` with an ECS-only name (`ecs.version`, `event.duration`,
 * `source.ip`, `@timestamp`).
 */
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

/** Both spellings of an ECS field: nested objects and one dotted key. */
const both = (dotted: string): string[] => [dotted, `["${dotted}"]`];
const STATUS = both("http.response.status_code").map(compilePath);
const ECS_ONLY = [...both("ecs.version"), ...both("event.duration"), ...both("source.ip"), "@timestamp"].map(compilePath);

export const ECS_SCHEMA: JsonSchema = {
  paths: {
    ts: ["@timestamp"],
    method: both("http.request.method"),
    route: [...both("url.path"), ...both("url.original")],
    status: both("http.response.status_code"),
    latency: both("event.duration"),
    bytes: [...both("http.response.body.bytes"), ...both("http.response.bytes")],
    ip: [...both("source.ip"), ...both("client.ip"), ...both("source.address"), ...both("client.address")],
    user_agent: both("user_agent.original"),
  },
  latencyScale: [1e-6, 1e-6],
  forwarded: both("http.request.headers.x-forwarded-for"),
  claims: (o) => hasAny(o, STATUS) && hasAny(o, ECS_ONLY),
};

/** The ecs format (registered in ./index.ts). */
export const ecsFormat = jsonSchemaFormat("ecs", "Elastic Common Schema (ECS)", ECS_SCHEMA);
