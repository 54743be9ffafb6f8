/**
 * An HTTP model's pipeline metadata read back field by field: the feature list, window,
 * routes, rarities and clock bounded as training bounds them, and every refusal a
 * ModelFileError naming the field (`pipeline.spec.windowSeconds must be ...`).
 */
import { MetaFields, malformed } from "../../forest/model-file.js";
import { calibrationOf, type Calibration } from "../severity.js";
import { ALL_FEATURES, type ClientPeaks, type FeatureName, type FeatureSpec, type RouteBaseline } from "./feature-spec.js";
import { FIELD_NAMES, FORMAT_NAMES, LATENCY_UNITS, type FieldName, type FormatName, type LatencyUnit } from "./parse.js";
import { MAX_ROUTES } from "./spec.js";

/** What an HTTP model carries in forest.metadata.pipeline. */
export interface PipelineMeta {
  version: 1;
  format: FormatName;
  fields: Partial<Record<FieldName, string>>;
  spec: FeatureSpec;
  calibration: Calibration;
  /** The latency unit the parser used (given, or guessed at training); absent: the parser's default. */
  latencyUnit?: LatencyUnit;
}


/** Methods a model may know (training keeps what it saw; HTTP has a handful, a hostile file many). */
const MAX_METHODS = 1024;

/** Check `v` (forest.metadata.pipeline) against a forest of `cols` columns; returns it typed, NaN where JSON holds null. */
export function checkPipelineMeta(v: unknown, cols: number): PipelineMeta {
  const m = MetaFields.of(v, "pipeline");
  m.oneOf("version", [1]);
  const format = m.oneOf("format", FORMAT_NAMES);
  const f = m.obj("fields");
  const fields: Partial<Record<FieldName, string>> = {};
  for (const k of f.keys(FIELD_NAMES.length)) {
    const name = FIELD_NAMES.find((n) => n === k);
    if (name === undefined) throw f.bad(k, `is not a field (one of ${FIELD_NAMES.join(", ")})`);
    fields[name] = f.str(k, 1024);
  }
  const latencyUnit = m.has("latencyUnit") ? m.oneOf("latencyUnit", LATENCY_UNITS) : undefined;
  return {
    ...(v as PipelineMeta), version: 1, format, fields, spec: specOf(m.obj("spec"), cols), calibration: calibrationOf(m, "calibration"),
    ...(latencyUnit !== undefined ? { latencyUnit } : {}),
  };
}

function specOf(s: MetaFields, cols: number): FeatureSpec {
  s.oneOf("version", [1]);
  const features = s.array("features", cols).map((x, i) => {
    const name = ALL_FEATURES.find((n) => n === x);
    if (name === undefined) throw malformed(`${s.where}.features[${i}] must be a feature name, got ${JSON.stringify(x)}`);
    return name;
  });
  if (new Set<FeatureName>(features).size !== features.length) throw s.bad("features", "must not repeat a feature");
  const r = s.obj("routes");
  const routes: Record<string, RouteBaseline> = {};
  for (const k of r.keys(MAX_ROUTES + 1)) routes[k] = baselineOf(r.obj(k));
  const mr = s.obj("methodRarity");
  const methodRarity: Record<string, number> = {};
  for (const k of mr.keys(MAX_METHODS)) methodRarity[k] = mr.num(k, 0);
  const spec: FeatureSpec = {
    version: 1, features, windowSeconds: s.num("windowSeconds", 1, 3600), routes, overall: baselineOf(s.obj("overall")), methodRarity,
    unseenRarity: s.num("unseenRarity", 0), lines: s.int("lines", 0, Number.MAX_SAFE_INTEGER),
  };
  if (s.has("clients")) spec.clients = clientsOf(s.obj("clients"));
  if (s.has("clock")) spec.clock = s.oneOf("clock", ["timestamps", "lines"] as const);
  if (s.has("linesPerSecond")) spec.linesPerSecond = s.num("linesPerSecond", 0);
  return spec;
}

function baselineOf(b: MetaFields): RouteBaseline {
  const any = (name: string): number => b.num(name, -Number.MAX_VALUE, Number.MAX_VALUE, true);
  const share = (name: string): number => b.num(name, 0, 1, true);
  return {
    count: b.int("count", 0, Number.MAX_SAFE_INTEGER), latencyMid: any("latencyMid"), latencySpread: any("latencySpread"), latencyP99: any("latencyP99"),
    bytesMid: any("bytesMid"), bytesSpread: any("bytesSpread"), bytesP999: any("bytesP999"), share: share("share"),
    errorRate: share("errorRate"), failRate: share("failRate"),
  };
}

function clientsOf(c: MetaFields): ClientPeaks {
  const n = (name: string): number => c.num(name, 0);
  return { requests: n("requests"), knownFailures: n("knownFailures"), novelFailures: n("novelFailures"), distinct: n("distinct") };
}
