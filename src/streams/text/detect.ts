/**
 * Detection on a free-text log against a trained TextModel, as a library with the
 * run loop's detector shape (processBatch, summary, severity). Per line: a template
 * never seen in training (severity by its level; one alert per template per cooldown,
 * so a burst is one alert) and a numeric parameter outside its learned range. Per
 * window, once it has closed: a template's rate spiking or dropping, a heartbeat that
 * stopped (a regular template missing for several of its usual gaps), a burst of
 * warn/error lines, and the Isolation Forest over the window's counts. Templates are
 * learned on during detection too (new ones get new ids).
 */
import { IsolationForest } from "../../forest/forest.js";
import { severityOf } from "../severity.js";
import { TemplateMiner, templateText, type Template } from "./miner.js";
import { numericValue, type ParamRange, type TemplateProfile } from "./profile.js";
import { TextReader, firstLine } from "./reader.js";
import type { Level, TextRecord } from "./record.js";
import type { RefreshReport, RetrainOptions } from "../retrain.js";
import { TextRetrainer } from "./retrain.js";
import { muteMatcher, TEXT_RULES, type TextRule } from "../text-rules.js";
import { keyRegex, SessionTracker, type SessionVerdict } from "./sessions.js";
import { WindowClock, levelColumn, recordLevel, sessionKeyOf, windowRow, type TextModel } from "./train.js";

/** What an alert found. */
export type { TextRule } from "../text-rules.js";

/** One alert of the free-text detector. */
export interface TextAlert {
  kind: "text";
  rule: TextRule;
  file: string;
  /** Line number of the line that raised it (for a window: the first line after it closed). */
  line: number;
  /** ISO time of the line or window, null when the log has no times. */
  ts: string | null;
  /** 0-100. */
  severity: number;
  /** The template concerned, if one. */
  template: { id: string; text: string; level: Level } | null;
  /** What is usual, in words (`about 2.1 lines per window`, `values 3..18`). */
  usual: string;
  /** What changed, in words. */
  now: string;
  /** The session's key, for a session alert. */
  session?: string;
}

/** Options of a TextDetector. */
export interface TextDetectOptions {
  /** Alerts below this severity are counted, not emitted (default 60: a new INFO template is counted only). */
  minSeverity?: number;
  /** Windows during which the same rule on the same template alerts once (default 10). */
  cooldownWindows?: number;
  /**
   * `grouped` (the default): sessions found unusual for the same reasons (the same unseen
   * templates, transitions and missing steps) alert once per cooldown, the rest counted in
   * `sessions_flagged`; `each`: every unusual session is an alert (an audit of sessions).
   */
  sessionAlerts?: "grouped" | "each";
  /** Templates whose alerts are counted (`muted`), not emitted: `E12`, `/regex/` on the text, or text it contains (see rules.ts). */
  mute?: readonly string[];
  /** Rules not run. */
  disable?: readonly TextRule[];
  /** Keep learning from recent normal lines and windows (see retrain.ts). */
  retrain?: Partial<RetrainOptions>;
  /** Called after each retraining refresh (the new model is `model`). */
  onRefresh?: (report: RefreshReport) => void;
  /**
   * Called for each record once judged: its file and line, time (ms, or its index when the log has
   * no times), template and level, and its score: the severity / 100 of the strongest
   * line finding on it (a new template, a parameter out of range; below the alert
   * severity too), 0 when none.
   */
  onLine?: (file: string, line: number, at: number, t: Template, level: Level, score: number) => void;
}

/** The detector's summary. */
export interface TextDetectSummary {
  kind: "text";
  lines: number;
  records: number;
  alerts: number;
  by_rule: Partial<Record<TextRule, number>>;
  /** Alerts found below minSeverity, not emitted. */
  below_severity: number;
  new_templates: number;
  templates: number;
  /** Sessions judged unusual, alerted or not (grouped sessions alert once per cooldown). */
  sessions_flagged: number;
  /** Alerts on a muted template (the rules' `mute`), counted, not emitted. */
  muted: number;
}

/** One numeric parameter's learned range, widened by its own width. */
interface ParamCheck {
  pos: number;
  r: ParamRange;
  span: number;
}

