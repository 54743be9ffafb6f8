/**
 * AWS load balancer access logs, one request a line, fields separated by spaces:
 *   ALB:  type time elb client:port target:port request_processing_time target_processing_time
 *         response_processing_time elb_status_code target_status_code received_bytes sent_bytes
 *         "request" "user_agent" ...
 *   classic ELB: the same from `time` on (no leading type).
 * The latency is the sum of the three processing times (seconds); -1 in any of them (the
 * target was never reached or the client left) leaves the line without one. The status is
 * the balancer's (what the client saw), the size `sent_bytes`, the client `client`'s address.
 */
import { clearRecord, type LogRecord } from "../record.js";
import { IsoClock, timestampInRange, type Cursor } from "../../scan.js";
import { hostOf } from "./json.js";
import { decimal, readRequest, splitFields } from "./tokens.js";
import type { LineParser, LogFormat } from "./types.js";

/** Request types ALB writes first. */
const TYPES = new Set(["http", "https", "h2", "grpcs", "ws", "wss"]);

/** Parses AWS ALB and classic ELB access-log lines. */
export class AlbParser implements LineParser<"alb"> {
  readonly format = "alb" as const;
  private readonly iso = new IsoClock();
  private readonly cur: Cursor = { pos: 0 };

  parse(line: string, out: LogRecord): string | null {
    clearRecord(out);
    const f = splitFields(line);
    if (f === null) return "unterminated_quote";
    if (f.length === 0) return "empty";
    const at = TYPES.has(f[0] ?? "") ? 1 : 0;
    if (f.length < at + 13) return "not_alb";
    const time = f[at] ?? "";
    const ts = this.iso.parse(time, 0, time.length, this.cur, true);
    if (Number.isNaN(ts) || this.cur.pos !== time.length) return "not_alb";
    if (!timestampInRange(ts)) return "timestamp_out_of_range";
    out.ts = ts;
    const bad = readRequest(out, decimal(f[at + 7]), f[at + 11] ?? "");
    if (bad !== null) return bad;
    const times = [f[at + 4], f[at + 5], f[at + 6]].map(decimal);
    if (times.every((t) => t >= 0)) out.latencyMs = (times[0] + times[1] + times[2]) * 1000;
    const sent = decimal(f[at + 10]);
    if (Number.isInteger(sent)) out.bytes = sent;
    out.ip = hostOf(f[at + 2] ?? "");
    const ua = f[at + 12] ?? "";
    out.userAgent = ua === "-" ? "" : ua;
    return null;
  }
}

/** The alb format (registered in ./index.ts). */
export const albFormat = {
  name: "alb",
  label: "AWS ALB / classic ELB access log",
  mapsFields: false,
  create: () => new AlbParser(),
} as const satisfies LogFormat<"alb">;
