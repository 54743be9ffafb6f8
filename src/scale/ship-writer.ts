/**
 * The shipper's writer, in a worker thread: the follower hands lines over synchronously
 * and, before it saves a position, must know they are in the transport. So the main thread
 * posts batches here and blocks (Atomics.wait) on the count of batches confirmed, which
 * this thread raises after each batch was appended (LineAppender.append resolved).
 *
 * Shared Int32Array: [0] batches confirmed, [1] 1 once this thread failed for good.
 */
import { parentPort, workerData } from "node:worker_threads";
import { connectTransport } from "./connect.js";
import type { LineBatch, StreamTransport } from "./transport.js";

/** What the main thread gives this worker. */
export interface WriterData {
  /** The transport's address (redis://HOST:PORT). */
  to: string;
  stream: string;
  maxlen: number;
  linesPerEntry: number;
  shared: SharedArrayBuffer;
  connectTimeoutMs: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const data = workerData as WriterData;
  const state = new Int32Array(data.shared);
  let transport: StreamTransport;
  try {
    transport = await connectTransport(data.to, "--to", data.connectTimeoutMs);
  } catch (err) {
    Atomics.store(state, 1, 1);
    Atomics.notify(state, 0);
    port.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
    return;
  }
  const appender = transport.appender(data.stream, data.maxlen, data.linesPerEntry);
  port.postMessage({ type: "ready" });
  let queue = Promise.resolve();
  port.on("message", (m: { type: "batch"; batch: LineBatch } | { type: "close" }) => {
    if (m.type === "close") {
      queue = queue.then(async () => {
        await transport.close();
        port.close();
      });
      return;
    }
    queue = queue.then(() => appender.append(m.batch)).then(() => {
      Atomics.add(state, 0, 1);
      Atomics.notify(state, 0);
    });
  });
}

void main();
