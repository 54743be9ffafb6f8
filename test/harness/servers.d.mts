// Types of servers.mjs.
import type { LoggerTraits } from "./app.mjs";
export interface ProducerTraits extends LoggerTraits { bytes: boolean }
export type ProducerName = "nginx-json" | "caddy" | "fastify";
export const PRODUCERS: Record<ProducerName, ProducerTraits>;
export const PRODUCER_NAMES: ProducerName[];
export const ALL_LOGGERS: Record<string, LoggerTraits>;
export function startServerFor(loggers: string[], o: { dir: string; prefix: string; seed: number; faults: Map<number, object> }): Promise<{ port: number; files: Record<string, string>; close(): Promise<void> }>;
