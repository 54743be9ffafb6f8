/**
 * Kubernetes ingress-nginx's default access log: combined, then
 *   $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
 *   $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id
 * e.g. `... "curl/8.0" 78 0.012 [default-shop-80] [] 10.244.0.5:8080 512 0.011 200 3f2a...`.
 * `$request_time` is seconds; `$request_length` (an integer) is not a latency, which is
 * why this is a format of its own: combined would have to ask which trailing number is.
 * Recognised by the two bracketed upstream names after the two numbers.
 */
import type { LogRecord } from "../record.js";
import { CombinedParser } from "./combined.js";
import type { LineParser, LogFormat } from "./types.js";

/** The ingress trailer after the user agent's closing quote. */
const TRAILER = /" \d+ (\d+(?:\.\d+)?) \[[^\]]*\] \[[^\]]*\] /;

/** Parses ingress-nginx's default access-log lines. */
export class IngressNginxParser implements LineParser<"ingress-nginx"> {
  readonly format = "ingress-nginx" as const;
  // A bare integer is then no latency and a decimal is seconds: $request_time, after $request_length.
  private readonly combined = new CombinedParser(null);

  parse(line: string, out: LogRecord): string | null {
    const bad = this.combined.parse(line, out);
    if (bad !== null) return bad;
    return TRAILER.test(line) ? null : "not_ingress_nginx";
  }
}

/** The ingress-nginx format (registered in ./index.ts). */
export const ingressNginxFormat = {
  name: "ingress-nginx",
  label: "Kubernetes ingress-nginx default access log",
  mapsFields: false,
  create: () => new IngressNginxParser(),
} as const satisfies LogFormat<"ingress-nginx">;
