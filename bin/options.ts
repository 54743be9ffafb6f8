/** Option helpers shared by the commands. */
import { statSync } from "node:fs";
import { parseFieldMappings, type FieldName } from "../src/streams/http/parse.js";

/** `--field latency=responseTime` (repeatable) as a mapping; undefined when none given. */
export function fieldsOf(specs: string[] | undefined): Partial<Record<FieldName, string>> | undefined {
  return specs && specs.length > 0 ? parseFieldMappings(specs) : undefined;
}

/** A whole number option in [lo, hi], or a RangeError naming it. */
export function intOption(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`--${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

/** Exit code of `detect` when no line of its input could be parsed (documented in docs/cli.md). */
export const EXIT_NOTHING_PARSED = 3;

/**
 * An --input value checked before any work: "-" is stdin (undefined: the command reads stdin);
 * a directory, a missing or an unreadable path is a RangeError naming it and what to do.
 */
export function checkInput(path: string | undefined, option = "--input"): string | undefined {
  if (path === undefined || path === "-") return undefined;
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new RangeError(`${option} ${path}: no such file (check the path; "-" reads stdin)`);
    throw new RangeError(`${option} ${path}: cannot be read (${code ?? String(e)})`);
  }
  if (isDir) throw new RangeError(`${option} ${path} is a directory: give a log file in it (${option} ${path.replace(/\/$/, "")}/access.log), or follow several with --follow ${path.replace(/\/$/, "")}/*.log`);
  return path;
}

/** detect's exit code from its summary: EXIT_NOTHING_PARSED when lines were read and none scored, else the code so far. */
export function detectExitCode(s: { lines_read: number; lines_scored: number }, current: number | string | undefined): number | string | undefined {
  return s.lines_read > 0 && s.lines_scored === 0 ? EXIT_NOTHING_PARSED : current;
}

/** The closest of `known` to `word` within 2 edits (a third of its length at most), or null. */
export function closest(word: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Math.min(2, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein with adjacent swaps: "inptu" -> "input" is 1). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((d[(i - 1) * cols + j] ?? 0) + 1, (d[i * cols + j - 1] ?? 0) + 1, (d[(i - 1) * cols + j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[(i - 2) * cols + j - 2] ?? 0) + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1] ?? 0;
}

/** Options given on the command line (`--name`, `--name=v`, `--no-name`), in order. */
export function givenOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === "--") break;
    if (!a.startsWith("--") || a.length < 3) continue;
    const name = a.slice(2).split("=")[0] ?? "";
    out.push(name.startsWith("no-") ? name.slice(3) : name);
  }
  return out;
}

/**
 * A number option given as something that is not one (`--trees abc`): yargs makes it NaN.
 * A RangeError naming the option and the text given; null when every number option is a number.
 */
export function badNumber(args: Record<string, unknown>, numberKeys: readonly string[], argv: readonly string[]): RangeError | null {
  for (const key of numberKeys) {
    const v = args[key];
    const bad = (x: unknown) => typeof x === "number" && Number.isNaN(x);
    if (!(bad(v) || (Array.isArray(v) && v.some(bad)))) continue;
    const at = argv.findIndex((a) => a === `--${key}` || a.startsWith(`--${key}=`));
    const raw = at < 0 ? "" : argv[at]?.includes("=") ? argv[at]?.slice(key.length + 3) : argv[at + 1];
    return new RangeError(`--${key} must be a number, got ${raw === undefined ? "nothing" : JSON.stringify(raw)}`);
  }
  return null;
}

/** The part of yargs' option table the checks read (yargs has getOptions() but does not type it). */
export interface OptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  number: string[];
}

/** The option table of a yargs instance (the running command's options once its builder ran). */
export function optionTable(y: object): OptionTable {
  const get: unknown = Reflect.get(y, "getOptions");
  const t: unknown = typeof get === "function" ? Reflect.apply(get, y, []) : undefined;
  const empty: OptionTable = { key: {}, alias: {}, number: [] };
  if (typeof t !== "object" || t === null) return empty;
  const key: unknown = Reflect.get(t, "key");
  const alias: unknown = Reflect.get(t, "alias");
  const number: unknown = Reflect.get(t, "number");
  return {
    key: typeof key === "object" && key !== null ? (key as Record<string, unknown>) : {},
    alias: typeof alias === "object" && alias !== null ? (alias as Record<string, string[]>) : {},
    number: Array.isArray(number) ? number.filter((n): n is string => typeof n === "string") : [],
  };
}
