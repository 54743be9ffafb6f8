// Types of logs.mjs.
import type { LoadResult } from "./load.mjs";
import type { IncidentSpec, PlannedRequest } from "./traffic.mjs";
export interface LoggerLog { log: string; truth: string; lines: number; labelled: number; statuses: Record<string, number> }
export interface HarnessRun {
  plan: PlannedRequest[];
  logs: Record<string, LoggerLog>;
  requests: number;
  incidents: { incident: number; kind: string; requests: number }[];
  load: LoadResult;
  stalls: Record<string, [number, number][]>;
  clientStalls: [number, number][];
  stalledLines: Record<string, Set<number>>;
  serverBusy: Record<string, number>;
}
export function mapLines(file: string, plan: PlannedRequest[], answered: number[]): number[];
export function generateLogs(o: {
  dir: string;
  prefix: string;
  loggers?: string[];
  seed: number;
  stream: number;
  requests: number;
  rate: number;
  incidents?: IncidentSpec[];
  users?: number;
  concurrency?: number;
  timeLimitMs?: number;
}): Promise<HarnessRun>;
