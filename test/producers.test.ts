// Issue 21: every common access-log producer read with no flags: recognised from its field
// names (detectFormat), read with the right fields and units (documented sample lines in
// test/fixtures/producers.ts), and each producer's lines left alone by the other formats.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { simulate } from "../src/tools/simulate.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { Detector } from "../src/streams/http/detect.js";
import { TelemetryDetector, trainTelemetry } from "../src/streams/metrics/telemetry.js";
import { detectFlat } from "./helpers.js";
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
      // The generic formats (json, combined) read some producers' lines, less well, and lose a tie to them.
      if (other === format || other === "json" || other === "combined") continue;
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

describe("a model and a log from different producers", () => {
  const sim = (format: "json" | "combined", seed: number, count = 3000) => [...simulate({ count, seed, incidents: "none", format })].map((l) => l.text);

  it("is refused with what each is (a pino-style JSON model on a combined log, and the reverse)", () => {
    const jsonModel = trainFromLines(sim("json", 1), { forest: { seed: 1, trees: 20 } }).forest;
    expect(() => new Detector(jsonModel).processBatch("access.log", sim("combined", 2, 200), 1, () => undefined)).toThrow(
      /^the model was trained on a json \(JSON lines .*\) log, but access\.log is a combined \(Apache\/nginx combined .*\) log: train a model on this log/,
    );
    const combinedModel = trainFromLines(sim("combined", 1), { forest: { seed: 1, trees: 20 } }).forest;
    expect(() => new Detector(combinedModel).processBatch("app.log", sim("json", 2, 200), 1, () => undefined)).toThrow(/trained on a combined .* but app\.log is a json/);
  });

  it("a generic json model meeting a producer's lines is refused; the model's own log is not", () => {
    const nginx = (i: number) => `{"time_local":"06/Dec/2026:02:50:${String(i % 60).padStart(2, "0")} +0000","remote_addr":"10.0.0.${i % 50}","request":"GET /p/${i % 7} HTTP/1.1","status":"200","body_bytes_sent":"${500 + (i % 13)}","request_time":"0.0${10 + (i % 9)}"}`;
    const lines = Array.from({ length: 400 }, (_, i) => nginx(i));
    const asJson = trainFromLines(lines, { format: "json", forest: { seed: 1, trees: 20 } }).forest;
    expect(() => new Detector(asJson).processBatch("n.log", lines, 1, () => undefined)).toThrow(/trained on a json .* but n\.log is a nginx-json/);
    const own = trainFromLines(lines, { forest: { seed: 1, trees: 20 } });
    expect(own.summary.format).toBe("nginx-json");
    const d = new Detector(own.forest);
    d.processBatch("n.log", lines, 1, () => undefined);
    expect(d.summary().lines_scored).toBe(400);
  });

  it("a telemetry (csv) model on an access log is refused by kind, and an access-log model on a CSV (through the registry, in any run)", async () => {
    const csv = ["ts,cpu", ...Array.from({ length: 600 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()},${50 + ((i * 7) % 11)}`)];
    const m = trainTelemetry(csv, { forest: { seed: 1, trees: 20 } }).forest;
    const dir = mkdtempSync(join(tmpdir(), "logforest-kinds-"));
    try {
      const access = join(dir, "access.log");
      const metrics = join(dir, "metrics.csv");
      writeFileSync(access, sim("combined", 3, 50).join("\n") + "\n");
      writeFileSync(metrics, csv.slice(0, 50).join("\n") + "\n");
      await expect(detectFlat({ model: m, input: access, out: null }))
        .rejects.toThrow(/access\.log is an access log \(combined .*\), but the model was trained on a CSV metric stream/);
      const http = trainFromLines(sim("json", 1), { forest: { seed: 1, trees: 20 } }).forest;
      await expect(detectFlat({ model: http, input: metrics, out: null }))
        .rejects.toThrow(/metrics\.csv looks like a CSV metric stream, but the model was trained on a json \(.*\) log/);
      // Each model on its own kind of log runs.
      expect((await detectFlat({ model: m, input: metrics, out: null })).summary.lines_scored).toBe(49);
      writeFileSync(access, sim("json", 4, 50).join("\n") + "\n");
      expect((await detectFlat({ model: http, input: access, out: null })).summary.lines_scored).toBe(50);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fastify on the worker-thread parse path", () => {
  it("falls back to the detecting thread: the same alerts and counts with --workers 1 as with 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logforest-fastify-"));
    try {
      // The simulator's requests as Fastify writes them: each start a line before the previous completion.
      const asFastify = (seed: number, incidents: "none" | "default") => {
        const recs = [...simulate({ count: 6000, seed, incidents, format: "json" })].map((l) => JSON.parse(l.text) as Record<string, unknown>);
        const out: string[] = [];
        recs.forEach((r, i) => {
          const time = Date.parse(String(r.ts));
          out.push(JSON.stringify({ level: 30, time, pid: 1, reqId: `req-${i}`, req: { method: r.method, url: r.route, remoteAddress: r.ip }, msg: "incoming request" }));
          if (i > 0) out.push(JSON.stringify({ level: 30, time, pid: 1, reqId: `req-${i - 1}`, res: { statusCode: recs[i - 1]?.status }, responseTime: recs[i - 1]?.latency_ms, msg: "request completed" }));
        });
        return out;
      };
      const trained = trainFromLines(asFastify(1, "none"), { forest: { seed: 1, trees: 30 } });
      expect(trained.summary.format).toBe("fastify");
      expect(trained.summary.skipped.pair_start).toBe(6000);
      const input = join(dir, "fastify.log");
      writeFileSync(input, asFastify(2, "default").join("\n") + "\n");
      const runs = [];
      for (const workers of [0, 1]) {
        const alerts = join(dir, `alerts-${workers}.jsonl`);
        const r = await detectFlat({ model: trained.forest, input, alerts, workers });
        runs.push({ alerts: readFileSync(alerts, "utf8"), scored: r.summary.lines_scored, skipped: r.summary.skipped });
      }
      expect(runs[0]?.scored).toBe(5999);
      expect(runs[0]?.skipped).toEqual({ pair_start: 6000 });
      expect((runs[0]?.alerts ?? "").length).toBeGreaterThan(0);
      expect(runs[1]).toEqual(runs[0]);
      const first = JSON.parse((runs[0]?.alerts ?? "").split("\n")[0] ?? "{}") as { record: { route: string; ip: string } };
      expect(first.record.route).not.toBe("");
      expect(first.record.ip).not.toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("ingress-nginx", () => {
  it("trains with no --latency-unit question: $request_length is not taken for a latency", () => {
    const at = (i: number) => `192.168.1.${i % 50} - - [06/Dec/2026:02:${String(10 + Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")} +0000] "GET /api/x/${i % 5} HTTP/1.1" 200 ${500 + i} "-" "curl/8.0" ${70 + (i % 30)} 0.${String(5 + (i % 80)).padStart(3, "0")} [default-shop-80] [] 10.244.0.5:8080 ${500 + i} 0.${String(4 + (i % 80)).padStart(3, "0")} 200 3f2a${i}`;
    const t = trainFromLines(Array.from({ length: 300 }, (_, i) => at(i)), { forest: { seed: 1, trees: 10 } });
    expect(t.summary.format).toBe("ingress-nginx");
    expect(t.summary.features).toContain("latency_vs_route");
  });
});

describe("units are never guessed silently", () => {
  const line = (i: number, duration: number) => JSON.stringify({ time: 1796525400000 + i * 50, method: "GET", url: `/p/${i % 5}`, status: 200, duration, ip: `10.0.0.${i % 40}` });

  it("train warns when most durations read as ms are under 10 µs (seconds read as ms), and not when they are plausible", () => {
    const secs = Array.from({ length: 500 }, (_, i) => line(i, 0.0004 + (i % 10) * 0.0001));
    const w = trainFromLines(secs, { forest: { seed: 1, trees: 20 } }).summary.warnings;
    expect(w.join("\n")).toMatch(/500 of 500 latencies read as under 0\.01 ms: is the latency field in seconds read as ms\? Pass --latency-unit s/);
    const fixed = trainFromLines(secs, { latencyUnit: "s", forest: { seed: 1, trees: 20 } }).summary.warnings;
    expect(fixed.join("\n")).not.toMatch(/latencies read as/);
  });

  it("detect warns when its log's latencies contradict their unit", () => {
    const ms = Array.from({ length: 500 }, (_, i) => line(i, 4 + (i % 10)));
    const d = new Detector(trainFromLines(ms, { forest: { seed: 1, trees: 20 } }).forest);
    d.processBatch("slow.log", Array.from({ length: 200 }, (_, i) => line(i, 1_200_000 + i)), 1, () => undefined);
    expect(d.summary().warnings.join("\n")).toMatch(/200 of 200 latencies read as over 10 minutes/);
  });
});
