/**
 * The live dashboard: an HTTP server (Node's own http module) inside the detector
 * process. It listens to the detection hooks, aggregates into per-second buckets
 * (see aggregate.ts), and serves
 *
 *   GET /              the page (page.html, page.js, page.css, uPlot from node_modules)
 *   GET /api/state     the recent window for one route (or telemetry series), the alerts, totals, model
 *   GET /api/events    Server-Sent Events: a delta every pushMs (changed buckets, new alerts, totals)
 *   GET /metrics       Prometheus metrics of the run, once serveMetrics() was given a handler (detect does)
 *
 * Read-only; binds 127.0.0.1 unless the user picks another host. Every response carries
 * SECURITY_HEADERS (a strict Content-Security-Policy among them); only the files of an
 * allow-list are served; requests with a body, other methods, oversized headers, foreign
 * Host names (on loopback) and event streams beyond a cap are refused (see handle(); the
 * guards themselves are in http.ts, the page's files in assets.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { RunCounts, ScoredBatch } from "../streams/counts.js";
import type { IsolationForest } from "../forest/forest.js";
import type { Detection } from "../runtime/detection.js";
import type { StreamAlert } from "../streams/stream.js";
import { ALL_ROUTES, Aggregator, type DashboardRow, type NumberedAlert, type RouteInfo } from "./aggregate.js";
import { loadAssets, type Assets } from "./assets.js";
import { guardedServer, hostCheck, refusal, refuseMalformed, SECURITY_HEADERS, writeRefusal } from "./http.js";

export { MAX_HEADER_BYTES, SECURITY_HEADERS } from "./http.js";

/** The detection hooks the dashboard listens on (runDetect and runDemo take them). */
export interface DashboardHooks {
  onStart: (detection: Detection) => void;
  onScored: (batch: ScoredBatch) => void;
  onAlert: (alert: StreamAlert) => void;
}

/** Options of startDashboard. */
export interface DashboardOptions {
  /** TCP port; 0 picks any free port. Default 8377. */
  port?: number;
  /** Address to bind. Default 127.0.0.1 (this machine only); anything else is the user's choice to expose it. */
  host?: string;
  /** Seconds of line time the charts keep. Default 600. */
  windowSeconds?: number;
  /** Seconds of row time the charts keep for a telemetry stream (a row every few seconds). Default 21600 (6 hours). */
  telemetryWindowSeconds?: number;
  /** Alerts the table keeps (the newest). Default 500. */
  maxAlerts?: number;
  /** Milliseconds between pushes to the page. Default 250. */
  pushMs?: number;
  /** Event streams (open pages) served at once; the next is refused with 503. Default 32. */
  maxEventClients?: number;
}

/** The defaults, in one place. */
export const DASHBOARD_DEFAULTS = Object.freeze({ port: 8377, host: "127.0.0.1", windowSeconds: 600, telemetryWindowSeconds: 21_600, maxAlerts: 500, pushMs: 250, maxEventClients: 32 });

