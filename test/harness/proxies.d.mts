// Types of proxies.mjs.
export function freePort(): Promise<number>;
export function run(
  name: string, cmd: string, args: string[], port: number, signal: NodeJS.Signals, env?: Record<string, string>, stdout?: number | "ignore",
): Promise<{ close(): Promise<void> }>;
export const PROXIES: Record<string, (dir: string, prefix: string, upstream: number, file: string) => Promise<{ port: number; close(): Promise<void> }>>;
