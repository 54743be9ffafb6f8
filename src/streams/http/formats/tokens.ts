/** Splitting of space-separated log lines whose fields may be "quoted" (ALB, HAProxy, uvicorn). */
import type { LogRecord } from "../record.js";
import { routeOf } from "../../scan.js";
import { splitRequestLine } from "./json.js";

/** The fields of `line`: runs of non-spaces, or a "quoted" run (quotes dropped, `\"` kept as `"`); null on an unclosed quote. */
export function splitFields(line: string): string[] | null {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 34) {
      let j = i + 1;
      let text = "";
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return null;
        if (line.charCodeAt(q - 1) === 92) {
          text += line.slice(j, q - 1) + '"';
          j = q + 1;
          continue;
        }
        text += line.slice(j, q);
        i = q + 1;
        break;
      }
      out.push(text);
      continue;
    }
    let j = i;
    while (j < n && line.charCodeAt(j) !== 32 && line.charCodeAt(j) !== 9 && line.charCodeAt(j) !== 13) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

/** A non-negative decimal ("0.012", "512"); NaN for anything else ("-", "-1", "+5"). */
export function decimal(s: string | undefined): number {
  if (s === undefined || !/^\d+(?:\.\d+)?$/.test(s)) return NaN;
  return Number(s);
}

/** Fill `out`'s status, method and route from a status and a request line ("GET /p HTTP/1.1"); null, or the failure reason. */
export function readRequest(out: LogRecord, status: number, requestLine: string): string | null {
  if (!Number.isInteger(status) || status < 100 || status > 599) return "bad_status";
  const rq = splitRequestLine(requestLine);
  if (rq === null) return "bad_request_line";
  out.status = status;
  out.method = rq[0];
  out.route = routeOf(rq[1], 0, rq[1].length);
  return null;
}
