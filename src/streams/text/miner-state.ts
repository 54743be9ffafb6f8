/**
 * The miner's state as a plain object: what a model keeps so that template ids stay
 * the same across runs (train, then detect, then retrain). Read back with checks; a
 * damaged state is refused with a ModelFileError that says what is wrong.
 */
import { ModelFileError } from "../../forest/model-file.js";

/** Format tag of a miner state. */
export const MINER_STATE_FORMAT = "logforest-templates";
/** Version of the miner state written now. */
export const MINER_STATE_VERSION = 1;

/** One template as saved. */
export interface SavedTemplate {
  id: number;
  tokens: string[];
  count: number;
  lastSeen: number;
}

/** A miner's saved state. */
export interface MinerState {
  format: typeof MINER_STATE_FORMAT;
  version: number;
  /** The next id to give (ids are never reused, merged and evicted ones included). */
  nextId: number;
  /** The miner's clock (lines learned). */
  tick: number;
  merges: number;
  evicted: number;
  templates: SavedTemplate[];
}

/** Whether `v` is a whole number >= `min`. */
function whole(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/** `v` checked as a miner state; a ModelFileError names the first thing wrong. */
export function checkMinerState(v: unknown): MinerState {
  const bad = (what: string): never => {
    throw new ModelFileError("malformed", `template state: ${what}`);
  };
  if (v === null || typeof v !== "object") return bad("not an object");
  const s = v as Partial<MinerState>;
  if (s.format !== MINER_STATE_FORMAT) return bad(`format must be "${MINER_STATE_FORMAT}", got ${JSON.stringify(s.format)}`);
  if (!whole(s.version, 1)) return bad(`version must be a whole number >= 1, got ${JSON.stringify(s.version)}`);
  if (s.version > MINER_STATE_VERSION) throw new ModelFileError("newer-version", `template state version ${s.version} is newer than this logforest reads (${MINER_STATE_VERSION})`);
  if (!whole(s.nextId, 1) || !whole(s.tick, 0) || !whole(s.merges, 0) || !whole(s.evicted, 0)) return bad("nextId, tick, merges and evicted must be whole numbers");
  if (!Array.isArray(s.templates)) return bad("templates must be an array");
  const seen = new Set<number>();
  s.templates.forEach((t: Partial<SavedTemplate>, i) => {
    if (t === null || typeof t !== "object") bad(`templates[${i}] is not an object`);
    if (!whole(t.id, 1) || t.id >= (s.nextId ?? 0) || seen.has(t.id)) bad(`templates[${i}].id must be a unique whole number below nextId, got ${JSON.stringify(t.id)}`);
    if (!Array.isArray(t.tokens) || !t.tokens.every((x) => typeof x === "string" && x !== "" && !/\s/.test(x))) bad(`templates[${i}].tokens must be non-empty strings without spaces`);
    if (!whole(t.count, 0) || !whole(t.lastSeen, 0)) bad(`templates[${i}].count and lastSeen must be whole numbers`);
    seen.add(t.id ?? 0);
  });
  return s as MinerState;
}
