/**
 * NAB's files as tools/nab-score.ts reads them (test-only: not shipped): the series
 * (`data/<category>/<file>.csv`, `timestamp,value`), the scoring windows
 * (`labels/combined_windows.json`, timestamps) and a detector's per-row results as NAB
 * ships them (`results/<detector>/<category>/<detector>_<file>.csv`, `anomaly_score`
 * the third column).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NabWindow } from "./nab-score.js";

/** One NAB series with its windows as row indices. */
export interface NabDataSeries {
  /** `<category>/<file>.csv`, as in NAB's label files. */
  name: string;
  category: string;
  timestamps: Float64Array;
  values: Float64Array;
  /** The series' CSV lines, header first, as read. */
  lines: string[];
  windows: NabWindow[];
}

/** Epoch ms of a NAB timestamp (`2014-04-10 07:15:00` or with `.000000`), read as UTC. */
export function nabTime(s: string): number {
  const t = Date.parse(`${s.trim().slice(0, 19).replace(" ", "T")}Z`);
  if (Number.isNaN(t)) throw new RangeError(`not a NAB timestamp: ${JSON.stringify(s)}`);
  return t;
}

/** Every series named in `labels/combined_windows.json` under `dir`, in the file's order. */
export function loadNabCorpus(dir: string): NabDataSeries[] {
  const windows = JSON.parse(readFileSync(join(dir, "labels", "combined_windows.json"), "utf8")) as Record<string, [string, string][]>;
  return Object.entries(windows).map(([name, ws]) => {
    const lines = readFileSync(join(dir, "data", name), "utf8").split("\n").filter((l) => l.trim() !== "");
    const n = lines.length - 1;
    const timestamps = new Float64Array(n);
    const values = new Float64Array(n);
    const rowOf = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const comma = lines[i + 1].indexOf(",");
      timestamps[i] = nabTime(lines[i + 1].slice(0, comma));
      values[i] = Number(lines[i + 1].slice(comma + 1));
      rowOf.set(timestamps[i], i);
    }
    const row = (ts: string) => {
      const r = rowOf.get(nabTime(ts));
      if (r === undefined) throw new RangeError(`${name}: window bound ${ts} is not a row's timestamp`);
      return r;
    };
    return { name, category: name.split("/")[0], timestamps, values, lines, windows: ws.map(([a, b]) => ({ start: row(a), end: row(b) })) };
  });
}

/** A detector's per-row anomaly scores for one series, from NAB's results folder under `dir`. */
export function loadNabResults(dir: string, detector: string, name: string): Float64Array {
  const [category, file] = name.split("/");
  const lines = readFileSync(join(dir, "results", detector, category, `${detector}_${file}`), "utf8").split("\n").filter((l) => l.trim() !== "");
  const col = lines[0].split(",").indexOf("anomaly_score");
  if (col < 0) throw new RangeError(`${detector} results for ${name} have no anomaly_score column`);
  return Float64Array.from(lines.slice(1), (l) => Number(l.split(",")[col]));
}
