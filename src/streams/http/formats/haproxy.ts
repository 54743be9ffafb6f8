/**
 * HAProxy's HTTP log (`option httplog`), through syslog or `log stdout format raw`:
 *   [<134>Dec  6 02:50:00 host haproxy[123]: ]10.0.0.1:5123 [06/Dec/2026:02:50:00.123] fe be/srv
 *   0/0/1/12/13 200 512 - - ---- 1/1/0/0/0 0/0 [{captured} {headers}] "GET /p HTTP/1.1"
 * The latency is the last timer, Ta (ms, the request's whole life; -1 when aborted: none);
 * the status and bytes follow the timers ("+" marks a value cut short). The client is the
 * connection's source (a captured X-Forwarded-For is not read).
 */
import { clearRecord, type LogRecord } from "../record.js";
import { ClfClock, timestampInRange } from "../../scan.js";
import { hostOf } from "./json.js";
import { decimal, readRequest, splitFields } from "./tokens.js";
import type { LineParser, LogFormat } from "./types.js";

/** ` [06/Dec/2026:02:50:00.123]` after the client's address: where the HTTP log starts. */
const START = /(\S+) \[(\d{2}\/[A-Za-z]{3}\/\d{4}:\d{2}:\d{2}:\d{2})\.(\d{3})\] /;

/** Parses HAProxy HTTP log lines. */
export class HaproxyParser implements LineParser<"haproxy"> {
  readonly format = "haproxy" as const;
  private readonly clock = new ClfClock();

  parse(line: string, out: LogRecord): string | null {
    clearRecord(out);
    if (line.trim() === "") return "empty";
    const m = START.exec(line);
    if (m === null) return "not_haproxy";
    const [, client = "", time = "", millis = "0"] = m;
    const ts = this.clock.parse(time, 0, time.length);
    if (Number.isNaN(ts)) return "bad_timestamp";
    const t = ts + Number(millis);
    if (!timestampInRange(t)) return "timestamp_out_of_range";
    const f = splitFields(line.slice(m.index + m[0].length));
    if (f === null) return "unterminated_quote";
    // frontend, backend/server, timers, status, bytes, ...; the request line is the last field.
    const timers = (f[2] ?? "").split("/");
    if (f.length < 6 || timers.length < 4) return "not_haproxy";
    const bad = readRequest(out, decimal(f[3]), f[f.length - 1] ?? "");
    if (bad !== null) return bad;
    out.ts = t;
    const ta = decimal((timers[timers.length - 1] ?? "").replace(/^\+/, ""));
    if (ta >= 0) out.latencyMs = ta;
    const bytes = decimal((f[4] ?? "").replace(/^\+/, ""));
    if (Number.isInteger(bytes)) out.bytes = bytes;
    out.ip = hostOf(client);
    return null;
  }
}

/** The haproxy format (registered in ./index.ts). */
export const haproxyFormat = {
  name: "haproxy",
  label: "HAProxy HTTP log (syslog or raw)",
  mapsFields: false,
  create: () => new HaproxyParser(),
} as const satisfies LogFormat<"haproxy">;
