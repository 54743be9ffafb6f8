/**
 * Template matching speed (issue 20): the miner learns the nine Loghub samples, then
 * matches 1M messages of those known templates, each a real line with every digit
 * redrawn (seeded), so no raw line repeats but the templates are known; one thread.
 * Also: learning over the same 1M (the fast path plus new masked forms), the whole
 * read+learn path (`parseFile`, header shape included) on a 1M-line HDFS-like file, and
 * the detector judging that file (trained on its first 100,000 lines; lines in memory).
 *   npm run build && node test/perf/text-speed.mjs [--lines 1000000] [--write-hdfs /tmp/hdfs_1m.log] [--json]
 * Drain (Python, logpai/logparser) is not part of the package: measure it beside this
 * with a local copy run from /tmp on the file written by --write-hdfs (see docs/free-text.md).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Rng } from "../../dist/src/forest/random.js";
import { TemplateMiner } from "../../dist/src/streams/text/miner.js";
import { TextReader, firstLine } from "../../dist/src/streams/text/reader.js";
import { parseFile } from "../../dist/src/streams/text/patterns.js";
import { readLineBatches } from "../../dist/src/streams/lines.js";
import { trainText } from "../../dist/src/streams/text/train.js";
import { TextDetector } from "../../dist/src/streams/text/detect.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(opt("lines", "1000000"));
const hdfsOut = opt("write-hdfs", "/tmp/logforest-hdfs-1m.log");
const dir = join(process.env.LOGFOREST_DATA ?? "../shared/data", "logs/loghub");
const systems = ["HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Android", "Apache", "OpenSSH"];
const rng = new Rng(20);
/** `s` with every digit redrawn. */
const redraw = (s) => s.replace(/\d/g, () => String(Math.floor(rng.next() * 10)));

const linesOf = (s) => readFileSync(join(dir, `${s}_2k.log`), "utf8").split("\n").filter((l) => l !== "").map((l) => l.replace(/\r$/, ""));
const messages = [];
for (const s of systems) {
  const lines = linesOf(s);
  const reader = TextReader.detect(lines.slice(0, 200), { year: 2026 });
  lines.forEach((l, i) => reader.push(l, i + 1, (rec) => messages.push(firstLine(rec.message))));
  reader.flush((rec) => messages.push(firstLine(rec.message)));
}
const miner = new TemplateMiner();
for (const m of messages) miner.learn(m);
const probe = Array.from({ length: N }, (_, i) => redraw(messages[i % messages.length]));

const time = (fn) => {
  const t0 = performance.now();
  const r = fn();
  return [performance.now() - t0, r];
};
let unmatched = 0;
const [matchMs] = time(() => {
  for (const m of probe) if (miner.match(m) === null) unmatched++;
});
const before = miner.templates().length;
const [learnMs] = time(() => {
  for (const m of probe) miner.learn(m);
});

const hdfs = linesOf("HDFS");
// Digits redrawn in the message only: the header's times stay in order, as a real file's.
const redrawMessage = (l) => {
  const cut = l.indexOf(": ");
  return cut < 0 ? redraw(l) : l.slice(0, cut + 2) + redraw(l.slice(cut + 2));
};
writeFileSync(hdfsOut, `${Array.from({ length: N }, (_, i) => redrawMessage(hdfs[i % hdfs.length])).join("\n")}\n`);
// Read + learn, as detection would (no per-line labels kept).
let t0 = performance.now();
const fileMiner = new TemplateMiner();
let reader = null;
const onRecord = (rec) => fileMiner.learn(firstLine(rec.message));
await readLineBatches(hdfsOut, (lines, first) => {
  reader ??= TextReader.detect(lines.slice(0, 200), { year: 2026 });
  for (let i = 0; i < lines.length; i++) reader.push(lines[i], first + i, onRecord);
});
reader.flush(onRecord);
const readLearnMs = performance.now() - t0;
// `logforest patterns`' path: the same plus a label per line.
t0 = performance.now();
const result = await parseFile(hdfsOut, { year: 2026 });
const fileMs = performance.now() - t0;

// The detection path: trained on the first 100,000 lines, then every line of the file judged.
const fileLines = readFileSync(hdfsOut, "utf8").split("\n");
fileLines.pop();
const model = trainText(fileLines.slice(0, 100_000), { year: 2026 });
const detector = new TextDetector(model);
let alerts = 0;
t0 = performance.now();
for (let i = 0; i < fileLines.length; i += 8192) detector.processBatch(hdfsOut, fileLines.slice(i, i + 8192), i + 1, () => alerts++);
detector.finish(() => alerts++);
const detectMs = performance.now() - t0;

const out = {
  lines: N,
  match_lines_per_s: Math.round(N / (matchMs / 1000)),
  unmatched,
  learn_lines_per_s: Math.round(N / (learnMs / 1000)),
  templates_before: before,
  templates_after: miner.templates().length,
  read_learn_file_lines_per_s: Math.round(N / (readLearnMs / 1000)),
  patterns_file_lines_per_s: Math.round(N / (fileMs / 1000)),
  detect_lines_per_s: Math.round(N / (detectMs / 1000)),
  detect_alerts: alerts,
  file: hdfsOut,
  file_templates: result.templates.size,
};
if (args.includes("--json")) console.log(JSON.stringify(out));
else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(30)} ${typeof v === "number" ? v.toLocaleString("en-US") : v}`);
