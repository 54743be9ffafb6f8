/** Row k of a batch's scratch (BatchRows) from the record just extracted: what the rules and charts read back. */
import type { FeatureExtractor } from "./features.js";
import type { LogRecord } from "./record.js";
import type { BatchRows } from "./rows.js";

/** Fill row k for batch line i (line number `no`), record r, the extractor's last-record state and its time in seconds. */
export function fillRow(rows: BatchRows, k: number, i: number, no: number, r: LogRecord, fx: FeatureExtractor, seconds: number): void {
  rows.line[k] = i;
  rows.novel[k] = fx.lastNovel ? 1 : 0;
  const cw = fx.lastClient;
  rows.client[4 * k] = cw.requests;
  rows.client[4 * k + 1] = cw.failures;
  rows.client[4 * k + 2] = cw.novelFailures;
  rows.client[4 * k + 3] = cw.knownFailures;
  rows.lineNo[k] = no;
  rows.status[k] = r.status;
  rows.latency[k] = r.latencyMs;
  rows.bytes[k] = r.bytes;
  rows.route[k] = fx.lastRoute;
  rows.routeCount[k] = fx.lastRouteCount;
  rows.routeErrors[k] = fx.lastRouteErrors;
  rows.errorsOfLast3[k] = fx.lastRouteErrorsOfLast3;
  rows.recent[4 * k] = fx.lastRouteErrorRecent;
  rows.recent[4 * k + 1] = fx.lastRouteLatencyTrend;
  rows.recent[4 * k + 2] = fx.lastAllLatencyTrend;
  rows.recent[4 * k + 3] = fx.lastFamilyTrend;
  rows.family[k] = fx.lastFamily;
  rows.routeClients[k] = fx.lastRouteClients;
  rows.ip[k] = r.ip;
  rows.routeText[k] = r.route;
  rows.seconds[k] = seconds;
}
