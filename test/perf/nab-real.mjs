// Metric streams on NAB's real series (issue 23): each of the 28 shared NAB series
// (LOGFOREST_DATA/nab) is trained on its probationary period (its first 15%, at most
// 750 rows: what NAB lets a detector learn from, `train --format csv`), then the
// detector scores the whole series (library calls: the per-row score `detect --scores`
// writes), and tools/nab-score.ts scores it as NAB does: one threshold per profile for
// the corpus, normalised against the whole benchmark's null baseline as NAB's figures
// are. Each variant runs with forest seeds 1..--seeds and reports their mean; HTM's
// and RCF's shipped results are scored beside. Run `npm run build` first.
//   LOGFOREST_DATA=../shared/data node test/perf/nab-real.mjs [--seeds 3] [--variants a,b] [--series] [--json]
//        [--try '{"name": {"train": {...}, "detect": {...}}}']
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadNabCorpus, loadNabResults } from "../../dist/tools/nab-data.js";
import { NAB_FULL_WINDOWS, NAB_PROFILES, normalisedOf, optimiseThreshold, probationRows } from "../../dist/tools/nab-score.js";
import { trainTelemetry, TelemetryDetector } from "../../dist/src/streams/metrics/telemetry.js";

const { values: argv } = parseArgs({
  options: {
    seeds: { type: "string", default: "3" },
    variants: { type: "string" },
    try: { type: "string" },
    series: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const seeds = Number(argv.seeds);
if (!Number.isInteger(seeds) || seeds < 1 || seeds > 10) throw new RangeError(`--seeds must be an integer in [1, 10], got ${argv.seeds}`);
if (!process.env.LOGFOREST_DATA) throw new Error("set LOGFOREST_DATA to the shared data folder (it holds nab/)");
const dir = join(process.env.LOGFOREST_DATA, "nab");

// Each variant: training options and detector options (the score is what `detect --scores` writes).
// The steps of issue 23, each on top of the previous one (docs/telemetry.md), and alternatives measured.
// The earlier steps' rows leave out recurShare and magnitude; every row has the training scales' mean
// fallback for a zero MAD (a training change, no option: the earlier steps were measured before it).
const OLD = { long: 2000, hold: 50, rearm: true, recur: 1_000_000, recurShare: false, magnitude: 0 };
const FIRST = { recurShare: false, magnitude: 0 };
const VARIANTS = {
  "old-defaults": { train: {}, detect: { likelihood: OLD } },
  "old+recur-3": { train: {}, detect: { likelihood: { ...OLD, recur: 3 } } },
  "old+recur-3+long-5000": { train: {}, detect: { likelihood: { ...OLD, recur: 3, long: 5000 } } },
  "...+hold-not-rearmed-50": { train: {}, detect: { likelihood: { ...FIRST, hold: 50 } } },
  "...+hold-75": { train: {}, detect: { likelihood: FIRST } },
  "...+recur-share": { train: {}, detect: { likelihood: { magnitude: 0 } } },
  defaults: { train: {}, detect: {} },
  "magnitude-0.05": { train: {}, detect: { likelihood: { magnitude: 0.05 } } },
  "magnitude-0.2": { train: {}, detect: { likelihood: { magnitude: 0.2 } } },
  "hold-100": { train: {}, detect: { likelihood: { hold: 100 } } },
  "window-64": { train: { window: 64 }, detect: {} },
  "hold-150": { train: {}, detect: { likelihood: { hold: 150 } } },
  "recur-10": { train: {}, detect: { likelihood: { recur: 10 } } },
  "recur-off": { train: {}, detect: { likelihood: { recur: 1_000_000 } } },
  "no-training-reference": { train: {}, detect: { likelihood: { training: false } } },
  "shingle-8": { train: { k: 8 }, detect: {} },
  "context-256": { train: { context: 256 }, detect: {} },
  "season-day": { train: { season: "day" }, detect: {} },
};
if (argv.try) Object.assign(VARIANTS, JSON.parse(argv.try));
const names = (argv.variants ?? Object.keys(VARIANTS).join(",")).split(",").filter((n) => n !== "");
for (const n of names) if (!(n in VARIANTS)) throw new RangeError(`--variants must be among ${Object.keys(VARIANTS).join(", ")}; got ${JSON.stringify(n)}`);

const corpus = loadNabCorpus(dir);
const CATEGORIES = [...new Set(corpus.map((s) => s.category))];
const PROFILES = Object.keys(NAB_PROFILES);
const norm = { nullWindows: NAB_FULL_WINDOWS };

/** Per-row scores of one series under one variant and forest seed. */
function runSeries(s, v, seed) {
  const train = s.lines.slice(0, 1 + probationRows(s.values.length));
  const { forest } = trainTelemetry(train, { ...v.train, forest: { ...(v.train.forest ?? {}), seed } });
  const out = new Float64Array(s.values.length);
  let at = 0;
  const det = new TelemetryDetector(forest, {
    ...v.detect,
    onScored: (b) => {
      for (let i = 0; i < b.count; i++) out[at++] = b.scores[i];
    },
  });
  for (let i = 0; i < s.lines.length; i += 500) det.processBatch(s.name, s.lines.slice(i, i + 500), i + 1, () => {});
  if (at !== out.length) throw new Error(`${s.name}: ${at} rows scored of ${out.length}`);
  return out;
}

/** NAB figures of one scored corpus: per profile the total, counts and threshold; standard per category and series. */
function figures(scored) {
  const out = { profiles: {}, categories: {}, series: {} };
  for (const p of PROFILES) {
    const best = optimiseThreshold(scored, NAB_PROFILES[p], norm);
    out.profiles[p] = { score: best.normalised, threshold: best.threshold, tp: best.tp, fp: best.fp, fn: best.fn };
    if (p !== "standard") continue;
    for (const c of CATEGORIES) {
      const rs = best.series.filter((_, i) => corpus[i].category === c);
      const sum = (g) => rs.reduce((a, r) => a + g(r), 0);
      // A category alone: normalised against its own null and perfect (artificialNoAnomaly: its FP cost, raw).
      const span = sum((r) => r.perfect) - sum((r) => r.nullScore);
      out.categories[c] = span > 0 ? (100 * (sum((r) => r.raw) - sum((r) => r.nullScore))) / span : sum((r) => r.raw);
    }
    for (const r of best.series) out.series[r.name] = `${Math.round(normalisedOf(r))}:${r.tp}/${r.fp}/${r.fn}`;
  }
  return out;
}

const rows = {};
for (const det of ["numenta", "randomCutForest"]) {
  rows[det === "numenta" ? "HTM (NAB's results)" : "RCF (NAB's results)"] = [figures(corpus.map((s) => ({ name: s.name, windows: s.windows, scores: loadNabResults(dir, det, s.name) })))];
}
for (const name of names) {
  rows[name] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    rows[name].push(figures(corpus.map((s) => ({ name: s.name, windows: s.windows, scores: runSeries(s, VARIANTS[name], seed) }))));
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const r1 = (x) => Math.round(x * 10) / 10;
const summary = {};
for (const [name, runs] of Object.entries(rows)) {
  summary[name] = {
    ...Object.fromEntries(PROFILES.map((p) => [p, r1(mean(runs.map((r) => r.profiles[p].score)))])),
    range: runs.length > 1 ? runs.map((r) => r1(r.profiles.standard.score)).join("/") : "",
    counts: runs.map((r) => `${r.profiles.standard.tp}/${r.profiles.standard.fp}/${r.profiles.standard.fn}`).join(" "),
    threshold: runs.map((r) => Number(r.profiles.standard.threshold.toPrecision(3))).join("/"),
    categories: Object.fromEntries(CATEGORIES.map((c) => [c, r1(mean(runs.map((r) => r.categories[c])))])),
    series: runs[0].series,
  };
}
if (argv.json) {
  process.stdout.write(JSON.stringify({ seeds, series: corpus.length, summary }, null, 2) + "\n");
} else {
  console.log(`NAB: ${corpus.length} series, ${corpus.reduce((a, s) => a + s.windows.length, 0)} windows; mean of forest seeds 1-${seeds}; standard per category (artificialNoAnomaly: its raw FP cost)`);
  console.log(["variant", "standard", "low FP", "low FN", "standard per seed", "tp/fp/fn (standard)", "threshold", ...CATEGORIES].join("\t"));
  for (const [name, s] of Object.entries(summary)) {
    console.log([name, s.standard, s.reward_low_FP_rate, s.reward_low_FN_rate, s.range, s.counts, s.threshold, ...CATEGORIES.map((c) => s.categories[c])].join("\t"));
  }
  if (argv.series) {
    console.log(["series (standard, seed 1: score:tp/fp/fn)", ...Object.keys(summary)].join("\t"));
    for (const s of corpus) console.log([s.name, ...Object.values(summary).map((x) => x.series[s.name])].join("\t"));
  }
}
