// Types of stalls.mjs.
export const STALL_MS: number;
export function watchStalls(): { stop(): { stalls: [number, number][]; busy: number } };
