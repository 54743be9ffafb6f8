// The load generator: sends a planned run (traffic.mjs) to one or more apps on
// 127.0.0.1, each request at its planned moment, through keep-alive agents with
// bounded concurrency and a hard time limit. Every request carries `?rid=` so
// that the log line it produces can be matched to it afterwards, and
// X-Forwarded-For with its client, as a reverse proxy would add.
import http from "node:http";

/**
 * @typedef {object} LoadResult
 * @property {number[][]} status   per target, per rid (index rid - 1): the status received, 0 if none
 * @property {Float64Array[]} sentAt  per target, per rid: wall-clock ms the request left
 * @property {Float64Array[]} doneAt  per target, per rid: wall-clock ms it was answered or failed
 * @property {number} sent         requests sent (counting each target)
 * @property {number} failed       requests without a response (socket error, timeout, cut at the time limit)
 * @property {boolean} timedOut    the hard time limit stopped the run
 * @property {number} durationMs
 * @property {number} maxLagMs     the latest a request left after its planned moment (concurrency or a busy loop)
 */

/** The URL a planned request is sent to: its path with `rid` added to the query. */
export function urlOf(r) {
  return `${r.path}${r.path.includes("?") ? "&" : "?"}rid=${r.rid}`;
}

/**
 * Send `plan` to every port in `ports`; resolves when every request has been
 * answered or failed, or at `timeLimitMs` (then unfinished requests are cut).
 * @param {{ plan: import("./traffic.mjs").PlannedRequest[], ports: number[], concurrency?: number, timeLimitMs: number, requestTimeoutMs?: number }} o
 * @returns {Promise<LoadResult>}
 */
export function runLoad(o) {
  const concurrency = o.concurrency ?? 128;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 4096) throw new RangeError(`concurrency must be an integer in [1, 4096], got ${concurrency}`);
  if (!(o.timeLimitMs > 0 && o.timeLimitMs <= 3_600_000)) throw new RangeError(`timeLimitMs must be in (0, 3600000], got ${o.timeLimitMs}`);
  const { plan, ports } = o;
  const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: concurrency }));
  const status = ports.map(() => new Array(plan.length).fill(0));
  const sentAt = ports.map(() => new Float64Array(plan.length));
  const doneAt = ports.map(() => new Float64Array(plan.length));
  const live = new Set();
  let next = 0;
  let inFlight = 0;
  let sent = 0;
  let failed = 0;
  let maxLagMs = 0;
  let stopped = false;
  const t0 = performance.now();

  return new Promise((resolve) => {
    let tick = null;
    const finish = (timedOut) => {
      if (stopped) return;
      stopped = true;
      clearTimeout(limit);
      if (tick !== null) clearTimeout(tick);
      for (const req of live) req.destroy();
      for (const a of agents) a.destroy();
      resolve({ status, sentAt, doneAt, sent, failed, timedOut, durationMs: performance.now() - t0, maxLagMs });
    };
    const limit = setTimeout(() => finish(true), o.timeLimitMs);

    const send = (r, k) => {
      const headers = { "x-forwarded-for": r.ip, "user-agent": r.ua, accept: "*/*" };
      if (r.referer !== null) headers.referer = r.referer;
      if (r.body !== null) {
        headers["content-type"] = "application/json";
        headers["content-length"] = String(Buffer.byteLength(r.body));
      }
      inFlight++;
      sent++;
      sentAt[k][r.rid - 1] = Date.now();
      let settled = false;
      const settle = (code) => {
        if (settled) return;
        settled = true;
        live.delete(req);
        inFlight--;
        if (code === 0) failed++;
        status[k][r.rid - 1] = code;
        doneAt[k][r.rid - 1] = Date.now();
        pump();
      };
      const req = http.request({ host: "127.0.0.1", port: ports[k], method: r.method, path: urlOf(r), headers, agent: agents[k] }, (res) => {
        res.on("data", () => {});
        res.on("end", () => settle(res.statusCode ?? 0));
        res.on("error", () => settle(0));
      });
      live.add(req);
      req.setTimeout(o.requestTimeoutMs ?? 15_000, () => req.destroy());
      req.on("error", () => settle(0));
      req.end(r.body ?? undefined);
    };

    const pump = () => {
      if (stopped) return;
      const now = performance.now() - t0;
      while (next < plan.length && plan[next].t <= now && inFlight + ports.length <= concurrency * ports.length) {
        maxLagMs = Math.max(maxLagMs, now - plan[next].t);
        for (let k = 0; k < ports.length; k++) send(plan[next], k);
        next++;
      }
      if (next >= plan.length) {
        if (inFlight === 0) finish(false);
        return;
      }
      if (tick === null && plan[next].t > now) {
        tick = setTimeout(() => {
          tick = null;
          pump();
        }, Math.max(1, Math.min(50, plan[next].t - now)));
      }
    };
    pump();
  });
}
