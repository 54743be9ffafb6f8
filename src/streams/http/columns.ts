/** Parsed lines held column by column: what training learns from. */
import type { LogRecord } from "./record.js";

/** Parsed lines, column by column (training, and retraining's ring of recent lines). */
export class Columns {
  n = 0;
  ts: number[] = [];
  status: number[] = [];
  latency: number[] = [];
  bytes: number[] = [];
  method: string[] = [];
  route: string[] = [];
  ip: string[] = [];
  userAgent: string[] = [];

  push(r: LogRecord): void {
    this.ts.push(r.ts);
    this.status.push(r.status);
    this.latency.push(r.latencyMs);
    this.bytes.push(r.bytes);
    this.method.push(r.method);
    this.route.push(r.route);
    this.ip.push(r.ip);
    this.userAgent.push(r.userAgent);
    this.n++;
  }

  fill(i: number, r: LogRecord): void {
    r.ts = this.ts[i];
    r.status = this.status[i];
    r.latencyMs = this.latency[i];
    r.bytes = this.bytes[i];
    r.method = this.method[i];
    r.route = this.route[i];
    r.ip = this.ip[i];
    r.userAgent = this.userAgent[i];
  }
}
