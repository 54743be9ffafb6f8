/** Option helpers shared by the commands. */
import { parseFieldMappings, type FieldName } from "../src/streams/http/parse.js";

/** `--field latency=responseTime` (repeatable) as a mapping; undefined when none given. */
export function fieldsOf(specs: string[] | undefined): Partial<Record<FieldName, string>> | undefined {
  return specs && specs.length > 0 ? parseFieldMappings(specs) : undefined;
}

/** A whole number option in [lo, hi], or a RangeError naming it. */
export function intOption(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`--${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}
