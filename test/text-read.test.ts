/**
 * Free-text reading (issue 20): each header shape is told apart on its own lines with
 * no settings, its message kept; continuation lines join their record; what times lack
 * is counted; the Loghub samples read with Content exactly as Loghub's own parse.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLoghub } from "../src/streams/text/loghub.js";
import { TextReader, firstLine } from "../src/streams/text/reader.js";
import type { TextRecord } from "../src/streams/text/record.js";
import { SHAPES } from "../src/streams/text/shapes.js";
import { DATA_DIR, dataFile } from "./data.js";

interface Got { rec: TextRecord; line: number; span: number }

function readAll(lines: string[], year = 2026): { reader: TextReader; got: Got[] } {
  const reader = TextReader.detect(lines, { year });
  const got: Got[] = [];
  const emit = (rec: TextRecord, line: number, span: number) => got.push({ rec: { ...rec }, line, span });
  lines.forEach((l, i) => reader.push(l, i + 1, emit));
  reader.flush(emit);
  return { reader, got };
}

describe("free-text reading", () => {
  it("detects every header shape from its own example line", () => {
    for (const s of SHAPES) {
      const { reader, got } = readAll([s.example, s.example]);
      expect(reader.shape.name, s.example).toBe(s.name);
      expect(got).toHaveLength(2);
      expect(got[0]?.rec.message.length, s.name).toBeGreaterThan(0);
      expect(s.example.endsWith(got[0]?.rec.message ?? "?"), s.name).toBe(true);
    }
  });

  it("reads a log4j line's header and joins its stack trace", () => {
    const { reader, got } = readAll([
      "2026-12-05 12:00:01,123 ERROR [main] com.acme.Foo - Connection refused",
      "java.net.ConnectException: Connection refused",
      "\tat java.net.PlainSocketImpl.socketConnect(Native Method)",
      "2026-12-05 12:00:02,500 INFO [main] com.acme.Foo - retrying",
    ]);
    expect(reader.shape.name).toBe("log4j");
    expect(got.map((g) => [g.line, g.span])).toEqual([[1, 3], [4, 1]]);
    expect(got[0]?.rec).toMatchObject({ level: "ERROR", component: "com.acme.Foo", pid: "main", ts: Date.UTC(2026, 11, 5, 12, 0, 1, 123) });
    expect(firstLine(got[0]?.rec.message ?? "")).toBe("Connection refused");
    expect(reader.counts).toEqual({ records: 2, continuation: 2, headerless: 0 });
    expect(reader.notes.noZone).toBe(2);
  });

  it("reads syslog without a year in the assumed year, rolling over at New Year, and says so", () => {
    const { reader, got } = readAll(["Dec 31 23:59:59 host cron[12]: tick", "Jan  1 00:00:01 host cron[12]: tock"], 2025);
    expect(reader.shape.name).toBe("syslog");
    expect(got.map((g) => g.rec.ts)).toEqual([Date.UTC(2025, 11, 31, 23, 59, 59), Date.UTC(2026, 0, 1, 0, 0, 1)]);
    expect(got[1]?.rec).toMatchObject({ component: "cron", pid: "12", message: "tock" });
    expect(reader.notes.noYear).toBe(2);
  });

  it("unwraps Kubernetes CRI and Docker json-file lines, joining partial ones", () => {
    const cri = readAll([
      "2026-12-05T12:00:01.000000001Z stdout F 2026-12-05 12:00:01,000 WARN [w1] app.Pool - pool low",
      "2026-12-05T12:00:02.000000001Z stdout P 2026-12-05 12:00:02,000 INFO [w1] app.Pool - pool ",
      "2026-12-05T12:00:02.000000002Z stdout F refilled",
    ]);
    expect(cri.reader.name).toBe("cri/log4j");
    expect(cri.got.map((g) => g.rec.message)).toEqual(["pool low", "pool refilled"]);
    const docker = readAll(['{"log":"INFO:app:started\\n","stream":"stderr","time":"2026-12-05T12:00:01Z"}']);
    expect(docker.reader.name).toBe("docker/python-basic");
    expect(docker.got[0]?.rec).toMatchObject({ message: "started", level: "INFO", ts: Date.UTC(2026, 11, 5, 12, 0, 1) });
  });

  it("reads JSON and logfmt logs by their message field", () => {
    const json = readAll(['{"@timestamp":"2026-12-05T12:00:01Z","log":{"level":"error","logger":"db"},"message":"connection refused"}']);
    expect(json.reader.shape.name).toBe("json");
    expect(json.got[0]?.rec).toMatchObject({ message: "connection refused", level: "ERROR", component: "db" });
    const pino = readAll(['{"level":50,"time":1764936001000,"pid":7,"msg":"boom"}']);
    expect(pino.got[0]?.rec).toMatchObject({ message: "boom", level: "ERROR", pid: "7", ts: 1764936001000 });
    const lf = readAll(['time="2026-12-05T12:00:01Z" level=warning msg="slow query" table=users took=1.2s']);
    expect(lf.reader.shape.name).toBe("logfmt");
    expect(lf.got[0]?.rec).toMatchObject({ message: "slow query table=users took=1.2s", level: "WARN" });
  });

  it("keeps lines that no shape reads, whole, as plain messages", () => {
    const { reader, got } = readAll(["just some text", "more text here"]);
    expect(reader.shape.name).toBe("plain");
    expect(got.map((g) => g.rec.message)).toEqual(["just some text", "more text here"]);
  });

  it("refuses a bad year and an unknown shape, naming them", () => {
    expect(() => TextReader.detect([], { year: 99 })).toThrow(/year must be an integer in \[1970, 2199\], got 99/);
    expect(() => TextReader.detect([], { shape: "nope" })).toThrow(/shape must be one of .*got nope/);
  });

  it.skipIf(DATA_DIR === null)("reads the nine Loghub samples: every line a record, its message Loghub's Content", () => {
    const expected: Record<string, string> = { HDFS: "hdfs", Hadoop: "log4j", Spark: "spark", Zookeeper: "zookeeper", BGL: "bgl", HPC: "hpc", Android: "android", Apache: "apache-error", OpenSSH: "syslog" };
    for (const [system, shape] of Object.entries(expected)) {
      const lines = readFileSync(dataFile(`logs/loghub/${system}_2k.log`), "utf8").split("\n").filter((l) => l !== "");
      const truth = parseLoghub(readFileSync(dataFile(`logs/loghub/${system}_2k.log_structured.csv`), "utf8"));
      const { reader, got } = readAll(lines);
      expect(reader.shape.name, system).toBe(shape);
      expect(got, system).toHaveLength(2000);
      const wrong = got.filter((g) => g.rec.message.trim() !== (truth[g.line - 1]?.Content ?? "").trim());
      expect(wrong.slice(0, 3), system).toEqual([]);
    }
  });
});
