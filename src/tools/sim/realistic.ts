/**
 * The realistic profile: a whole site's traffic as a discrete-event simulation.
 * Every client population is an actor on one time-ordered queue: browser sessions
 * (pages with think time, each page followed by its assets and API calls), app
 * sessions, API integrations and crawlers at a steady pace, the health checker and
 * an uptime monitor, one-off probes, and rare 502 blips. Everything is drawn from
 * the traffic stream when an actor fires, so the lines do not depend on incidents.
 */
import { Rng } from "../../forest/random.js";
import { Site, fileSize, type Asset, type Group, type Product } from "./catalogue.js";
import { HEALTH, fillResponse } from "./classic.js";
import { PROBE_UAS, Population, UPTIME, probeIp, type Crawler, type Integration, type Visitor } from "./clients.js";
import { SCANNER_PATHS } from "./incidents.js";
import {
  Weighted,
  gapMs,
  loadFactor,
  newFields,
  weighted,
  type Fields,
  type IncidentTargets,
  type Route,
  type TrafficSource,
} from "./core.js";

/** A queued event: a line to write (actor null) or an actor to fire. */
class Ev {
  constructor(
    readonly t: number,
    readonly seq: number,
    readonly actor: Actor | null,
    /** The line's route; null for monitoring (health checker, uptime monitor). */
    readonly route: Group | null,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly latencyMs: number,
    readonly bytes: number,
    readonly ip: string,
    readonly ua: string,
    readonly referer: string,
  ) {}
}

/** Something that acts at a time: writes lines and schedules itself again. */
interface Actor {
  fire(src: RealisticSource, t: number): void;
}

/** A binary min-heap of events by (time, sequence). */
class Queue {
  private readonly items: Ev[] = [];
  get size(): number {
    return this.items.length;
  }
  top(): Ev | undefined {
    return this.items[0];
  }
  push(e: Ev): void {
    const a = this.items;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, a[p])) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = e;
  }
  pop(): Ev | undefined {
    const a = this.items;
    const first = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return first;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && before(a[l + 1], a[l]) ? l + 1 : l;
      if (!before(a[c], last)) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return first;
  }
}