/** Whitespace as `split(/\s+/)` splits on it for log text: space, tab, CR, LF, VT, FF. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

const NEW_SEVERITY: Readonly<Record<Level, number>> = { "": 55, TRACE: 40, DEBUG: 45, INFO: 55, NOTICE: 60, WARN: 75, ERROR: 90, FATAL: 95 };

/** Detects on free-text lines; see the file comment. */
export class TextDetector {
  private readonly miner: TemplateMiner;
  private profiles: Map<number, TemplateProfile>;
  private readonly clock: WindowClock;
  private readonly readers = new Map<string, TextReader>();
  private forest: IsolationForest | null;
  private readonly minSeverity: number;
  private readonly cooldown: number;
  private readonly sessionAlerts: "grouped" | "each";
  private readonly lastSeen = new Map<number, number>();
  private readonly alerted = new Map<string, number>(); // rule:template -> window
  private readonly counts = new Map<number, number>();
  private readonly levels = [0, 0, 0];
  private readonly stopped = new Set<number>();
  private window = Number.NaN;
  private start = Number.NaN;
  private fresh = 0;
  private index = 0;
  private readonly stats: TextDetectSummary = { kind: "text", lines: 0, records: 0, alerts: 0, by_rule: {}, below_severity: 0, new_templates: 0, templates: 0, sessions_flagged: 0, muted: 0 };
  private file = "";
  private line = 0;
  private emit: (a: TextAlert) => void = () => undefined;
  private readonly sessions: SessionTracker | null;
  private readonly keyRe: RegExp | null;
  private now = 0;
  private readonly checks = new Map<number, ParamCheck[]>();
  private readonly retrainer: TextRetrainer | null;
  private readonly onRefresh: ((report: RefreshReport) => void) | undefined;
  private readonly onLine: TextDetectOptions["onLine"];
  private readonly mutes: ((id: string, text: string) => boolean)[];
  private readonly muteOf = new Map<number, boolean>();
  private readonly off: ReadonlySet<TextRule>;
  private lineScore = 0;
  private readonly paramValues: number[] = [];

