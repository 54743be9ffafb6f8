/**
 * Grouping accuracy of logforest's template miner on Loghub's 2k samples, no per-system
 * settings: `node test/perf/loghub-ga.mjs [DIR]` (DIR defaults to $LOGFOREST_DATA/logs/loghub;
 * build first). Prints one row per system and the mean; `--errors` lists the worst groups.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseLoghub } from "../../dist/src/streams/text/loghub.js";
import { groupingAccuracy } from "../../dist/src/streams/text/grouping.js";
import { parseLines } from "../../dist/src/streams/text/patterns.js";

const args = process.argv.slice(2);
const showErrors = args.includes("--errors");
const dir = args.find((a) => !a.startsWith("--")) ?? join(process.env.LOGFOREST_DATA ?? "../shared/data", "logs/loghub");
const systems = readdirSync(dir).filter((f) => f.endsWith("_2k.log")).map((f) => f.replace("_2k.log", "")).sort();
let sum = 0;
console.log("| system | lines | true templates | found | GA |\n|---|---|---|---|---|");
for (const s of systems) {
  const lines = readFileSync(join(dir, `${s}_2k.log`), "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  const truth = parseLoghub(readFileSync(join(dir, `${s}_2k.log_structured.csv`), "utf8"));
  const result = parseLines(lines);
  const ids = result.rows.map((r) => r.eventId);
  const ga = groupingAccuracy(truth.map((r) => r.EventId), ids);
  sum += ga;
  console.log(`| ${s} | ${lines.length} | ${new Set(truth.map((r) => r.EventId)).size} | ${new Set(ids).size} | ${ga.toFixed(4)} |`);
  if (showErrors) {
    const byParsed = new Map();
    ids.forEach((id, i) => { const g = byParsed.get(id) ?? []; g.push(i); byParsed.set(id, g); });
    const byTrue = new Map();
    truth.forEach((r, i) => { const g = byTrue.get(r.EventId) ?? []; g.push(i); byTrue.set(r.EventId, g); });
    for (const [ev, idx] of byTrue) {
      const parts = new Set(idx.map((i) => ids[i]));
      const mixed = [...parts].some((p) => byParsed.get(p).some((i) => truth[i].EventId !== ev));
      if (parts.size > 1 || mixed) {
        console.log(`   ${ev} (${idx.length}) ${truth[idx[0]].EventTemplate}`);
        for (const p of [...parts].slice(0, 4)) console.log(`      -> ${p} (${byParsed.get(p).length}) ${result.templates.get(p)}`);
      }
    }
  }
}
console.log(`| mean | | | | ${(sum / systems.length).toFixed(4)} |`);
