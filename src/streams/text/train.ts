/**
 * Training on a free-text log: the header shape, the templates (the miner's state,
 * so ids stay the same in detection), each template's profile (profile.ts), the
 * warn/error count per window, and an Isolation Forest over windows (the counts of
 * the most common templates and of each level), calibrated on its training scores.
 */
import { IsolationForest } from "../../forest/forest.js";
import { calibrate, type Calibration } from "../severity.js";
import { TemplateMiner, rootOf, type MinerOptions, type Template } from "./miner.js";
import type { MinerState } from "./miner-state.js";
import { ProfileBuilder, isWarnOrWorse, messageLevel, type TemplateProfile } from "./profile.js";
import { TextReader, firstLine } from "./reader.js";
import type { Level, TextRecord } from "./record.js";
import { keyOf, keyRegex, learnSessions, type SessionModel } from "./sessions.js";

/** Options of trainText (and the windows detection uses). */
export interface TextTrainOptions {
  /** Window length for rates, in ms, when the log has times (default 60,000). */
  windowMs?: number;
  /** Window length in lines when it has none (default 1,000). */
  windowLines?: number;
  /** Templates whose counts are forest features (default 24, the most common). */
  forestTemplates?: number;
  /** Seed of the forest (default 0). */
  seed?: number;
  /** Year assumed for times without one. */
  year?: number;
  /** Miner options. */
  miner?: MinerOptions;
  /** Group lines into sessions by this regular expression (its first group, else the match). */
  sessionKey?: string;
  /** A session idle this long is over (ms, or lines); default twice the longest gap inside a training session. */
  sessionIdle?: number;
}

/** Default training options. */
export const TEXT_TRAIN_DEFAULTS = { windowMs: 60_000, windowLines: 1000, forestTemplates: 24, seed: 0 };

