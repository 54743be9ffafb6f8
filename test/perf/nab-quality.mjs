// NAB-style quality of metric streams (issue 16): each series of the seeded corpus
// (tools/metric-corpus.ts) is trained on its first 15% (`train --format csv`),
// then the detector scores the whole series (library calls, what `detect --scores`
// writes), and tools/nab-score.ts scores the detections with one threshold per
// variant, chosen once over the whole corpus. Run `npm run build` first.
//   node test/perf/nab-quality.mjs [--seed 1] [--per-family 5] [--points 4000] [--variants a,b] [--series [--counts]] [--json]
//        [--try '{"name": {"train": {...}, "detect": {...}, "use": "score" | "severity" | "alerts"}}']
// --series prints every series' normalised score at its variant's threshold (--counts: and tp/fp/fn);
// --try adds variants for one run. Results (45 series, seeds 1 and 2) are in docs/telemetry.md.
import { parseArgs } from "node:util";
import { metricCorpus, corpusCsv, CORPUS_FAMILIES } from "../../dist/tools/metric-corpus.js";
import { optimiseThreshold, normalisedOf, rowsOfTimestamps } from "../../dist/tools/nab-score.js";
import { trainTelemetry, TelemetryDetector } from "../../dist/src/streams/metrics/telemetry.js";

const { values: argv } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    "per-family": { type: "string", default: "5" },
    points: { type: "string", default: "4000" },
    variants: { type: "string" },
    try: { type: "string" },
    series: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    counts: { type: "boolean", default: false },
  },
});
/** An integer option in [lo, hi], else a RangeError naming it, the range and the value. */
function int(name, lo, hi) {
  const v = Number(argv[name]);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`--${name} must be an integer in [${lo}, ${hi}], got ${argv[name]}`);
  return v;
}

// Each variant: training options, detector options, and which per-row number is thresholded
// (the score onScored reports, the severity of that score, or 1 on alerted rows).
const VARIANTS = {
  // The previous defaults: the forest's raw score, its severity (training calibration), alerts; and --shingle 2.
  "old-raw": { train: {}, detect: { output: "raw" }, use: "score" },
  "old-severity": { train: {}, detect: { output: "raw" }, use: "severity" },
  "old-alerts": { train: {}, detect: { output: "raw" }, use: "alerts" },
  "old-shingle2": { train: { k: 2 }, detect: { output: "raw" }, use: "score" },
  // Step 2a, the calibrated score (no hold yet): Numenta's Gaussian on the mean of 10, peaks over threshold, both.
  "lk-mean": { train: {}, detect: { likelihood: { method: "mean", hold: 0, training: false } }, use: "score" },
  "lk-peaks": { train: {}, detect: { likelihood: { method: "peaks", hold: 0, training: false } }, use: "score" },
  "lk-both": { train: {}, detect: { likelihood: { method: "both", hold: 0, training: false } }, use: "score" },
  "lk-peaks+training": { train: {}, detect: { likelihood: { hold: 0 } }, use: "score" },
  // Step 2d, one alert per anomaly: the hold after a row reaches the alert level.
  "hold-20": { train: {}, detect: { likelihood: { hold: 20 } }, use: "score" },
  "hold-100": { train: {}, detect: { likelihood: { hold: 100 } }, use: "score" },
  "hold-200": { train: {}, detect: { likelihood: { hold: 200 } }, use: "score" },
  "hold-50-no-training": { train: {}, detect: { likelihood: { training: false } }, use: "score" },
  // Step 2b, continuous adaptation: a tree every M rows from a reservoir of recent normal rows.
  "adapt-50": { train: {}, detect: { adapt: {} }, use: "score" },
  "adapt-20": { train: {}, detect: { adapt: { every: 20 } }, use: "score" },
  "adapt-200": { train: {}, detect: { adapt: { every: 200 } }, use: "score" },
  "adapt-50-r1000": { train: {}, detect: { adapt: { reservoir: 1000 } }, use: "score" },
  // Step 2c, a longer context: each value against the median of the last 64 / 128 / 256.
  "context-64": { train: { context: 64 }, detect: {}, use: "score" },
  "context-128": { train: { context: 128 }, detect: {}, use: "score" },
  "context-256": { train: { context: 256 }, detect: {}, use: "score" },
  // Issue 16's seasonal column (training option season; off by default, as measured).
  "season-day": { train: { season: "day" }, detect: {}, use: "score" },
  "season-day-alerts": { train: { season: "day" }, detect: {}, use: "alerts" },
  "season-week": { train: { season: "week" }, detect: {}, use: "score" },
  // The new defaults (peaks + training, hold 50): the score `detect --scores` writes, and the alerts.
  // Issue 23's defaults (recur 3, long 5000, hold 100 not re-armed by re-crossings) against issue 16's.
  "issue16-score": { train: {}, detect: { likelihood: { long: 2000, hold: 50, rearm: true, recur: 1_000_000, recurShare: false, magnitude: 0 } }, use: "score" },
  // Issue 23's first defaults (before recurShare and magnitude; the training scales' zero-MAD fallback is in every variant).
  "issue23-first": { train: {}, detect: { likelihood: { recurShare: false, magnitude: 0 } }, use: "score" },
  "new-score": { train: {}, detect: {}, use: "score" },
  "new-alerts": { train: {}, detect: {}, use: "alerts" },
  "new-shingle2": { train: { k: 2 }, detect: {}, use: "score" },
};

