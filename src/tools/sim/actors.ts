/**
 * The realistic profile's actors: every client population (browser and app sessions,
 * crawlers, integrations, monitors, probes and blips) fires on the event queue, writes
 * its lines through the Stage and schedules itself again.
 */
import { Rng } from "../../forest/random.js";
import { Site, type Group } from "./catalogue.js";
import { HEALTH } from "./classic.js";
import { PROBE_UAS, Population, UPTIME, probeIp, type Crawler, type Integration, type Visitor } from "./clients.js";
import { SCANNER_PATHS } from "./incidents.js";
import { Weighted, gapMs, weighted } from "./core.js";

/** Something that acts at a time: writes lines and schedules itself again. */
export interface Actor {
  fire(src: Stage, t: number): void;
}

/** What actors see of the simulation (RealisticSource). */
export interface Stage {
  readonly rng: Rng;
  readonly people: Population;
  readonly site: Site;
  blipUntil: number;
  baseRate(t: number): number;
  schedule(t: number, actor: Actor): void;
  thinkMs(median: number, sigma: number): number;
  sessionRate(app: boolean, t: number): number;
  webPage(s: WebSession, t: number): number;
  appCall(s: AppSession, t: number): number;
  crawl(c: CrawlerActor, t: number): void;
  integrationCall(c: IntegrationActor, t: number): void;
  line(t: number, route: Group | null, method: string, path: string, status: number, latencyMs: number, bytes: number,
    ip: string, ua: string, referer: string): void;
}

const ENTRY_REFERERS = weighted<string>([
  ["-", 35], ["https://www.google.com/", 40], ["https://www.bing.com/", 5], ["https://duckduckgo.com/", 5],
  ["https://news.ycombinator.com/", 2], ["https://www.reddit.com/", 4], ["android-app://com.google.android.gm/", 3],
  ["https://t.co/", 4], ["https://www.facebook.com/", 2],
]);

export type PageKind =
  | "home" | "category" | "product" | "search" | "blogIndex" | "blog" | "docs" | "files" | "download"
  | "account" | "cart" | "checkout" | "login" | "receipt";

/** A browser session: a visitor reading a few pages. */
export class WebSession implements Actor {
  pagesLeft: number;
  kind: PageKind | null = null;
  url: string;
  /** Returning visitors have the hashed assets cached for good. */
  readonly cached: boolean;
  /** Bytes per millisecond of this visitor's connection. */
  readonly bandwidth: number;
  sharedLoaded = false;
  readonly chunks = new Set<string>();
  constructor(readonly visitor: Visitor, rng: Rng) {
    this.pagesLeft = rng.next() < 0.42 ? 1 : 2 + Math.floor(-Math.log(1 - rng.next()) * 3);
    this.pagesLeft = Math.min(this.pagesLeft, 30);
    this.cached = rng.next() < 0.35;
    this.bandwidth = 5000 * Math.exp(0.8 * rng.normal());
    this.url = ENTRY_REFERERS.pick(rng);
  }
  fire(src: Stage, t: number): void {
    const end = src.webPage(this, t);
    if (--this.pagesLeft > 0) src.schedule(end + src.thinkMs(14000, 1.0), this);
  }
}

/** A mobile app session: API calls with short pauses. */
export class AppSession implements Actor {
  callsLeft: number;
  loggedIn = false;
  constructor(readonly visitor: Visitor, rng: Rng) {
    this.callsLeft = 2 + Math.floor(-Math.log(1 - rng.next()) * 6);
  }
  fire(src: Stage, t: number): void {
    const end = src.appCall(this, t);
    if (--this.callsLeft > 0) src.schedule(end + src.thinkMs(3500, 0.9), this);
  }
}

/** Starts sessions as a Poisson process following the daily curve. */
export class Arrivals implements Actor {
  constructor(private readonly app: boolean) {}
  fire(src: Stage, t: number): void {
    const s = this.app ? new AppSession(src.people.app.pick(src.rng), src.rng) : new WebSession(src.people.web.pick(src.rng), src.rng);
    s.fire(src, t);
    src.schedule(t + gapMs(src.rng, Math.max(1e-9, src.sessionRate(this.app, t))), this);
  }
}