/** Check training options; errors name the option, its range and the value. */
export function resolveTextTrainOptions(o: TextTrainOptions = {}): typeof TEXT_TRAIN_DEFAULTS {
  const r = { ...TEXT_TRAIN_DEFAULTS, ...o };
  const check = (name: keyof typeof TEXT_TRAIN_DEFAULTS, lo: number, hi: number): void => {
    const v = r[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  };
  check("windowMs", 1000, 86_400_000);
  check("windowLines", 10, 10_000_000);
  check("forestTemplates", 1, 1000);
  check("seed", 0, Number.MAX_SAFE_INTEGER);
  return { windowMs: r.windowMs, windowLines: r.windowLines, forestTemplates: r.forestTemplates, seed: r.seed };
}

/** The forest over windows and what its columns are. */
export interface WindowForest {
  /** Template ids whose counts are the first columns; then other, new, info-or-less, warn, error-or-worse, total. */
  templateIds: number[];
  /** The serialised IsolationForest. */
  bytes: Uint8Array;
  calibration: Calibration;
}

/** A trained free-text model. */
export interface TextModel {
  format: "logforest-text";
  version: 1;
  /** The header shape training read (detection detects its own files again). */
  shape: string;
  /** Whether windows are by time (else by lines). */
  timed: boolean;
  windowMs: number;
  windowLines: number;
  /** Training windows. */
  windows: number;
  /** Lines read in training. */
  lines: number;
  /** From the first training line to the last (ms, or lines). */
  span: number;
  miner: MinerState;
  /** Profiles by template id. */
  profiles: Record<string, TemplateProfile>;
  /** Warn-or-worse lines per window: mean, variance and the most in one window. */
  warn: { mean: number; variance: number; peak: number };
  /** The window forest, or null with fewer than 32 training windows. */
  forest: WindowForest | null;
  /** What sessions were like, when trained with a session key. */
  sessions: SessionModel | null;
  /** Retraining refreshes this model has had (absent: none; see retrain.ts). */
  generation?: number;
  /** The first window-forest tree the next refresh replaces. */
  oldestTree?: number;
}

/** The level of a record: its header's, else the one its message names. */
export function recordLevel(rec: TextRecord): Level {
  return rec.level !== "" ? rec.level : messageLevel(rec.message);
}

/** Level columns of a window row: info-or-less, warn, error-or-worse. */
export function levelColumn(level: Level): number {
  return level === "WARN" ? 1 : level === "ERROR" || level === "FATAL" ? 2 : 0;
}

/** A jump forward longer than this waits for a second line to confirm it. */
const MAX_JUMP_MS = 86_400_000;

/**
 * Assigns lines to windows: by time when the log has times, else by line count. The
 * clock never goes back (a line out of order counts at the latest time), and a jump of
 * more than a day is taken only when the next line confirms it, so one damaged time
 * cannot throw the windows a year ahead. Both are counted.
 */
export class WindowClock {
  /** Lines whose time was behind the clock. */
  late = 0;
  /** Lines whose time jumped ahead and was not confirmed. */
  jumps = 0;
  private last = Number.NaN;
  private pending = Number.NaN;

  constructor(readonly timed: boolean, readonly windowMs: number, readonly windowLines: number) {}

  /** The time of a record (its own, else the last one seen; the line index when untimed). */
  at(ts: number, index: number): number {
    if (!this.timed) return index;
    if (!Number.isNaN(ts)) {
      if (Number.isNaN(this.last) || (ts >= this.last && ts - this.last <= MAX_JUMP_MS)) {
        this.last = ts;
        this.pending = Number.NaN;
      } else if (ts < this.last) {
        this.late++;
      } else if (!Number.isNaN(this.pending) && Math.abs(ts - this.pending) <= MAX_JUMP_MS) {
        this.last = Math.max(ts, this.pending);
        this.pending = Number.NaN;
      } else {
        this.pending = ts;
        this.jumps++;
      }
    }
    return Number.isNaN(this.last) ? 0 : this.last;
  }

  /** The window of a time. */
  window(at: number): number {
    return Math.floor(at / (this.timed ? this.windowMs : this.windowLines));
  }
}

/** Train on the lines of one log, in order. */
export function trainText(lines: readonly string[], options: TextTrainOptions = {}): TextModel {
  const o = resolveTextTrainOptions(options);
  const reader = TextReader.detect(lines.slice(0, 200), { year: options.year });
  const miner = new TemplateMiner(options.miner);
  const records: { t: Template; level: Level; at: number; raw: string[]; key: string | null }[] = [];
  const keyRe = options.sessionKey === undefined ? null : keyRegex(options.sessionKey);
  let timed: boolean | null = null;
  const clockFor = (ts: number) => new WindowClock((timed ??= !Number.isNaN(ts)), o.windowMs, o.windowLines);
  let clock: WindowClock | null = null;
  let index = 0;
  const onRecord = (rec: TextRecord): void => {
    clock ??= clockFor(rec.ts);
    const msg = firstLine(rec.message);
    const key = keyRe === null ? null : sessionKeyOf(keyRe, rec);
    records.push({ t: miner.learn(msg), level: recordLevel(rec), at: clock.at(rec.ts, index++), raw: msg.trim().split(/\s+/), key });
  };
  lines.forEach((l, i) => reader.push(l, i + 1, onRecord));
  reader.flush(onRecord);
  const c: WindowClock = clock ?? new WindowClock(false, o.windowMs, o.windowLines);
  // Profiles by final template (merges during training fold in).
  const builders = new Map<Template, ProfileBuilder>();
  const windowRows = new Map<number, Map<number, number>>();
  const warnPer = new Map<number, number>();
  const levelsPer = new Map<number, number[]>();
  for (const r of records) {
    const root = rootOf(r.t);
    const b = builders.get(root) ?? new ProfileBuilder();
    builders.set(root, b);
    const w = c.window(r.at);
    b.add(r.level, r.at, w, r.raw, root.tokens);
    const row = windowRows.get(w) ?? new Map<number, number>();
    row.set(root.id, (row.get(root.id) ?? 0) + 1);
    windowRows.set(w, row);
    if (isWarnOrWorse(r.level)) warnPer.set(w, (warnPer.get(w) ?? 0) + 1);
    const lv = levelsPer.get(w) ?? [0, 0, 0];
    lv[levelColumn(r.level)] = (lv[levelColumn(r.level)] ?? 0) + 1;
    levelsPer.set(w, lv);
  }
  const windows = windowRows.size === 0 ? 1 : extent(windowRows.keys()) + 1;
  const profiles: Record<string, TemplateProfile> = {};
  for (const [t, b] of builders) profiles[String(t.id)] = b.finish(windows);
  const warnCounts = [...warnPer.values()];
  const warnMean = warnCounts.reduce((a, b) => a + b, 0) / windows;
  const warnVar = warnCounts.reduce((a, b) => a + b * b, 0) / windows - warnMean * warnMean;
  return {
    format: "logforest-text",
    version: 1,
    shape: reader.name,
    timed: c.timed,
    windowMs: o.windowMs,
    windowLines: o.windowLines,
    windows,
    lines: lines.length,
    span: records.length === 0 ? 0 : extent(records.map((r) => r.at)),
    miner: miner.toState(),
    profiles,
    warn: { mean: warnMean, variance: Math.max(0, warnVar), peak: Math.max(0, ...warnCounts) },
    forest: windowForest(profiles, windowRows, levelsPer, o.forestTemplates, o.seed),
    sessions: options.sessionKey === undefined ? null : trainSessions(options.sessionKey, records, options.sessionIdle),
  };
}

/** The session key of a record: found in its message, else its component or pid. */
export function sessionKeyOf(re: RegExp, rec: TextRecord): string | null {
  return keyOf(re, rec.message) ?? keyOf(re, rec.component) ?? keyOf(re, rec.pid);
}

/** Sessions of the training records, by key, as final template ids. */
function trainSessions(pattern: string, records: readonly { t: Template; at: number; key: string | null }[], idle: number | undefined): SessionModel {
  const byKey = new Map<string, { ids: number[]; gaps: number[]; last: number }>();
  for (const r of records) {
    if (r.key === null) continue;
    const s = byKey.get(r.key);
    if (s === undefined) byKey.set(r.key, { ids: [rootOf(r.t).id], gaps: [], last: r.at });
    else {
      s.ids.push(rootOf(r.t).id);
      s.gaps.push(r.at - s.last);
      s.last = r.at;
    }
  }
  return learnSessions(pattern, [...byKey.values()], idle);
}

/** A window's feature row: chosen template counts, other, new, the three level counts, total. */
export function windowRow(templateIds: readonly number[], counts: ReadonlyMap<number, number>, fresh: number, levels: readonly number[]): number[] {
  const row = templateIds.map((id) => counts.get(id) ?? 0);
  let total = 0;
  for (const v of counts.values()) total += v;
  const chosen = row.reduce((a, b) => a + b, 0);
  return [...row, total - chosen - fresh, fresh, levels[0] ?? 0, levels[1] ?? 0, levels[2] ?? 0, total];
}

/** The forest over training windows (non-empty ones), or null when there are too few. */
function windowForest(
  profiles: Record<string, TemplateProfile>, rows: Map<number, Map<number, number>>, levels: Map<number, number[]>, k: number, seed: number,
): WindowForest | null {
  if (rows.size < 32) return null;
  const templateIds = Object.entries(profiles).sort((a, b) => b[1].lines - a[1].lines).slice(0, k).map(([id]) => Number(id));
  const X = [...rows].map(([w, counts]) => windowRow(templateIds, counts, 0, levels.get(w) ?? []));
  const forest = IsolationForest.fit(X, { seed });
  const calibration = calibrate(forest.score(X));
  const bytes = forest.toBytes();
  forest.close();
  return { templateIds, bytes, calibration };
}

/** Largest minus smallest of `values` (a loop: spreading a long array into Math.max overflows the stack). */
function extent(values: Iterable<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}
