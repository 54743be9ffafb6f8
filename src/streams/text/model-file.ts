/**
 * A trained free-text model as a file: one JSON object with a format tag and version,
 * the forest's bytes in base64. Read back with checks; a damaged file is refused with a
 * ModelFileError that says what is wrong.
 */
import { ModelFileError } from "../../forest/model-file.js";
import { IsolationForest } from "../../forest/forest.js";
import { isCalibration } from "../severity.js";
import { checkMinerState } from "./miner-state.js";
import type { TemplateProfile } from "./profile.js";
import { keyRegex, type SessionModel } from "./sessions.js";
import type { TextModel } from "./train.js";

/** The model as the text of a file. */
export function textModelToJson(model: TextModel): string {
  const forest = model.forest === null ? null : { ...model.forest, bytes: Buffer.from(model.forest.bytes).toString("base64") };
  return JSON.stringify({ ...model, forest });
}

/** A model from the text of a file; a ModelFileError names what is wrong. */
export function textModelFromJson(text: string): TextModel {
  const bad = (what: string): never => {
    throw new ModelFileError("malformed", `free-text model: ${what}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== "object") return bad("not an object");
  const m = v as Record<string, unknown>;
  if (m.format !== "logforest-text") return bad(`format must be "logforest-text", got ${JSON.stringify(m.format)}`);
  if (m.version !== 1) throw new ModelFileError("newer-version", `free-text model version ${JSON.stringify(m.version)} is not one this logforest reads (1)`);
  for (const k of ["windowMs", "windowLines", "windows", "lines", "span"]) if (typeof m[k] !== "number" || !Number.isFinite(m[k]) || (m[k] as number) < 0) bad(`${k} must be a number >= 0`);
  if (typeof m.timed !== "boolean" || typeof m.shape !== "string") bad("timed and shape are missing");
  for (const k of ["generation", "oldestTree"]) if (m[k] !== undefined && !(Number.isInteger(m[k]) && (m[k] as number) >= 0)) bad(`${k} must be a whole number >= 0 when present, got ${JSON.stringify(m[k])}`);
  if (m.profiles === null || typeof m.profiles !== "object") return bad("profiles must be an object");
  for (const [id, p] of Object.entries(m.profiles as Record<string, Partial<TemplateProfile>>)) {
    if (!/^\d+$/.test(id) || p === null || typeof p !== "object" || typeof p.mean !== "number" || typeof p.variance !== "number" || typeof p.peak !== "number"
      || typeof p.gapMedian !== "number" || typeof p.gapMax !== "number" || typeof p.span !== "number" || typeof p.lines !== "number" || typeof p.params !== "object") {
      bad(`profiles[${id}] is incomplete`);
    }
  }
  const warn = m.warn as Record<string, unknown> | null;
  if (warn === null || typeof warn !== "object" || typeof warn.mean !== "number" || typeof warn.variance !== "number" || typeof warn.peak !== "number") bad("warn is incomplete");
  let forest: TextModel["forest"] = null;
  if (m.forest !== null) {
    const f = m.forest as Record<string, unknown>;
    if (typeof f !== "object" || typeof f.bytes !== "string" || !Array.isArray(f.templateIds) || !isCalibration(f.calibration)) return bad("forest is incomplete");
    const bytes = new Uint8Array(Buffer.from(f.bytes, "base64"));
    const windowForest = IsolationForest.fromBytes(bytes); // its own checks: a damaged forest is refused here
    const trees = windowForest.trees;
    windowForest.close();
    if (m.oldestTree !== undefined && (m.oldestTree as number) >= trees) bad(`oldestTree must be below the forest's ${trees} trees, got ${JSON.stringify(m.oldestTree)}`);
    forest = { templateIds: f.templateIds as number[], bytes, calibration: f.calibration };
  }
  return {
    format: "logforest-text",
    version: 1,
    shape: m.shape as string,
    timed: m.timed as boolean,
    windowMs: m.windowMs as number,
    windowLines: m.windowLines as number,
    windows: m.windows as number,
    lines: m.lines as number,
    span: m.span as number,
    miner: checkMinerState(m.miner),
    profiles: m.profiles as Record<string, TemplateProfile>,
    warn: m.warn as TextModel["warn"],
    forest,
    sessions: m.sessions === null || m.sessions === undefined ? null : checkSessions(m.sessions),
    ...(m.generation === undefined ? {} : { generation: m.generation as number }),
    ...(m.oldestTree === undefined ? {} : { oldestTree: m.oldestTree as number }),
  };
}

/** A saved session model, checked. */
function checkSessions(v: unknown): SessionModel {
  const s = v as Partial<SessionModel>;
  const ints = (x: unknown) => Array.isArray(x) && x.every((n) => Number.isInteger(n));
  if (typeof s !== "object" || typeof s.keyPattern !== "string" || typeof s.idle !== "number" || !(s.idle > 0) || typeof s.sessions !== "number"
    || !ints(s.templates) || !ints(s.required) || !Array.isArray(s.transitions) || !s.transitions.every((t) => typeof t === "string")) {
    throw new ModelFileError("malformed", "free-text model: sessions is incomplete");
  }
  keyRegex(s.keyPattern);
  return s as SessionModel;
}