  constructor(private current: TextModel, options: TextDetectOptions = {}) {
    const model = current;
    this.minSeverity = options.minSeverity ?? 60;
    this.cooldown = options.cooldownWindows ?? 10;
    if (!(this.minSeverity >= 0 && this.minSeverity <= 100)) throw new RangeError(`minSeverity must be in [0, 100], got ${this.minSeverity}`);
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0) throw new RangeError(`cooldownWindows must be an integer >= 0, got ${this.cooldown}`);
    this.sessionAlerts = options.sessionAlerts ?? "grouped";
    if (this.sessionAlerts !== "grouped" && this.sessionAlerts !== "each") throw new RangeError(`sessionAlerts must be "grouped" or "each", got ${JSON.stringify(this.sessionAlerts)}`);
    this.miner = TemplateMiner.fromState(model.miner);
    this.profiles = new Map(Object.entries(model.profiles).map(([id, p]) => [Number(id), p]));
    this.clock = new WindowClock(model.timed, model.windowMs, model.windowLines);
    this.forest = model.forest === null ? null : IsolationForest.fromBytes(model.forest.bytes);
    this.sessions = model.sessions === null ? null : new SessionTracker(model.sessions, this.onSession);
    this.keyRe = model.sessions === null ? null : keyRegex(model.sessions.keyPattern);
    this.retrainer = options.retrain === undefined ? null : new TextRetrainer(options.retrain, this.forest);
    this.onRefresh = options.onRefresh;
    this.onLine = options.onLine;
    this.mutes = (options.mute ?? []).map((m) => muteMatcher(m));
    const unknown = (options.disable ?? []).find((r) => !(TEXT_RULES as readonly string[]).includes(r));
    if (unknown !== undefined) throw new RangeError(`disable must list text rules (${TEXT_RULES.join(", ")}), got ${JSON.stringify(unknown)}`);
    this.off = new Set(options.disable ?? []);
  }

  /** The model in use (a new generation after each retraining refresh). */
  get model(): TextModel {
    return this.current;
  }

  /** Read a batch of lines of `file` (numbered from `lineNo`), emitting alerts. */
  processBatch(file: string, lines: readonly string[], lineNo: number | ArrayLike<number>, emit: (a: TextAlert) => void): void {
    this.emit = emit;
    let reader = this.readers.get(file);
    if (reader === undefined) {
      reader = TextReader.detect(lines.slice(0, 200));
      this.readers.set(file, reader);
    }
    this.file = file;
    const r = this.retrainer;
    if (r === null) {
      this.read(reader, lines, lineNo, 0, lines.length);
      return;
    }
    // Refreshes come between parts of `everyLines` lines, whatever the batch size.
    for (let from = 0; from < lines.length; from += r.opts.everyLines) {
      const to = Math.min(lines.length, from + r.opts.everyLines);
      this.read(reader, lines, lineNo, from, to);
      if (r.tick(to - from)) this.refresh(r);
    }
  }

  /** Lines [from, to) of a batch through the file's reader. */
  private read(reader: TextReader, lines: readonly string[], lineNo: number | ArrayLike<number>, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const n = typeof lineNo === "number" ? lineNo + i : (lineNo[i] ?? 0);
      reader.push(lines[i] ?? "", n, this.onRecord);
      this.stats.lines++;
    }
  }

  /** A retraining refresh: the next generation of the model, taken in use at once. */
  private refresh(r: TextRetrainer): void {
    const { model, report } = r.refresh(this.current, this.forest, this.miner);
    if (model.forest !== this.current.forest && model.forest !== null) {
      this.forest?.close();
      this.forest = IsolationForest.fromBytes(model.forest.bytes);
    }
    this.current = model;
    this.profiles = new Map(Object.entries(model.profiles).map(([id, p]) => [Number(id), p]));
    this.checks.clear();
    this.onRefresh?.(report);
  }

  /** End of input: the last record and the last window are judged. */
  finish(emit: (a: TextAlert) => void): void {
    this.emit = emit;
    for (const [file, r] of this.readers) {
      this.file = file;
      r.flush(this.onRecord);
    }
    // The last window ends with the input, before its time: judged on what can only grow.
    if (!Number.isNaN(this.window)) this.closeWindow(this.window, true);
    this.sessions?.closeAll(this.now);
  }

  /** Counts so far. */
  summary(): TextDetectSummary {
    return { ...this.stats, by_rule: { ...this.stats.by_rule }, templates: this.miner.templates().length };
  }

  /** Severity 0-100 of a window forest score (calibrated on training windows). */
  severity(score: number): number {
    return this.model.forest === null ? Math.round(score * 1000) / 10 : severityOf(this.model.forest.calibration, score);
  }

  private readonly onRecord = (rec: TextRecord, line: number): void => {
    this.stats.records++;
    this.line = line;
    const at = this.clock.at(rec.ts, this.index++);
    if (Number.isNaN(this.start)) this.start = at;
    const w = this.clock.window(at);
    if (Number.isNaN(this.window)) this.window = w;
    if (w > this.window) {
      // Judge every window that ended, empty ones too (up to a day's worth of them).
      for (let x = this.window; x < w && x < this.window + 1440; x++) this.closeWindow(x);
      this.window = w;
    }
    this.lineScore = 0;
    const msg = firstLine(rec.message);
    const t = this.miner.learn(msg);
    const level = recordLevel(rec);
    this.counts.set(t.id, (this.counts.get(t.id) ?? 0) + 1);
    this.levels[levelColumn(level)] = (this.levels[levelColumn(level)] ?? 0) + 1;
    this.lastSeen.set(t.id, at);
    this.stopped.delete(t.id);
    this.now = at;
    if (this.sessions !== null && this.keyRe !== null) {
      const key = sessionKeyOf(this.keyRe, rec);
      if (key !== null) this.sessions.add(key, t.id, at);
    }
    const p = this.profiles.get(t.id);
    if (p === undefined) {
      this.fresh++;
      if (this.cool("new_template", t.id)) {
        this.stats.new_templates++;
        this.raise("new_template", NEW_SEVERITY[level], at, t, level, "not seen in training", `first line: ${msg.slice(0, 200)}`);
      }
    } else {
      const checks = this.paramChecks(t.id, p);
      if (checks.length > 0) this.checkParams(t, p, checks, msg, at);
    }
    this.retrainer?.offerLine(t, level, at, msg);
    this.onLine?.(this.file, line, at, t, level, this.lineScore);
  };

  /** A template's parameter ranges as a list by position, made once per template. */
  private paramChecks(id: number, p: TemplateProfile): readonly ParamCheck[] {
    let c = this.checks.get(id);
    if (c === undefined) {
      c = Object.entries(p.params)
        .map(([pos, r]) => ({ pos: Number(pos), r, span: Math.max(r.hi - r.lo, Math.abs(r.hi) * 0.5, 1) }))
        .sort((a, b) => a.pos - b.pos);
      this.checks.set(id, c);
    }
    return c;
  }

  /** A numeric parameter outside its learned range, widened by the range's own width. */
  private checkParams(t: Template, p: TemplateProfile, checks: readonly ParamCheck[], msg: string, at: number): void {
    // The message's whitespace tokens, read in place: only the checked positions are sliced.
    const values = this.paramValues;
    values.length = 0;
    let k = 0;
    let tok = 0;
    const n = msg.length;
    for (let i = 0; i < n;) {
      while (i < n && isSpace(msg.charCodeAt(i))) i++;
      if (i >= n) break;
      let end = i + 1;
      while (end < n && !isSpace(msg.charCodeAt(end))) end++;
      if (k < checks.length && checks[k]?.pos === tok) {
        values.push(numericValue(msg.slice(i, end)));
        k++;
      }
      tok++;
      i = end;
    }
    if (tok !== t.tokens.length) return;
    for (let x = 0; x < checks.length; x++) {
      const { pos, r, span } = checks[x] as ParamCheck;
      const v = values[x] ?? Number.NaN;
      if (Number.isNaN(v) || (v >= r.lo - span && v <= r.hi + span)) continue;
      if (!this.cool(`param_range:${pos}`, t.id)) continue;
      const far = Math.min(1, Math.abs(v > r.hi ? v - r.hi : r.lo - v) / (10 * span));
      this.raise("param_range", 70 + 25 * far, at, t, p.level, `parameter ${pos + 1} in ${r.lo}..${r.hi} (${r.n} values)`, `${v}`);
    }
  }


  /** Judge window `w` and reset its counts. */
  private closeWindow(w: number, partial = false): void {
    // A partial window (the input ended in it) ends at the last line: no drop, no forest
    // verdict on its counts, a heartbeat's quiet time measured to the last line.
    const end = partial ? this.now : (w + 1) * (this.model.timed ? this.model.windowMs : this.model.windowLines);
    for (const [id, p] of this.profiles) this.checkRate(id, p, this.counts.get(id) ?? 0, end, partial);
    this.checkWarn(end);
    if (!partial) {
      this.checkForest(end);
      this.retrainer?.offerWindow(this.counts, this.levels);
    }
    // At the end of input the last window's end lies past the last line: sessions are idle by the last line's time.
    this.sessions?.sweep(Math.min(end, this.now));
    this.counts.clear();
    this.levels.fill(0);
    this.fresh = 0;
  }

  /** A template's count far above or below its usual one, or a heartbeat gone quiet. */
  private checkRate(id: number, p: TemplateProfile, c: number, end: number, partial: boolean): void {
    const sd = Math.sqrt(Math.max(p.variance, p.mean, 1));
    const z = (c - p.mean) / sd;
    const usual = `about ${p.mean.toFixed(2)} lines per window`;
    // Twice training's own busiest window at least: a bursty template's bursts are usual.
    if (c >= 2 * p.mean + 5 && c >= 2 * p.peak && z >= 6) {
      if (this.cool("rate_spike", id)) this.raise("rate_spike", Math.min(95, 60 + 3 * z), end, this.template(id), p.level, usual, `${c} lines in the window`);
    } else if (!partial && p.mean >= 10 && c <= p.mean / 4 && z <= -4) {
      if (this.cool("rate_drop", id)) this.raise("rate_drop", Math.min(90, 60 - 3 * z), end, this.template(id), p.level, usual, `${c} lines in the window`);
    }
    // A heartbeat: 10+ lines over most of training, every gap within 3x the median one.
    if (p.lines < 10 || p.gapMedian <= 0 || p.gapMax > 3 * p.gapMedian || p.span < 0.5 * this.model.span || this.stopped.has(id)) return;
    const last = this.lastSeen.get(id) ?? this.start;
    const quiet = end - last;
    if (quiet > Math.max(3 * p.gapMax, 5 * p.gapMedian)) {
      this.stopped.add(id);
      this.raise("heartbeat_stopped", 85, end, this.template(id), p.level, `every ${p.gapMedian} ${this.model.timed ? "ms" : "lines"} (at most ${p.gapMax})`, `none for ${quiet} ${this.model.timed ? "ms" : "lines"}`);
    }
  }

  /** Warn-or-worse lines far above their usual count per window. */
  private checkWarn(end: number): void {
    const k = (this.levels[1] ?? 0) + (this.levels[2] ?? 0);
    const { mean, variance, peak } = this.model.warn;
    const z = (k - mean) / Math.sqrt(Math.max(variance, mean, 1));
    if (k >= 2 * mean + 5 && k >= 1.5 * peak && z >= 6 && this.cool("level_burst", 0)) {
      this.raise("level_burst", Math.min(95, 60 + 3 * z), end, null, "WARN", `about ${mean.toFixed(2)} warn/error lines per window`, `${k} in the window`);
    }
  }

  /** The window forest's verdict on this window's counts. */
  private checkForest(end: number): void {
    const f = this.model.forest;
    if (this.forest === null || f === null) return;
    let total = 0;
    for (const v of this.counts.values()) total += v;
    if (total === 0) return;
    const row = windowRow(f.templateIds, this.counts, this.fresh, this.levels);
    const sev = this.severity(this.forest.score([row])[0] ?? 0);
    if (sev >= 95 && this.cool("forest", 0)) this.raise("forest", sev, end, null, "", "window counts like training's", `an unusual mix: ${total} lines, ${this.fresh} of new templates`);
  }

  /** A session that ended: an alert when it had an unseen template, transition or a missing step. */
  private readonly onSession = (v: SessionVerdict): void => {
    const what = [
      v.unseen.length > 0 ? `unseen templates ${v.unseen.map((id) => `E${id}`).join(", ")}` : "",
      v.transitions.length > 0 ? `unseen transitions ${v.transitions.slice(0, 5).map((t) => t.replace(/(\d+)/g, (d) => (d === "0" ? "start/end" : `E${d}`))).join(", ")}` : "",
      v.missing.length > 0 ? `missing steps ${v.missing.map((id) => `E${id}`).join(", ")}` : "",
    ].filter((x) => x !== "");
    if (what.length === 0) return;
    this.stats.sessions_flagged++;
    if (this.sessionAlerts === "grouped" && !this.cool(`session:${[...v.unseen].sort().join(",")}|${[...v.transitions].sort().join(",")}|${v.missing.join(",")}`, 0)) return;
    const sev = v.unseen.length > 0 ? 85 : v.missing.length > 0 ? 80 : 70;
    this.raise("session", sev, this.now, null, "", `sessions like the ${this.model.sessions?.sessions ?? 0} of training`, `${v.lines} lines: ${what.join("; ")}`, v.key);
  };

  /** Whether the rules mute template `t` (decided once per template). */
  private muted(t: Template): boolean {
    if (this.mutes.length === 0) return false;
    let m = this.muteOf.get(t.id);
    if (m === undefined) {
      const id = `E${t.id}`;
      const text = templateText(t);
      m = this.mutes.some((f) => f(id, text));
      this.muteOf.set(t.id, m);
    }
    return m;
  }

  /** Whether `rule` may alert on template `id` now (then it is in cooldown). */
  private cool(rule: string, id: number): boolean {
    const key = `${rule}:${id}`;
    const last = this.alerted.get(key);
    if (last !== undefined && this.window - last < this.cooldown) return false;
    if (this.alerted.size >= 4096) {
      // Keys of every session signature met could grow without end: forget those out of cooldown.
      for (const [k, w] of this.alerted) if (this.window - w >= this.cooldown) this.alerted.delete(k);
    }
    this.alerted.set(key, this.window);
    return true;
  }

  /** The standing template of an id (a stub when it was evicted). */
  private template(id: number): Template {
    return this.miner.resolve(id) ?? { id, tokens: ["(evicted)"], count: 0, lastSeen: 0, mergedInto: null };
  }

  /** Emit an alert (or count it when below minSeverity). */
  private raise(rule: TextRule, severity: number, at: number, t: Template | null, level: Level, usual: string, now: string, session?: string): void {
    const sev = Math.round(severity * 10) / 10;
    if (this.off.has(rule)) return;
    if ((rule === "new_template" || rule === "param_range") && sev / 100 > this.lineScore) this.lineScore = sev / 100;
    if (sev < this.minSeverity) {
      this.stats.below_severity++;
      return;
    }
    if (t !== null && this.muted(t)) {
      this.stats.muted++;
      return;
    }
    this.stats.alerts++;
    this.stats.by_rule[rule] = (this.stats.by_rule[rule] ?? 0) + 1;
    this.emit({
      kind: "text",
      rule,
      file: this.file,
      line: this.line,
      ts: this.model.timed ? new Date(at).toISOString() : null,
      severity: sev,
      template: t === null ? null : { id: `E${t.id}`, text: templateText(t), level },
      usual,
      now,
      ...(session === undefined ? {} : { session }),
    });
  }
}
