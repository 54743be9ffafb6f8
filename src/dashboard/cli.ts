/** The dashboard's command-line glue, shared by `detect` and `demo`. */
import { DASHBOARD_DEFAULTS, startDashboard, type Dashboard } from "./server.js";

/** `--dashboard [PORT]`: bare means the default port; undefined when the flag is absent. */
export function dashboardPort(v: unknown): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true || v === "") return DASHBOARD_DEFAULTS.port;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`--dashboard must be a port, an integer in [0, 65535] (0: any free port), got ${String(v)}`);
  }
  return n;
}

/** Start the dashboard when `--dashboard [PORT]` was given (its raw value) and print its address to stderr. */
export async function openDashboard(flag: unknown, host: string): Promise<Dashboard | null> {
  // Checked here rather than in a yargs coerce, which would wrap the RangeError.
  const port = dashboardPort(flag);
  if (port === undefined) return null;
  const d = await startDashboard({ port, host });
  process.stderr.write(`dashboard: ${d.url}\n`);
  return d;
}

/**
 * After the run: when it ended by itself (end of input, demo done), keep the page
 * up until Ctrl-C so the user can look at it; when the user stopped the run, stop
 * the dashboard too.
 */
export async function serveUntilStopped(d: Dashboard, signal: AbortSignal): Promise<void> {
  d.finish();
  if (!signal.aborted) {
    process.stderr.write(`detection finished; the dashboard stays up at ${d.url} until Ctrl-C\n`);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  await d.close();
}
