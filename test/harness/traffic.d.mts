// Types of traffic.mjs (the harness is plain JavaScript so that node scripts can run it unbuilt).
export type IncidentKind = "latency_spike" | "error_burst" | "scanner" | "brute_force" | "surge" | "oversized";
export interface IncidentSpec { kind: IncidentKind; at: number; seconds: number; route?: string }
export interface Label { kind: IncidentKind; incident: number }
export interface Fault { slow?: number; status?: number; big?: number }
export interface PlannedRequest {
  rid: number;
  t: number;
  method: string;
  path: string;
  ip: string;
  ua: string;
  referer: string | null;
  body: string | null;
  fault: Fault | null;
  label: Label | null;
}
export const INCIDENT_KINDS: readonly IncidentKind[];
export const DEFAULT_KINDS: readonly IncidentKind[];
export function scannerPaths(n: number): string[];
export function scheduleIncidents(kinds: readonly IncidentKind[], seconds: number, routes?: Partial<Record<IncidentKind, string>>): IncidentSpec[];
export function buildPlan(o: { seed: number; stream: number; requests: number; rate: number; users?: number; incidents?: IncidentSpec[] }): PlannedRequest[];
