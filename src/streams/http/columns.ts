/** Parsed lines held column by column: what training learns from. */
import type { LogRecord } from "./record.js";

/** Distinct strings remembered for sharing; the memory is emptied when full. */
const SHARED_STRINGS = 1 << 16;

/**
 * Parsed lines, column by column (training, and retraining's ring of recent lines). The
 * user agent is not kept: no feature reads it. Repeated methods, paths and addresses
 * share one string, so a million held lines (or a reservoir that keeps replacing them)
 * cost their numbers and pointers, not a copy of each line's text.
 */
export class Columns {
  n = 0;
  ts: number[] = [];
  status: number[] = [];
  latency: number[] = [];
  bytes: number[] = [];
  method: string[] = [];
  route: string[] = [];
  ip: string[] = [];
  private readonly strings = new Map<string, string>();

  private shared(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size >= SHARED_STRINGS) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  push(r: LogRecord): void {
    this.ts.push(r.ts);
    this.status.push(r.status);
    this.latency.push(r.latencyMs);
    this.bytes.push(r.bytes);
    this.method.push(this.shared(r.method));
    this.route.push(this.shared(r.route));
    this.ip.push(this.shared(r.ip));
    this.n++;
  }

  /** Overwrite line i with r (a reservoir's replacement). */
  set(i: number, r: LogRecord): void {
    this.ts[i] = r.ts;
    this.status[i] = r.status;
    this.latency[i] = r.latencyMs;
    this.bytes[i] = r.bytes;
    this.method[i] = this.shared(r.method);
    this.route[i] = this.shared(r.route);
    this.ip[i] = this.shared(r.ip);
  }

  /** Line i into r (its user agent left empty). */
  fill(i: number, r: LogRecord): void {
    r.ts = this.ts[i];
    r.status = this.status[i];
    r.latencyMs = this.latency[i];
    r.bytes = this.bytes[i];
    r.method = this.method[i];
    r.route = this.route[i];
    r.ip = this.ip[i];
    r.userAgent = "";
  }
}
