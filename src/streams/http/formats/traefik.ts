/**
 * Traefik's JSON access log (`accessLog.format: json`): `{"ClientHost":"10.0.0.1",
 * "RequestMethod":"GET","RequestPath":"/p","DownstreamStatus":200,"DownstreamContentSize":512,
 * "Duration":1234567,"StartUTC":"2026-12-06T02:00:00.123456789Z","request_User-Agent":"curl/8.0",...}`.
 * `Duration` is nanoseconds. Recognised by `RequestPath` next to `DownstreamStatus`
 * or `OriginStatus`.
 */
import { compilePath, hasAny, jsonSchemaFormat, type JsonSchema } from "./json.js";

const PATH = [compilePath("RequestPath")];
const STATUS = ["DownstreamStatus", "OriginStatus"].map(compilePath);

export const TRAEFIK_SCHEMA: JsonSchema = {
  paths: {
    ts: ["StartUTC", "time", "StartLocal"],
    method: ["RequestMethod"],
    route: ["RequestPath"],
    status: ["DownstreamStatus", "OriginStatus"],
    latency: ["Duration", "OriginDuration"],
    bytes: ["DownstreamContentSize", "OriginContentSize"],
    ip: ["ClientHost", "ClientAddr"],
    user_agent: ['["request_User-Agent"]'],
  },
  latencyScale: [1e-6, 1e-6],
  forwarded: ['["request_X-Forwarded-For"]'],
  claims: (o) => hasAny(o, PATH) && hasAny(o, STATUS),
};

/** The traefik format (registered in ./index.ts). */
export const traefikFormat = jsonSchemaFormat("traefik", "Traefik JSON access log", TRAEFIK_SCHEMA);
