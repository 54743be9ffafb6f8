/**
 * Scanning helpers shared by the line parsers: hand-written so the hot path does
 * no regex work and allocates nothing beyond the strings a record keeps.
 * Every function takes a string plus a [start, end) range and never throws.
 */

const MS_PER_DAY = 86_400_000;

/**
 * The timestamps a record may carry: [1970-01-01, 2200-01-01) UTC, as epoch ms. A log
 * line is written after the epoch and before our descendants retire; anything outside
 * (a year 9999, an epoch-ms value of 1e20 that Date cannot even hold, a negative
 * number) is a damaged line, skipped as "timestamp_out_of_range" rather than carried
 * into windows, alerts and `new Date(ts).toISOString()`.
 */
export const MIN_TIMESTAMP_MS = 0;
/** End (exclusive) of the accepted timestamps: 2200-01-01T00:00:00Z. */
export const MAX_TIMESTAMP_MS = 7_258_118_400_000;

/** Whether epoch ms `ms` is a timestamp a record may carry (finite and in [1970, 2200)). */
export function timestampInRange(ms: number): boolean {
  return ms >= MIN_TIMESTAMP_MS && ms < MAX_TIMESTAMP_MS;
}

/** A latency unit: of a number that carries no unit of its own. */
export type LatencyUnit = "ms" | "s" | "us";

/** Every latency unit, as ParserOptions.latencyUnit accepts them. */
export const LATENCY_UNITS: readonly LatencyUnit[] = ["ms", "s", "us"];

/** `v` in `unit` as milliseconds; NaN unless finite. */
export function toMs(v: number, unit: LatencyUnit): number {
  const ms = unit === "s" ? v * 1000 : unit === "us" ? v / 1000 : v;
  return Number.isFinite(ms) ? ms : NaN;
}

/** Power of ten that turns a number in `unit` into milliseconds. */
export function msExponent(unit: LatencyUnit): number {
  return unit === "s" ? 3 : unit === "us" ? -3 : 0;
}
/** Exact powers of ten (10^22 is the largest a double holds exactly). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Where a scan stopped; each parser owns one, so nothing is shared between parsers. */
export interface Cursor {
  pos: number;
}

/** Days from 1970-01-01 to the given proleptic Gregorian date (month 1-12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Shift the year to start in March so the leap day is the last day of the year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Number of days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Value of the digit at `i`, or -1. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Value of `n` decimal digits at `i`, or -1 if any is not a digit. */
function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = digit(s, i + k);
    if (d < 0) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Epoch ms of a validated calendar time, or NaN when a field is out of range. */
function epochMs(y: number, mo: number, d: number, h: number, mi: number, sec: number, ms: number, offsetMin: number): number {
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) return NaN;
  return daysFromCivil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi - offsetMin) * 60 + sec) * 1000 + ms;
}

/** Epoch ms (UTC) of the ISO date at `i`, or NaN; the caller checks what follows. */
function isoDate(s: string, i: number, end: number): number {
  if (i + 10 > end || s.charCodeAt(i + 4) !== 45 || s.charCodeAt(i + 7) !== 45) return NaN;
  const y = digitsAt(s, i, 4);
  const mo = digitsAt(s, i + 5, 2);
  const d = digitsAt(s, i + 8, 2);
  if (y < 0 || mo < 0 || d < 0) return NaN;
  return epochMs(y, mo, d, 0, 0, 0, 0, 0);
}

