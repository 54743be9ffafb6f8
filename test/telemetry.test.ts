import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate, type TruthLine } from "../src/tools/evaluate.js";
import { IsolationForest } from "../src/forest/forest.js";
import { Rng } from "../src/forest/random.js";
import {
  LEVEL_SHIFT_LABELLED, TELEMETRY_INCIDENT_KINDS, simulateTelemetry, type TelemetryIncident, type TelemetryLine,
} from "../src/tools/telemetry-sim.js";
import {
  TELEMETRY_FAILURE_REASONS, TelemetryDetector, TelemetryExtractor, TelemetryParser, emptyTelemetryRow, isTelemetryModel,
  learnTelemetrySpec, parseTelemetryHeader, telemetryOf, trainTelemetry, type TelemetryAlert, type TelemetrySpec,
} from "../src/streams/metrics/telemetry.js";

const START = Date.UTC(2026, 10, 25, 6);

function run(opts: Parameters<typeof simulateTelemetry>[0]): { lines: TelemetryLine[]; incidents: TelemetryIncident[] } {
  const gen = simulateTelemetry(opts);
  const lines: TelemetryLine[] = [];
  for (;;) {
    const r = gen.next();
    if (r.done) return { lines, incidents: r.value };
    lines.push(r.value);
  }
}

function truthOf(lines: TelemetryLine[]): TruthLine[] {
  const truth: TruthLine[] = [];
  lines.forEach((l, i) => l.kind !== null && l.incident !== null && truth.push({ line: i + 1, kind: l.kind, incident: l.incident }));
  return truth;
}

function detectAll(det: TelemetryDetector, file: string, text: string[], batch = 1000): TelemetryAlert[] {
  const alerts: TelemetryAlert[] = [];
  for (let i = 0; i < text.length; i += batch) det.processBatch(file, text.slice(i, i + batch), i + 1, (a) => alerts.push(a));
  return alerts;
}

describe("CSV header", () => {
  it("finds the timestamp column by name, or the one given", () => {
    expect(parseTelemetryHeader("cpu,Time,mem")).toEqual({ columns: ["cpu", "Time", "mem"], timestamp: 1, series: ["cpu", "mem"] });
    expect(parseTelemetryHeader(' "ts" , a\r').series).toEqual(["a"]);
    expect(parseTelemetryHeader("when,a,b", "when").timestamp).toBe(0);
  });
  it.each([
    ["", /CSV header is empty/],
    ["a,b", /has no timestamp column \(named ts, time, timestamp/],
    ["ts,a", /has no timestamp column "when"/, "when"],
    ["ts", /no value column besides the timestamp/],
    ["ts,a,,b", /column 3 has no name/],
    ["ts,a,a", /column name "a" appears twice/],
    ["2026-01-01T00:00:00Z,1.5", /column 2 is named "1.5", a number: is this a data line\?/],
  ])("refuses %j", (line, message, ts?: string) => {
    expect(() => parseTelemetryHeader(line, ts)).toThrow(message);
  });
});

describe("CSV lines", () => {
  const header = parseTelemetryHeader("ts,a,b");
  const p = new TelemetryParser(header);
  const row = emptyTelemetryRow(2);

  it("read ISO 8601, epoch seconds and epoch milliseconds as the same instant", () => {
    const ms = Date.UTC(2026, 10, 25, 6, 0, 1, 500);
    for (const ts of ["2026-11-25T06:00:01.500Z", "2026-11-25 08:00:01.5+02:00", String(ms / 1000), String(ms), '"2026-11-25T06:00:01.500Z"']) {
      expect(p.parse(`${ts},1,2`, row), ts).toBeNull();
      expect(row.ts, ts).toBe(ms);
    }
  });
  it("read numbers as Number() does", () => {
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      const x = (rng.next() - 0.5) * 10 ** (rng.int(12) - 4);
      const texts = [String(x), x.toFixed(rng.int(6)), x.toExponential(rng.int(8)), `+${Math.abs(x)}`];
      for (const t of texts) {
        expect(p.parse(`0,${t}, 7 `, row), t).toBeNull();
        expect(row.values[0], t).toBe(Number(t));
        expect(row.values[1]).toBe(7);
      }
    }
  });
  it.each([
    ["", "empty"],
    ["0,1", "wrong_field_count"],
    ["0,1,2,3", "wrong_field_count"],
    ["yesterday,1,2", "bad_timestamp"],
    [",1,2", "bad_timestamp"],
    ["0,1,", "missing_value"],
    ["0,abc,2", "not_a_number"],
    ["0,NaN,2", "not_a_number"],
    ["0,Infinity,2", "not_a_number"],
    ["0,1e999,2", "not_a_number"],
    ["0,0x10,2", "not_a_number"],
    ["0,1 2,2", "not_a_number"],
  ])("refuse %j as %s", (line, reason) => {
    expect(p.parse(line, row)).toBe(reason);
    expect(TELEMETRY_FAILURE_REASONS).toContain(reason);
  });
  it("fill the series asked for, in that order, ignoring other columns", () => {
    const q = new TelemetryParser(parseTelemetryHeader("b,extra,timestamp,a"), ["a", "b"]);
    expect(q.parse("2,x,0,1", row)).toBeNull();
    expect([...row.values]).toEqual([1, 2]);
    expect(() => new TelemetryParser(header, ["a", "zzz"])).toThrow(/CSV header has no column zzz; its value columns are a, b/);
  });
  it("never throw on junk", () => {
    const rng = new Rng(9);
    const alphabet = "0123456789,.-+eE:TZ \"\t\r\nabc";
    for (let i = 0; i < 2000; i++) {
      let line = "";
      for (let n = rng.int(30); n > 0; n--) line += alphabet[rng.int(alphabet.length)];
      const reason = p.parse(line, row);
      if (reason !== null) expect(TELEMETRY_FAILURE_REASONS).toContain(reason);
    }
  });
});

