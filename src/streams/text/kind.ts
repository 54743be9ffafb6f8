/**
 * The free-text stream kind (registered in ../kinds.ts): application logs a person wrote
 * (log4j, Python logging, syslog, sshd, HDFS, ...), read through the one run loop like the
 * other kinds. A text model travels in the one model file: the window forest's trees (a
 * placeholder tree when training had too few windows for a forest) with everything else
 * (miner state, profiles, sessions) in `metadata.text`.
 */
import { IsolationForest } from "../../forest/forest.js";
import { countAlert, zeroCounts, type AlertReason, type RunCounts, type ScoredBatch } from "../counts.js";
import type { DetectorSettings, ModelDescription, StreamAlert, StreamDetector, StreamKind, StreamSummary } from "../stream.js";
import { rulesGiven } from "../stream.js";
import { TextDetector, type TextAlert, type TextRule } from "./detect.js";
import { templateText, type Template } from "./miner.js";
import { textModelFromJson } from "./model-file.js";
import { TextReader } from "./reader.js";
import type { Level } from "./record.js";
import type { TextRuleKeys } from "../text-rules.js";
import type { TextModel } from "./train.js";

/** A free-text alert as the run writes it: the common fields, the template in `record`, what changed as its reason. */
export interface TextStreamAlert extends StreamAlert {
  record: { ts: string | null; template: string | null; template_id: string | null; level: Level | null; usual: string; now: string };
  reasons: AlertReason[];
  /** The session's key, for a session alert. */
  session?: string;
}

/** A free-text run's summary: the common counts and the miner's. */
export interface TextStreamSummary extends StreamSummary {
  records: number;
  templates: number;
  new_templates: number;
  /** Findings below the alert severity, counted only. */
  below_severity: number;
  /** Sessions judged unusual, alerted or grouped into an earlier alert of the same reasons. */
  sessions_flagged: number;
  /** Alerts on templates the rules mute, counted only. */
  muted: number;
  warnings: string[];
}

/** The model in the one model file's shape (see the file comment). */
export function textForest(model: TextModel): IsolationForest {
  const forest = model.forest === null
    ? IsolationForest.fit([[0], [1]], { trees: 1, sampleSize: 2, seed: 0 })
    : IsolationForest.fromBytes(model.forest.bytes);
  const meta = { ...model, forest: model.forest === null ? null : { templateIds: model.forest.templateIds, calibration: model.forest.calibration } };
  forest.metadata = { text: meta };
  return forest;
}

/** The text model inside a model file, checked (a ModelFileError names what is wrong). */
export function textModelOf(forest: IsolationForest): TextModel {
  const meta = forest.metadata.text as Record<string, unknown> & { forest: Record<string, unknown> | null };
  // The trees are the window forest's: its bytes are the file's own.
  const withBytes = { ...meta, forest: meta.forest === null ? null : { ...meta.forest, bytes: Buffer.from(forest.toBytes()).toString("base64") } };
  return textModelFromJson(JSON.stringify(withBytes));
}

/** A TextDetector as the run loop sees a detector. */
class TextStream implements StreamDetector<TextStreamAlert, TextStreamSummary> {
  private readonly detector: TextDetector;
  private readonly model: TextModel;
  private readonly live: RunCounts = zeroCounts();
  private readonly scored: ScoredRecords | null;

