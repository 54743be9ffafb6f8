/**
 * A worker thread of the pipelined detect path (runtime/pipeline.ts): takes chunks of whole
 * lines, parses them with its stream kind's preparer (StreamKind.preparer; the access-log
 * kind's is streams/http/prepare.ts) and sends back the columns with the chunk's bytes (moved,
 * not copied, both ways).
 */
import { parentPort, workerData } from "node:worker_threads";
import { kindNamed } from "../streams/kinds.js";
import type { ChunkMessage, PipelineWorkerData, PreparedMessage } from "./pipeline.js";

const port = parentPort;
if (port === null) throw new Error("pipeline-worker.js runs as a worker thread");
const data = workerData as PipelineWorkerData;
const kind = kindNamed(data.kind);
if (kind.preparer === undefined) throw new Error(`stream kind ${kind.name} has no worker-thread parser`);
const preparer = kind.preparer(data.settings, data.maxLineBytes);

port.on("message", (m: ChunkMessage) => {
  const { p, transfer } = preparer.prepare(Buffer.from(m.buf, 0, m.length));
  const reply: PreparedMessage = { seq: m.seq, buf: m.buf, length: m.length, p };
  port.postMessage(reply, [m.buf, ...transfer]);
});
