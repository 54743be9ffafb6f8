/**
 * Incidents: when they happen, what they target, and the requests they add or change.
 * Everything here draws from the `chaos` stream only (see tools/simulate.ts).
 */
import type { Rng } from "../../forest/random.js";
import { Weighted, errorBody, errorLatency, freshIp, gapMs, logUniform, type Fields, type Route, type TrafficSource } from "./core.js";
import type { IncidentKind, ResolvedSimulateOptions, SimIncident } from "./types.js";

const SCANNER_UAS = [
  "Mozilla/5.0 zgrab/0.x",
  "Nikto/2.5.0",
  "sqlmap/1.8.11#stable (https://sqlmap.org)",
  "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
  "gobuster/3.6",
];
/** Paths scanners and one-off probes ask for. */
export const SCANNER_PATHS = [
  "/wp-admin/", "/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/index.php", "/admin.php", "/xmlrpc.php",
  "/config.json", "/.aws/credentials", "/server-status", "/actuator/env", "/cgi-bin/luci", "/.DS_Store",
  "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/boaform/admin/formLogin", "/HNAP1/", "/backup.zip",
  "/solr/admin/info/system", "/db.sql", "/owa/auth/logon.aspx", "/login.action", "/console/", "/.svn/entries",
  "/_ignition/execute-solution", "/wp-content/plugins/revslider/readme.txt", "/api/v1/pods", "/telescope/requests",
];
const SCANNER_DIRS = ["admin", "backup", "old", "test", "wp", "pma", "phpMyAdmin", "cgi-bin", "dev", "tmp"];
const SCANNER_FILES = ["config.php", "setup.php", "index.php", ".env", "install.php", "shell.php", "info.php", "web.config"];
// Credential stuffing tools: plain HTTP libraries, or a browser's user agent copied verbatim.
const BRUTE_UAS = [
  "python-requests/2.31.0",
  "Go-http-client/1.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "okhttp/4.9.3",
  "curl/7.88.1",
];

/** An incident waiting for its turn. */
export interface PlannedIncident {
  kind: IncidentKind;
  /** Progress (0..1 of lines in count mode, of time in rate mode) at which it may start. */
  at: number;
  seconds: number;
}

/** An incident under way. */
export interface ActiveIncident {
  report: SimIncident;
  /** Exact end time (the report's is rounded down to the millisecond). */
  end: number;
  /** The route whose normal requests it changes (null: it only adds requests). */
  route: Route | null;
  factor: number;
  ip: string;
  ua: string;
  ips: string[];
  /** Extra requests per second for scanner and brute_force (fixed); surge uses the route's share instead. */
  extraRate: number;
  nextExtra: number;
  /** brute_force: the login endpoint, attempts so far, and the attempt after which accounts lock. */
  login: Route | null;
  attempts: number;
  lockAfter: number;
}

/** The incidents of a run, in order and in time (`at` increasing). */
export function planIncidents(chaos: Rng, o: ResolvedSimulateOptions, expectedLines: number): PlannedIncident[] {
  if (o.kinds.length === 0) return [];
  // One round of every chosen kind per ~100k lines (at least one), each round in a shuffled order:
  // dense enough to evaluate on, sparse enough that most of a long run is normal.
  const rounds = Math.max(1, Math.floor(expectedLines / 100000));
  const kinds: IncidentKind[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = [...o.kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = chaos.int(i + 1);
      [round[i], round[j]] = [round[j], round[i]];
    }
    kinds.push(...round);
  }
  // Each incident gets its own slot and starts early in it, so they spread out and rarely queue.
  return kinds.map((kind, i) => ({
    kind,
    at: (i + 0.05 + 0.3 * chaos.next()) / kinds.length,
    seconds: 20 + 70 * chaos.next(),
  }));
}

/** Starts incidents and makes their requests, against one traffic source. */
export class Incidents {
  /** Every incident started so far. */
  readonly started: SimIncident[] = [];

  /**
   * @param slotLines lines each incident's slot holds (an incident stays within half of it)
   * @param slotSeconds seconds of a slot in rate mode (Infinity in count mode)
   */
  constructor(
    private readonly chaos: Rng,
    private readonly source: TrafficSource,
    private readonly slotLines: number,
    private readonly slotSeconds: number,
  ) {}