  constructor(public forest: IsolationForest, settings: DetectorSettings) {
    this.model = textModelOf(forest);
    const save = settings.retrain?.save;
    this.scored = settings.onScored === undefined ? null : new ScoredRecords(this.model.timed, settings.onScored);
    const scored = this.scored;
    const rules = (typeof settings.rules === "object" && settings.rules !== null ? settings.rules : {}) as { minSeverity?: number; sessionAlerts?: "grouped" | "each"; text?: TextRuleKeys };
    // A rules file resolved with access logs' defaults: the text detector's own minSeverity unless the file set one.
    const given = rulesGiven(settings.rules);
    const minSeverity = given === null || given.includes("minSeverity") ? rules.minSeverity : undefined;
    this.detector = new TextDetector(this.model, {
      ...(minSeverity !== undefined ? { minSeverity } : {}),
      ...(rules.sessionAlerts !== undefined ? { sessionAlerts: rules.sessionAlerts } : {}),
      ...(rules.text?.mute !== undefined ? { mute: rules.text.mute } : {}),
      ...(rules.text?.disable !== undefined ? { disable: rules.text.disable } : {}),
      ...(rules.text?.cooldownWindows !== undefined ? { cooldownWindows: rules.text.cooldownWindows } : {}),
      ...(settings.retrain !== undefined ? { retrain: settings.retrain } : {}),
      ...(scored !== null ? { onLine: (file: string, line: number, at: number, t: Template, level: Level, score: number) => scored.add(file, line, at, t, level, score) } : {}),
      onRefresh: (report) => {
        // The model in use, in the one model file's shape; replaced atomically on disk when asked.
        this.forest = textForest(this.detector.model);
        if (save !== undefined) this.forest.save(save);
        this.live.retrain.refreshes++;
        this.live.retrain.generation = report.generation;
      },
    });
  }

  get featureNames(): readonly string[] {
    const ids = this.model.forest?.templateIds ?? [];
    return [...ids.map((id) => `template_${id}`), "other", "new", "info_or_less", "warn", "error_or_worse", "total"];
  }

  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: TextStreamAlert) => void): void {
    this.detector.processBatch(file, lines, lineNo, (a) => emit(this.alert(a)));
    this.live.lines_read += lines.length;
    this.live.lines_scored += lines.length;
    this.scored?.flush(file);
  }

  endOfInput(emit: (a: TextStreamAlert) => void): void {
    this.detector.finish((a) => emit(this.alert(a)));
    for (const file of this.scored?.files ?? []) this.scored?.flush(file);
  }

  private alert(a: TextAlert): TextStreamAlert {
    countAlert(this.live, a.rule, a.severity);
    const t = a.template;
    const out: TextStreamAlert = {
      line: a.line, file: a.file, ts: a.ts, score: Math.round(a.severity * 10) / 1000, severity: a.severity, rule: a.rule,
      record: { ts: a.ts, template: t?.text ?? null, template_id: t?.id ?? null, level: t?.level ?? null, usual: a.usual, now: a.now },
      reasons: [{ feature: a.rule, share: 1, text: `${RULE_TEXT[a.rule]}: ${a.now} (usual: ${a.usual})` }],
    };
    if (a.session !== undefined) out.session = a.session;
    return out;
  }

  summary(): TextStreamSummary {
    const s = this.detector.summary();
    return { ...structuredClone(this.live), records: s.records, templates: s.templates, new_templates: s.new_templates, below_severity: s.below_severity, sessions_flagged: s.sessions_flagged, muted: s.muted, warnings: [] };
  }

  counts(): RunCounts {
    return this.live;
  }

  /** A free-text line's score is the severity / 100 of what was found on it (see ScoredRecords). */
  severity(score: number): number {
    return Math.round(score * 1000) / 10;
  }

  describe(): ModelDescription {
    return { kind: "text", format: this.model.shape, severityScores: { "50": 0.5, "75": 0.75, "90": 0.9 }, routes: Object.keys(this.model.profiles).length };
  }
}

/**
 * The records of a free-text run as the dashboard and `--scores` take scored lines: one
 * row per record (a stack trace's lines are its first line's record) at its line's time,
 * its template as the "route" (`E12 Order <*> completed in <*> ms`), ERROR/FATAL as
 * status 500 and WARN as 400 (so the error column counts error lines), no latency, and
 * its score: the severity / 100 of a new template or a parameter out of range on it, else
 * 0 (window and session findings are alerts, not line scores).
 */
