// Types of load.mjs.
import type { PlannedRequest } from "./traffic.mjs";
export interface LoadResult {
  status: number[][];
  sentAt: Float64Array[];
  doneAt: Float64Array[];
  sent: number;
  failed: number;
  timedOut: boolean;
  durationMs: number;
  maxLagMs: number;
}
export function urlOf(r: PlannedRequest): string;
export function runLoad(o: { plan: PlannedRequest[]; ports: number[]; concurrency?: number; timeLimitMs: number; requestTimeoutMs?: number }): Promise<LoadResult>;
