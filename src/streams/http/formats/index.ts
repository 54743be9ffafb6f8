/**
 * The log formats, in the order auto-detection prefers on a tie. To add a format,
 * write one file beside this one exporting a LogFormat (see ./types.ts and
 * docs/architecture.md) and add it to FORMATS: createParser, detectFormat,
 * FORMAT_NAMES and the CLI's --format choices all come from this list.
 */
import { combinedFormat } from "./combined.js";
import { jsonFormat } from "./json.js";
import { seedFormat } from "./seed.js";
import type { LogFormat } from "./types.js";

export const FORMATS = [jsonFormat, combinedFormat, seedFormat] as const satisfies readonly LogFormat[];

/** Formats a parser exists for. */
export type FormatName = (typeof FORMATS)[number]["name"];
