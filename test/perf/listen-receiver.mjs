// The receiver alone: `detect --listen` fed pre-encoded OTLP/HTTP protobuf requests (8,192
// records each, one at a time, encoded beforehand so the sender costs nothing), beside
// `detect --input --workers 0` on the same lines. Build first.   node test/perf/listen-receiver.mjs [records=300000]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = new URL("../../dist/bin/logforest.js", import.meta.url).pathname;
const { simulate } = await import(new URL("../../dist/src/tools/simulate.js", import.meta.url).href);
const { wireTypes } = await import(new URL("../../dist/src/runtime/listen/schema.js", import.meta.url).href);
const records = Number(process.argv[2] ?? 300_000);
const BATCH = 8192;
const dir = mkdtempSync(join(tmpdir(), "logforest-listen-recv-"));
try {
  const model = join(dir, "m.lfm");
  writeFileSync(join(dir, "train.log"), [...simulate({ count: 20_000, seed: 3, incidents: "none", format: "combined" })].map((l) => l.text).join("\n") + "\n");
  spawnSync(process.execPath, [BIN, "train", "--input", join(dir, "train.log"), "--model", model, "--seed", "3"], { stdio: "ignore" });
  const lines = [...simulate({ count: records, seed: 4, format: "combined" })].map((l) => l.text);
  writeFileSync(join(dir, "test.log"), lines.join("\n") + "\n");
  const t = wireTypes().otlpLogs;
  const bodies = [];
  for (let i = 0; i < lines.length; i += BATCH) {
    const req = { resourceLogs: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "web" } }] }, scopeLogs: [{ logRecords: lines.slice(i, i + BATCH).map((l) => ({ timeUnixNano: 1, severityNumber: 9, body: { stringValue: l } })) }] }] };
    bodies.push(t.encode(t.fromObject(req)).finish());
  }
  const t0 = performance.now();
  const file = spawnSync(process.execPath, [BIN, "detect", "--model", model, "--input", join(dir, "test.log"), "--json", "--alerts", join(dir, "a1.jsonl"), "--workers", "0"], { encoding: "utf8" });
  const fileSeconds = (performance.now() - t0) / 1000;
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
  const t1 = performance.now();
  for (const body of bodies) {
    const r = await fetch(`${url}/v1/logs`, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body });
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    await r.arrayBuffer();
  }
  const seconds = (performance.now() - t1) / 1000;
  det.kill("SIGTERM");
  await new Promise((resolve) => det.on("exit", resolve));
  const summary = JSON.parse(err.trim().split("\n").pop());
  console.log(JSON.stringify({
    records, listen: { scored: summary.lines_scored, seconds: +seconds.toFixed(2), records_per_s: Math.round(records / seconds), alerts: summary.alerts },
    file: { seconds: +fileSeconds.toFixed(2), lines_per_s_including_startup: Math.round(records / fileSeconds), alerts: JSON.parse(file.stderr.trim().split("\n").pop()).alerts },
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
