/**
 * Telemetry: numeric metric streams as CSV (a header line, one timestamp column,
 * one or more value columns), scored with the same forest, severity and alert
 * shape as the log pipeline.
 *
 *   line -> TelemetryParser (ts + values into a reused Float64Array)
 *        -> TelemetryExtractor (per series: shingle, changes, step size, flat run)
 *        -> WASM scorer -> severity -> rules -> alert (reasons summed per series)
 *
 * Everything detection needs (series, k, window, per-series scales, feature
 * names, calibration) travels in the model: forest.metadata.telemetry.
 *
 * This file is the stream kind's front: csv.ts (header and parser), features.ts
 * (spec and extractor), train.ts (trainer and the model's metadata), detect.ts (the
 * detector) and retrain.ts (keeping up with drift).
 */
export * from "./csv.js";
export * from "./features.js";
export * from "./train.js";
export * from "./detect.js";
export { TelemetryRetrainer } from "./retrain.js";
