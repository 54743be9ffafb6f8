/**
 * Models with a valid checksum and hostile metadata (issue 22): every size field is bounded
 * before anything is allocated by it, and every refusal is a ModelFileError naming the field,
 * never a raw JavaScript error or a run that eats memory.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IsolationForest } from "../src/forest/forest.js";
import { ModelFileError } from "../src/forest/model-file.js";
import { Rng } from "../src/forest/random.js";
import { telemetryOf, trainTelemetry } from "../src/streams/metrics/train.js";
import { pipelineOf, trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";
import { withMeta } from "./model-bytes.js";

type Meta = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- hostile edits reach anywhere

const dir = mkdtempSync(join(tmpdir(), "logforest-model-meta-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rng = new Rng(5);
const csv = ["ts,value", ...Array.from({ length: 199 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()},${(50 + 10 * rng.normal()).toFixed(2)}`)];
const telemetry = trainTelemetry(csv, { forest: { seed: 1, trees: 10 } }).forest.toBytes();
const http = trainFromLines([...simulate({ count: 3000, seed: 1, incidents: "none" })].map((l) => l.text), { forest: { seed: 1, trees: 10 } }).forest.toBytes();

/** The error `read` throws on the model edited by `edit`. */
function refusal(bytes: Uint8Array, edit: (m: Meta) => void, read: (f: IsolationForest) => unknown): unknown {
  try {
    read(IsolationForest.fromBytes(withMeta(bytes, edit)));
  } catch (err) {
    return err;
  }
  return null;
}

describe("crafted model metadata is refused with a ModelFileError naming the field", () => {
  const cases: Array<[string, Uint8Array, (m: Meta) => void, (f: IsolationForest) => unknown, RegExp]> = [
    ["telemetry window 2^31", telemetry, (m) => (m.metadata.telemetry.window = 2 ** 31), telemetryOf, /telemetry\.window must be an integer in \[4, 4096\], got 2147483648/],
    ["telemetry k 10^6", telemetry, (m) => (m.metadata.telemetry.k = 1e6), telemetryOf, /telemetry\.k must be an integer in \[2, 64\]/],
    ["telemetry context 2^31", telemetry, (m) => (m.metadata.telemetry.context = 2 ** 31), telemetryOf, /telemetry\.context must be an integer in \[0, 4096\]/],
    ["telemetry without features", telemetry, (m) => delete m.metadata.telemetry.features, telemetryOf, /telemetry\.features must be an array of \d+ items, got nothing/],
    ["telemetry scales not objects", telemetry, (m) => (m.metadata.telemetry.scales = [null]), telemetryOf, /telemetry\.scales\[0\] is not an object/],
    ["telemetry series not strings", telemetry, (m) => (m.metadata.telemetry.series = [5]), telemetryOf, /telemetry\.series\[0\] must be a string/],
    ["telemetry season unknown", telemetry, (m) => (m.metadata.telemetry.season = "year"), telemetryOf, /telemetry\.season must be one of "day", "week", got "year"/],
    ["telemetry calibration huge", telemetry, (m) => (m.metadata.telemetry.calibration.scores = new Array(5000).fill(0)), telemetryOf, /telemetry\.calibration\.scores must be an array of at most 4096 items/],
    ["telemetry reach negative", telemetry, (m) => (m.metadata.telemetry.reach[1] = -1), telemetryOf, /telemetry\.reach\[1\] must be a finite number >= 0, got -1/],
    ["telemetry features renamed", telemetry, (m) => (m.metadata.telemetry.features[0] = "other"), telemetryOf, /telemetry\.features\[0\] must be "value\.lag0"/],
    ["http without routes", http, (m) => delete m.metadata.pipeline.spec.routes, pipelineOf, /pipeline\.spec\.routes is not an object/],
    ["http without overall", http, (m) => delete m.metadata.pipeline.spec.overall, pipelineOf, /pipeline\.spec\.overall is not an object/],
    ["http without features", http, (m) => delete m.metadata.pipeline.spec.features, pipelineOf, /pipeline\.spec\.features must be an array of 15 items, got nothing/],
    ["http window 1e-300 s", http, (m) => (m.metadata.pipeline.spec.windowSeconds = 1e-300), pipelineOf, /pipeline\.spec\.windowSeconds must be a finite number in \[1, 3600\]/],
    ["http unknown feature", http, (m) => (m.metadata.pipeline.spec.features[0] = "nope"), pipelineOf, /pipeline\.spec\.features\[0\] must be a feature name, got "nope"/],
    ["http route count a string", http, (m) => (m.metadata.pipeline.spec.overall.count = "9"), pipelineOf, /pipeline\.spec\.overall\.count must be an integer/],
    ["http format unknown", http, (m) => (m.metadata.pipeline.format = "xyz"), pipelineOf, /pipeline\.format must be one of/],
    ["http fields not an object", http, (m) => (m.metadata.pipeline.fields = 5), pipelineOf, /pipeline\.fields is not an object/],
  ];
  for (const [name, bytes, edit, read, message] of cases) {
    it(name, () => {
      const err = refusal(bytes, edit, read);
      expect(err).toBeInstanceOf(ModelFileError);
      expect(err instanceof Error ? err.message : "").toMatch(message);
    });
  }

  it("the models as trained still read, and JSON's null reads back as NaN", () => {
    expect(telemetryOf(IsolationForest.fromBytes(telemetry)).window).toBeGreaterThan(0);
    const spec = pipelineOf(IsolationForest.fromBytes(withMeta(http, (m: Meta) => (m.metadata.pipeline.spec.overall.latencyMid = null)))).spec;
    expect(spec.overall.latencyMid).toBeNaN();
  });
});

describe("a run on the telemetry.window = 2^31 model", () => {
  it("is refused before allocating: a ModelFileError naming the field, under 100 MB of memory", () => {
    const model = join(dir, "window.lfm");
    const input = join(dir, "metrics.csv");
    writeFileSync(model, withMeta(telemetry, (m: Meta) => (m.metadata.telemetry.window = 2 ** 31)));
    writeFileSync(input, csv.join("\n") + "\n");
    const index = new URL("../dist/src/index.js", import.meta.url).href;
    const probe = `import(${JSON.stringify(index)}).then(async ({ detect }) => {
      let error = null;
      try { await detect({ input: { file: ${JSON.stringify(input)} }, model: { model: ${JSON.stringify(model)} }, outputs: { out: null } }); } catch (e) { error = { name: e.name, message: e.message }; }
      console.log(JSON.stringify({ error, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
    });`;
    const r = spawnSync(process.execPath, ["-e", probe], { encoding: "utf8", timeout: 120_000 });
    const out = JSON.parse(r.stdout) as { error: { name: string; message: string } | null; maxRssMb: number };
    expect(out.error?.name).toBe("ModelFileError");
    expect(out.error?.message).toMatch(/telemetry\.window must be an integer in \[4, 4096\], got 2147483648/);
    expect(out.maxRssMb).toBeLessThan(100);
  });
});
