/**
 * Timestamps of free-text headers, and what they lack: a time without a year (syslog,
 * Android, Proxifier) takes an assumed year, rolled forward when the months wrap
 * (December -> January); a time without a zone is read as UTC. Both are counted so a
 * run can say what it assumed.
 */
import { parseIsoAt, type Cursor } from "../scan.js";

/** Month number 1-12 of an English abbreviation ("Dec", any case), or 0. */
export function monthNumber(word: string): number {
  switch (word.slice(0, 3).toLowerCase()) {
    case "jan": return 1;
    case "feb": return 2;
    case "mar": return 3;
    case "apr": return 4;
    case "may": return 5;
    case "jun": return 6;
    case "jul": return 7;
    case "aug": return 8;
    case "sep": return 9;
    case "oct": return 10;
    case "nov": return 11;
    case "dec": return 12;
    default: return 0;
  }
}

/** What the timestamps of a file lacked, counted per line. */
export interface ClockNotes {
  /** Lines whose time had no year (the assumed year was used). */
  noYear: number;
  /** Lines whose time had no zone (read as UTC). */
  noZone: number;
  /** Lines whose time had no date at all (time of day only: no timestamp kept). */
  noDate: number;
}

/** Turns header time fields into epoch ms; one per reader (it remembers the year roll-over). */
export class Clock {
  /** What was assumed so far. */
  readonly notes: ClockNotes = { noYear: 0, noZone: 0, noDate: 0 };
  private year: number;
  private lastMonth = 0;
  private readonly cur: Cursor = { pos: 0 };

  /** `year`: the year assumed for times that carry none. */
  constructor(year: number) {
    this.year = year;
  }

  /** The year assumed for the next year-less time. */
  get assumedYear(): number {
    return this.year;
  }

  /** Epoch ms of a calendar time in UTC, or NaN when a field is out of range. */
  utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
    if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60)) return NaN;
    this.notes.noZone++;
    return Date.UTC(y, mo - 1, d, h, mi, s, ms);
  }

  /** A time without a year: the assumed year, moved on when the month goes back (Dec -> Jan). */
  noYear(mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
    if (this.lastMonth !== 0 && mo < this.lastMonth - 6) this.year++;
    this.lastMonth = mo;
    this.notes.noYear++;
    return this.utc(this.year, mo, d, h, mi, s, ms);
  }

  /** An ISO-8601 time in `text` (`2026-12-05 12:00:01,123`, with or without a zone). */
  iso(text: string): number {
    const ms = parseIsoAt(text, 0, text.length, this.cur, true);
    if (!hasZone(text)) this.notes.noZone++;
    return ms;
  }

  /** Epoch seconds (BGL, HPC). */
  epochSeconds(text: string): number {
    return Number(text) * 1000;
  }

  /** A time of day only: no timestamp, counted. */
  timeOnly(): number {
    this.notes.noDate++;
    return NaN;
  }
}

/** Whether an ISO time ends with a zone (`Z`, `+01:00`, `-0500`). */
function hasZone(t: string): boolean {
  const n = t.length;
  if (t.charCodeAt(n - 1) === 90) return true;
  return signAt(t, n - 6) || signAt(t, n - 5) || signAt(t, n - 3);
}

/** Whether a zone's sign (`+`, `-`) stands at `i`, past the date and time. */
function signAt(t: string, i: number): boolean {
  const c = t.charCodeAt(i);
  return (c === 43 || c === 45) && i > 16;
}
