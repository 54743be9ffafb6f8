// A heartbeat that notices when this process's event loop was held up (a long
// task, a GC pause, or the OS not scheduling us on a busy machine). Requests in
// flight meanwhile are slow because of the machine, not the app: the harness
// reports them apart from the detector's other false alerts.

/** Gaps between 5 ms beats of at least this many ms count as a stall. */
export const STALL_MS = 40;

/**
 * Start watching; `stop()` returns the stalls ([start ms, end ms], wall clock)
 * and the share of the time the event loop was busy (1 = saturated).
 */
export function watchStalls() {
  const stalls = [];
  const elu0 = performance.eventLoopUtilization();
  let last = Date.now();
  const beat = setInterval(() => {
    const now = Date.now();
    if (now - last >= STALL_MS) stalls.push([last, now]);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(beat);
      return { stalls, busy: performance.eventLoopUtilization(elu0).utilization };
    },
  };
}
