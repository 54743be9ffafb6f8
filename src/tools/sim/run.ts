/** The generator: a profile's normal traffic with incidents woven in (see tools/simulate.ts). */
import { Rng } from "../../forest/random.js";
import { ClassicSource } from "./classic.js";
import { COUNT_MODE_MEAN_RATE, dailyRateFactor, newFields, render, type TrafficSource } from "./core.js";
import { Incidents, alter, planIncidents, type ActiveIncident } from "./incidents.js";
import { RealisticSource } from "./realistic.js";
import type { ResolvedSimulateOptions, SimIncident, SimLine } from "./types.js";

/** Generate the lines of validated options `o`; returns the incidents. */
export function* run(o: ResolvedSimulateOptions): Generator<SimLine, SimIncident[], undefined> {
  const traffic = new Rng(o.seed);
  // A separate stream for incidents; the constant just decorrelates it from `traffic`.
  const chaos = new Rng((o.seed + 0x2545f491) % Number.MAX_SAFE_INTEGER);
  const rateMode = o.mode === "rate";
  const endTs = rateMode ? o.start + o.duration * 1000 : Infinity;
  const expectedLines = rateMode ? o.rate * o.duration : o.count;
  const startFactor = dailyRateFactor(o.start);
  const baseRate = (t: number): number =>
    rateMode ? (o.rate * dailyRateFactor(t)) / startFactor : COUNT_MODE_MEAN_RATE * dailyRateFactor(t);
  // Crawlers and API integrations keep their pace around the clock.
  const steadyRate = rateMode ? o.rate : COUNT_MODE_MEAN_RATE;
  const source: TrafficSource = o.profile === "classic"
    ? new ClassicSource(traffic, o.start, baseRate)
    : new RealisticSource(traffic, o.start, baseRate, steadyRate);
  const plan = planIncidents(chaos, o, expectedLines);
  const slotLines = plan.length > 0 ? expectedLines / plan.length : expectedLines;
  const slotSeconds = rateMode && plan.length > 0 ? o.duration / plan.length : Infinity;
  const incidents = new Incidents(chaos, source, slotLines, slotSeconds);

  const f = newFields();
  let active: ActiveIncident | null = null;
  let nextPlanned = 0;
  let lastEnd = -Infinity;
  let emitted = 0;
  let t = o.start;
  for (;;) {
    if (!rateMode && emitted >= o.count) break;
    if (active !== null && Math.min(source.peek(), active.nextExtra) >= active.end) {
      lastEnd = active.end;
      active = null;
    }
    const planned = plan[nextPlanned];
    if (active === null && planned !== undefined) {
      const progress = rateMode ? (t - o.start) / (o.duration * 1000) : emitted / o.count;
      if (progress >= planned.at) {
        active = incidents.begin(planned, Math.max(t, lastEnd));
        nextPlanned++;
      }
    }

    let labelled = false;
    const extra = active === null ? Infinity : active.nextExtra;
    const next = source.peek();
    if (active !== null && extra < next) {
      t = extra;
      if (t >= endTs) break;
      incidents.extra(active, f, t);
      labelled = true;
    } else {
      t = next;
      if (t >= endTs) break;
      const route = source.emit(f);
      if (active !== null && route !== null && active.route === route) labelled = alter(chaos, active, route, f);
    }
    f.ts = Math.floor(t);
    emitted++;
    if (labelled && active !== null) {
      active.report.lines++;
      yield { text: render(o.format, f), ts: f.ts, kind: active.report.kind, incident: active.report.id };
    } else {
      yield { text: render(o.format, f), ts: f.ts, kind: null, incident: null };
    }
  }
  return incidents.started;
}