class ScoredRecords {
  private readonly names: string[] = [];
  private readonly routeOf = new Map<number, number>();
  private readonly rows = new Map<string, { line: number[]; seconds: number[]; route: number[]; status: number[]; score: number[] }>();
  constructor(private readonly timed: boolean, private readonly onScored: (b: ScoredBatch) => void) {}

  get files(): string[] {
    return [...this.rows.keys()];
  }

  /** One judged record of `file`. */
  add(file: string, line: number, at: number, t: Template, level: Level, score: number): void {
    let route = this.routeOf.get(t.id);
    if (route === undefined) {
      route = this.names.length;
      this.routeOf.set(t.id, route);
      const text = templateText(t);
      this.names.push(`E${t.id} ${text.length > 100 ? `${text.slice(0, 99)}…` : text}`);
    }
    let r = this.rows.get(file);
    if (r === undefined) {
      r = { line: [], seconds: [], route: [], status: [], score: [] };
      this.rows.set(file, r);
    }
    r.line.push(line);
    r.seconds.push(this.timed ? at / 1000 : Number.NaN);
    r.route.push(route);
    r.status.push(level === "ERROR" || level === "FATAL" ? 500 : level === "WARN" ? 400 : 200);
    r.score.push(score);
  }

  /** Hand over `file`'s records so far as one batch. */
  flush(file: string): void {
    const r = this.rows.get(file);
    if (r === undefined || r.line.length === 0) return;
    this.rows.delete(file);
    const n = r.line.length;
    this.onScored({
      file, count: n, lineNo: Int32Array.from(r.line), seconds: Float64Array.from(r.seconds), route: Int32Array.from(r.route),
      latencyMs: new Float64Array(n).fill(Number.NaN), status: Float64Array.from(r.status), scores: Float64Array.from(r.score),
      routeNames: this.names, skipped: [],
    });
  }
}

const RULE_TEXT: Readonly<Record<TextRule, string>> = {
  new_template: "a template never seen in training",
  param_range: "a parameter outside its learned range",
  rate_spike: "a template's rate spiked",
  rate_drop: "a template's rate dropped",
  heartbeat_stopped: "a regular template stopped",
  level_burst: "a burst of warnings and errors",
  forest: "an unusual mix of templates",
  session: "an unusual session",
};

/** Free-text application logs; see docs/free-text.md. */
export const textKind: StreamKind = {
  name: "text",
  reads: "free-text application logs (log4j/logback, Python logging, syslog, sshd, HDFS, Spark, ...)",
  accepts: (model: IsolationForest) => typeof model.metadata.text === "object" && model.metadata.text !== null,
  trainedOn: (model: IsolationForest) => `a free-text log (${String((model.metadata.text as { shape?: unknown }).shape)})`,
  recognise(sample: readonly string[]): string | null {
    const name = TextReader.detect(sample).name;
    return name === "plain" ? null : `is a free-text log (${name})`;
  },
  check(s: DetectorSettings): void {
    for (const [option, given] of [["--format", s.format !== undefined && s.format !== "auto"], ["--field", s.fields !== undefined], ["--adapt-every", (s.adaptEvery ?? 0) !== 0]] as const) {
      if (given) throw new RangeError(`${option} does not apply to a free-text model (its reader finds each file's header itself; it keeps learning with --retrain)`);
    }
  },
  create: (model: IsolationForest, s: DetectorSettings) => new TextStream(model, s),
  owns: (a: StreamAlert) => "template" in a.record,
  alertText(alert: StreamAlert): string {
    const r = (alert as TextStreamAlert).record;
    const session = (alert as TextStreamAlert).session;
    return `${r.level || "-"}  ${r.template ?? (session !== undefined ? "(session)" : "(window)")}${session !== undefined ? `  session ${session}` : ""}`;
  },
  dashboard: { window: "short", selects: "route" },
};
