// Records/s received and scored by `detect --listen` from the OpenTelemetry SDK's OTLP/HTTP
// protobuf exporter (one sender process, one detector process, loopback), beside the same lines
// read from a file with `detect --input`. Build first (npm run build).
//   node test/perf/listen-otlp.mjs [records=300000] [batch=8192] [json]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OTLPLogExporter as ProtoExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPLogExporter as JsonExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";

const BIN = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;
const { simulate } = await import(new URL("../../dist/src/tools/simulate.js", import.meta.url).href);
const records = Number(process.argv[2] ?? 300_000);
const batch = Number(process.argv[3] ?? 8192);
const json = process.argv[4] === "json";
const dir = mkdtempSync(join(tmpdir(), "logforest-listen-perf-"));
try {
  const model = join(dir, "m.lfm");
  writeFileSync(join(dir, "train.log"), [...simulate({ count: 20_000, seed: 3, incidents: "none", format: "combined" })].map((l) => l.text).join("\n") + "\n");
  spawnSync(process.execPath, [BIN, "train", "--input", join(dir, "train.log"), "--model", model, "--seed", "3"], { stdio: "ignore" });
  const lines = [...simulate({ count: records, seed: 4, format: "combined" })].map((l) => l.text);
  writeFileSync(join(dir, "test.log"), lines.join("\n") + "\n");

  const t0 = performance.now();
  const file = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--input", join(dir, "test.log"), "--json", "--alerts", join(dir, "a1.jsonl"), "--workers", "0"], { encoding: "utf8" });
  const fileSeconds = (performance.now() - t0) / 1000;
  if (file.status !== 0) throw new Error(file.stderr);

  const det = spawn(process.execPath, [BIN, "detect", "--model", model, "--listen", "0", "--json", "--alerts", join(dir, "a2.jsonl")], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const url = await new Promise((resolve, reject) => {
    det.stderr.on("data", (c) => {
      err += c;
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    det.on("exit", () => reject(new Error(err)));
  });
  const Exporter = json ? JsonExporter : ProtoExporter;
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "web" }),
    processors: [new BatchLogRecordProcessor({ exporter: new Exporter({ url: `${url}/v1/logs` }), maxExportBatchSize: batch, maxQueueSize: 4 * batch, scheduledDelayMillis: 5 })],
  });
  const logger = provider.getLogger("access");
  const t1 = performance.now();
  // Emit as fast as the batch processor's queue takes them (it drops beyond maxQueueSize): yield to let exports run.
  for (let i = 0; i < lines.length; i += batch) {
    for (let j = i; j < Math.min(i + batch, lines.length); j++) logger.emit({ body: lines[j] });
    await provider.forceFlush();
  }
  const sendSeconds = (performance.now() - t1) / 1000;
  await provider.shutdown();
  det.kill("SIGTERM");
  await new Promise((resolve) => det.on("exit", resolve));
  const summary = JSON.parse(err.trim().split("\n").pop());
  const received = JSON.parse(/received: (.*)/.exec(err)[1]);
  console.log(JSON.stringify({
    records, batch, encoding: json ? "json" : "protobuf",
    listen: { scored: summary.lines_scored, received: received.records, refused: received.refused, seconds: +sendSeconds.toFixed(2), records_per_s: Math.round(records / sendSeconds), alerts: summary.alerts },
    file: { seconds: +fileSeconds.toFixed(2), lines_per_s_including_startup: Math.round(records / fileSeconds), alerts: JSON.parse(file.stderr.trim().split("\n").pop()).alerts },
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
