/**
 * The log formats, in the order auto-detection prefers on a tie. To add a format,
 * write one file beside this one exporting a LogFormat (see ./types.ts and
 * docs/architecture.md) and add it to FORMATS: createParser, detectFormat,
 * FORMAT_NAMES and the CLI's --format choices all come from this list.
 */
import { albFormat } from "./alb.js";
import { caddyFormat } from "./caddy.js";
import { combinedFormat } from "./combined.js";
import { ecsFormat } from "./ecs.js";
import { envoyFormat } from "./envoy.js";
import { fastifyFormat } from "./fastify.js";
import { gcpFormat } from "./gcp.js";
import { haproxyFormat } from "./haproxy.js";
import { ingressNginxFormat } from "./ingress-nginx.js";
import { jsonFormat } from "./json.js";
import { nginxJsonFormat } from "./nginx-json.js";
import { otelFormat } from "./otel.js";
import { seedFormat } from "./seed.js";
import { traefikFormat } from "./traefik.js";
import { uvicornFormat } from "./uvicorn.js";
import type { LogFormat } from "./types.js";

// A producer's format reads only its own lines; json reads them all (less well) and loses a tie.
export const FORMATS = [
  jsonFormat, combinedFormat, seedFormat, nginxJsonFormat, caddyFormat, traefikFormat, envoyFormat, gcpFormat, ecsFormat,
  otelFormat, fastifyFormat, ingressNginxFormat, albFormat, haproxyFormat, uvicornFormat,
] as const satisfies readonly LogFormat[];

/** Formats a parser exists for. */
export type FormatName = (typeof FORMATS)[number]["name"];
