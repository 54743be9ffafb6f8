/**
 * A telemetry model's metadata read back field by field: every size (series, k, window,
 * context, season) bounded as training bounds it before anything is allocated by it, and
 * every refusal a ModelFileError naming the field (`telemetry.window must be ...`).
 */
import { MetaFields, malformed } from "../../forest/model-file.js";
import { calibrationOf, type Calibration } from "../severity.js";
import { seriesFeatureNames, SUMMARY_FEATURES, type SeriesScales, type TelemetrySpec } from "./features.js";

/** What a telemetry model carries in forest.metadata.telemetry. */
export interface TelemetryMeta extends TelemetrySpec {
  calibration: Calibration;
}

/** Largest k, window and context training accepts (train.ts' resolveTrainOptions). */
const MAX_K = 64;
const MAX_WINDOW = 4096;
const SCALE_FIELDS = ["median", "p01", "p99", "step", "diff", "change", "residual"] as const;

/** Check `v` (forest.metadata.telemetry) against a forest of `cols` columns; returns it typed. */
export function checkTelemetryMeta(v: unknown, cols: number): TelemetryMeta {
  const m = MetaFields.of(v, "telemetry");
  m.oneOf("version", [1]);
  const timestamp = m.str("timestamp", 1024);
  // Each series takes at least k + 4 columns, so the forest's width bounds them.
  const series = m.strings("series", { max: cols }, 1024);
  if (series.length === 0) throw m.bad("series", "must name at least one series");
  const k = m.int("k", 2, MAX_K);
  const window = m.int("window", k, MAX_WINDOW);
  const context = m.has("context") ? m.int("context", 0, MAX_WINDOW) : 0;
  if (context !== 0 && context < window) throw m.bad("context", `must be 0 or in [${window}, ${MAX_WINDOW}] (window to ${MAX_WINDOW})`);
  const season = m.has("season") ? m.oneOf("season", ["day", "week"] as const) : undefined;
  const summary = m.has("summary") ? m.bool("summary") : false;
  const lines = m.int("lines", 0, Number.MAX_SAFE_INTEGER);
  const scales: SeriesScales[] = m.array("scales", series.length).map((raw, i) => {
    const s = MetaFields.of(raw, `telemetry.scales[${i}]`);
    const out = Object.fromEntries(SCALE_FIELDS.map((f) => [f, s.num(f)])) as unknown as SeriesScales;
    if (context > 0) out.level = s.num("level");
    if (season !== undefined) out.season = s.num("season");
    return out;
  });
  const expected = [...series.flatMap((name) => seriesFeatureNames(name, k, context, season)), ...(summary ? SUMMARY_FEATURES : [])];
  if (expected.length !== cols) throw malformed(`telemetry holds ${series.length} series with k ${k} (${expected.length} features) but the forest has ${cols} columns`);
  const features = m.strings("features", cols, 4096);
  const at = features.findIndex((f, i) => f !== expected[i]);
  if (at >= 0) throw malformed(`telemetry.features[${at}] must be ${JSON.stringify(expected[at])} (from its series, k, context and season), got ${JSON.stringify(features[at])}`);
  const reach = m.has("reach") ? m.array("reach", cols) : undefined;
  reach?.forEach((r, i) => {
    if (typeof r !== "number" || !Number.isFinite(r) || r < 0) throw malformed(`telemetry.reach[${i}] must be a finite number >= 0, got ${JSON.stringify(r)}`);
  });
  // Other fields (a retrained generation's) pass through as they are; the ones read are the checked values.
  return {
    ...(v as TelemetryMeta), version: 1, timestamp, series, k, window, scales, features, lines, calibration: calibrationOf(m, "calibration"),
    ...(summary ? { summary } : {}), ...(context > 0 ? { context } : {}), ...(season !== undefined ? { season } : {}),
    ...(reach !== undefined ? { reach: reach as number[] } : {}),
  };
}
