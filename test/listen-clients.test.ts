// detect --listen against real clients on loopback: the OpenTelemetry SDK's OTLP log exporters
// (HTTP/JSON, HTTP/protobuf with gzip), pino-loki (Loki push JSON), winston-loki (Loki push,
// snappy protobuf) and an NDJSON sender. Each sends simulated access lines with injected
// incidents; the alerts must be those of the same lines read from a file with --input.
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OTLPLogExporter as OtlpJsonExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as OtlpProtoExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from "@opentelemetry/sdk-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { logs } from "@opentelemetry/api-logs";
import { OpenTelemetryTransportV3 } from "@opentelemetry/winston-transport";
import pino from "pino";
import { pinoLoki } from "pino-loki";
import winston from "winston";
import LokiTransport from "winston-loki";
import { detect, type DetectResult } from "../src/runtime/detect.js";
import type { StreamAlert } from "../src/streams/stream.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";

let dir = "";
let model = "";
let lines: string[] = [];
let fromFile: string[] = [];

/** What makes two alerts the same, the source's name aside. */
const keyOf = (a: StreamAlert) => JSON.stringify([a.line, a.rule, a.score, a.severity]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "logforest-listen-"));
  model = join(dir, "m.lfm");
  trainFromLines([...simulate({ count: 8000, seed: 3, incidents: "none", format: "combined" })].map((l) => l.text), { forest: { seed: 3, trees: 50 } }).forest.save(model);
  lines = [...simulate({ count: 12_000, seed: 4, incidents: "default", format: "combined" })].map((l) => l.text);
  const file = join(dir, "access.log");
  writeFileSync(file, lines.join("\n") + "\n");
  const alerts: StreamAlert[] = [];
  await detect({ input: { file }, model: { model }, outputs: { out: null, onAlert: (a) => alerts.push(a) } });
  fromFile = alerts.map(keyOf);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A listening run: `send(url)` feeds it; once it resolves the run is stopped. The alerts (with the source named) and the result. */
async function received(send: (url: string) => Promise<void>, listen: { queueRecords?: number } = {}): Promise<{ alerts: StreamAlert[]; result: DetectResult }> {
  const stop = new AbortController();
  const alerts: StreamAlert[] = [];
  let ready: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (ready = resolve));
  const run = detect({ input: { listen: { address: "127.0.0.1:0", onListening: ready, ...listen } }, model: { model }, outputs: { out: null, onAlert: (a) => alerts.push(a) }, signal: stop.signal });
  const sent = url.then(send).finally(() => stop.abort());
  const [result] = await Promise.all([run, sent]);
  return { alerts, result };
}

/** Lines to an OTLP exporter through the SDK's logger, or from a winston app through @opentelemetry/winston-transport. */
async function viaOtel(exporter: LogRecordExporter, app: "sdk" | "winston" = "sdk"): Promise<void> {
  // One export at a time (the SDK's batch processor), so the lines arrive in order.
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout" }),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 2000, maxQueueSize: lines.length, scheduledDelayMillis: 20 })],
  });
  if (app === "winston") {
    logs.setGlobalLoggerProvider(provider);
    const log = winston.createLogger({ transports: [new OpenTelemetryTransportV3()] });
    const finished = once(log, "finish");
    for (const l of lines) log.info(l);
    log.end();
    await finished;
  } else {
    const logger = provider.getLogger("access");
    for (const body of lines) logger.emit({ body });
  }
  await provider.forceFlush();
  await provider.shutdown();
  logs.disable();
}

function expectSameAlerts(alerts: StreamAlert[], source: string): void {
  expect(fromFile.length).toBeGreaterThan(3);
  expect(alerts.map(keyOf)).toEqual(fromFile);
  expect(new Set(alerts.map((a) => a.file))).toEqual(new Set([source]));
}

describe("detect --listen: real clients, the alerts of the file", () => {
  it("OTLP/HTTP JSON (@opentelemetry/exporter-logs-otlp-http): service.name names the source", async () => {
    const { alerts, result } = await received((url) => viaOtel(new OtlpJsonExporter({ url: `${url}/v1/logs` })));
    expectSameAlerts(alerts, "checkout");
    expect(result.listen?.records).toBe(lines.length);
    expect(result.summary.lines_scored).toBe(lines.length);
  }, 120_000);

  it("OTLP/HTTP protobuf, gzip (@opentelemetry/exporter-logs-otlp-proto), from a winston app (@opentelemetry/winston-transport)", async () => {
    const { alerts, result } = await received((url) => viaOtel(new OtlpProtoExporter({ url: `${url}/v1/logs`, compression: "gzip" as never }), "winston"));
    expectSameAlerts(alerts, "checkout");
    expect(result.listen?.records).toBe(lines.length);
  }, 120_000);

  it("Loki push JSON (pino-loki): the stream's labels name the source", async () => {
    const { alerts } = await received(async (url) => {
      // One push, at close: pino-loki's interval pushes are not awaited one after another.
      const stream = pinoLoki({ host: url, labels: { app: "web" }, logFormat: "{msg}", batching: { interval: 3600, maxBufferSize: lines.length }, silenceErrors: false });
      const log = pino({ base: null }, stream);
      for (const l of lines) log.info(l);
      const closed = once(stream, "close");
      stream.end();
      await closed;
    });
    expect(alerts.map(keyOf)).toEqual(fromFile);
    expect(alerts[0].file).toMatch(/^\{app="web"(,level="info")?\}$/);
  }, 120_000);

  it("Loki push protobuf, snappy (winston-loki)", async () => {
    const { alerts } = await received(async (url) => {
      const transport = new LokiTransport({ host: url, labels: { app: "api" }, json: false, batching: true, interval: 3600, format: winston.format.printf((i) => String(i.message)) });
      const log = winston.createLogger({ transports: [transport] });
      const finished = once(log, "finish");
      for (const l of lines) log.info(l);
      log.end();
      await finished;
      await transport.close(); // starts sending the batch
      await transport.flush(); // resolves once Loki (here logforest) has answered
    });
    expect(alerts.map(keyOf)).toEqual(fromFile);
    expect(alerts[0].file).toMatch(/^\{app="api"/);
  }, 120_000);

  it("NDJSON (Fluent Bit's json_lines shape, {log: line}), 1,000 lines a request", async () => {
    const { alerts } = await received(async (url) => {
      for (let i = 0; i < lines.length; i += 1000) {
        const body = lines.slice(i, i + 1000).map((log) => JSON.stringify({ log, stream: "stdout" })).join("\n");
        const r = await fetch(`${url}/ndjson?source=edge`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
        expect(r.status).toBe(200);
      }
    });
    expectSameAlerts(alerts, "edge");
  }, 120_000);
});
