/**
 * uvicorn's default access log: `INFO:     10.0.0.1:5123 - "GET /p?q=1 HTTP/1.1" 200 OK`
 * (the level may be coloured). It has no time, size or latency: windows count line order
 * (train says so), and slow or oversized responses cannot be seen. The client is the peer,
 * or the forwarded client with `--proxy-headers` from a trusted proxy.
 */
import { clearRecord, type LogRecord } from "../record.js";
import { hostOf } from "./json.js";
import { readRequest } from "./tokens.js";
import type { LineParser, LogFormat } from "./types.js";

/** level, client, request line, status. */
const LINE = /^\s*(?:\u001b\[[\d;]*m)?[A-Z]+(?:\u001b\[[\d;]*m)?:\s+(\S+) - "([^"]*)" (\d{3})(?: |$)/;

/** Parses uvicorn access-log lines. */
export class UvicornParser implements LineParser<"uvicorn"> {
  readonly format = "uvicorn" as const;

  parse(line: string, out: LogRecord): string | null {
    clearRecord(out);
    if (line.trim() === "") return "empty";
    const m = LINE.exec(line);
    if (m === null) return "not_uvicorn";
    const [, client = "", request = "", status = ""] = m;
    const bad = readRequest(out, Number(status), request);
    if (bad !== null) return bad;
    out.ip = hostOf(client);
    return null;
  }
}

/** The uvicorn format (registered in ./index.ts). */
export const uvicornFormat = {
  name: "uvicorn",
  label: "uvicorn access log",
  mapsFields: false,
  create: () => new UvicornParser(),
} as const satisfies LogFormat<"uvicorn">;
