// Issue 21: every common access-log producer read with no flags: recognised from its field
// names (detectFormat), read with the right fields and units (documented sample lines in
// test/fixtures/producers.ts), and each producer's lines left alone by the other formats.
import { describe, expect, it } from "vitest";
import { createParser, detectFormat, FORMAT_NAMES, PAIR_START, parseFieldMappings, type FormatName } from "../src/streams/http/parse.js";
import { emptyRecord } from "../src/streams/http/record.js";
import { FastifyParser, MAX_PENDING } from "../src/streams/http/formats/fastify.js";
import { PRODUCER_SAMPLES } from "./fixtures/producers.js";

const PRODUCERS = Object.keys(PRODUCER_SAMPLES) as (keyof typeof PRODUCER_SAMPLES)[];

describe.each(PRODUCERS)("%s", (format) => {
  const samples = PRODUCER_SAMPLES[format];

  it("reads each documented line's fields in logforest's units", () => {
    const p = createParser(format);
    for (const [line, want] of samples) {
      const r = emptyRecord();
      const reason = p.parse(line, r);
      if (want === "pair_start") {
        expect(reason, line).toBe(PAIR_START);
        continue;
      }
      expect(reason, line).toBeNull();
      for (const [k, v] of Object.entries(want)) {
        const got = r[k as keyof typeof r];
        if (typeof v === "number") expect(got, `${k} of ${line}`).toBeCloseTo(v, 6);
        else expect(got, `${k} of ${line}`).toBe(v);
      }
    }
  });

  it("is recognised from its field names, with no flag", () => {
    // Enough lines to detect: the samples repeated (a pair stays a pair).
    const lines = Array.from({ length: 10 }, () => samples.map(([l]) => l)).flat();
    expect(detectFormat(lines)).toBe(format);
  });

  it("is not read by any other producer's format", () => {
    for (const other of FORMAT_NAMES) {
      if (other === format || other === "json") continue;
      const p = createParser(other);
      for (const [line] of samples) {
        const reason = p.parse(line, emptyRecord());
        expect(reason === null || reason === PAIR_START, `${other} read a ${format} line`).toBe(false);
      }
    }
  });
});

describe("json producers and the generic json format", () => {
  it("generic json reads nginx JSON poorly (no route, latency taken as ms): why the producer's format wins", () => {
    const [line] = PRODUCER_SAMPLES["nginx-json"][0] ?? [""];
    const r = emptyRecord();
    expect(createParser("json").parse(line, r)).toBeNull();
    expect(r.route).toBe("");
    expect(detectFormat(Array.from({ length: 10 }, () => line))).toBe("nginx-json");
  });

  it("--field reaches nested keys and array elements (request.headers.User-Agent[0])", () => {
    const [line] = PRODUCER_SAMPLES.caddy[0] ?? [""];
    const fields = parseFieldMappings(["user_agent=request.headers.User-Agent[0]", "ip=request.remote_ip"]);
    const r = emptyRecord();
    expect(createParser("json", { fields }).parse(line, r)).toBeNull();
    expect(r.userAgent).toBe("curl/8.0");
    expect(r.ip).toBe("127.0.0.1");
    expect(() => parseFieldMappings(["ip=a[x]"])).toThrow(/field mapping "ip=a\[x\]".*expected a quote or an index/);
  });

  it("a producer's units can be overridden only by mapping the field", () => {
    const line = '{"time_local":"06/Dec/2026:02:50:00 +0000","request":"GET / HTTP/1.1","status":"200","request_time":"0.5","ms":"7"}';
    const r = emptyRecord();
    createParser("nginx-json", { latencyUnit: "ms", fields: { latency: "ms" } }).parse(line, r);
    expect(r.latencyMs).toBe(7);
    createParser("nginx-json").parse(line, r);
    expect(r.latencyMs).toBe(500);
  });
});

describe("fastify request-response pairs", () => {
  const start = (id: number, url = `/p/${id}`) => JSON.stringify({ level: 30, time: 1796525400000 + id, pid: 1, reqId: `req-${id}`, req: { method: "GET", url, remoteAddress: "10.0.0.1" }, msg: "incoming request" });
  const end = (id: number, status = 200) => JSON.stringify({ level: 30, time: 1796525400005 + id, pid: 1, reqId: `req-${id}`, res: { statusCode: status }, responseTime: 5, msg: "request completed" });

  it("joins interleaved pairs by reqId, counts each request once, and reads a completion again the same way", () => {
    const p = createParser("fastify");
    const r = emptyRecord();
    const lines = [start(1), start(2), end(2, 404), end(1), '{"level":30,"time":1,"msg":"Server listening at http://127.0.0.1:3000"}'];
    const reasons = lines.map((l) => p.parse(l, r));
    expect(reasons).toEqual([PAIR_START, PAIR_START, null, null, "not_fastify"]);
    // An alert reads its line again: same record.
    expect(p.parse(end(2, 404), r)).toBeNull();
    expect([r.route, r.status, r.ip]).toEqual(["/p/2", 404, "10.0.0.1"]);
  });

  it("counts a completion without its start as unpaired_completion, never drops it silently", () => {
    expect(createParser("fastify").parse(end(9), emptyRecord())).toBe("unpaired_completion");
  });

  it("keeps at most MAX_PENDING starts, forgetting the oldest", () => {
    const p = new FastifyParser({ fields: {}, latencyUnit: null });
    const r = emptyRecord();
    for (let i = 0; i < MAX_PENDING + 10; i++) p.parse(start(i), r);
    expect(p.waiting).toBe(MAX_PENDING);
    expect(p.parse(end(0), r)).toBe("unpaired_completion");
    expect(p.parse(end(MAX_PENDING + 9), r)).toBeNull();
  });

  it("is told apart from pino-http, whose lines carry req and res together", () => {
    const pinoHttp = JSON.stringify({ level: 30, time: 1796525400000, pid: 1, req: { id: 1, method: "GET", url: "/a" }, res: { statusCode: 200 }, responseTime: 3, msg: "request completed" });
    expect(detectFormat(Array.from({ length: 10 }, () => pinoHttp))).toBe("json");
  });
});

describe("format names", () => {
  it("every registered format has samples or is one of the original three", () => {
    const covered = new Set<FormatName>([...PRODUCERS, "json", "combined", "seed"]);
    expect(FORMAT_NAMES.filter((f) => !covered.has(f))).toEqual([]);
  });
});
