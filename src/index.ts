/** logforest: Isolation Forest anomaly detection, built and scored in WebAssembly. */
export { IsolationForest, quantile, type Backend, type BatchScorer, type ScoreOptions } from "./forest.js";
export { DEFAULTS, type ForestOptions, type ResolvedOptions } from "./options.js";
export type { Matrix, DenseMatrix } from "./matrix.js";
export { ModelFileError, type ModelFileProblem } from "./model-file.js";
export { averagePathLength } from "./reference.js";
export type { LogRecord } from "./record.js";
