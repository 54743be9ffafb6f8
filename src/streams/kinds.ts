/**
 * Every stream kind, in one list (as formats are listed in http/formats/index.ts): the runtime,
 * the dashboard and the scale-out find a model's kind here and never name one. A new kind is a
 * folder beside http/ and metrics/ exporting a StreamKind (stream.ts), plus one entry below.
 */
import type { IsolationForest } from "../forest/forest.js";
import { httpKind } from "./http/kind.js";
import { metricsKind } from "./metrics/kind.js";
import { textKind } from "./text/kind.js";
import type { StreamAlert, StreamKind } from "./stream.js";

/** The registered kinds; the first that accepts a model reads it. */
export const STREAM_KINDS: readonly StreamKind[] = [metricsKind, httpKind, textKind];

/** The kind that reads this model (a model no kind accepts goes to the access-log kind, whose detector says what is missing). */
export function kindOf(model: IsolationForest): StreamKind {
  return STREAM_KINDS.find((k) => k.accepts(model)) ?? httpKind;
}

/** The kind of this name (a worker thread is told its kind by name). */
export function kindNamed(name: string): StreamKind {
  const kind = STREAM_KINDS.find((k) => k.name === name);
  if (kind === undefined) throw new RangeError(`stream kind must be one of ${STREAM_KINDS.map((k) => k.name).join(", ")}, got ${JSON.stringify(name)}`);
  return kind;
}

/** The kind an alert comes from (by its record's shape). */
export function kindOfAlert(alert: StreamAlert): StreamKind {
  return STREAM_KINDS.find((k) => k.owns(alert)) ?? httpKind;
}
