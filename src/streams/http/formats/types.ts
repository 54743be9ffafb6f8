/**
 * What a log format is to the rest of logforest: a name, and a factory for a parser
 * that fills a caller-owned LogRecord from one line. Format files import only this,
 * ../record.ts and ../../scan.ts; the list of formats is ./index.ts.
 */
import type { LatencyUnit } from "../../scan.js";
import type { LogRecord } from "../record.js";

/**
 * The reason a paired format (fastify) gives for the first line of a request: its record is
 * filled on the line that completes it. Counted with the skipped lines, it is no error:
 * format detection counts such a line as read.
 */
export const PAIR_START = "pair_start";

/** Record fields a JSON field mapping can redirect. */
export type FieldName = "ts" | "method" | "route" | "status" | "latency" | "bytes" | "ip" | "user_agent";

/** Parses lines of one format into a reused record. */
export interface LineParser<Name extends string = string> {
  /** The format this parser reads. */
  readonly format: Name;
  /** Fill `out` from `line`; null on success, else a snake_case failure reason. */
  parse(line: string, out: LogRecord): string | null;
}

/** createParser's options after validation: what a format's factory is given. */
export interface ResolvedParserOptions {
  fields: Partial<Record<FieldName, string>>;
  latencyUnit: LatencyUnit | null;
}

/** One log format: registered in ./index.ts, found by createParser, detectFormat and the CLI. */
export interface LogFormat<Name extends string = string> {
  readonly name: Name;
  /** What writes it, in a few words (messages and docs). */
  readonly label: string;
  /** Whether a JSON field mapping (`--field`) applies to it. */
  readonly mapsFields: boolean;
  /** Whether a request spans lines (fastify): its lines must reach one parser in order, on one thread. */
  readonly pairsLines?: boolean;
  /** Whether it reads other formats' lines too (json): it then loses a detection tie to them. */
  readonly generic?: boolean;
  /** A parser for this format; options are already validated. */
  create(o: ResolvedParserOptions): LineParser<Name>;
}