/** Validate dashboard options; errors name the option, the allowed range and the value. */
export function resolveDashboardOptions(o: DashboardOptions = {}): Required<DashboardOptions> {
  const r = { ...DASHBOARD_DEFAULTS, ...o };
  const int = (name: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int("port", r.port, 0, 65535);
  int("windowSeconds", r.windowSeconds, 10, 86_400);
  int("telemetryWindowSeconds", r.telemetryWindowSeconds, 10, 86_400);
  int("maxAlerts", r.maxAlerts, 1, 100_000);
  int("pushMs", r.pushMs, 20, 60_000);
  int("maxEventClients", r.maxEventClients, 1, 1024);
  if (typeof r.host !== "string" || r.host.trim() === "") throw new RangeError(`host must be a non-empty address, got ${JSON.stringify(r.host)}`);
  return r;
}

/** What the page is told about the run. */
export interface Totals {
  status: "waiting" | "running" | "finished";
  lines_read: number;
  lines_scored: number;
  /** Lines read per second of wall-clock time, over the last few seconds. */
  lines_per_second: number;
  skipped: Record<string, number>;
  alerts: number;
  alerts_by_severity: RunCounts["alerts_by_severity"];
  alerts_by_rule: Record<string, number>;
  suppressed: RunCounts["suppressed"];
  /** Lines older than the window when they arrived, and lines without a time: scored but not charted. */
  not_charted: { late: number; untimed: number };
}

/** The model in use. */
export interface ModelInfo {
  /** What it scores, as its stream kind says: "logs" (routes), "telemetry" (series), ... */
  kind: string;
  created_at: string;
  features: string[];
  /** The forest's threshold on the score s. */
  threshold: number;
  trees: number;
  sample_size: number;
  format: string;
  /** Trained routes (0 for telemetry). */
  routes: number;
  /** Retraining refreshes behind this model (0: the model as loaded). */
  generation: number;
  /** Scores at severity 50 (p99 of training), 75 (p99.9) and 90 (highest in training). */
  severity_scores: { "50": number; "75": number; "90": number };
  /** Telemetry models: the series in feature order with their typical range (training, or the last refresh), k and window. */
  telemetry?: { series: Array<{ name: string; p01: number; median: number; p99: number }>; k: number; window: number };
}

/** GET /api/state. */
export interface DashboardState {
  /** Stamp of this state: ask /api/events for what came after it. */
  stamp: number;
  /** A route, or for telemetry a series; "all" for every one. */
  route: string;
  /** Oldest and newest second of line time held, over all routes (null before any line): the x range. */
  span: [number, number] | null;
  window_seconds: number;
  /** Alerts the server keeps (the page keeps as many). */
  max_alerts: number;
  /**
   * Columns of a row (see aggregate.ts): logs [second, lines, errors, p50 ms, p99 ms, mean score, max score];
   * a telemetry series [second, rows, mean score, max score, mean value, min value, max value];
   * all telemetry series [second, rows, mean score, max score, each series' mean value].
   */
  rows: DashboardRow[];
  alerts: NumberedAlert[];
  routes: RouteInfo[];
  totals: Totals;
  model: ModelInfo | null;
}

/** One Server-Sent Event ("delta"): what changed since the client's stamp. */
export interface DashboardDelta {
  stamp: number;
  span: [number, number] | null;
  rows: DashboardRow[];
  alerts: NumberedAlert[];
  routes: RouteInfo[];
  totals: Totals;
  model: ModelInfo | null;
}

interface Client {
  res: ServerResponse;
  route: string;
  since: number;
  alertSeq: number;
}

/** Clients further behind than this are dropped (they reconnect and reload the state). */
const MAX_CLIENT_BACKLOG = 4 << 20;

/** A running dashboard; make one with startDashboard. */
export class Dashboard {
  /** Bound hooks to hand to runDetect/runDemo. */
  readonly hooks: DashboardHooks;
  private readonly agg: Aggregator;
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private detector: Detection | null = null;
  private model: ModelInfo | null = null;
  /** The forest `model` describes: the detector swaps in a new one when it retrains. */
  private modelOf: IsolationForest | null = null;
  private status: Totals["status"] = "waiting";
  private readonly rateSamples: Array<[number, number]> = [];
  private closed = false;
  /** Answers GET /metrics (see runtime/metrics.ts serveMetrics); null: 404. */
  private metrics: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  /** Whether a Host header names this server (see hostCheck in http.ts). */
  private readonly hostAllowed: (host: string | undefined) => boolean;

  constructor(
    private readonly server: Server,
    private readonly assets: Assets,
    readonly options: Required<DashboardOptions>,
  ) {
    this.agg = new Aggregator({ windowSeconds: options.windowSeconds, maxAlerts: options.maxAlerts });
    this.hooks = {
      onStart: (d) => this.start(d),
      onScored: (b) => this.agg.addBatch(b),
      onAlert: (a) => this.agg.addAlert(a),
    };
    server.on("request", (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => refuseMalformed(err, socket));
    // CONNECT bypasses the request handler; without this listener Node would drop the socket unanswered.
    server.on("connect", (_req: IncomingMessage, socket: Socket) => writeRefusal(socket, 405, "Method Not Allowed", { allow: "GET, HEAD" }));
    this.hostAllowed = hostCheck(options.host, server.address() as AddressInfo);
    this.timer = setInterval(() => this.push(), options.pushMs);
  }

  /** The page's address, e.g. http://127.0.0.1:8377/. */
  get url(): string {
    const a = this.server.address() as AddressInfo;
    const host = a.family === "IPv6" || a.address.includes(":") ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}/`;
  }

  /** The port it listens on (useful with port 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Seconds, cells and alerts held: the bounded state (for tests and health checks). */
  size(): { seconds: number; cells: number; alerts: number; clients: number } {
    return { ...this.agg.size(), clients: this.clients.size };
  }

  /** The state the page loads (GET /api/state). */
  state(route: string = ALL_ROUTES): DashboardState {
    const stamp = this.agg.seal();
    return {
      stamp,
      route,
      span: this.agg.span(),
      window_seconds: this.agg.opts.windowSeconds,
      max_alerts: this.options.maxAlerts,
      rows: this.agg.rows(route),
      alerts: this.agg.alertsAfter(0),
      routes: this.agg.routes(),
      totals: this.totals(),
      model: this.currentModel(),
    };
  }

  /** Answer GET /metrics with this (after the refusals); loaded only when asked, prom-client stays out of start-up. */
  serveMetrics(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.metrics = handler;
  }

  /** Mark the run finished (the page says so); the server keeps serving until close(). */
  finish(): void {
    this.status = "finished";
    this.push();
  }

  /** Stop serving: end every event stream and close the server. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private start(d: Detection): void {
    this.detector = d;
    this.status = "running";
    // A row every few seconds (metric streams): ten minutes would hold a handful of points.
    if (d.kind.dashboard.window === "long") this.agg.setWindow(this.options.telemetryWindowSeconds);
  }

  /** The model in use, described again when the detector has retrained. */
  private currentModel(): ModelInfo | null {
    const d = this.detector;
    if (d === null || d.forest === this.modelOf) return this.model;
    this.modelOf = d.forest;
    this.model = describeModel(d);
    return this.model;
  }

  private totals(): Totals {
    const s = this.detector === null ? undefined : statsOf(this.detector);
    const now = performance.now();
    const read = s?.lines_read ?? 0;
    this.rateSamples.push([now, read]);
    while (this.rateSamples.length > 2 && now - this.rateSamples[0][0] > 3000) this.rateSamples.shift();
    const [t0, n0] = this.rateSamples[0];
    return {
      status: this.status,
      lines_read: read,
      lines_scored: s?.lines_scored ?? 0,
      lines_per_second: now - t0 > 0 ? Math.round(((read - n0) * 1000) / (now - t0)) : 0,
      skipped: { ...(s?.skipped ?? {}) },
      alerts: s?.alerts ?? 0,
      alerts_by_severity: { ...(s?.alerts_by_severity ?? { "0-49": 0, "50-74": 0, "75-89": 0, "90-100": 0 }) },
      alerts_by_rule: { ...(s?.alerts_by_rule ?? {}) },
      suppressed: { ...(s?.suppressed ?? { warmup: 0, cooldown: 0 }) },
      not_charted: { late: this.agg.late, untimed: this.agg.untimed },
    };
  }

  /** One tick: every client gets what changed since its stamp. */
  private push(): void {
    const stamp = this.agg.seal();
    if (this.clients.size === 0) return;
    const totals = this.totals();
    const routes = this.agg.routes();
    const model = this.currentModel();
    for (const c of this.clients) {
      if (c.res.writableLength > MAX_CLIENT_BACKLOG) {
        this.clients.delete(c);
        c.res.destroy();
        continue;
      }
      const alerts = this.agg.alertsAfter(c.alertSeq);
      const delta: DashboardDelta = {
        stamp, span: this.agg.span(), rows: this.agg.rows(c.route, c.since), alerts, routes, totals, model,
      };
      c.since = stamp;
      if (alerts.length > 0) c.alertSeq = alerts[alerts.length - 1].seq;
      c.res.write(`event: delta\ndata: ${JSON.stringify(delta)}\n\n`);
    }
  }

  /**
   * Refusals come first (see refusal() in http.ts). Paths are compared as sent, never
   * decoded or normalised, against the API and the allow-list of files: "..", "%2e%2e",
   * "%2f", backslashes and NUL simply name nothing and get 404.
   */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const refused = refusal(req, "the dashboard", this.hostAllowed);
    if (refused !== null) return this.send(res, refused.status, "text/plain; charset=utf-8", refused.body, refused.headers);
    const target = req.url ?? "";
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
    if (path === "/api/state") {
      const route = query.get("route") ?? ALL_ROUTES;
      return this.send(res, 200, "application/json; charset=utf-8", JSON.stringify(this.state(route)));
    }
    if (path === "/api/events") return this.subscribe(req, query, res);
    if (path === "/metrics" && this.metrics !== null) return this.metrics(req, res);
    const asset = this.assets.get(path === "/" ? "/page.html" : path);
    if (asset === undefined) return this.send(res, 404, "text/plain; charset=utf-8", "not found\n");
    // The files do not change while the process runs: revalidate by ETag, never store.
    const cache = { "cache-control": "no-cache", etag: asset.etag };
    if (req.headers["if-none-match"] === asset.etag) return this.send(res, 304, asset.type, "", cache);
    this.send(res, 200, asset.type, asset.body, cache);
  }

  private subscribe(req: IncomingMessage, query: URLSearchParams, res: ServerResponse): void {
    if (this.clients.size >= this.options.maxEventClients) {
      const body = `too many live pages: ${this.options.maxEventClients} event streams are open; close one and reload\n`;
      return this.send(res, 503, "text/plain; charset=utf-8", body, { "retry-after": "10" });
    }
    const head = { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" };
    if (req.method === "HEAD") {
      res.writeHead(200, head);
      return void res.end();
    }
    const num = (name: string) => {
      const v = Number(query.get(name) ?? "0");
      return Number.isFinite(v) && v >= 0 ? v : 0;
    };
    const client: Client = { res, route: query.get("route") ?? ALL_ROUTES, since: num("since"), alertSeq: num("alerts") };
    res.writeHead(200, head);
    res.write("retry: 1000\n\n");
    this.clients.add(client);
    res.on("close", () => this.clients.delete(client));
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
    const length = status === 304 ? {} : { "content-length": String(Buffer.byteLength(body)) };
    res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-store", ...length, ...extra });
    res.end(res.req.method === "HEAD" || status === 304 ? undefined : body);
  }
}

/** What the page shows of the model the run's detectors use (its kind describes its own part). */
function describeModel(d: Detection): ModelInfo {
  const f = d.forest;
  const m = d.describe();
  return {
    kind: m.kind,
    created_at: f.createdAt,
    features: [...d.featureNames],
    threshold: f.threshold,
    trees: f.options.trees,
    sample_size: f.options.sampleSize,
    format: m.format,
    routes: m.routes,
    generation: d.counts().retrain.generation,
    severity_scores: m.severityScores,
    ...(m.telemetry ? { telemetry: m.telemetry } : {}),
  };
}

/** The run's live counts. */
function statsOf(d: Detection): RunCounts {
  return d.counts();
}

/** Start the dashboard server; resolves once it listens (see Dashboard.url). */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const o = resolveDashboardOptions(options);
  const assets = loadAssets();
  // Headers beyond MAX_HEADER_BYTES get 431; sockets bounded (a page uses a few; event streams are capped separately).
  const total = Math.max(128, 4 * o.maxEventClients);
  const server = guardedServer({ total, perClient: total / 2 });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "is in use (pick another port, or 0 for any free one)" : `cannot be used (${e.message})`;
      reject(new Error(`dashboard: port ${o.port} on ${o.host} ${why}`));
    };
    server.once("error", onError);
    server.listen(o.port, o.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  return new Dashboard(server, assets, o);
}
