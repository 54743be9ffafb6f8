// The decoders of detect --listen on hand-made bodies: sources and lines as the docs say.
import { describe, expect, it } from "vitest";
import { lokiJson, lokiProto, ndjson, otlpJson, otlpProto, PayloadError } from "../src/runtime/listen/decode.js";
import { wireTypes } from "../src/runtime/listen/schema.js";

const types = wireTypes();

describe("listen decoders", () => {
  it("OTLP: sources by service.name (unknown_service without), string bodies as is, kvlist bodies as JSON; protobuf and JSON alike", () => {
    const req = {
      resourceLogs: [
        { resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: "GET / 200" } }, { body: { kvlistValue: { values: [{ key: "status", value: { intValue: "503" } }, { key: "ok", value: { boolValue: false } }] } } }] }] },
        { scopeLogs: [{ logRecords: [{ body: { doubleValue: 1.5 } }, {}] }] },
        { resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] }, scopeLogs: [{ logRecords: [{ body: { arrayValue: { values: [{ stringValue: "x" }] } } }] }] },
      ],
    };
    const want = [
      { source: "api", lines: ["GET / 200", '{"status":503,"ok":false}', '["x"]'] },
      { source: "unknown_service", lines: ["1.5", ""] },
    ];
    expect(otlpJson(JSON.stringify(req))).toEqual(want);
    const bytes = types.otlpLogs.encode(types.otlpLogs.fromObject(req)).finish();
    expect(otlpProto(bytes, types)).toEqual(want);
  });

  it("Loki: the label set written as a sorted selector, from JSON labels and from the protobuf's label text (escapes kept)", () => {
    const json = { streams: [{ stream: { job: "nginx", app: 'a"b' }, values: [["1700000000000000000", "one"], ["1700000000000000001", "two", { trace: "t" }]] }] };
    expect(lokiJson(JSON.stringify(json))).toEqual([{ source: '{app="a\\"b",job="nginx"}', lines: ["one", "two"] }]);
    const push = { streams: [{ labels: '{job="nginx", app="a\\"b"}', entries: [{ timestamp: { seconds: 1 }, line: "one" }, { line: "two" }] }] };
    expect(lokiProto(types.lokiPush.encode(types.lokiPush.fromObject(push)).finish(), types)).toEqual([{ source: '{app="a\\"b",job="nginx"}', lines: ["one", "two"] }]);
    const bad = { streams: [{ labels: "{job=nginx}", entries: [{ line: "x" }] }] };
    expect(() => lokiProto(types.lokiPush.encode(types.lokiPush.fromObject(bad)).finish(), types)).toThrow(/streams\[0\]\.labels is not a label set/);
  });

  it("NDJSON: log, else message, else the object itself; ?message= picks a field; JSON strings are lines; blank lines skipped", () => {
    const body = [JSON.stringify({ log: "a", message: "m" }), JSON.stringify({ message: "b" }), "", JSON.stringify({ level: 30, msg: "c" }), JSON.stringify("d")].join("\n");
    expect(ndjson(body, { source: "s", message: null })).toEqual([{ source: "s", lines: ["a", "b", '{"level":30,"msg":"c"}', "d"] }]);
    expect(ndjson(JSON.stringify({ msg: "c", x: 1 }), { source: "s", message: "msg" })).toEqual([{ source: "s", lines: ["c"] }]);
    expect(() => ndjson("[1]", { source: "s", message: null })).toThrow(PayloadError);
  });
});
