/**
 * Grouping accuracy (GA), the standard measure of a log parser, computed as Loghub's
 * evaluator (logpai/logparser `evaluator.get_accuracy`) does: a parsed group counts
 * when all its lines share one true event and it holds every line of that event; GA
 * is the share of lines in groups that count.
 */

/** GA of `parsed` event ids against `truth` ids, line for line (same length). */
export function groupingAccuracy(truth: readonly string[], parsed: readonly (string | number)[]): number {
  if (truth.length !== parsed.length) throw new RangeError(`truth and parsed must have the same length, got ${truth.length} and ${parsed.length}`);
  if (truth.length === 0) return 1;
  const truthSize = new Map<string, number>();
  for (const t of truth) truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
  // Per parsed group: its size and its one true event, or null once it mixes two.
  const groups = new Map<string | number, { size: number; event: string | null }>();
  parsed.forEach((p, i) => {
    const t = truth[i] ?? "";
    const g = groups.get(p);
    if (g === undefined) groups.set(p, { size: 1, event: t });
    else {
      g.size++;
      if (g.event !== t) g.event = null;
    }
  });
  let right = 0;
  for (const g of groups.values()) if (g.event !== null && truthSize.get(g.event) === g.size) right += g.size;
  return right / truth.length;
}
