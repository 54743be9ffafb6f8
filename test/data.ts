/**
 * Shared data for tests: the path comes from LOGFOREST_DATA. When the variable is
 * set, missing data is a failure; when it is unset, data tests are skipped.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

export const DATA_DIR = process.env.LOGFOREST_DATA ?? null;

/** Path of a file under LOGFOREST_DATA; throws when the variable is set but the file is missing. */
export function dataFile(relative: string): string {
  if (DATA_DIR === null) throw new Error("LOGFOREST_DATA is not set");
  const path = join(DATA_DIR, relative);
  if (!existsSync(path)) throw new Error(`LOGFOREST_DATA is set to ${DATA_DIR} but ${relative} is missing there`);
  return path;
}
