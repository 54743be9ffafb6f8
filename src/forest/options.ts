/**
 * Forest options: scikit-learn's IsolationForest parameters in camelCase, every
 * default in one object and all validation in one function.
 */

/** Options of IsolationForest.fit. */
export interface ForestOptions {
  /** Number of trees (scikit-learn n_estimators). Integer in [1, 10000]; default 100. */
  trees?: number;
  /**
   * Rows drawn, without replacement, to grow each tree (max_samples): an integer in
   * [1, 65536], or a fraction of the rows in (0, 1). Capped at the number of rows.
   * Default 256.
   */
  sampleSize?: number;
  /**
   * Share of anomalies expected in the training data: "auto" (anomaly when s > 0.5,
   * as in the original paper) or a fraction in (0, 0.5] (the threshold becomes that
   * upper quantile of the training scores). Default "auto".
   */
  contamination?: "auto" | number;
  /**
   * Features each tree may split on (max_features): an integer in [1, columns], or a
   * fraction of the columns in (0, 1). Default: all columns.
   */
  maxFeatures?: number;
  /** Seed of the forest's random stream: an integer in [0, 2^53 - 1]. Default 0. */
  seed?: number;
  /** One name per column; travels with the model. */
  featureNames?: readonly string[];
}

/** The defaults, in one place. */
export const DEFAULTS = Object.freeze({
  trees: 100,
  sampleSize: 256,
  contamination: "auto" as const,
  maxFeatures: undefined as number | undefined,
  seed: 0,
});

/** Options after validation, resolved against the table's shape. */
export interface ResolvedOptions {
  trees: number;
  /** Effective rows per tree (psi). */
  sampleSize: number;
  contamination: "auto" | number;
  /** Effective number of candidate features per tree. */
  maxFeatures: number;
  seed: number;
  featureNames: string[] | null;
}

/** The largest sampleSize: beyond it a tree would outgrow a sane model file. */
export const MAX_SAMPLE_SIZE = 65536;
export const MAX_TREES = 10000;
const KNOWN = new Set(["trees", "sampleSize", "contamination", "maxFeatures", "seed", "featureNames"]);

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v;
}

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${show(v)}`);
  }
  return v;
}

/** An integer count in [1, max] or a fraction in (0, 1) of `whole`; at least 1. */
function countOrFraction(name: string, v: unknown, max: number, whole: number, wholeName: string): number {
  if (typeof v === "number" && v > 0 && v < 1) return Math.max(1, Math.floor(v * whole));
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}] or a fraction in (0, 1) of the ${wholeName}, got ${show(v)}`);
  }
  return v;
}

/** Validate `options` for a table of `rows` x `cols`; every error names the option, its range and the value. */
export function resolveOptions(options: ForestOptions | undefined, rows: number, cols: number): ResolvedOptions {
  const o: Record<string, unknown> = options === undefined ? {} : (options as Record<string, unknown>);
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new TypeError(`options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`unknown option "${key}"; the options are ${[...KNOWN].join(", ")}`);
  }
  const trees = intIn("trees", o.trees ?? DEFAULTS.trees, 1, MAX_TREES);
  const sampleSize = Math.min(rows, countOrFraction("sampleSize", o.sampleSize ?? DEFAULTS.sampleSize, MAX_SAMPLE_SIZE, rows, "rows"));
  const maxFeatures = o.maxFeatures === undefined ? cols : countOrFraction("maxFeatures", o.maxFeatures, cols, cols, "columns");
  const seed = intIn("seed", o.seed ?? DEFAULTS.seed, 0, Number.MAX_SAFE_INTEGER);

  const c = o.contamination ?? DEFAULTS.contamination;
  if (c !== "auto" && (typeof c !== "number" || !(c > 0 && c <= 0.5))) {
    throw new RangeError(`contamination must be "auto" or a number in (0, 0.5], got ${show(c)}`);
  }

  let featureNames: string[] | null = null;
  if (o.featureNames !== undefined) {
    const names = o.featureNames;
    if (!Array.isArray(names) || names.length !== cols || names.some((n) => typeof n !== "string")) {
      throw new RangeError(`featureNames must be an array of ${cols} strings (one per column), got ${show(names)}`);
    }
    featureNames = [...(names as string[])];
  }
  return { trees, sampleSize, contamination: c, maxFeatures, seed, featureNames };
}

/** Height limit of a tree grown on psi rows: ceil(log2(psi)). */
export function heightLimit(psi: number): number {
  let h = 0;
  while (2 ** h < psi) h++;
  return h;
}
