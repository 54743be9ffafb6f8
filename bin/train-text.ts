/** `logforest train` on a free-text log (`--format text`, or found by itself): a text model in the one model file (src/streams/text/kind.ts). */
import { closeSync, openSync, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { STREAM_KINDS } from "../src/streams/kinds.js";
import { readLineBatches } from "../src/streams/lines.js";
import { textForest } from "../src/streams/text/kind.js";
import { trainText } from "../src/streams/text/train.js";

/** The options `train` gains for free text. */
export const TEXT_TRAIN_OPTIONS = {
  "session-key": { type: "string", describe: "text: group lines into sessions by this regular expression (a block id, a request id), each judged when idle" },
} as const;

/** The stream kind whose reader takes a file's first lines: "logs" (an access log), "metrics", "text", or null. */
export function kindOfFile(path: string): string | null {
  const fd = openSync(path, "r");
  const buf = Buffer.alloc(256 * 1024);
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const sample = buf.subarray(0, n).toString("utf8").split("\n").slice(0, 200).filter((l) => l.trim() !== "");
  if (sample.length < 2) return null;
  return STREAM_KINDS.find((k) => k.recognise(sample) !== null)?.name ?? null;
}

/** Learn a free-text model from `source` and save it; a summary on stdout. */
export async function trainTextCommand(a: { input: string; model: string; seed: number; json: boolean; "max-lines": number; "session-key"?: string }, source: string | Readable): Promise<void> {
  const lines: string[] = [];
  let total = 0;
  await readLineBatches(source, (batch) => {
    total += batch.length;
    for (const l of batch) if (lines.length < a["max-lines"]) lines.push(l);
  });
  const model = trainText(lines, { seed: a.seed, ...(a["session-key"] !== undefined ? { sessionKey: a["session-key"] } : {}) });
  textForest(model).save(a.model);
  const summary = {
    model: a.model, kind: "text", shape: model.shape, lines: total, learned_from: lines.length, templates: Object.keys(model.profiles).length,
    windows: model.windows, timed: model.timed, forest: model.forest !== null, sessions: model.sessions !== null,
  };
  if (a.json) return void console.log(JSON.stringify(summary));
  console.log(`trained on ${lines.length.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} lines of ${a.input} (free text, header ${model.shape})`);
  console.log(`templates learned: ${summary.templates}; ${model.windows} windows of ${model.timed ? `${model.windowMs / 1000} s` : `${model.windowLines} lines`}` +
    (model.forest === null ? " (fewer than 32: no window forest, the per-template rules only)" : ""));
  if (model.sessions !== null) console.log(`sessions by ${a["session-key"]}`);
  console.log(`model written to ${a.model}`);
}
