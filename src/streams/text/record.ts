/** One free-text log record: the header's fields and the message that is templated. */

/** The levels a header may carry, normalised; "" when the line has none. */
export type Level = "TRACE" | "DEBUG" | "INFO" | "NOTICE" | "WARN" | "ERROR" | "FATAL" | "";

/** A record of a free-text log, filled by a header shape; reused line after line. */
export interface TextRecord {
  /** Epoch ms (UTC unless the line says its zone), NaN when the header has no usable time. */
  ts: number;
  /** The level, normalised (see levelOf). */
  level: Level;
  /** The logger, program or class the header names; "" when none. */
  component: string;
  /** The process (or thread) id the header names; "" when none. */
  pid: string;
  /** The text after the header: what is templated. */
  message: string;
}

/** A fresh record with every field empty. */
export function emptyRecord(): TextRecord {
  return { ts: NaN, level: "", component: "", pid: "", message: "" };
}

/** Spellings of levels across log4j, Python, Go, syslog, Apache, Android and BGL. */
const LEVELS: Readonly<Record<string, Level>> = {
  trace: "TRACE", finest: "TRACE", finer: "TRACE", v: "TRACE", verbose: "TRACE",
  debug: "DEBUG", fine: "DEBUG", d: "DEBUG", dbg: "DEBUG",
  info: "INFO", information: "INFO", i: "INFO", config: "INFO",
  notice: "NOTICE", n: "NOTICE",
  warn: "WARN", warning: "WARN", w: "WARN", wrn: "WARN",
  error: "ERROR", err: "ERROR", e: "ERROR", severe: "ERROR", failure: "ERROR",
  fatal: "FATAL", f: "FATAL", crit: "FATAL", critical: "FATAL", alert: "FATAL", emerg: "FATAL", panic: "FATAL",
};

/** The normalised level of a header's level word (any case), or "" when it is not one. */
export function levelOf(word: string): Level {
  return EXACT.get(word) ?? LEVELS[word.toLowerCase()] ?? "";
}

/** The spellings as written most often (`info`, `INFO`, `Info`): found without lowering the case. */
const EXACT = new Map<string, Level>(Object.entries(LEVELS).flatMap(([w, l]) => [[w, l], [w.toUpperCase(), l], [w[0]?.toUpperCase() + w.slice(1), l]] as [string, Level][]));

/** Whether `word` spells a level (used to tell a level column from other words). */
export function isLevelWord(word: string): boolean {
  return word.length <= 11 && levelOf(word) !== "";
}

/** The level of a syslog priority (`<34>`: facility*8 + severity), or "". */
export function syslogLevel(pri: number): Level {
  const sev = pri % 8;
  return sev <= 2 ? "FATAL" : sev === 3 ? "ERROR" : sev === 4 ? "WARN" : sev === 5 ? "NOTICE" : sev === 6 ? "INFO" : "DEBUG";
}
