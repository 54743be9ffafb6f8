/** logforest: Isolation Forest anomaly detection, built and scored in WebAssembly. */
export { IsolationForest, quantile, type Backend, type BatchScorer, type ScoreOptions } from "./forest/forest.js";
export { DEFAULTS, type ForestOptions, type ResolvedOptions } from "./forest/options.js";
export type { Matrix, DenseMatrix } from "./forest/matrix.js";
export { ModelFileError, type ModelFileProblem } from "./forest/model-file.js";
export { averagePathLength } from "./forest/reference.js";
export { explain, explainShares, type ExplainOptions, type Reason } from "./forest/explain.js";
export { ExtendedIsolationForest, type ExtendedForestOptions, type ExtendedScoreOptions } from "./forest/eif.js";
export type { LogRecord } from "./streams/http/record.js";
// The log pipeline, for programs that embed it.
export { trainFromFile, trainFromLines, type TrainOptions, type TrainSummary } from "./streams/http/train.js";
export { Detector, type Alert, type AlertReason, type DetectSummary, type DetectorOptions } from "./streams/http/detect.js";
export { detect, resolveDetect, type DetectOptions, type InputOptions, type ModelOptions } from "./runtime/detect.js";
export { runDetect, type DetectRunResult, type DetectRunSummary, type LineBatch, type LineSource, type OutputOptions, type RunLoop, type SinkOptions } from "./runtime/run-detect.js";
export { fileSource, followSource, streamSource } from "./runtime/sources.js";
export { Detection } from "./runtime/detection.js";
export { STREAM_KINDS, kindOf } from "./streams/kinds.js";
export type { DetectorSettings, StreamAlert, StreamDetector, StreamKind, StreamSummary } from "./streams/stream.js";
export { simulate, type SimulateOptions } from "./tools/simulate.js";
export { evaluate, type Evaluation } from "./tools/evaluate.js";
export { DEFAULT_RULES, resolveRules, type Rules } from "./streams/http/rules.js";