  /** Extra requests per second `inc` adds at `at`. */
  extraRate(inc: ActiveIncident, at: number): number {
    return inc.report.kind === "surge" && inc.route !== null
      ? (inc.factor - 1) * this.source.share(inc.route) * this.source.baseRate(at)
      : inc.extraRate;
  }

  // Busy routes are likelier targets, and a route too quiet to see ~12 requests in the
  // incident's time is skipped, so every incident leaves a visible trace.
  private target(targets: readonly (readonly [string, string])[], at: number, seconds: number): Route {
    const src = this.source;
    const routes = targets.map(([m, tpl]) => src.route(m, tpl));
    const share = (r: Route): number => src.share(r);
    const busy = routes.filter((r) => share(r) * src.baseRate(at) * seconds >= 12);
    if (busy.length === 0) return routes.reduce((a, b) => (share(b) > share(a) ? b : a));
    return new Weighted(busy, busy.map(share)).pick(this.chaos);
  }

  /** Start planned incident `p` at `at`. */
  begin(p: PlannedIncident, at: number): ActiveIncident {
    const { chaos, source } = this;
    const kind = p.kind;
    const inc: ActiveIncident = {
      report: { id: this.started.length + 1, kind, start: Math.floor(at), end: Math.floor(at), lines: 0, detail: "" },
      end: at, route: null, factor: 1, ip: "", ua: "", ips: [], extraRate: 0, nextExtra: Infinity,
      login: null, attempts: 0, lockAfter: Infinity,
    };
    let wanted = p.seconds;
    // Bound the incident so it fits well inside its slot, however slow or short the run.
    const fit = (perSecond: number): number =>
      Math.max(1, Math.min(wanted, (0.5 * this.slotLines) / perSecond, 0.5 * this.slotSeconds));
    const planned = fit(source.baseRate(at));
    const name = (r: Route): string => `${r.method} ${r.template}`;
    const t = source.targets;
    if (kind === "latency_spike" || kind === "error_burst") {
      const route = this.target(t.spike, at, planned);
      inc.route = route;
      inc.factor = kind === "latency_spike" ? logUniform(chaos, 5, 30) : 0.75 + 0.2 * chaos.next();
      inc.report.detail = kind === "latency_spike"
        ? `${name(route)} latency x${inc.factor.toFixed(1)}`
        : `${name(route)} ${Math.round(inc.factor * 100)}% 5xx`;
    } else if (kind === "oversized") {
      const route = this.target(t.oversize, at, planned);
      inc.route = route;
      inc.factor = logUniform(chaos, 20, 200);
      inc.report.detail = `${name(route)} bodies x${inc.factor.toFixed(0)}`;
    } else if (kind === "scanner") {
      inc.ip = freshIp(chaos, source.usedIps);
      inc.ua = chaos.pick(SCANNER_UAS);
      inc.extraRate = 4 + 11 * chaos.next();
      inc.report.detail = `${inc.ip} "${inc.ua}" ${inc.extraRate.toFixed(1)} req/s`;
    } else if (kind === "brute_force") {
      // Credential stuffing: 150-400 failed logins in 10-30 s from one address; after a
      // while some of the tried accounts are locked (403).
      const [m, tpl] = new Weighted(t.login, t.login.map((l) => l[2])).pick(chaos);
      inc.login = source.route(m, tpl);
      inc.ip = freshIp(chaos, source.usedIps);
      inc.ua = chaos.pick(BRUTE_UAS);
      const attempts = 150 + chaos.int(251);
      wanted = 10 + 20 * chaos.next();
      inc.extraRate = attempts / wanted;
      inc.lockAfter = chaos.next() < 0.6 ? 10 + chaos.int(50) : Infinity;
      inc.report.detail = `${inc.ip} ${name(inc.login)} ${inc.extraRate.toFixed(1)} attempts/s`;
    } else {
      const route = this.target(t.surge, at, planned);
      inc.route = route;
      inc.factor = 5 + 5 * chaos.next();
      const n = 30 + chaos.int(120);
      for (let i = 0; i < n; i++) inc.ips.push(freshIp(chaos, source.usedIps));
      inc.report.detail = `${name(route)} rate x${inc.factor.toFixed(1)} from ${n} IPs`;
    }
    const seconds = fit(source.baseRate(at) + this.extraRate(inc, at));
    const end = at + seconds * 1000;
    inc.report.end = Math.floor(end);
    inc.end = end;
    if (inc.extraRate > 0 || kind === "surge") inc.nextExtra = at + gapMs(chaos, Math.max(1e-9, this.extraRate(inc, at)));
    this.started.push(inc.report);
    return inc;
  }

