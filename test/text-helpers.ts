// Lines of the free-text simulator, for the tests that need a service log.
import { simulateText } from "../src/tools/simulate-text.js";

/** `count` lines of the simulated order service (seeded), from `start` (epoch ms), with or without its five incidents. */
export function simulatedText(count: number, seed: number, incidents: boolean, start: number): string[] {
  const out: string[] = [];
  const g = simulateText({ count, seed, incidents, start });
  for (let r = g.next(); r.done !== true; r = g.next()) out.push(r.value.text);
  return out;
}
