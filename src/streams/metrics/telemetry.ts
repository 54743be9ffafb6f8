/**
 * Telemetry: numeric metric streams as CSV (a header line, one timestamp column,
 * one or more value columns), scored with the same forest, severity and alert
 * shape as the log pipeline.
 *
 *   line -> TelemetryParser (ts + values into a reused Float64Array)
 *        -> TelemetryExtractor (per series: shingle, changes, step size, flat run,
 *           the level over a longer context; across series: the largest of each)
 *        -> WASM scorer -> AnomalyLikelihood (tail probability of the raw score,
 *           the hold after an alert) -> severity -> rules -> alert
 *
 * Everything detection needs (series, k, window, per-series scales, feature
 * names, calibration) travels in the model: forest.metadata.telemetry.
 *
 * This file is the stream kind's front: csv.ts (header and parser), features.ts
 * (spec and extractor), train.ts (trainer and the model's metadata), detect.ts (the
 * detector), likelihood.ts (the calibrated score; episodes.ts, what recurs), adapt.ts (a tree at a time) and
 * retrain.ts (keeping up with drift).
 */
export * from "./csv.js";
export * from "./features.js";
export * from "./train.js";
export * from "./detect.js";
export { TelemetryRetrainer } from "./retrain.js";
export { AnomalyLikelihood, LIKELIHOOD_DEFAULTS, resolveLikelihoodOptions, type LikelihoodOptions } from "./likelihood.js";
export { ADAPT_DEFAULTS, TreeAdapter, resolveAdaptOptions, type AdaptOptions } from "./adapt.js";