describe("features", () => {
  // A spec with round scales, so rows can be checked against closed forms.
  function spec(k = 4, window = 8): TelemetrySpec {
    const s = learnTelemetrySpec(Float64Array.from([0, 1, 0, 1, 0, 1, 0, 1]), 8, ["x"], "ts", { k, window });
    s.scales[0] = { median: 0, p01: 0, p99: 1, step: 1, diff: 2, change: 4, residual: 0.5 };
    return s;
  }
  function rows(sp: TelemetrySpec, xs: number[]): Float64Array[] {
    const fx = new TelemetryExtractor(sp);
    return xs.map((x) => {
      const out = new Float64Array(fx.cols);
      fx.extract(0, Float64Array.of(x), out, 0);
      return out;
    });
  }

  it("lays out k lags, diff, change, vol and flat per series", () => {
    expect(spec(3).features).toEqual(["x.lag0", "x.lag1", "x.lag2", "x.diff", "x.change", "x.vol", "x.flat"]);
  });
  it("fill the first row with the first value: every feature 0", () => {
    expect([...rows(spec(), [5])[0]]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
  it("describe a jump from a constant history in closed form", () => {
    const r = rows(spec(), [2, 2, 2, 2, 2, 2, 2, 2, 2, 5]);
    const last = r[r.length - 1];
    // lag0 = ((5 - 2) / 0.5)^2, lags 1-3 = 0, diff = (3 / 2)^2, change = (3 / 4)^2.
    expect([...last.subarray(0, 6)]).toEqual([36, 0, 0, 0, 2.25, 0.5625]);
    // The constant run had median step 0: vol = ln(0.01 / 1.01)^2; flat restarts at the jump.
    expect(last[6]).toBeCloseTo(Math.log(0.01 / 1.01) ** 2, 12);
    expect(last[7]).toBe(0);
    expect(r[8][7]).toBeCloseTo(Math.log1p(8), 12);
  });
  it("rescale keeps the history: rows read as a fresh extractor's under the new scales", () => {
    const rng = new Rng(9);
    const xs = Array.from({ length: 40 }, () => rng.normal() * 3 + 10);
    const wide = spec();
    wide.scales[0] = { ...wide.scales[0], step: 2, diff: 5, change: 7, residual: 3 };
    const both = rows(wide, xs);
    const fx = new TelemetryExtractor(spec());
    const out = new Float64Array(fx.cols);
    xs.forEach((x, i) => {
      if (i === 20) fx.rescale(wide);
      fx.extract(0, Float64Array.of(x), out, 0);
      // Before the swap the narrow scales give other numbers; after it, the same as wide all along.
      if (i >= 20) expect([...out]).toEqual([...both[i]]);
      else if (i > 0) expect([...out]).not.toEqual([...both[i]]);
    });
    expect(() => fx.rescale(spec(3))).toThrow(/same series, k, window, summary, context and season/);
  });
  it("use only the past and the present: a row does not change with what follows", () => {
    const rng = new Rng(5);
    const xs = Array.from({ length: 60 }, () => rng.normal());
    const a = rows(spec(), xs);
    const b = rows(spec(), [...xs.slice(0, 30), ...xs.slice(30).map((x) => x * 100 + 7)]);
    for (let i = 0; i < 30; i++) expect([...b[i]]).toEqual([...a[i]]);
    expect([...b[30]]).not.toEqual([...a[30]]);
  });
});

describe("telemetry simulator", () => {
  it("writes the header, then count rows at stepMs, the same for the same seed", () => {
    const a = run({ count: 500, seed: 4, start: START, stepMs: 60_000 });
    expect(a.lines).toHaveLength(501);
    expect(a.lines[0]).toEqual({ text: "timestamp,cpu_pct,latency_ms,queue_depth", ts: START, kind: null, incident: null });
    expect(a.lines[2].ts - a.lines[1].ts).toBe(60_000);
    expect(run({ count: 500, seed: 4, start: START, stepMs: 60_000 }).lines).toEqual(a.lines);
    expect(run({ count: 3, series: 5, timeFormat: "epoch_s", start: START }).lines[1].text.split(",")).toHaveLength(6);
  });
  it("labels every kind, and changes only what incidents touch", () => {
    const clean = run({ count: 3000, seed: 8, incidents: "none", start: START });
    const dirty = run({ count: 3000, seed: 8, start: START });
    expect(truthOf(clean.lines)).toEqual([]);
    expect(new Set(dirty.incidents.map((i) => i.kind))).toEqual(new Set(TELEMETRY_INCIDENT_KINDS));
    const plateau = new Set<number>();
    for (const inc of dirty.incidents) {
      const labelled = truthOf(dirty.lines).filter((t) => t.incident === inc.id);
      expect(labelled.length, inc.kind).toBe(inc.labelled);
      if (inc.kind === "level_shift") {
        expect(inc.labelled).toBe(2 * LEVEL_SHIFT_LABELLED);
        for (let l = inc.firstLine; l <= inc.lastLine; l++) plateau.add(l);
      }
    }
    dirty.lines.forEach((l, i) => {
      if (l.kind === null && !plateau.has(i + 1)) expect(l.text).toBe(clean.lines[i].text);
    });
  });
  it.each([
    [{ count: 0 }, /count must be an integer in \[1, 1e8\], got 0/],
    [{ series: 9 }, /series must be an integer in \[1, 8\], got 9/],
    [{ incidents: "spike,boom" }, /incidents must be "default", "none" or a list of spike, level_shift, flatline, noise_burst; got "boom"/],
    [{ stepMs: -1 }, /stepMs must be a number in \[1, 86400000\], got -1/],
    [{ start: "soon" }, /start must be epoch milliseconds or an ISO 8601 date, got "soon"/],
  ])("refuses %j", (opts, message) => {
    expect(() => simulateTelemetry(opts).next()).toThrow(message);
  });
});

describe("telemetry training and detection", () => {
  const clean = run({ count: 3000, seed: 1, incidents: "none", start: START }).lines.map((l) => l.text);
  const { forest, summary } = trainTelemetry(clean, { forest: { seed: 1 } });

  it("stores what detection needs in the model, and survives a save", () => {
    expect(summary.parsed).toBe(3000);
    expect(summary.series).toEqual(["cpu_pct", "latency_ms", "queue_depth"]);
    // 3 series x (4 lags, diff, change, vol, flat), then the 4 cross-series columns.
    expect(summary.features).toHaveLength(3 * (4 + 4) + 4);
    expect(summary.features.slice(-4)).toEqual(["any.lag0", "any.diff", "any.change", "any.vol"]);
    const back = IsolationForest.fromBytes(forest.toBytes());
    expect(isTelemetryModel(back)).toBe(true);
    expect(telemetryOf(back)).toEqual(telemetryOf(forest));
  });

  it("catches every kind of incident, with most alerts on labelled lines", () => {
    const test = run({ count: 3000, seed: 101, start: START });
    const truth = truthOf(test.lines);
    // The simulator brings an incident every 300 rows: the stream's own history fills with them, so
    // the training reference stays on for every value (recur off, `--metric-recur 1000000`).
    const det = new TelemetryDetector(forest, { likelihood: { recur: 1_000_000 } });
    const alerts = detectAll(det, "m.csv", test.lines.map((l) => l.text));
    const e = evaluate(alerts, truth);
    for (const kind of TELEMETRY_INCIDENT_KINDS) expect(e.by_kind[kind]?.caught, kind).toBe(e.by_kind[kind]?.incidents);
    expect(e.precision).toBeGreaterThan(0.5);
    // The series an incident acted on leads the reasons of its alerts.
    const seriesOf = new Map(test.incidents.map((i) => [i.id, i.series]));
    const byLine = new Map(truth.map((t) => [t.line, t.incident]));
    const onIncidents = alerts.filter((a) => byLine.has(a.line));
    const right = onIncidents.filter((a) => a.reasons[0].feature === seriesOf.get(byLine.get(a.line) ?? -1));
    expect(right.length / onIncidents.length).toBeGreaterThan(0.8);
  });

  it("keeps a seeded sample of maxRows feature rows past it, and the whole below it", () => {
    const long = run({ count: 9000, seed: 3, incidents: "none", start: START }).lines.map((l) => l.text);
    const whole = trainTelemetry(long, { forest: { seed: 1 } });
    const atCap = trainTelemetry(long, { forest: { seed: 1 }, maxRows: 9000 });
    expect(whole.summary.sampled).toBeUndefined();
    expect(atCap.summary.sampled).toBeUndefined();
    expect(telemetryOf(atCap.forest)).toEqual(telemetryOf(whole.forest));
    // the trees: the file's last bytes but its closing checksum (which covers the creation time)
    expect(Array.from(atCap.forest.toBytes().subarray(-4100, -4))).toEqual(Array.from(whole.forest.toBytes().subarray(-4100, -4)));
    const sampled = trainTelemetry(long, { forest: { seed: 1 }, maxRows: 3000 });
    expect(sampled.summary.sampled).toBe(3000);
    expect(sampled.summary.parsed).toBe(9000);
    // the spec (scales) comes from every row; the sample only feeds the forest and the calibration
    expect(telemetryOf(sampled.forest).scales).toEqual(telemetryOf(whole.forest).scales);
    const again = trainTelemetry(long, { forest: { seed: 1 }, maxRows: 3000 });
    expect(telemetryOf(again.forest)).toEqual(telemetryOf(sampled.forest));
    const test = run({ count: 3000, seed: 101, start: START });
    const truth = truthOf(test.lines);
    const texts = test.lines.map((l) => l.text);
    const caught = (f: IsolationForest) => evaluate(detectAll(new TelemetryDetector(f), "m.csv", texts), truth);
    const [w, smp] = [caught(whole.forest), caught(sampled.forest)];
    expect(smp.incidents_caught).toBeGreaterThanOrEqual(w.incidents_caught - 1);
    expect(() => trainTelemetry(long, { maxRows: 99 })).toThrow(/maxRows must be an integer in \[100, 100000000\], got 99/);
  });

  it("alerts on few lines of a clean stream", () => {
    const other = run({ count: 3000, seed: 55, incidents: "none", start: START }).lines.map((l) => l.text);
    const det = new TelemetryDetector(forest);
    expect(detectAll(det, "c.csv", other).length).toBeLessThan(0.02 * 3000);
  });

  it("shapes alerts like the log pipeline's, reasons summed per series", () => {
    const test = run({ count: 1200, seed: 7, start: START, incidents: "spike,noise_burst" }).lines.map((l) => l.text);
    const alerts = detectAll(new TelemetryDetector(forest), "m.csv", test);
    expect(alerts.length).toBeGreaterThan(0);
    for (const a of alerts) {
      expect(a.rule).toBe("telemetry");
      expect(a.severity).toBeGreaterThanOrEqual(50);
      expect(Object.keys(a.record.values)).toEqual(["cpu_pct", "latency_ms", "queue_depth"]);
      expect(a.record.ts).toBe(a.ts);
      expect(test[a.line - 1].startsWith(a.ts ?? "?")).toBe(true);
      const shares = a.reasons.map((r) => r.share);
      expect(shares).toEqual([...shares].sort((x, y) => y - x));
      expect(shares.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(1.001);
      expect(a.reasons[0].text).toContain(a.reasons[0].feature);
    }
  });

  it("gives the same alerts and scores whatever the batch size", () => {
    const test = run({ count: 1500, seed: 12, start: START }).lines.map((l) => l.text);
    const scores = (batch: number) => {
      const out: number[] = [];
      const det = new TelemetryDetector(forest, { onScored: (b) => out.push(...b.scores) });
      return { alerts: detectAll(det, "m.csv", test, batch), out };
    };
    const a = scores(1500);
    const b = scores(97);
    expect(b.alerts).toEqual(a.alerts);
    expect(b.out).toEqual(a.out);
  });

  it("reads a file with its own column order, extra columns and no header alike", () => {
    const test = run({ count: 400, seed: 13, start: START }).lines.map((l) => l.text);
    const scoresOf = (lines: string[]) => {
      const out: number[] = [];
      const det = new TelemetryDetector(forest, { onScored: (b) => out.push(...b.scores) });
      det.processBatch("f.csv", lines, 1, () => {});
      return { out, summary: det.summary() };
    };
    const plain = scoresOf(test);
    const shuffled = test.map((l, i) => {
      const [ts, cpu, lat, q] = l.split(",");
      return i === 0 ? `queue_depth,host,${ts},latency_ms,cpu_pct` : `${q},web-1,${ts},${lat},${cpu}`;
    });
    expect(scoresOf(shuffled).out).toEqual(plain.out);
    expect(scoresOf(test.slice(1)).out).toEqual(plain.out);
    expect(plain.summary.skipped).toEqual({ header: 1 });
    expect(plain.summary.lines_read).toBe(401);
    expect(plain.summary.lines_scored).toBe(400);
  });

  it("skips a file whose header lacks a series, and counts bad lines by reason", () => {
    const det = new TelemetryDetector(forest);
    det.processBatch("other.csv", ["timestamp,cpu_pct,disk", "0,1,2", "1,1,2"], 1, () => {});
    det.processBatch("m.csv", ["timestamp,cpu_pct,latency_ms,queue_depth", "0,1,2", "x,1,2,3", "0,1,,3"], 1, () => {});
    const s = det.summary();
    expect(s.skipped).toEqual({ header_mismatch: 3, header: 1, wrong_field_count: 1, bad_timestamp: 1, missing_value: 1 });
    expect(s.skipped_examples[0]).toEqual({ file: "other.csv", line: 1, reason: "header_mismatch" });
    expect(s.lines_read).toBe(7);
    expect(s.lines_scored).toBe(0);
  });

  it("holds back alerts during warm-up and within the cooldown of a series", () => {
    const test = run({ count: 600, seed: 21, start: START }).lines.map((l) => l.text);
    const alerts = detectAll(new TelemetryDetector(forest, { minSeverity: 0, warmup: 50, cooldownSeconds: 120 }), "m.csv", test);
    expect(Math.min(...alerts.map((a) => a.line))).toBeGreaterThan(51);
    const last = new Map<string, number>();
    for (const a of alerts) {
      const t = Date.parse(a.ts ?? "");
      const prev = last.get(a.reasons[0].feature);
      if (prev !== undefined) expect(t - prev).toBeGreaterThanOrEqual(120_000);
      last.set(a.reasons[0].feature, t);
    }
  });

  it("keeps catching incidents while retraining, refreshes swapping in new trees and scales", () => {
    const test = run({ count: 3000, seed: 101, start: START });
    const truth = truthOf(test.lines);
    const refreshedAt: number[] = [];
    let seen = 0;
    const det = new TelemetryDetector(forest, {
      likelihood: { recur: 1_000_000 },
      retrain: { everyLines: 500, trees: 10, sample: 2000 },
      onRefresh: (r) => {
        expect(r.replaced).toBe(10);
        refreshedAt.push(seen);
      },
    });
    const alerts: TelemetryAlert[] = [];
    const text = test.lines.map((l) => l.text);
    for (let i = 0; i < text.length; i += 100) {
      seen = i + 100;
      det.processBatch("m.csv", text.slice(i, i + 100), i + 1, (a) => alerts.push(a));
    }
    expect(refreshedAt.length).toBeGreaterThanOrEqual(3);
    expect(det.summary().retrain).toEqual({ refreshes: refreshedAt.length, generation: refreshedAt.length });
    expect(det.forest).not.toBe(forest);
    expect(det.meta.scales).not.toEqual(telemetryOf(forest).scales);
    // Severity keeps the training calibration.
    expect(det.meta.calibration).toEqual(telemetryOf(forest).calibration);
    // The incidents that start after the first refresh are caught, as without retraining, but for
    // at most one: a flatline here peaks at likelihood 0.246 with refreshes, 0.255 without (alert at 0.25).
    const first = refreshedAt[0];
    const later = test.incidents.filter((i) => i.firstLine > first);
    expect(later.length).toBeGreaterThanOrEqual(4);
    const caught = new Set(alerts.map((a) => truth.find((t) => t.line === a.line)?.incident));
    const missed = later.filter((i) => !caught.has(i.id)).map((i) => `incident ${i.id} (${i.kind}) at line ${i.firstLine}`);
    expect(missed.length, missed.join("; ")).toBeLessThanOrEqual(1);
    expect(evaluate(alerts, truth).precision).toBeGreaterThan(0.5);
  });

  it("refreshes every N rows even when a whole file arrives in one batch", () => {
    const text = run({ count: 3000, seed: 101, start: START }).lines.map((l) => l.text);
    const go = (batch: number) => {
      const det = new TelemetryDetector(forest, { retrain: { everyLines: 500, trees: 10, sample: 2000 } });
      const lines = detectAll(det, "m.csv", text, batch).map((a) => a.line);
      return { lines, refreshes: det.summary().retrain.refreshes };
    };
    const whole = go(text.length);
    // Every 500 rows once the ring holds sampleSize (1,024) normal rows: at rows 1,499, 1,999, 2,499, 2,999.
    expect(whole.refreshes).toBe(4);
    expect(whole).toEqual(go(500));
  });

  it("learns a lasting change of normal with --retrain, and saves each generation", () => {
    const base = run({ count: 6000, seed: 7, incidents: "none", start: START }).lines.map((l) => l.text);
    // From row 2000 on, latency swings 3x as far from its running mean, for good.
    const at = 2000;
    let mean = NaN;
    const text = base.map((t, i) => {
      if (i === 0) return t;
      const c = t.split(",");
      const v = Number(c[2]);
      mean = Number.isNaN(mean) ? v : mean + 0.1 * (v - mean);
      if (i > at) c[2] = (mean + 3 * (v - mean)).toFixed(1);
      return c.join(",");
    });
    const late = (alerts: TelemetryAlert[]) => alerts.filter((a) => a.line > at + 2500).length;
    // On the raw score (severity from training), only retraining learns the change.
    const without = late(detectAll(new TelemetryDetector(forest, { output: "raw" }), "d.csv", text, 100));
    const dir = mkdtempSync(join(tmpdir(), "lf-tretrain-"));
    const save = join(dir, "m.model");
    const det = new TelemetryDetector(forest, { output: "raw", retrain: { everyLines: 500, trees: 10, sample: 2000, save } });
    const withRetrain = late(detectAll(det, "d.csv", text, 100));
    expect(without).toBeGreaterThan(200);
    expect(withRetrain).toBeLessThan(without / 5);
    // The default score, the anomaly likelihood, judges rows against the stream's own recent scores: it learns it too.
    expect(late(detectAll(new TelemetryDetector(forest), "d.csv", text, 100))).toBeLessThan(without / 5);
    const saved = IsolationForest.load(save);
    expect(telemetryOf(saved)).toEqual(det.meta);
    expect((det.meta as { generation?: number }).generation).toBe(det.summary().retrain.refreshes);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses bad options and models, naming what is wrong", () => {
    expect(() => new TelemetryDetector(forest, { minSeverity: 120 })).toThrow(/minSeverity must be a number in \[0, 100\], got 120/);
    expect(() => new TelemetryDetector(forest, { warmup: -1 })).toThrow(/warmup must be an integer >= 0 \(rows\), got -1/);
    expect(() => new TelemetryDetector(forest, { cooldownSeconds: NaN })).toThrow(/cooldownSeconds must be a number in \[0, 86400\], got NaN/);
    expect(() => trainTelemetry(clean, { k: 1 })).toThrow(/k must be an integer in \[2, 64\], got 1/);
    expect(() => trainTelemetry(clean, { k: 8, window: 4 })).toThrow(/window must be an integer in \[8, 4096\] \(k to 4096\), got 4/);
    expect(() => trainTelemetry([])).toThrow(/telemetry training input is empty/);
    expect(() => trainTelemetry(["ts,a", "x,1"])).toThrow(/no data line of the telemetry training input could be parsed \(skipped bad_timestamp: 1\)/);
    const plain = IsolationForest.fit({ data: new Float64Array(64).map((_, i) => i % 7), rows: 32, cols: 2 });
    expect(isTelemetryModel(plain)).toBe(false);
    expect(() => new TelemetryDetector(plain)).toThrow(/this model was not trained on telemetry/);
  });
});
