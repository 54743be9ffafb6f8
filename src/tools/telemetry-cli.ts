/** The CLI's side of telemetry streams: writing a simulated stream and its truth. */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { simulateTelemetry, type TelemetrySimOptions } from "./telemetry-sim.js";

/** Lines already in a file (a last line without a newline counts; a newline is added before appending). */
function existingLines(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, "utf8");
  if (text.length === 0) return 0;
  if (!text.endsWith("\n")) appendFileSync(path, "\n");
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

/** Write a simulated telemetry stream (header first) to `out` (appended) or stdout, and its truth. */
export function writeTelemetrySimulation(o: TelemetrySimOptions & { out?: string; truth?: string }): { lines: number; labelled: number; incidents: number } {
  const first = o.out ? existingLines(o.out) + 1 : 1;
  const gen = simulateTelemetry(o);
  const text: string[] = [];
  const truth: string[] = [];
  let r = gen.next();
  while (!r.done) {
    const l = r.value;
    if (l.kind !== null && l.incident !== null) truth.push(JSON.stringify({ line: first + text.length, kind: l.kind, incident: l.incident }));
    text.push(l.text);
    r = gen.next();
  }
  const body = text.join("\n") + "\n";
  if (o.out) appendFileSync(o.out, body);
  else process.stdout.write(body);
  if (o.truth) appendFileSync(o.truth, truth.length ? truth.join("\n") + "\n" : "");
  return { lines: text.length, labelled: truth.length, incidents: r.value.length };
}
