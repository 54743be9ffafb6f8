/**
 * A real redis-server for the scale-out's tests (test/redis.test.ts, test/scale-transport.test.ts):
 * started on a free loopback port with its append-only file in a given folder, stopped at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

/** A free loopback port (bound by a throwaway server, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll `cond` every 100 ms until it holds; throw naming `what` after `ms`. */
export async function waitFor(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Send `signal` and wait for the exit (SIGKILL after 15 s); `children` forgets the process. */
export function stopChild(p: ChildProcess, signal: NodeJS.Signals, children?: Set<ChildProcess>): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) {
      children?.delete(p);
      return resolve();
    }
    const t = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.once("exit", () => {
      clearTimeout(t);
      children?.delete(p);
      resolve();
    });
    p.kill(signal);
  });
}

/** A redis-server on `port` with its append-only file in `data`; its process joins `children`. */
export class RedisServer {
  proc: ChildProcess | null = null;
  constructor(readonly port: number, readonly data: string, private readonly children: Set<ChildProcess>) {}

  async start(): Promise<void> {
    const p = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", this.data], { stdio: "ignore" });
    this.proc = p;
    this.children.add(p);
    await waitFor("redis-server to answer", 10_000, async () => {
      const r = new Redis({ port: this.port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      r.on("error", () => undefined);
      try {
        await r.connect();
        return (await r.ping()) === "PONG";
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    });
  }

  /** SIGTERM: Redis writes its append-only file and exits. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (p === null) return;
    await stopChild(p, "SIGTERM", this.children);
    this.proc = null;
  }
}