  /** Fill `f` with the incident's next extra request, due at `t`, and schedule the one after. */
  extra(inc: ActiveIncident, f: Fields, t: number): void {
    const chaos = this.chaos;
    if (inc.report.kind === "scanner") {
      scannerRequest(chaos, inc, f);
    } else if (inc.login !== null) {
      this.loginAttempt(inc, inc.login, f, t);
    } else if (inc.route !== null) {
      f.ip = chaos.pick(inc.ips);
      f.ua = this.source.browserUas.pick(chaos);
      this.source.fillRandom(chaos, inc.route, f, t);
    }
    inc.nextExtra = t + gapMs(chaos, Math.max(1e-9, this.extraRate(inc, t)));
  }

  private loginAttempt(inc: ActiveIncident, login: Route, f: Fields, t: number): void {
    const chaos = this.chaos;
    inc.attempts++;
    const locked = inc.attempts > inc.lockAfter && chaos.next() < 0.4;
    this.source.fillRandom(chaos, login, f, t, locked ? 403 : 401);
    // A locked account is refused before the password is hashed: fast.
    if (locked) f.latencyMs = 1.5 + 3 * chaos.next();
    f.ip = inc.ip;
    f.ua = inc.ua;
    f.referer = "-";
  }
}

/** Apply the active incident to a normal request on its route; true when the line changed. */
export function alter(chaos: Rng, inc: ActiveIncident, route: Route, f: Fields): boolean {
  switch (inc.report.kind) {
    case "latency_spike":
      f.latencyMs *= inc.factor * Math.exp(0.15 * chaos.normal());
      return true;
    case "error_burst": {
      if (chaos.next() >= inc.factor) return false;
      const u = chaos.next();
      f.status = u < 0.5 ? 500 : u < 0.8 ? 502 : 503;
      f.bytes = errorBody(chaos, f.status);
      f.latencyMs = errorLatency(chaos, f.status, f.latencyMs);
      return true;
    }
    case "oversized": {
      if (f.status < 200 || f.status >= 300) return false;
      // Relative to the route's normal (median) size, held inside the documented 20-200x.
      const k = Math.min(200, Math.max(20, inc.factor * Math.exp(0.25 * chaos.normal())));
      f.bytes = Math.round(route.bytes * k);
      // Bigger bodies take a little longer to serialise and send.
      f.latencyMs *= 1 + 0.2 * Math.log10(k);
      return true;
    }
    case "surge":
      // The route's regular requests during a surge cannot be told apart from the
      // extra ones: every request to the surging route is part of the incident.
      return true;
    default:
      return false;
  }
}

function scannerRequest(chaos: Rng, inc: ActiveIncident, f: Fields): void {
  f.ip = inc.ip;
  f.ua = inc.ua;
  f.referer = "-";
  const u = chaos.next();
  f.method = u < 0.88 ? "GET" : u < 0.96 ? "POST" : "HEAD";
  f.route = chaos.next() < 0.7
    ? chaos.pick(SCANNER_PATHS)
    : `/${chaos.pick(SCANNER_DIRS)}/${chaos.pick(SCANNER_FILES)}`;
  const s = chaos.next();
  f.status = s < 0.86 ? 404 : s < 0.94 ? 403 : s < 0.97 ? 400 : 405;
  f.latencyMs = 1.4 * Math.exp(0.4 * chaos.normal());
  f.bytes = f.method === "HEAD" ? 0 : 146 + chaos.int(20);
}