function before(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

const ORIGIN = "https://www.shop.example";
const ENTRY_REFERERS = weighted<string>([
  ["-", 35], ["https://www.google.com/", 40], ["https://www.bing.com/", 5], ["https://duckduckgo.com/", 5],
  ["https://news.ycombinator.com/", 2], ["https://www.reddit.com/", 4], ["android-app://com.google.android.gm/", 3],
  ["https://t.co/", 4], ["https://www.facebook.com/", 2],
]);

type PageKind =
  | "home" | "category" | "product" | "search" | "blogIndex" | "blog" | "docs" | "files" | "download"
  | "account" | "cart" | "checkout" | "login" | "receipt";

// Where visitors land, and where they go next from each kind of page.
const ENTRY = weighted<PageKind>([
  ["home", 24], ["product", 26], ["blog", 16], ["docs", 10], ["files", 8], ["category", 8], ["search", 3],
  ["download", 1.5], ["receipt", 1.5], ["blogIndex", 2],
]);
const NEXT: Record<PageKind, Weighted<PageKind>> = {
  home: weighted([["category", 30], ["product", 25], ["search", 15], ["blogIndex", 6], ["login", 6], ["cart", 5], ["docs", 3], ["account", 4]]),
  category: weighted([["product", 60], ["category", 20], ["search", 8], ["home", 6], ["cart", 6]]),
  product: weighted([["product", 45], ["category", 15], ["cart", 14], ["search", 10], ["home", 8], ["login", 4], ["blog", 2]]),
  search: weighted([["product", 65], ["search", 20], ["category", 10], ["home", 5]]),
  blogIndex: weighted([["blog", 80], ["blogIndex", 12], ["home", 8]]),
  blog: weighted([["blog", 45], ["blogIndex", 15], ["home", 15], ["product", 15], ["docs", 5], ["files", 5]]),
  docs: weighted([["docs", 80], ["home", 6], ["files", 6], ["login", 4], ["blog", 4]]),
  files: weighted([["files", 60], ["download", 25], ["docs", 10], ["home", 5]]),
  download: weighted([["files", 70], ["download", 20], ["home", 10]]),
  account: weighted([["account", 40], ["product", 20], ["home", 20], ["cart", 20]]),
  cart: weighted([["checkout", 45], ["product", 35], ["home", 20]]),
  checkout: weighted([["home", 60], ["account", 40]]),
  login: weighted([["account", 60], ["home", 20], ["cart", 20]]),
  receipt: weighted([["account", 40], ["home", 40], ["product", 20]]),
};
const CHUNK: Partial<Record<PageKind, "product" | "blog" | "docs" | "checkout">> = {
  product: "product", category: "product", search: "product", blog: "blog", blogIndex: "blog",
  docs: "docs", cart: "checkout", checkout: "checkout",
};

/** A browser session: a visitor reading a few pages. */
class WebSession implements Actor {
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
  fire(src: RealisticSource, t: number): void {
    const end = src.webPage(this, t);
    if (--this.pagesLeft > 0) src.schedule(end + src.thinkMs(14000, 1.0), this);
  }
}

/** A mobile app session: API calls with short pauses. */
class AppSession implements Actor {
  callsLeft: number;
  loggedIn = false;
  constructor(readonly visitor: Visitor, rng: Rng) {
    this.callsLeft = 2 + Math.floor(-Math.log(1 - rng.next()) * 6);
  }
  fire(src: RealisticSource, t: number): void {
    const end = src.appCall(this, t);
    if (--this.callsLeft > 0) src.schedule(end + src.thinkMs(3500, 0.9), this);
  }
}

/** Starts sessions as a Poisson process following the daily curve. */
class Arrivals implements Actor {
  constructor(private readonly app: boolean) {}
  fire(src: RealisticSource, t: number): void {
    const s = this.app ? new AppSession(src.people.app.pick(src.rng), src.rng) : new WebSession(src.people.web.pick(src.rng), src.rng);
    s.fire(src, t);
    src.schedule(t + gapMs(src.rng, Math.max(1e-9, src.sessionRate(this.app, t))), this);
  }
}

/** A crawler address walking the long tail at a steady pace. */
class CrawlerActor implements Actor {
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
  fire(src: RealisticSource, t: number): void {
    src.crawl(this, t);
    src.schedule(t + this.meanGapMs * (0.6 + 0.8 * src.rng.next()), this);
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** An API integration polling at a steady pace, renewing its token every ~15 minutes. */
class IntegrationActor implements Actor {
  readonly calls: Weighted<readonly [string, string, number]>;
  tokenAt = -Infinity;
  constructor(readonly client: Integration, readonly meanGapMs: number) {
    this.calls = new Weighted(client.calls, client.calls.map((c) => c[2]));
  }
  fire(src: RealisticSource, t: number): void {
    src.integrationCall(this, t);
    src.schedule(t + this.meanGapMs * (0.85 + 0.3 * src.rng.next()), this);
  }
}

/** Periodic monitors: the health checker, and the uptime monitor on the home page. */
class Monitor implements Actor {
  private n = 0;
  constructor(private readonly uptime: boolean) {}
  fire(src: RealisticSource, t: number): void {
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
class Noise implements Actor {
  constructor(private readonly blip: boolean) {}
  fire(src: RealisticSource, t: number): void {
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

/** Seed of the site itself: its pages, files, asset hashes, crawlers and integrations. */
const SITE_SEED = 20261124;

// Shares of the (non-monitoring) line rate.
const WEB_SHARE = 0.56;
const APP_SHARE = 0.13;
const INTEGRATION_SHARE = 0.14;
const CRAWLER_SHARE = 0.15;
const PROBE_SHARE = 0.0007;

/** The realistic profile's traffic source. */
export class RealisticSource implements TrafficSource {
  readonly targets: IncidentTargets;
  readonly usedIps = new Set<string>([HEALTH.ip]);
  readonly browserUas: Weighted<string>;
  readonly site: Site;
  readonly people: Population;
  /** The stream actors draw from (the traffic stream; a private one while calibrating). */
  rng: Rng;
  blipUntil = -Infinity;
  private readonly queue = new Queue();
  private seq = 0;
  /** The next line, taken off the queue by `peek` and handed out by `emit`. */
  private pending: Ev | null = null;
  private readonly counts = new Map<Route, number>();
  private counted = 0;
  private readonly byName = new Map<string, Group>();
  private readonly linesPerSession: { web: number; app: number };
  /** While calibrating: lines are counted, not queued, and actors run at once. */
  private dry: { lines: number; pending: Actor[] } | null = null;
  private readonly scratch = newFields();

  constructor(traffic: Rng, start: number, readonly baseRate: (t: number) => number, steadyRate: number) {
    this.rng = traffic;
    // One site whatever the seed (training and test logs come from the same site); the seed
    // changes the visitors and their traffic.
    const site = new Rng(SITE_SEED);
    this.site = new Site(site);
    this.people = new Population(site, traffic, this.usedIps);
    this.browserUas = this.people.browserUas;
    for (const g of this.site.all) this.byName.set(`${g.method} ${g.template}`, g);
    this.targets = REALISTIC_TARGETS;
    this.linesPerSession = { web: this.calibrate(new Rng(traffic.nextU32()), false), app: this.calibrate(new Rng(traffic.nextU32()), true) };

    // Start a while before `start` and throw those lines away, so sessions are under way at the start.
    const t0 = start - Math.min(900, 30000 / Math.max(1e-9, baseRate(start))) * 1000;
    this.schedule(t0, new Arrivals(false));
    this.schedule(t0, new Arrivals(true));
    const crawlerRate = CRAWLER_SHARE * steadyRate;
    for (const c of this.people.crawlers) this.schedule(t0 + traffic.next() * 5000, new CrawlerActor(c, 1000 / (crawlerRate * c.share), this.site.crawlable.length, traffic));
    const integrationRate = INTEGRATION_SHARE * steadyRate;
    for (const c of this.people.integrations) {
      this.schedule(t0 + traffic.next() * 5000, new IntegrationActor(c, 1000 / (integrationRate * c.share)));
    }
    this.schedule(t0 + traffic.next() * HEALTH.intervalMs, new Monitor(false));
    this.schedule(t0 + traffic.next() * UPTIME.intervalMs, new Monitor(true));
    this.schedule(t0 + gapMs(traffic, PROBE_SHARE * baseRate(t0)), new Noise(false));
    this.schedule(t0 + gapMs(traffic, 1 / (3 * 3600)), new Noise(true));
    while (this.peek() < start) this.pending = null;
  }

  /** Mean lines of a session, from 300 sessions played on a private stream. */
  private calibrate(rng: Rng, app: boolean): number {
    const saved = this.rng;
    this.rng = rng;
    this.dry = { lines: 0, pending: [] };
    for (let i = 0; i < 300; i++) {
      this.dry.pending.push(app ? new AppSession(this.people.app.pick(rng), rng) : new WebSession(this.people.web.pick(rng), rng));
      for (let a = this.dry.pending.pop(); a !== undefined; a = this.dry.pending.pop()) a.fire(this, 0);
    }
    const mean = this.dry.lines / 300;
    this.dry = null;
    this.rng = saved;
    return Math.max(1, mean);
  }

  /** Sessions per second starting at `t`. */
  sessionRate(app: boolean, t: number): number {
    return app
      ? (APP_SHARE * this.baseRate(t)) / this.linesPerSession.app
      : (WEB_SHARE * this.baseRate(t)) / this.linesPerSession.web;
  }

  /** A think time (ms): log-normal around `median`, at most 10 minutes. */
  thinkMs(median: number, sigma: number): number {
    return Math.min(600000, median * Math.exp(sigma * this.rng.normal()));
  }

  /** Fire `actor` at `t`. */
  schedule(t: number, actor: Actor): void {
    if (this.dry !== null) this.dry.pending.push(actor);
    else this.queue.push(new Ev(t, this.seq++, actor, null, "", "", 0, 0, 0, "", "", ""));
  }

  /** Queue one line. */
  line(t: number, route: Group | null, method: string, path: string, status: number, latencyMs: number, bytes: number,
    ip: string, ua: string, referer: string): void {
    if (this.dry !== null) this.dry.lines++;
    else this.queue.push(new Ev(t, this.seq++, null, route, method, path, status, latencyMs, bytes, ip, ua, referer));
  }

  /** Queue a dynamic response of `g` (status from its mix unless given), with blips and hang-ups. */
  respond(t: number, g: Group, path: string, v: { ip: string; ua: string }, referer: string, status?: number): number {
    const rng = this.rng;
    const f = this.scratch;
    let s = status;
    if (t < this.blipUntil && rng.next() < 0.7) s = 502;
    fillResponse(rng, g, g.statusTable, path, f, loadFactor(t), s);
    // The site's 404 page is a whole HTML page, not an API's short error.
    if (g === this.site.notFound && f.status === 404) f.bytes = g.bytes;
    if (g.perPath !== null && f.status >= 200 && f.status < 300) {
      const jitter = g.perPath > 0 ? Math.exp(g.perPath * rng.normal()) : 1;
      const q = path.indexOf("?");
      f.bytes = Math.round(fileSize(q < 0 ? path : path.slice(0, q), g.bytes, g.bytesSigma) * jitter);
    }
    // People give up on slow answers (nginx logs 499), and now and then on any.
    if ((f.latencyMs > 2500 && rng.next() < 0.3) || rng.next() < 0.0008) {
      f.status = 499;
      f.latencyMs *= 0.2 + 0.8 * rng.next();
      f.bytes = 0;
    }
    this.line(t, g, f.method, f.route, f.status, f.latencyMs, f.bytes, v.ip, v.ua, referer);
    return f.latencyMs;
  }

  /** Queue a static file: 200 with transfer time, or 304 when revalidated. */
  private file(t: number, g: Group, path: string, bytes: number, v: Visitor, referer: string, bandwidth: number, revalidate: boolean): void {
    const rng = this.rng;
    if (revalidate) this.line(t, g, "GET", path, 304, 0.2 + 0.4 * rng.next(), 0, v.ip, v.ua, referer);
    else this.line(t, g, "GET", path, 200, 0.3 * Math.exp(0.4 * rng.normal()) + bytes / bandwidth, bytes, v.ip, v.ua, referer);
  }

  /** One page view of a browser session at `t` with its assets and API calls; returns when it settled. */
  webPage(s: WebSession, t: number): number {
    const rng = this.rng;
    const site = this.site;
    const v = s.visitor;
    const first = s.kind === null;
    let kind: PageKind = first ? ENTRY.pick(rng) : NEXT[s.kind ?? "home"].pick(rng);
    const referer = s.url;
    let product: Product | null = null;
    let images: string[] = [];
    let g: Group;
    let path: string;
    if (rng.next() < (first ? 0.012 : 0.004)) {
      // An old link: a removed product, a renamed post, last year's docs.
      path = rng.pick(site.stale);
      const lat = this.respond(t, site.notFound, path, v, referer, 404);
      this.assets(s, "home", t + lat, `${ORIGIN}${path}`, []);
      s.url = `${ORIGIN}${path}`;
      return t + lat;
    }
    switch (kind) {
      case "home": g = site.home; path = first ? site.landing(rng, "/") : "/"; images = site.banners.slice(0, 2 + rng.int(3)); break;
      case "category": g = site.category; path = site.categoryPath(rng); break;
      case "product":
        product = site.popularProduct.pick(rng);
        g = site.product;
        path = first ? site.landing(rng, product.path) : product.path;
        images = product.images;
        break;
      case "search": g = site.search; path = g.sample(rng); break;
      case "blogIndex": g = site.blogIndex; path = g.sample(rng); break;
      case "blog": {
        const post = site.popularPost.pick(rng);
        g = site.blogPost;
        path = post.path;
        images = post.images;
        break;
      }
      case "docs": g = site.docsPage; path = g.sample(rng); break;
      case "files": g = site.fileTree; path = g.sample(rng); break;
      case "download": {
        path = rng.pick(site.downloads);
        const bytes = fileSize(path, 1.8e6, 1.1);
        const lat = 8 * Math.exp(0.4 * rng.normal()) + bytes / s.bandwidth;
        this.line(t, site.download, "GET", path, 200, lat, bytes, v.ip, v.ua, referer);
        s.kind = kind;
        return t + lat;
      }
      case "account": g = site.account; path = g.sample(rng); break;
      case "receipt": g = site.receipt; path = g.sample(rng); break;
      case "cart": g = site.cart; path = "/cart"; break;
      case "checkout": g = site.checkoutPage; path = "/checkout"; break;
      default: return this.login(s, t, referer);
    }
    kind = kind === "receipt" ? "account" : kind;
    const lat = this.respond(t, g, path, v, referer, rng.next() < 0.015 && !first ? 304 : undefined);
    const url = `${ORIGIN}${path}`;
    let end = this.assets(s, kind, t + lat, url, images);
    end = Math.max(end, this.xhr(s, kind, t + lat, url, product));
    s.kind = kind;
    s.url = url;
    return end;
  }

  /** The login form: 1-2 mistyped passwords now and then (401), then in (302) and on to the account page. */
  private login(s: WebSession, t: number, referer: string): number {
    const rng = this.rng;
    const site = this.site;
    const v = s.visitor;
    let at = t + this.respond(t, site.loginPage, "/login", v, referer, 200);
    const url = `${ORIGIN}/login`;
    at = this.assets(s, "login", at, url, []);
    const u = rng.next();
    const failures = u < 0.88 ? 0 : u < 0.97 ? 1 : 2;
    for (let i = 0; i <= failures; i++) {
      at += 3000 + 9000 * rng.next();
      at += this.respond(at, site.loginPost, "/login", v, url, i < failures ? 401 : 302);
    }
    at += 5 + 20 * rng.next();
    at += this.respond(at, site.account, "/account", v, url, 200);
    s.kind = "account";
    s.url = `${ORIGIN}/account`;
    return this.assets(s, "account", at, s.url, []);
  }

  /** The files a page pulls in, from `at` (its HTML received); returns when the last one was asked for. */
  private assets(s: WebSession, kind: PageKind | "login", at: number, url: string, images: readonly string[]): number {
    const rng = this.rng;
    const site = this.site;
    const v = s.visitor;
    let t = at + 2 + 10 * rng.next();
    const step = (): number => (t += 1 + 6 * rng.next());
    const get = (a: Asset, g: Group): void => {
      // Hashed names are cached for good by returning visitors; the rest is revalidated (304) or skipped.
      if (!s.cached) this.file(step(), g, a.path, a.bytes, v, url, s.bandwidth, false);
      else if (!a.hashed && rng.next() < 0.6) this.file(step(), g, a.path, a.bytes, v, url, s.bandwidth, true);
    };
    if (!s.sharedLoaded) {
      s.sharedLoaded = true;
      get(site.css, site.styles);
      get(site.vendorJs, site.scripts);
      get(site.appJs, site.scripts);
      get(site.font, site.fonts);
      get(site.sprite, site.images);
      get(site.logo, site.images);
      get(site.favicon, site.icons);
      if (rng.next() < 0.5) get(site.manifest, site.icons);
      if (v.appleTouch && rng.next() < 0.3) {
        for (const p of ["/apple-touch-icon-precomposed.png", "/apple-touch-icon.png"]) {
          this.line(step(), site.icons, "GET", p, 404, 1 + 3 * rng.next(), 9420, v.ip, v.ua, "-");
        }
      }
    }
    const chunk = kind === "login" ? undefined : CHUNK[kind];
    if (chunk !== undefined && !s.chunks.has(chunk)) {
      s.chunks.add(chunk);
      get(site.chunks[chunk], site.scripts);
    }
    if ((kind === "docs" || kind === "files") && !s.chunks.has("mono")) {
      s.chunks.add("mono");
      get(site.monoFont, site.fonts);
    }
    for (const img of images) {
      const bytes = fileSize(img, img.endsWith(".webp") ? 55000 : 180000, 0.5);
      this.file(step(), site.images, img, bytes, v, url, s.bandwidth, s.cached && rng.next() < 0.5);
    }
    return t;
  }

  /** The API calls a page makes once its scripts run. */
  private xhr(s: WebSession, kind: PageKind, at: number, url: string, product: Product | null): number {
    const rng = this.rng;
    const site = this.site;
    let t = at + 150 + 700 * rng.next();
    const call = (p: number, method: string, template: string): void => {
      if (rng.next() >= p) return;
      const g = site.apiRoute(method, template);
      t += this.respond(t, g, site.apiPath(template, rng, product ?? undefined), s.visitor, url) + 5 + 40 * rng.next();
    };
    switch (kind) {
      case "home": call(0.4, "GET", "/api/products"); call(0.25, "GET", "/api/users/me"); break;
      case "category": call(0.6, "GET", "/api/products"); break;
      case "product": call(0.5, "GET", "/api/products/:id"); call(0.35, "GET", "/api/cart"); call(0.07, "POST", "/api/cart"); break;
      case "search": call(0.85, "GET", "/api/search"); break;
      case "account": call(0.9, "GET", "/api/users/me"); call(0.4, "GET", "/api/orders/:id"); break;
      case "cart": call(0.95, "GET", "/api/cart"); call(0.2, "POST", "/api/cart"); break;
      case "checkout":
        t += 20000 + 40000 * rng.next();
        call(0.8, "POST", "/checkout");
        break;
      default: break;
    }
    return t;
  }

  /** One call of an app session; returns when it settled. */
  appCall(s: AppSession, t: number): number {
    const rng = this.rng;
    const site = this.site;
    const v = s.visitor;
    let at = t;
    if (!s.loggedIn && rng.next() < 0.15) {
      s.loggedIn = true;
      const failures = rng.next() < 0.88 ? 0 : rng.next() < 0.75 ? 1 : 2;
      const g = site.apiRoute("POST", "/api/login");
      for (let i = 0; i <= failures; i++) at += this.respond(at, g, "/api/login", v, "-", i < failures ? 401 : 200) + 2500 + 6000 * rng.next();
      return at;
    }
    const [method, template] = APP_CALLS.pick(rng);
    const product = template === "/api/products/:id" ? site.popularProduct.pick(rng) : undefined;
    at += this.respond(at, site.apiRoute(method, template), site.apiPath(template, rng, product), v, "-");
    if (product !== undefined && rng.next() < 0.5) {
      const img = product.images[0];
      this.file(at + 5, site.images, img, fileSize(img, 55000, 0.5), v, "-", 3000, false);
    }
    return at;
  }

  /** One fetch of a crawler. */
  crawl(c: CrawlerActor, t: number): void {
    const rng = this.rng;
    const site = this.site;
    const v = c.crawler;
    if (c.fetched++ % 250 === 0) {
      this.line(t, site.robots, "GET", "/robots.txt", 200, 0.8 * Math.exp(0.3 * rng.normal()), 231, v.ip, v.ua, "-");
      return;
    }
    const u = rng.next();
    if (u < 0.004) {
      const path = site.sitemap.sample(rng);
      this.respond(t, site.sitemap, path, v, "-", 200);
    } else if (u < 0.034) {
      this.respond(t, site.notFound, rng.pick(site.stale), v, "-", 404);
    } else if (u < 0.046) {
      this.respond(t, site.redirect, site.redirect.sample(rng), v, "-", 301);
    } else if (v.renders && u < 0.12) {
      const a = rng.pick([site.css, site.appJs, site.vendorJs]);
      this.line(t, a.path.endsWith(".css") ? site.styles : site.scripts, "GET", a.path, 200, 0.4 + a.bytes / 20000, a.bytes, v.ip, v.ua, "-");
    } else {
      // Crawlers walk the whole long tail, not the popular pages, each page once per round.
      const pages = site.crawlable;
      c.position = (c.position + c.stride) % pages.length;
      const [g, path] = pages[c.position];
      this.respond(t, g, path, v, "-", rng.next() < 0.1 ? 304 : undefined);
    }
  }

  /** One call of an API integration (or its token renewal). */
  integrationCall(c: IntegrationActor, t: number): void {
    const rng = this.rng;
    const site = this.site;
    if (t - c.tokenAt > 900000) {
      c.tokenAt = t;
      this.respond(t, site.apiRoute("POST", "/api/login"), "/api/login", c.client, "-", 200);
      return;
    }
    const [method, template] = c.calls.pick(rng);
    this.respond(t, site.apiRoute(method, template), site.apiPath(template, rng), c.client, "-");
  }

  peek(): number {
    while (this.pending === null) {
      const e = this.queue.pop();
      if (e === undefined) return Infinity;
      if (e.actor !== null) {
        e.actor.fire(this, e.t);
        continue;
      }
      this.pending = e;
      if (e.route !== null) {
        this.counts.set(e.route, (this.counts.get(e.route) ?? 0) + 1);
        this.counted++;
      }
    }
    return this.pending.t;
  }

  emit(f: Fields): Route | null {
    this.peek();
    const e = this.pending;
    if (e === null) throw new Error("internal: emit after the end of the traffic");
    f.method = e.method;
    f.route = e.path;
    f.status = e.status;
    f.latencyMs = e.latencyMs;
    f.bytes = e.bytes;
    f.ip = e.ip;
    f.ua = e.ua;
    f.referer = e.referer;
    this.pending = null;
    return e.route;
  }

  share(route: Route): number {
    return this.counted === 0 ? 0 : (this.counts.get(route) ?? 0) / this.counted;
  }

  fillRandom(rng: Rng, route: Route, f: Fields, t: number, status?: number): void {
    const g = this.route(route.method, route.template);
    fillResponse(rng, g, g.statusTable, g.sample(rng), f, loadFactor(t), status);
    f.referer = "-";
  }

  route(method: string, template: string): Group {
    const g = this.byName.get(`${method} ${template}`);
    if (g === undefined) throw new Error(`internal: no route ${method} ${template}`);
    return g;
  }
}

const APP_CALLS = weighted<readonly [string, string]>([
  [["GET", "/api/products"], 20], [["GET", "/api/products/:id"], 35], [["GET", "/api/search"], 12], [["GET", "/api/cart"], 12],
  [["POST", "/api/cart"], 6], [["GET", "/api/users/me"], 8], [["GET", "/api/orders/:id"], 5], [["POST", "/checkout"], 2],
]);

const REALISTIC_TARGETS: IncidentTargets = {
  spike: [
    ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"], ["GET", "/api/cart"], ["POST", "/api/cart"],
    ["POST", "/checkout"], ["GET", "/api/orders/:id"], ["GET", "/api/users/me"], ["GET", "/products/:slug"], ["GET", "/search"],
    ["GET", "/c/:category"],
  ],
  oversize: [
    ["GET", "/"], ["GET", "/products/:slug"], ["GET", "/c/:category"], ["GET", "/api/products"], ["GET", "/api/products/:id"],
    ["GET", "/api/search"], ["GET", "/api/cart"],
  ],
  surge: [["GET", "/"], ["GET", "/products/:slug"], ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"]],
  login: [["POST", "/login", 3], ["POST", "/api/login", 1]],
};
