/**
 * A worker thread of the pipelined detect path (runtime/pipeline.ts): takes chunks of whole
 * lines, parses them (streams/http/prepare.ts) and sends back the columns with the chunk's
 * bytes (moved, not copied, both ways).
 */
import { parentPort, workerData } from "node:worker_threads";
import { LinePreparer } from "../streams/http/prepare.js";
import type { ChunkMessage, PipelineWorkerData, PreparedMessage } from "./pipeline.js";

const port = parentPort;
if (port === null) throw new Error("pipeline-worker.js runs as a worker thread");
const data = workerData as PipelineWorkerData;
const preparer = new LinePreparer(data.format, data.options, data.maxLineBytes);

port.on("message", (m: ChunkMessage) => {
  const p = preparer.prepare(Buffer.from(m.buf, 0, m.length));
  const reply: PreparedMessage = { seq: m.seq, buf: m.buf, length: m.length, p };
  const arrays = [p.start, p.end, p.skip, p.ts, p.status, p.latencyMs, p.bytes, p.method, p.route, p.ip];
  port.postMessage(reply, [m.buf, ...arrays.map((a) => a.buffer as ArrayBuffer)]);
});
