/**
 * What training learns of each template and of the log as a whole, from which
 * detection judges a line or a window: per template its level, its rate per window
 * (mean and variance over every training window, the empty ones included), the gaps
 * between its lines (a heartbeat is a template whose gaps are regular) and the range of
 * each numeric parameter; per window the share of warn/error lines.
 */
import { levelOf, type Level } from "./record.js";

/** The numeric value of a raw parameter token (`12`, `-3.5`, `12ms`, `40%,`), or NaN. */
export function numericValue(token: string): number {
  // As /^[([{"'=:]*(-?\d+(?:\.\d+)?)[a-zA-Z%µ]*[)\]}"',;:.]*$/ reads it, without a match object.
  const n = token.length;
  let i = 0;
  while (i < n && OPENERS.includes(token.charCodeAt(i))) i++;
  const start = i;
  if (i < n && token.charCodeAt(i) === 45) i++;
  const digits = i;
  while (i < n && isDigitCode(token.charCodeAt(i))) i++;
  if (i === digits) return NaN;
  if (i + 1 < n && token.charCodeAt(i) === 46 && isDigitCode(token.charCodeAt(i + 1))) {
    i += 2;
    while (i < n && isDigitCode(token.charCodeAt(i))) i++;
  }
  const end = i;
  while (i < n && isUnitCode(token.charCodeAt(i))) i++;
  while (i < n && CLOSERS.includes(token.charCodeAt(i))) i++;
  return i === n ? Number(token.slice(start, end)) : NaN;
}

/** What may open a numeric token: ( [ { " ' = : */
const OPENERS = [40, 91, 123, 34, 39, 61, 58];
/** What may close one: ) ] } " ' , ; : . */
const CLOSERS = [41, 93, 125, 34, 39, 44, 59, 58, 46];

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A letter of a unit after a number: a-z, A-Z, %, µ. */
function isUnitCode(c: number): boolean {
  const l = c | 32;
  return (l >= 97 && l <= 122) || c === 37 || c === 181;
}

/** The level a message names when its header has none: sshd's `error: ...`, Go's `ERROR: ...`. */
export function messageLevel(message: string): Level {
  const colon = message.indexOf(":");
  if (colon < 1 || colon > 8) return "";
  return levelOf(message.slice(0, colon));
}

/** Whether a level is a warning or worse. */
export function isWarnOrWorse(level: Level): boolean {
  return level === "WARN" || level === "ERROR" || level === "FATAL";
}

/** A learned numeric range of one parameter position. */
export interface ParamRange {
  lo: number;
  hi: number;
  n: number;
}

/** What training learned of one template. */
export interface TemplateProfile {
  /** The worst level its lines had. */
  level: Level;
  /** Lines in training. */
  lines: number;
  /** Mean lines per window over all training windows. */
  mean: number;
  /** Variance of the lines per window. */
  variance: number;
  /** Most lines in one training window. */
  peak: number;
  /** Median gap between consecutive lines (ms, or lines when the log has no times); 0 if < 2 lines. */
  gapMedian: number;
  /** 95th percentile of the gaps. */
  gapP95: number;
  /** Longest gap. */
  gapMax: number;
  /** From its first line to its last (ms, or lines). */
  span: number;
  /** Ranges of numeric parameters, by token position. */
  params: Record<string, ParamRange>;
}

const LEVEL_RANK: Readonly<Record<Level, number>> = { "": 0, TRACE: 1, DEBUG: 2, INFO: 3, NOTICE: 4, WARN: 5, ERROR: 6, FATAL: 7 };

/** The worse of two levels. */
export function worseLevel(a: Level, b: Level): Level {
  return LEVEL_RANK[b] > LEVEL_RANK[a] ? b : a;
}

/** Counts one template's lines during training. */
export class ProfileBuilder {
  level: Level = "";
  lines = 0;
  private sumSq = 0; // sum over windows of count^2 (the windows it appeared in)
  private window = Number.NaN;
  private inWindow = 0;
  private peak = 0;
  private lastAt = Number.NaN;
  private firstAt = Number.NaN;
  private readonly gaps: number[] = [];
  private readonly values = new Map<number, number[]>();

  /** Count a line at time `at` in window `window`, with its raw tokens and template tokens. */
  add(level: Level, at: number, window: number, raw: readonly string[] | null, template: readonly string[]): void {
    this.level = worseLevel(this.level, level);
    this.lines++;
    if (window !== this.window) {
      this.sumSq += this.inWindow * this.inWindow;
      this.window = window;
      this.inWindow = 0;
    }
    this.inWindow++;
    if (this.inWindow > this.peak) this.peak = this.inWindow;
    if (Number.isNaN(this.firstAt)) this.firstAt = at;
    if (!Number.isNaN(this.lastAt) && this.gaps.length < 100_000) this.gaps.push(at - this.lastAt);
    this.lastAt = at;
    if (raw === null || raw.length !== template.length) return;
    for (let p = 0; p < template.length; p++) {
      if (!(template[p] ?? "").includes("<*>")) continue;
      const v = numericValue(raw[p] ?? "");
      if (Number.isNaN(v)) continue;
      const list = this.values.get(p) ?? [];
      if (list.length < 100_000) list.push(v);
      this.values.set(p, list);
    }
  }

  /** Fold another builder's lines in (a template that merged into this one). */
  absorb(o: ProfileBuilder): void {
    this.level = worseLevel(this.level, o.level);
    this.lines += o.lines;
    this.sumSq += o.sumSq + o.inWindow * o.inWindow;
    this.peak = Math.max(this.peak, o.peak);
    this.firstAt = Math.min(this.firstAt, o.firstAt);
    this.lastAt = Math.max(this.lastAt, o.lastAt);
    this.gaps.push(...o.gaps);
    for (const [p, vs] of o.values) this.values.set(p, [...(this.values.get(p) ?? []), ...vs]);
  }

  /**
   * The range of each numeric parameter position (one where nearly all of 20 values or
   * more are numbers), over the values `keep` keeps (all of them by default).
   */
  ranges(keep: (values: readonly number[]) => readonly number[] = (v) => v): Record<string, ParamRange> {
    const params: Record<string, ParamRange> = {};
    for (const [p, vs] of this.values) {
      if (vs.length < 20 || vs.length < this.lines * 0.95) continue;
      const kept = keep(vs);
      if (kept.length === 0) continue;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of kept) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      params[String(p)] = { lo, hi, n: kept.length };
    }
    return params;
  }

  /** The profile over `windows` training windows. */
  finish(windows: number): TemplateProfile {
    const sumSq = this.sumSq + this.inWindow * this.inWindow;
    const w = Math.max(1, windows);
    const mean = this.lines / w;
    const gaps = this.gaps.filter((g) => g >= 0).sort((a, b) => a - b);
    const params = this.ranges();
    return {
      level: this.level,
      lines: this.lines,
      mean,
      variance: Math.max(0, sumSq / w - mean * mean),
      peak: this.peak,
      gapMedian: gaps.length > 0 ? gaps[Math.floor(gaps.length / 2)] ?? 0 : 0,
      gapP95: gaps.length > 0 ? gaps[Math.floor(gaps.length * 0.95)] ?? 0 : 0,
      gapMax: gaps.length > 0 ? gaps[gaps.length - 1] ?? 0 : 0,
      span: Number.isNaN(this.firstAt) ? 0 : this.lastAt - this.firstAt,
      params,
    };
  }
}
