/**
 * Sessions on the Hadoop split (issue 20) through the CLI, and the ceiling of any
 * sequence-based detector on that split.
 *
 * 1. Renders `hadoop_train` and the 961 test sessions as log4j lines (each template's
 *    `<*>` a fresh seeded number, the container id at the end), runs
 *    `logforest train --session-key ...` and `logforest detect --alerts`, and scores the
 *    `session` alerts (positive = a session of a run with an injected fault).
 * 2. Computes from the event ids alone what no detector reading event sequences can beat:
 *    the best F1 of an oracle that knows, for every distinct sequence (or count vector),
 *    how many of its sessions are abnormal and flags exactly the sequences that raise F1;
 *    the same oracle when sessions identical to a training session must be called normal;
 *    and flagging everything.
 *
 *   npm run build && node test/perf/hadoop-sessions.mjs [--keep] [--json]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../dist/src/forest/random.js";

const args = process.argv.slice(2);
const data = join(process.env.LOGFOREST_DATA ?? "../shared/data", "sessions/hadoop");
const cli = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;
const KEY = String.raw`in (container_\d+_\d+_\d+_\d+)$`;

const sessions = (name) =>
  readFileSync(join(data, name), "utf8").split("\n").filter((l) => l !== "").map((l) => {
    const [key = "", seq = ""] = l.split(",");
    return { key: key.slice(key.indexOf("/") + 1), events: seq.trim().split(" ").map(Number) };
  });
const templates = readFileSync(join(data, "Hadoop_templates.csv"), "utf8").split("\n").map((l) => l.replace(/\r$/, ""));

function render(list, seed) {
  const rng = new Rng(seed);
  const out = [];
  let t = Date.UTC(2015, 9, 18, 18, 0, 0);
  for (const s of list) {
    for (const e of s.events) {
      const text = (templates[e - 1] ?? `event ${e}`).replace(/<\*>/g, () => String(rng.int(100000)));
      const ts = new Date(t).toISOString().replace("T", " ").replace("Z", "").replace(".", ",");
      out.push(`${ts} INFO [main] org.apache.hadoop.mapreduce.App: ${text} in ${s.key}`);
      t += 1000;
    }
    t += 60_000;
  }
  return out.join("\n") + "\n";
}

const f1 = (tp, fp, positives) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + (positives - tp)));

/** The best F1 over every choice of groups to flag (groups taken by abnormal share, best first). */
function oracle(groups, positives) {
  const list = [...groups.values()].sort((a, b) => b.abnormal / (b.abnormal + b.normal) - a.abnormal / (a.abnormal + a.normal));
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (const g of list) {
    tp += g.abnormal;
    fp += g.normal;
    best = Math.max(best, f1(tp, fp, positives));
  }
  return best;
}

function groupsBy(normal, abnormal, keyOf, skip = () => false) {
  const groups = new Map();
  const add = (s, field) => {
    if (skip(s)) return;
    const k = keyOf(s);
    const g = groups.get(k) ?? { normal: 0, abnormal: 0 };
    g[field]++;
    groups.set(k, g);
  };
  for (const s of normal) add(s, "normal");
  for (const s of abnormal) add(s, "abnormal");
  return groups;
}

const train = sessions("hadoop_train");
const normal = sessions("hadoop_test_normal");
const abnormal = sessions("hadoop_test_abnormal");
const P = abnormal.length;
const seqKey = (s) => s.events.join(" ");
const bagKey = (s) => {
  const c = new Map();
  for (const e of s.events) c.set(e, (c.get(e) ?? 0) + 1);
  return [...c].sort((a, b) => a[0] - b[0]).map(([e, n]) => `${e}x${n}`).join(" ");
};
const trained = new Set(train.map(seqKey));
const bySeq = groupsBy(normal, abnormal, seqKey);
const shared = [...bySeq.values()].filter((g) => g.normal > 0 && g.abnormal > 0);

const dir = mkdtempSync(join(tmpdir(), "logforest-hadoop-"));
writeFileSync(join(dir, "train.log"), render(train, 1));
writeFileSync(join(dir, "test.log"), render([...normal, ...abnormal], 2));
const run = (...a) => execFileSync(process.execPath, [cli, ...a], { encoding: "utf8" });
run("train", "--input", join(dir, "train.log"), "--model", join(dir, "model.json"), "--session-key", KEY);
// Every unusual session an alert of its own (the default groups sessions found unusual for the same reasons).
writeFileSync(join(dir, "rules.json"), JSON.stringify({ sessionAlerts: "each" }));
run("detect", "--input", join(dir, "test.log"), "--model", join(dir, "model.json"), "--rules", join(dir, "rules.json"), "--alerts", join(dir, "alerts.jsonl"));
const flagged = new Set(
  readFileSync(join(dir, "alerts.jsonl"), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)).filter((a) => a.rule === "session").map((a) => a.session),
);
const tp = abnormal.filter((s) => flagged.has(s.key)).length;
const fp = normal.filter((s) => flagged.has(s.key)).length;

const result = {
  sessions_train: train.length,
  sessions_test_normal: normal.length,
  sessions_test_abnormal: P,
  cli_flagged_abnormal: tp,
  cli_flagged_normal: fp,
  cli_precision: tp / Math.max(1, tp + fp),
  cli_recall: tp / P,
  cli_f1: f1(tp, fp, P),
  flag_all_f1: f1(P, normal.length, P),
  distinct_sequences: bySeq.size,
  sequences_shared_by_normal_and_abnormal: shared.length,
  abnormal_sessions_identical_to_a_normal_test_session: shared.reduce((n, g) => n + g.abnormal, 0),
  abnormal_sessions_identical_to_a_training_session: abnormal.filter((s) => trained.has(seqKey(s))).length,
  normal_sessions_identical_to_a_training_session: normal.filter((s) => trained.has(seqKey(s))).length,
  ceiling_f1_any_sequence_detector: oracle(bySeq, P),
  ceiling_f1_any_count_vector_detector: oracle(groupsBy(normal, abnormal, bagKey), P),
  ceiling_f1_training_sessions_normal: oracle(groupsBy(normal, abnormal, seqKey, (s) => trained.has(seqKey(s))), P),
};
if (!args.includes("--keep")) rmSync(dir, { recursive: true, force: true });
else result.dir = dir;
if (args.includes("--json")) console.log(JSON.stringify(result));
else for (const [k, v] of Object.entries(result)) console.log(k.padEnd(56), typeof v === "number" && !Number.isInteger(v) ? v.toFixed(4) : v);
