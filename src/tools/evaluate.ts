/**
 * Alerts against ground truth: precision, recall and F1 at line level, and the
 * share of incidents with at least one alert, overall and per incident kind.
 */
import { readFileSync } from "node:fs";

/** One labelled line of a truth file (what `simulate --truth` writes). */
export interface TruthLine {
  line: number;
  kind: string;
  incident: number;
}

/** Figures for one incident kind. */
export interface KindResult {
  incidents: number;
  caught: number;
  lines: number;
  alerted_lines: number;
}

/** What `logforest evaluate` prints. */
export interface Evaluation {
  alerts: number;
  true_alerts: number;
  truth_lines: number;
  precision: number;
  recall: number;
  f1: number;
  incidents: number;
  incidents_caught: number;
  incident_recall: number;
  by_kind: Record<string, KindResult>;
  /** Alerts on unlabelled lines, by rule: where false alerts come from. */
  false_alerts_by_rule: Record<string, number>;
}

/** Score alerts (`line`, optional `rule`) against truth lines; a line counts once however many alerts name it. */
export function evaluate(alerts: ReadonlyArray<{ line: number; rule?: string }>, truth: readonly TruthLine[]): Evaluation {
  const truthByLine = new Map<number, TruthLine>();
  for (const t of truth) truthByLine.set(t.line, t);
  const alertedLines = new Set<number>();
  const caught = new Set<number>();
  const falseByRule: Record<string, number> = {};
  let trueAlerts = 0;
  for (const a of alerts) {
    const t = truthByLine.get(a.line);
    if (t) {
      trueAlerts++;
      alertedLines.add(a.line);
      caught.add(t.incident);
    } else {
      const rule = a.rule ?? "?";
      falseByRule[rule] = (falseByRule[rule] ?? 0) + 1;
    }
  }
  const byKind: Record<string, KindResult> = {};
  const incidentsOfKind = new Map<string, Set<number>>();
  for (const t of truth) {
    const k = (byKind[t.kind] ??= { incidents: 0, caught: 0, lines: 0, alerted_lines: 0 });
    k.lines++;
    if (alertedLines.has(t.line)) k.alerted_lines++;
    let set = incidentsOfKind.get(t.kind);
    if (!set) incidentsOfKind.set(t.kind, (set = new Set()));
    set.add(t.incident);
  }
  for (const [kind, ids] of incidentsOfKind) {
    byKind[kind].incidents = ids.size;
    byKind[kind].caught = [...ids].filter((id) => caught.has(id)).length;
  }
  const incidents = new Set(truth.map((t) => t.incident)).size;
  const precision = alerts.length ? trueAlerts / alerts.length : 0;
  const recall = truthByLine.size ? alertedLines.size / truthByLine.size : 0;
  return {
    alerts: alerts.length,
    true_alerts: trueAlerts,
    truth_lines: truthByLine.size,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    incidents,
    incidents_caught: caught.size,
    incident_recall: incidents ? caught.size / incidents : 0,
    by_kind: byKind,
    false_alerts_by_rule: falseByRule,
  };
}

/** Read a JSON-lines file; a bad line is an error naming the file and line. */
export function readJsonLines<T>(path: string, check: (v: unknown) => v is T, what: string): T[] {
  const out: T[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((text, i) => {
      if (text.trim() === "") return;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        throw new RangeError(`${path} line ${i + 1}: not JSON`);
      }
      if (!check(v)) throw new RangeError(`${path} line ${i + 1}: not ${what}`);
      out.push(v);
    });
  return out;
}

export function isTruthLine(v: unknown): v is TruthLine {
  const t = v as TruthLine;
  return typeof v === "object" && v !== null && Number.isInteger(t.line) && typeof t.kind === "string" && Number.isInteger(t.incident);
}

export function isAlertLike(v: unknown): v is { line: number; rule?: string } {
  return typeof v === "object" && v !== null && Number.isInteger((v as { line: unknown }).line);
}
