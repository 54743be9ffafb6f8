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
import { Population, UPTIME, type Visitor } from "./clients.js";
import { Weighted, gapMs, loadFactor, newFields, weighted, type Fields, type IncidentTargets, type Route, type TrafficSource } from "./core.js";
import { Ev, Queue } from "./events.js";
import {
  AppSession, Arrivals, CrawlerActor, IntegrationActor, Monitor, Noise, PROBE_SHARE, WebSession, type Actor, type PageKind, type Stage,
} from "./actors.js";

const ORIGIN = "https://www.shop.example";

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

/** Seed of the site itself: its pages, files, asset hashes, crawlers and integrations. */
const SITE_SEED = 20261124;

// Shares of the (non-monitoring) line rate.
const WEB_SHARE = 0.56;
const APP_SHARE = 0.13;
const INTEGRATION_SHARE = 0.14;
const CRAWLER_SHARE = 0.15;

/** The realistic profile's traffic source. */
export class RealisticSource implements TrafficSource, Stage {
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