/** Epoch ms (UTC, no zone yet) of `YYYY-MM-DD(T|t| )HH:MM` at `i`: 16 characters, or NaN. */
function isoMinute(s: string, i: number, end: number): number {
  if (i + 16 > end || s.charCodeAt(i + 13) !== 58) return NaN;
  const sep = s.charCodeAt(i + 10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return NaN;
  const h = digitsAt(s, i + 11, 2);
  const mi = digitsAt(s, i + 14, 2);
  if (h < 0 || mi < 0 || h > 23 || mi > 59) return NaN;
  return isoDate(s, i, end) + (h * 60 + mi) * 60_000;
}

/**
 * What follows `HH:MM` at `p`: `[:SS[(.|,)fff]][Z|±HH[:]MM|±HH]`, as ms to add to the
 * minute (seconds and fraction minus the zone offset); NaN when malformed.
 * Leaves `cur.pos` just past it.
 */
function isoTail(s: string, p: number, end: number, cur: Cursor): number {
  let ms = 0;
  if (p < end && s.charCodeAt(p) === 58) {
    const sec = p + 3 <= end ? digitsAt(s, p + 1, 2) : -1;
    if (sec < 0 || sec > 60) return NaN;
    ms = sec * 1000;
    p += 3;
    const f = p < end ? s.charCodeAt(p) : 0;
    if ((f === 46 || f === 44) && p + 1 < end && digit(s, p + 1) >= 0) {
      p++;
      // Keep whole milliseconds; finer digits are truncated.
      let frac = 0;
      let scale = 100;
      for (; p < end; p++) {
        const dd = digit(s, p);
        if (dd < 0) break;
        if (scale >= 1) frac += dd * scale;
        scale /= 10;
      }
      ms += frac;
    }
  }
  const z = p < end ? s.charCodeAt(p) : 0;
  if (z === 90 || z === 122) {
    p++;
  } else if ((z === 43 || z === 45) && p + 3 <= end && digit(s, p + 1) >= 0) {
    const oh = digitsAt(s, p + 1, 2);
    if (oh < 0 || oh > 23) return NaN;
    let q = p + 3;
    if (q < end && s.charCodeAt(q) === 58) q++;
    let om = 0;
    if (q + 2 <= end && digit(s, q) >= 0) {
      om = digitsAt(s, q, 2);
      if (om < 0 || om > 59) return NaN;
      q += 2;
    } else if (q !== p + 3) {
      return NaN;
    }
    ms -= (oh * 60 + om) * (z === 45 ? -60_000 : 60_000);
    p = q;
  }
  cur.pos = p;
  return ms;
}

/**
 * ISO-8601-like timestamp at `i`: `YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)fff]][Z|±HH[:]MM|±HH]]`.
 * Returns epoch ms (no zone means UTC, so results never depend on the host's zone)
 * and leaves `cur.pos` just past the timestamp; NaN when malformed. With
 * `requireTime` a bare date is refused.
 */
export function parseIsoAt(s: string, i: number, end: number, cur: Cursor, requireTime: boolean): number {
  const minute = isoMinute(s, i, end);
  if (!Number.isNaN(minute)) return minute + isoTail(s, i + 16, end, cur);
  // A date alone is a timestamp only if nothing time-like follows it.
  if (requireTime) return NaN;
  const sep = i + 10 < end ? s.charCodeAt(i + 10) : 0;
  if (sep === 84 || sep === 116) return NaN;
  cur.pos = i + 10;
  return isoDate(s, i, end);
}

/**
 * parseIsoAt with a one-minute memo: consecutive lines nearly always share the
 * date, hour and minute, so a hit costs one native compare plus the seconds.
 * Each parser owns one.
 */
export class IsoClock {
  private minute = ""; // "2026-11-24 14:00"
  private minuteMs = NaN;

  /** Same contract as parseIsoAt. */
  parse(s: string, i: number, end: number, cur: Cursor, requireTime: boolean): number {
    if (this.minute !== "" && s.startsWith(this.minute, i)) return this.minuteMs + isoTail(s, i + 16, end, cur);
    const minute = isoMinute(s, i, end);
    if (Number.isNaN(minute)) return parseIsoAt(s, i, end, cur, requireTime);
    this.minute = s.slice(i, i + 16);
    this.minuteMs = minute;
    return minute + isoTail(s, i + 16, end, cur);
  }
}

/**
 * Apache `%t` body (inside the brackets): `17/May/2015:10:05:03 +0000`, zone optional
 * (then UTC). Returns epoch ms, or NaN unless the whole range is a valid time.
 */
export function parseClfTime(s: string, i: number, end: number): number {
  if (i + 20 > end || s.charCodeAt(i + 2) !== 47 || s.charCodeAt(i + 6) !== 47 || s.charCodeAt(i + 11) !== 58
    || s.charCodeAt(i + 14) !== 58 || s.charCodeAt(i + 17) !== 58) return NaN;
  const d = digitsAt(s, i, 2);
  const mo = monthAt(s, i + 3);
  const y = digitsAt(s, i + 7, 4);
  const h = digitsAt(s, i + 12, 2);
  const mi = digitsAt(s, i + 15, 2);
  const sec = digitsAt(s, i + 18, 2);
  if (d < 0 || mo === 0 || y < 0 || h < 0 || mi < 0 || sec < 0) return NaN;
  let offsetMin = 0;
  const p = i + 20;
  if (p !== end) {
    const sign = s.charCodeAt(p + 1);
    if (p + 6 !== end || s.charCodeAt(p) !== 32 || (sign !== 43 && sign !== 45)) return NaN;
    const oh = digitsAt(s, p + 2, 2);
    const om = digitsAt(s, p + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return NaN;
    offsetMin = (oh * 60 + om) * (sign === 45 ? -1 : 1);
  }
  return epochMs(y, mo, d, h, mi, sec, 0, offsetMin);
}

/**
 * `%t` parsing with a one-minute memo: consecutive access-log lines nearly always
 * share the date, hour, minute and zone, so a hit costs two native compares and
 * two digits instead of a full parse. Each parser owns one.
 */
export class ClfClock {
  private minute = ""; // "17/May/2015:10:05"
  private zone = ""; // " +0000", or "" when the line has none
  private minuteMs = NaN;

  /** Same contract as parseClfTime. */
  parse(s: string, i: number, end: number): number {
    const n = end - i;
    if ((n === 26 || n === 20) && this.minute !== "" && n - 20 === this.zone.length && s.startsWith(this.minute, i)
      && s.charCodeAt(i + 17) === 58 && (n === 20 || s.startsWith(this.zone, i + 20))) {
      const sec = digitsAt(s, i + 18, 2);
      if (sec >= 0 && sec <= 60) return this.minuteMs + sec * 1000;
    }
    const ms = parseClfTime(s, i, end);
    if (!Number.isNaN(ms)) {
      this.minute = s.slice(i, i + 17);
      this.zone = s.slice(i + 20, end);
      this.minuteMs = ms - digitsAt(s, i + 18, 2) * 1000;
    }
    return ms;
  }
}

/** Month number 1-12 of the English abbreviation at `i` ("May"), or 0. */
function monthAt(s: string, i: number): number {
  // One integer key per abbreviation so the lookup is a single switch.
  switch ((s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8) | s.charCodeAt(i + 2)) {
    case 0x4a616e: return 1; // Jan
    case 0x466562: return 2; // Feb
    case 0x4d6172: return 3; // Mar
    case 0x417072: return 4; // Apr
    case 0x4d6179: return 5; // May
    case 0x4a756e: return 6; // Jun
    case 0x4a756c: return 7; // Jul
    case 0x417567: return 8; // Aug
    case 0x536570: return 9; // Sep
    case 0x4f6374: return 10; // Oct
    case 0x4e6f76: return 11; // Nov
    case 0x446563: return 12; // Dec
    default: return 0;
  }
}

/**
 * The unsigned decimal `digits[.digits]` spanning exactly [i, end), times 10^exp10,
 * correctly rounded like parseFloat; NaN when the range is anything else or the
 * result overflows (400 digits of "9" are not a number a record may carry).
 */
export function scaledDecimal(s: string, i: number, end: number, exp10: number): number {
  if (i >= end) return NaN;
  let mant = 0;
  let nd = 0;
  let frac = -1;
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === 46) {
      if (frac >= 0) return NaN;
      frac = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return NaN;
    mant = mant * 10 + d;
    nd++;
    if (frac >= 0) frac++;
  }
  if (nd === 0) return NaN;
  const e = exp10 - (frac > 0 ? frac : 0);
  // One rounding step keeps the result exact-as-parsed; long inputs take the slow path.
  if (nd <= 15 && e >= -22 && e <= 22) return e >= 0 ? mant * (POW10[e] ?? 1) : mant / (POW10[-e] ?? 1);
  const v = Number(s.slice(i, end)) * 10 ** exp10;
  return Number.isFinite(v) ? v : NaN;
}

/**
 * A latency token spanning [i, end): `123ms`, `0.12s`, `450us`/`450µs`, in ms. A bare
 * number is read in `bare` (a latency unit, e.g. "ms" after a key such as `latency=`);
 * with `bare` null a bare number is not a latency (NaN).
 */
export function latencyMs(s: string, i: number, end: number, bare: LatencyUnit | null): number {
  let u = end;
  while (u > i) {
    const c = s.charCodeAt(u - 1);
    if ((c >= 48 && c <= 57) || c === 46) break;
    u--;
  }
  if (u === end) return bare === null ? NaN : scaledDecimal(s, i, end, msExponent(bare));
  const e = unitExponent(s, u, end);
  return Number.isNaN(e) ? NaN : scaledDecimal(s, i, u, e);
}

/** Power of ten to ms of the unit spelled by [i, end) (`s`, `ms`, `us`, `µs`), or NaN. */
export function unitExponent(s: string, i: number, end: number): number {
  const n = end - i;
  if (n === 1 && s.charCodeAt(i) === 115) return 3;
  if (n === 2 && s.charCodeAt(i + 1) === 115) {
    const c = s.charCodeAt(i);
    if (c === 109) return 0;
    if (c === 117 || c === 0xb5) return -3;
  }
  return NaN;
}

/** Digits-only integer spanning [i, end), or -1. */
export function uintAt(s: string, i: number, end: number): number {
  if (i >= end || end - i > 15) return -1;
  let v = 0;
  for (let p = i; p < end; p++) {
    const d = s.charCodeAt(p) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The route of a request target in [i, end): a leading `scheme://host` is dropped
 * and the path ends at `?` or `#`. Allocates only the returned slice.
 */
export function routeOf(s: string, i: number, end: number): string {
  let start = i;
  // Only a target that does not start with "/" can be an absolute URL; "/r?u=http://x" is a path.
  if (start < end && s.charCodeAt(start) !== 47) {
    const sch = s.indexOf("://", start);
    if (sch > start && sch < end && isScheme(s, start, sch)) {
      const slash = s.indexOf("/", sch + 3);
      start = slash < 0 || slash >= end ? end : slash;
      const stop = pathEnd(s, start, end);
      return stop > start ? s.slice(start, stop) : "/";
    }
  }
  const stop = pathEnd(s, start, end);
  return start === 0 && stop === s.length ? s : s.slice(start, stop);
}

/** Index of the first "?" or "#" in [i, end), else `end` (native searches, not a per-char loop). */
function pathEnd(s: string, i: number, end: number): number {
  let stop = s.indexOf("?", i);
  if (stop < 0 || stop > end) stop = end;
  const hash = s.indexOf("#", i);
  return hash >= 0 && hash < stop ? hash : stop;
}

/** Whether [i, end) is a URL scheme: a letter, then letters, digits, "+", "-" or ".". */
function isScheme(s: string, i: number, end: number): boolean {
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p) | 32;
    const letter = c >= 97 && c <= 122;
    if (p === i ? !letter : !(letter || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return false;
  }
  return true;
}

/** Whether `word` (upper case) spans exactly [i, end), compared by char code. */
function spells(s: string, i: number, end: number, word: string): boolean {
  if (end - i !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (s.charCodeAt(i + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** The standard HTTP method spelled by [i, end) (upper case), as a shared constant; "" otherwise. */
export function knownMethod(s: string, i: number, end: number): string {
  // Dispatch on the first letter so a line pays for about one comparison.
  switch (s.charCodeAt(i)) {
    case 71: return spells(s, i, end, "GET") ? "GET" : "";
    case 80:
      if (spells(s, i, end, "POST")) return "POST";
      if (spells(s, i, end, "PUT")) return "PUT";
      return spells(s, i, end, "PATCH") ? "PATCH" : "";
    case 72: return spells(s, i, end, "HEAD") ? "HEAD" : "";
    case 68: return spells(s, i, end, "DELETE") ? "DELETE" : "";
    case 79: return spells(s, i, end, "OPTIONS") ? "OPTIONS" : "";
    case 67: return spells(s, i, end, "CONNECT") ? "CONNECT" : "";
    case 84: return spells(s, i, end, "TRACE") ? "TRACE" : "";
    default: return "";
  }
}

/**
 * A method token in [i, end): a known method as a shared constant, any other token of
 * 1-24 upper-case letters, "-" or "_" (WebDAV's "VERSION-CONTROL") sliced; "" if invalid.
 */
export function methodToken(s: string, i: number, end: number): string {
  const known = knownMethod(s, i, end);
  if (known !== "") return known;
  if (end <= i || end - i > 24) return "";
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (!((c >= 65 && c <= 90) || c === 45 || c === 95)) return "";
  }
  return s.slice(i, end);
}

/** Whether the code unit is a space, tab, CR or LF. */
export function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** End of `s` with trailing whitespace (including a CR from CRLF files) dropped. */
export function trimmedEnd(s: string): number {
  let end = s.length;
  while (end > 0 && isSpace(s.charCodeAt(end - 1))) end--;
  return end;
}