// --try '{"name": {"train": {...}, "detect": {...}, "use": "score"}}' adds variants for one run.
if (argv.try) Object.assign(VARIANTS, JSON.parse(argv.try));
const seed = int("seed", 0, 2 ** 28);
const perFamily = int("per-family", 1, 8);
const points = int("points", 500, 100_000);
const names = (argv.variants ?? Object.keys(VARIANTS).join(",")).split(",").filter((n) => n !== "");
for (const n of names) if (!(n in VARIANTS)) throw new RangeError(`variants must be among ${Object.keys(VARIANTS).join(", ")}; got ${JSON.stringify(n)}`);

const corpus = metricCorpus({ seed, perFamily, points });

/** Per-row detection signal of one series under one variant. */
function runSeries(s, v) {
  const lines = corpusCsv(s);
  const trainRows = Math.floor(0.15 * s.values.length);
  const { forest } = trainTelemetry(lines.slice(0, 1 + trainRows), { ...v.train, forest: { seed: 1, ...(v.train.forest ?? {}) } });
  const out = new Float64Array(s.values.length);
  let at = 0;
  const alerted = new Set();
  const det = new TelemetryDetector(forest, {
    ...v.detect,
    onScored: (b) => {
      for (let i = 0; i < b.count; i++) out[at++] = v.use === "severity" ? det.severity(b.scores[i]) / 100 : b.scores[i];
    },
  });
  for (let i = 0; i < lines.length; i += 500) det.processBatch("s.csv", lines.slice(i, i + 500), i + 1, (a) => alerted.add(a.line - 2));
  if (v.use === "alerts") for (let i = 0; i < out.length; i++) out[i] = alerted.has(i) ? 1 : 0;
  return out;
}

const results = {};
for (const name of names) {
  const v = VARIANTS[name];
  const t0 = performance.now();
  const scored = corpus.map((s) => ({ name: s.name, family: s.family, scores: runSeries(s, v), anomalies: rowsOfTimestamps(s.timestamps, s.anomalies) }));
  const best = optimiseThreshold(scored);
  const byFamily = {};
  for (const f of CORPUS_FAMILIES) {
    const rs = best.series.filter((_, i) => scored[i].family === f);
    const sum = (g) => rs.reduce((a, r) => a + g(r), 0);
    byFamily[f] = Math.round((1000 * (sum((r) => r.raw) - sum((r) => r.nullScore))) / (sum((r) => r.perfect) - sum((r) => r.nullScore))) / 10;
  }
  results[name] = {
    threshold: best.threshold,
    score: Math.round(best.normalised * 10) / 10,
    tp: best.tp,
    fp: best.fp,
    fn: best.fn,
    byFamily,
    series: Object.fromEntries(best.series.map((r) => [r.name, argv.counts ? `${Math.round(normalisedOf(r))}:${r.tp}/${r.fp}/${r.fn}` : Math.round(normalisedOf(r) * 10) / 10])),
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

if (argv.json) {
  process.stdout.write(JSON.stringify({ seed, perFamily, points, series: corpus.length, results }, null, 2) + "\n");
} else {
  console.log(`corpus: ${corpus.length} series (seed ${seed}, ${perFamily} per family, ~${points} points), NAB standard profile`);
  const head = ["variant", "score", "threshold", "tp", "fp", "fn", ...CORPUS_FAMILIES];
  console.log(head.join("\t"));
  for (const [name, r] of Object.entries(results)) {
    console.log([name, r.score, Number(r.threshold.toPrecision(4)), r.tp, r.fp, r.fn, ...CORPUS_FAMILIES.map((f) => r.byFamily[f])].join("\t"));
  }
  if (argv.series) {
    console.log(["series", ...Object.keys(results)].join("\t"));
    for (const s of corpus) console.log([s.name, ...Object.values(results).map((r) => r.series[s.name])].join("\t"));
  }
}
