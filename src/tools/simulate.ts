/**
 * A simulator of realistic HTTP application traffic with labelled incidents,
 * used to feed demos and to measure the detector against known ground truth.
 *
 * Two seeded random streams keep labels honest: the normal traffic (including
 * the health checker) draws only from `traffic`, everything an incident adds or
 * changes draws only from `chaos`. So the unlabelled lines of a run with incidents
 * are exactly the lines of the same seed without them: traffic goes on around
 * each incident, and only what an incident touched carries its label.
 *
 * The parts live in tools/sim/: types.ts (options and results), options.ts
 * (validation), core.ts (what profiles share, rendering), classic.ts and
 * realistic.ts (the two traffic profiles; catalogue.ts and clients.ts hold the
 * realistic site and its visitors), incidents.ts, run.ts (the generator) and
 * write.ts (files and truth).
 */
import { resolveSimulateOptions } from "./sim/options.js";
import { run } from "./sim/run.js";
import type { SimIncident, SimLine, SimulateOptions } from "./sim/types.js";

export {
  DEFAULT_INCIDENT_KINDS,
  INCIDENT_KINDS,
  SIM_FORMATS,
  SIM_PROFILES,
  SIMULATE_DEFAULTS,
  type IncidentKind,
  type ResolvedSimulateOptions,
  type SimFormat,
  type SimIncident,
  type SimLine,
  type SimProfile,
  type SimulateOptions,
  type Summary,
  type WriteSimulationOptions,
} from "./sim/types.js";
export { resolveSimulateOptions } from "./sim/options.js";
export { dailyRateFactor } from "./sim/core.js";
export { formatSummary, writeSimulation } from "./sim/write.js";

/** Validate `opts` now, then lazily generate the lines; the generator returns the incidents. */
export function simulate(opts: SimulateOptions = {}): Generator<SimLine, SimIncident[], undefined> {
  return run(resolveSimulateOptions(opts));
}
