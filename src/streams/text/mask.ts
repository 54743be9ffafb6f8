/**
 * Masking a message's variables by the shape of each token, with no per-system
 * expressions: a token holding a digit (numbers, hex, ids, IPs, durations, sizes,
 * UUIDs, timestamps), a path, a URL or an e-mail address becomes `<*>`. Tokens are
 * judged by segment, so what frames a variable stays: `[<*>]`, `uid=<*>`, `lr:<*>`.
 * Tokens are split on whitespace and joined by one space. No regular expressions.
 */

/** The wildcard that stands for a variable. */
export const WILDCARD = "<*>";

/** Whether the code unit splits a token into segments: , ; | = : ( ) [ ] { } < > " ' */
function isDelimiter(c: number): boolean {
  return c === 44 || c === 59 || c === 124 || c === 61 || c === 58 || c === 40 || c === 41 || c === 91 || c === 93
    || c === 123 || c === 125 || c === 60 || c === 62 || c === 34 || c === 39;
}

/** Whether [i, end) of `s` looks like a variable: a digit, a path, a URL or an address. */
function isVariable(s: string, i: number, end: number): boolean {
  if (i >= end || isDeviceName(s, i, end)) return false;
  let slashes = 0;
  let dots = 0;
  let hex = 0;
  let at = -1;
  for (let p = i; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c >= 48 && c <= 57) return true;
    if (c === 47 || c === 92) slashes++;
    else if (c === 46) dots++;
    else if (c === 64) at = p;
    else if ((c | 32) >= 97 && (c | 32) <= 102) hex++;
  }
  // Hex without a digit (`ffffffff`), a path or a package/class (`com.x/.Main`).
  if (hex === end - i && hex >= 8) return true;
  if (slashes > 0 && dots > 0 && end - i > 3) return true;
  const first = s.charCodeAt(i);
  // A path (`/etc/x`, `C:\x`, `./x`) or a URL; a lone "/" or "and/or" is prose.
  if (slashes > 0 && end - i > 1 && (first === 47 || first === 92 || first === 46 || first === 126 || s.indexOf("://", i) > i || s.charCodeAt(i + 1) === 58)) return true;
  if (slashes >= 2) return true;
  // user@host.domain
  return at > i && at < end - 1 && s.indexOf(".", at) > at && s.indexOf(".", at) < end - 1;
}

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
      for (let p = i; p <= end; p++) {
        if (p < end && !isDelimiter(s.charCodeAt(p))) continue;
        if (p > seg && isVariable(s, seg, p)) {
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

/**
 * Whether [i, end) is a word with one trailing digit (`ssh2`, `eth0`, `md5`): a name more
 * often than a value, left to the miner, which merges it once it varies like one.
 */
function isDeviceName(s: string, i: number, end: number): boolean {
  if (end - i < 3) return false;
  const last = s.charCodeAt(end - 1);
  if (!(last >= 48 && last <= 57)) return false;
  for (let p = i; p < end - 1; p++) if (!isLetter(s.charCodeAt(p))) return false;
  return true;
}

/** Whether the code unit is an ASCII letter. */
function isLetter(c: number): boolean {
  const l = c | 32;
  return l >= 97 && l <= 122;
}
