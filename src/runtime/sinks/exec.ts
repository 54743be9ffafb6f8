/**
 * `--exec CMD`: CMD run once per alert, through a DeliveryQueue (bounded, a few at once,
 * never blocking scoring), with the alert as one JSON line on its stdin.
 *
 * CMD goes to /bin/sh -c, as git's hook and alias commands do: quote it as in a shell. The
 * alert never reaches the command line, only stdin (and its severity and rule in the
 * environment, LOGFOREST_SEVERITY and LOGFOREST_RULE), so no log content is ever parsed by
 * the shell. The command's stdout is discarded (stdout holds the alerts), its stderr goes to
 * detect's. A non-zero exit, a signal or running past the timeout fails that alert; it is
 * not run again (a command need not be safe to repeat) unless attempts says so.
 */
import { spawn } from "node:child_process";
import type { StreamAlert } from "../../streams/stream.js";
import { DeliveryError, DeliveryQueue, resolveQueueOptions, type QueueOptions } from "./queue.js";
import type { AlertSink } from "./webhook.js";

/** Options of an exec sink. */
export interface ExecOptions extends Partial<QueueOptions> {
  command: string;
  /** One run's limit in ms; past it the command's process group is killed. Default 10000. */
  timeoutMs?: number;
}

/** The defaults that differ from the webhook's: 4 at once, one try. */
export const EXEC_DEFAULTS = Object.freeze({ concurrency: 4, attempts: 1, timeoutMs: 10_000 });

/** Run CMD once with `line` on its stdin; resolves on exit 0. */
function runOnce(command: string, line: string, env: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its own process group (detached), so that a timeout kills what the shell started too.
    const child = spawn(command, { shell: true, detached: true, stdio: ["pipe", "ignore", "inherit"], env });
    let why: DeliveryError | null = null;
    const kill = (reason: DeliveryError) => {
      why ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill(new DeliveryError(`still running after ${timeoutMs} ms (killed)`, true)), timeoutMs);
    const onAbort = () => kill(new DeliveryError("stopped", false));
    signal.addEventListener("abort", onAbort, { once: true });
    child.stdin.on("error", () => undefined); // a command that does not read its stdin closes it early: not an error
    child.on("error", (err) => (why ??= new DeliveryError(`could not start: ${err.message}`, false)));
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (why !== null) reject(why);
      else if (code === 0) resolve();
      else reject(new DeliveryError(code !== null ? `exit code ${code}` : `killed by ${sig}`, true));
    });
    child.stdin.end(line);
  });
}

/** Start an exec sink (no process runs until the first alert). */
export function execSink(o: ExecOptions, onProblem?: (message: string) => void): AlertSink {
  if (typeof o.command !== "string" || o.command.trim() === "") throw new RangeError(`--exec must be a non-empty command, got ${JSON.stringify(o.command)}`);
  const timeoutMs = o.timeoutMs ?? EXEC_DEFAULTS.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000) throw new RangeError(`--exec-timeout must be in [0.001, 3600] seconds, got ${timeoutMs / 1000}`);
  const options = resolveQueueOptions({ concurrency: EXEC_DEFAULTS.concurrency, attempts: EXEC_DEFAULTS.attempts, ...o }, { capacity: "--exec-queue", concurrency: "--exec-concurrency" });
  const run = (payload: string, signal: AbortSignal) => {
    const a = JSON.parse(payload) as StreamAlert;
    return runOnce(o.command, `${payload}\n`, { ...process.env, LOGFOREST_SEVERITY: String(a.severity), LOGFOREST_RULE: a.rule }, timeoutMs, signal);
  };
  const queue = new DeliveryQueue("exec", run, options, onProblem);
  return { name: "exec", offer: (a) => queue.offer(JSON.stringify(a)), counts: () => queue.counts(), close: (drainMs) => queue.close(drainMs) };
}