/** A crawler address walking the long tail at a steady pace. */
export class CrawlerActor implements Actor {
  fetched = 0;
  /** Where its walk of the site is, and its stride (coprime with the number of pages: each page once per round). */
  position: number;
  readonly stride: number;
  constructor(readonly crawler: Crawler, readonly meanGapMs: number, pages: number, rng: Rng) {
    this.position = rng.int(pages);
    let stride = 1 + rng.int(pages - 1);
    while (gcd(stride, pages) !== 1) stride++;
    this.stride = stride;
  }
  fire(src: Stage, t: number): void {
    src.crawl(this, t);
    src.schedule(t + this.meanGapMs * (0.6 + 0.8 * src.rng.next()), this);
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** An API integration polling at a steady pace, renewing its token every ~15 minutes. */
export class IntegrationActor implements Actor {
  readonly calls: Weighted<readonly [string, string, number]>;
  tokenAt = -Infinity;
  constructor(readonly client: Integration, readonly meanGapMs: number) {
    this.calls = new Weighted(client.calls, client.calls.map((c) => c[2]));
  }
  fire(src: Stage, t: number): void {
    src.integrationCall(this, t);
    src.schedule(t + this.meanGapMs * (0.85 + 0.3 * src.rng.next()), this);
  }
}

/** Periodic monitors: the health checker, and the uptime monitor on the home page. */
export class Monitor implements Actor {
  private n = 0;
  constructor(private readonly uptime: boolean) {}
  fire(src: Stage, t: number): void {
    const rng = src.rng;
    if (this.uptime) {
      const ip = UPTIME.ips[this.n++ % UPTIME.ips.length];
      src.line(t, null, "HEAD", "/", 200, 18 * Math.exp(0.3 * rng.normal()), 0, ip, UPTIME.ua, "-");
      src.schedule(t + UPTIME.intervalMs + (rng.next() - 0.5) * 1000, this);
    } else {
      src.line(t, null, "GET", "/health", 200, HEALTH.latencyMs * Math.exp(HEALTH.latencySigma * rng.normal()), HEALTH.bytes, HEALTH.ip, HEALTH.ua, "-");
      src.schedule(t + HEALTH.intervalMs + (rng.next() - 0.5) * 100, this);
    }
  }
}

/** Rare things: one-off probes of a path or two, and short 502 blips (a backend restarting). */
export class Noise implements Actor {
  constructor(private readonly blip: boolean) {}
  fire(src: Stage, t: number): void {
    const rng = src.rng;
    if (this.blip) {
      src.blipUntil = t + 300 + 1700 * rng.next();
      src.schedule(t + gapMs(rng, 1 / (3 * 3600)), this);
      return;
    }
    const ip = probeIp(rng);
    const ua = rng.pick(PROBE_UAS);
    let at = t;
    for (let n = rng.next() < 0.8 ? 1 : 2; n > 0; n--) {
      const path = rng.next() < 0.5 ? rng.pick(SCANNER_PATHS) : rng.pick(HARMLESS_PROBES);
      const found = path === "/robots.txt" || path === "/sitemap.xml";
      src.line(at, src.site.notFound, "GET", path, found ? 200 : 404, 1 + 4 * rng.next(), found ? 231 : 9420, ip, ua, "-");
      at += 200 + 1800 * rng.next();
    }
    src.schedule(t + gapMs(rng, Math.max(1e-9, PROBE_SHARE * src.baseRate(t))), this);
  }
}

const HARMLESS_PROBES = [
  "/apple-touch-icon.png", "/.well-known/security.txt", "/ads.txt", "/humans.txt", "/favicon.png", "/robots.txt",
  "/sitemap.xml", "/.well-known/traffic-advice", "/app-ads.txt", "/.well-known/change-password",
];

/** Share of the (non-monitoring) line rate that is one-off probes. */
export const PROBE_SHARE = 0.0007;
