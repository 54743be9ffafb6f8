/**
 * Masking a message's variables by the shape of each token, with no per-system
 * expressions: a token holding a digit (numbers, hex, ids, IPs, durations, sizes,
 * UUIDs, timestamps), a path, a URL or an e-mail address becomes `<*>`. Tokens are
 * judged by segment, so what frames a variable stays: `[<*>]`, `uid=<*>`, `lr:<*>`.
 * Tokens are split on whitespace and joined by one space. No regular expressions.
 */

/** The wildcard that stands for a variable. */
export const WILDCARD = "<*>";

/** What a code unit below 128 is to the masker (CLASS); others are OTHER. */
const OTHER = 0;
const DELIM = 1; // , ; | = : ( ) [ ] { } < > " ' split a token into segments
const DIGIT = 2;
const SLASH = 3; // / and \
const DOT = 4;
const AT = 5;
const HEX = 6; // a-f, A-F
const LETTER = 7; // the other ASCII letters
const CLASS = new Uint8Array(128);
for (const c of ",;|=:()[]{}<>\"'") CLASS[c.charCodeAt(0)] = DELIM;
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
for (let c = 65; c <= 90; c++) CLASS[c] = CLASS[c + 32] = c <= 70 ? HEX : LETTER;
CLASS[47] = CLASS[92] = SLASH;
CLASS[46] = DOT;
CLASS[64] = AT;

/** The masker's class of a code unit. */
function classOf(c: number): number {
  return c < 128 ? (CLASS[c] as number) : OTHER;
}

/** Whether the code unit splits a token into segments: , ; | = : ( ) [ ] { } < > " ' */
function isDelimiter(c: number): boolean {
  return classOf(c) === DELIM;
}

/**
 * Whether the segment [i, end) of `s` looks like a variable: a digit (bar a device name
 * such as `eth0`), hex of 8 or more, a path, a URL or an address. The counts are of the
 * segment's characters, taken by the caller in the same pass that finds its end.
 */
function isVariable(s: string, i: number, end: number, c: SegmentCounts): boolean {
  const len = end - i;
  // A word with one trailing digit (`ssh2`, `eth0`, `md5`) is a name more often than a
  // value: left to the miner, which merges it once it varies like one.
  if (c.digit) return !(len >= 3 && c.letters === len - 1 && isDigit(s.charCodeAt(end - 1)));
  // Hex without a digit (`ffffffff`), a path or a package/class (`com.x/.Main`).
  if (c.hex === len && c.hex >= 8) return true;
  if (c.slashes > 0 && c.dots > 0 && len > 3) return true;
  const first = s.charCodeAt(i);
  // A path (`/etc/x`, `C:\x`, `./x`) or a URL; a lone "/" or "and/or" is prose.
  if (c.slashes > 0 && len > 1 && (first === 47 || first === 92 || first === 46 || first === 126 || s.indexOf("://", i) > i || s.charCodeAt(i + 1) === 58)) return true;
  if (c.slashes >= 2) return true;
  // user@host.domain
  const at = c.at;
  return at > i && at < end - 1 && s.indexOf(".", at) > at && s.indexOf(".", at) < end - 1;
}

/** What one pass over a segment counted (reset for each segment). */
interface SegmentCounts {
  digit: boolean;
  letters: number;
  hex: number;
  slashes: number;
  dots: number;
  /** Position of the last `@`, -1 if none. */
  at: number;
}

/** Start a segment's counts afresh. */
function resetCounts(c: SegmentCounts): void {
  c.digit = false;
  c.letters = 0;
  c.hex = 0;
  c.slashes = 0;
  c.dots = 0;
  c.at = -1;
}

/** Count a character of class `k` at `p` of a segment. */
function countChar(c: SegmentCounts, k: number, p: number): void {
  if (k === DIGIT) c.digit = true;
  else if (k === HEX) {
    c.letters++;
    c.hex++;
  } else if (k === LETTER) c.letters++;
  else if (k === SLASH) c.slashes++;
  else if (k === DOT) c.dots++;
  else if (k === AT) c.at = p;
}

const counts: SegmentCounts = { digit: false, letters: 0, hex: 0, slashes: 0, dots: 0, at: -1 };

/**
 * `message` with its variables masked, its tokens joined by single spaces. Each
 * segment of a token between delimiters that looks like a variable becomes `<*>`
 * (`index:3` -> `index:<*>`, `(HWID=1973)` -> `(HWID=<*>)`). Unchanged runs are copied
 * as slices, so a message with nothing to mask costs no new string.
 */
export function maskMessage(s: string): string {
  const n = s.length;
  let out = "";
  let i = 0;
  while (i < n && isBlank(s.charCodeAt(i))) i++;
  let from = i; // start of the run of `s` not yet copied to `out`
  let prevWild = false; // the previous token ends in a variable
  while (i < n) {
    let end = i + 1;
    while (end < n && !isBlank(s.charCodeAt(end))) end++;
    if (prevWild && isUnit(s, i, end)) {
      // A unit after a number is part of the value (`12.3 KB`, `5 ms`): sizes vary in unit too.
      out += s.slice(from, i) + WILDCARD;
      from = end - trailing(s, i, end);
    } else {
      let seg = i;
      prevWild = false;
      resetCounts(counts);
      for (let p = i; p <= end; p++) {
        if (p < end) {
          const k = classOf(s.charCodeAt(p));
          if (k !== DELIM) {
            countChar(counts, k, p);
            continue;
          }
        }
        const variable = p > seg && isVariable(s, seg, p, counts);
        resetCounts(counts);
        if (variable) {
          out += s.slice(from, seg) + WILDCARD;
          from = p;
          prevWild = p === end;
        } else if (p > seg || p < end) {
          prevWild = false;
        }
        seg = p + 1;
      }
    }
    let j = end;
    while (j < n && isBlank(s.charCodeAt(j))) j++;
    if (j >= n) {
      out += s.slice(from, end);
      return out;
    }
    if (j - end !== 1 || s.charCodeAt(end) !== 32) {
      out += `${s.slice(from, end)} `;
      from = j;
    }
    i = j;
  }
  return out + s.slice(from, n);
}

/** Whether the code unit separates tokens: space, tab, CR, LF. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

/** Units of sizes, durations and rates, as written after a number. */
const UNITS = new Set(["b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib", "bytes", "byte", "ms", "s", "sec", "secs", "seconds", "us", "ns", "min", "mins", "minutes", "h", "hours", "%"]);

/** Whether the token [i, end), less trailing delimiters, is a unit. */
function isUnit(s: string, i: number, end: number): boolean {
  let b = end;
  while (b > i + 1 && isDelimiter(s.charCodeAt(b - 1))) b--;
  return b - i <= 7 && UNITS.has(s.slice(i, b).toLowerCase());
}

/** How many delimiters end the token [i, end) (the `,` of `KB,`). */
function trailing(s: string, i: number, end: number): number {
  let b = end;
  while (b > i + 1 && isDelimiter(s.charCodeAt(b - 1))) b--;
  return end - b;
}

/** Whether the code unit is an ASCII digit. */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
