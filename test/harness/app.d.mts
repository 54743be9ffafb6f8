// Types of app.mjs.
export interface LoggerTraits { trustProxy: boolean; latency: boolean; timestamp: boolean }
export type LoggerName = "pino-http" | "morgan-combined" | "morgan-combined-rt" | "winston-ts" | "winston-json";
export const LOGGERS: Record<LoggerName, LoggerTraits>;
export const LOGGER_NAMES: LoggerName[];
export function startApp(o: {
  loggers: string[];
  dir: string;
  prefix: string;
  seed: number;
  faults: Map<number, { slow?: number; status?: number; big?: number }>;
}): Promise<{ port: number; files: Record<string, string>; close(): Promise<void> }>;
