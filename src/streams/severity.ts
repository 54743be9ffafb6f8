/**
 * Severity 0-100 from a score, calibrated on the training scores so that it reads
 * the same on every model: where the score falls in what training called normal.
 *
 *   severity   0    25      50     75       90          100
 *   score     min  median  p99   p99.9   highest      1.0
 *              '---------- training scores ---------'
 *
 * Linear between those points, so 75+ is rarer than 1 in 1000 normal lines and 90+
 * means "beyond anything seen in training".
 */
import type { MetaFields } from "../forest/model-file.js";

/** Score anchors for severities 0, 25, 50, 75, 90 and 100. */
export interface Calibration {
  scores: number[];
  severities: number[];
}

const SEVERITIES = [0, 25, 50, 75, 90, 100];

function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Anchors from the training scores (at least one). */
export function calibrate(trainingScores: Float64Array): Calibration {
  if (trainingScores.length === 0) throw new RangeError("calibrate needs at least one training score");
  const s = Float64Array.from(trainingScores).sort();
  const raw = [s[0], quantileSorted(s, 0.5), quantileSorted(s, 0.99), quantileSorted(s, 0.999), s[s.length - 1], 1];
  // Keep the anchors strictly increasing so the mapping stays a function.
  const scores: number[] = [];
  for (const v of raw) scores.push(scores.length > 0 && v <= scores[scores.length - 1] ? scores[scores.length - 1] + 1e-9 : v);
  return { scores, severities: [...SEVERITIES] };
}

/** Severity (0-100, one decimal) of score s. */
export function severityOf(c: Calibration, s: number): number {
  const xs = c.scores;
  const ys = c.severities;
  if (s <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (s <= xs[i]) return Math.round((ys[i - 1] + ((ys[i] - ys[i - 1]) * (s - xs[i - 1])) / (xs[i] - xs[i - 1])) * 10) / 10;
  }
  return ys[ys.length - 1];
}

/** Check a calibration read back from a model file. */
export function isCalibration(v: unknown): v is Calibration {
  if (typeof v !== "object" || v === null) return false;
  const c = v as Calibration;
  return (
    Array.isArray(c.scores) &&
    Array.isArray(c.severities) &&
    c.scores.length === c.severities.length &&
    c.scores.length >= 2 &&
    c.scores.every((x, i) => typeof x === "number" && Number.isFinite(x) && (i === 0 || x > c.scores[i - 1]))
  );
}

/** Most points a model's calibration may hold (training keeps a handful). */
export const MAX_CALIBRATION_POINTS = 4096;

/** A model's calibration read field by field; a refusal (ModelFileError) names the field. */
export function calibrationOf(m: MetaFields, name: string): Calibration {
  const c = m.obj(name);
  const scores = c.array("scores", { max: MAX_CALIBRATION_POINTS });
  const severities = c.array("severities", scores.length);
  const value = (list: unknown[], field: string, i: number): number => {
    const v = list[i];
    if (typeof v !== "number" || !Number.isFinite(v)) throw c.bad(field, `[${i}] must be a finite number`);
    return v;
  };
  const out: Calibration = { scores: scores.map((_, i) => value(scores, "scores", i)), severities: severities.map((_, i) => value(severities, "severities", i)) };
  if (!isCalibration(out)) throw c.bad("scores", "must be at least 2 increasing numbers");
  return out;
}
