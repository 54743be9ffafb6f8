/** logforest: Isolation Forest anomaly detection, built and scored in WebAssembly. */
export { IsolationForest, quantile, type Backend, type BatchScorer, type ScoreOptions } from "./forest.js";
export { DEFAULTS, type ForestOptions, type ResolvedOptions } from "./options.js";
export type { Matrix, DenseMatrix } from "./matrix.js";
export { ModelFileError, type ModelFileProblem } from "./model-file.js";
export { averagePathLength } from "./reference.js";
export { explain, explainShares, type ExplainOptions, type Reason } from "./explain.js";
export { ExtendedIsolationForest, type ExtendedForestOptions, type ExtendedScoreOptions } from "./eif.js";
export type { LogRecord } from "./record.js";
// The log pipeline, for programs that embed it.
export { trainFromFile, trainFromLines, type TrainOptions, type TrainSummary } from "./train.js";
export { Detector, type Alert, type AlertReason, type DetectSummary, type DetectorOptions } from "./detect.js";
export { runDetect, type DetectRunOptions } from "./run-detect.js";
export { simulate, type SimulateOptions } from "./simulate.js";
export { evaluate, type Evaluation } from "./evaluate.js";
export { DEFAULT_RULES, resolveRules, type Rules } from "./rules.js";
