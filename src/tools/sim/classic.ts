/**
 * The classic profile: a small shop's API, 14 routes with their own latency, size and
 * status mixes, 600 clients (browsers, apps, bots) of Zipf-like activity, Poisson
 * arrivals on the daily curve, and a health checker.
 */
import type { Rng } from "../../forest/random.js";
import {
  Weighted,
  errorBody,
  errorLatency,
  gapMs,
  loadFactor,
  freshIp,
  weighted,
  type Fields,
  type IncidentTargets,
  type Route,
  type TrafficSource,
} from "./core.js";

/** The kinds of client of the classic profile. */
export type ClientKind = "browser" | "api" | "bot";

/** A classic route: how often each kind of client calls it, and how its paths look. */
export interface RouteSpec extends Route {
  /** Relative request weight for each kind of client (0 = never). */
  readonly weight: Readonly<Record<ClientKind, number>>;
  readonly path: (rng: Rng, catalogue: readonly number[]) => string;
}

/** Product categories (shared with the realistic profile's catalogue). */
export const CATEGORIES = ["shoes", "jackets", "electronics", "kitchen", "books", "toys", "garden", "sports", "beauty", "office"];
/** Search terms (shared with the realistic profile). */
export const SEARCH_TERMS = [
  "running shoes", "usb-c cable", "coffee grinder", "desk lamp", "wireless earbuds", "rain jacket",
  "yoga mat", "laptop stand", "water bottle", "phone case", "backpack", "air fryer", "hdmi", "socks",
  "lego", "standing desk", "monitor 27", "kettle", "sunglasses", "gift card", "dog bed", "notebook",
  "mechanical keyboard", "hiking boots", "tent", "bluetooth speaker", "iphone charger", "face cream",
];

function templated(prefix: string) {
  return (rng: Rng, catalogue: readonly number[]): string => {
    // Popularity is skewed: a few products get most views.
    const i = Math.floor(catalogue.length * rng.next() ** 2.5);
    return `${prefix}${catalogue[i] ?? 1}`;
  };
}

/** The 14 routes (the realistic profile serves them too, as its API). */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: "GET", template: "/", weight: { browser: 6, api: 0, bot: 3 },
    latencyMs: 18, latencySigma: 0.35, bytes: 14820, bytesSigma: 0.04,
    statuses: [[200, 96], [304, 4]], path: () => "/",
  },
  {
    method: "GET", template: "/static/app.js", weight: { browser: 6, api: 0, bot: 0.5 },
    latencyMs: 1.8, latencySigma: 0.4, bytes: 184312, bytesSigma: 0,
    statuses: [[200, 55], [304, 45]], path: () => "/static/app.js",
  },
  {
    method: "GET", template: "/static/styles.css", weight: { browser: 5, api: 0, bot: 0.5 },
    latencyMs: 1.5, latencySigma: 0.4, bytes: 41877, bytesSigma: 0,
    statuses: [[200, 55], [304, 45]], path: () => "/static/styles.css",
  },
  {
    method: "GET", template: "/favicon.ico", weight: { browser: 2, api: 0, bot: 0.3 },
    latencyMs: 0.9, latencySigma: 0.3, bytes: 5430, bytesSigma: 0,
    statuses: [[200, 60], [304, 40]], path: () => "/favicon.ico",
  },
  {
    method: "GET", template: "/api/products", weight: { browser: 10, api: 10, bot: 4 },
    latencyMs: 38, latencySigma: 0.45, bytes: 9200, bytesSigma: 0.35,
    statuses: [[200, 99.2], [400, 0.5], [500, 0.2], [503, 0.1]],
    path: (rng) => {
      const u = rng.next();
      if (u < 0.5) return "/api/products";
      const cat = rng.pick(CATEGORIES);
      return u < 0.8 ? `/api/products?category=${cat}` : `/api/products?category=${cat}&page=${2 + rng.int(8)}`;
    },
  },
  {
    method: "GET", template: "/api/products/:id", weight: { browser: 16, api: 12, bot: 6 },
    latencyMs: 16, latencySigma: 0.5, bytes: 2300, bytesSigma: 0.3,
    statuses: [[200, 96.5], [404, 3.3], [500, 0.15], [502, 0.05]], path: templated("/api/products/"),
  },
  {
    method: "GET", template: "/api/search", weight: { browser: 8, api: 3, bot: 0 },
    latencyMs: 80, latencySigma: 0.6, bytes: 6400, bytesSigma: 0.7,
    statuses: [[200, 98.3], [400, 1.2], [500, 0.3], [503, 0.2]],
    path: (rng) => {
      const q = rng.pick(SEARCH_TERMS).replace(/ /g, "+");
      return rng.next() < 0.2 ? `/api/search?q=${q}&page=${2 + rng.int(4)}` : `/api/search?q=${q}`;
    },
  },
  {
    method: "GET", template: "/api/cart", weight: { browser: 5, api: 2, bot: 0 },
    latencyMs: 22, latencySigma: 0.4, bytes: 1400, bytesSigma: 0.5,
    statuses: [[200, 96], [401, 3.8], [500, 0.2]], path: () => "/api/cart",
  },
  {
    method: "POST", template: "/api/cart", weight: { browser: 4, api: 2, bot: 0 },
    latencyMs: 45, latencySigma: 0.45, bytes: 640, bytesSigma: 0.2,
    statuses: [[201, 93], [400, 3], [401, 2], [409, 1.8], [500, 0.2]], path: () => "/api/cart",
  },
  {
    method: "POST", template: "/checkout", weight: { browser: 1.5, api: 0.5, bot: 0 },
    latencyMs: 250, latencySigma: 0.45, bytes: 980, bytesSigma: 0.15,
    statuses: [[200, 93], [400, 2], [402, 3.5], [409, 1], [500, 0.4], [502, 0.1]], path: () => "/checkout",
  },
  {
    // Password hashing makes login slow and steady; mistyped passwords make many 401s.
    method: "POST", template: "/api/login", weight: { browser: 2.5, api: 2, bot: 0 },
    latencyMs: 140, latencySigma: 0.25, bytes: 380, bytesSigma: 0.1,
    statuses: [[200, 79], [401, 19], [429, 1.5], [500, 0.5]], path: () => "/api/login",
  },
  {
    method: "GET", template: "/api/orders/:id", weight: { browser: 3, api: 4, bot: 0 },
    latencyMs: 35, latencySigma: 0.5, bytes: 3100, bytesSigma: 0.4,
    statuses: [[200, 94], [401, 1.3], [403, 1.5], [404, 3], [500, 0.2]],
    path: (rng) => `/api/orders/${10000 + rng.int(50000)}`,
  },
  {
    method: "GET", template: "/api/users/me", weight: { browser: 4, api: 3, bot: 0 },
    latencyMs: 12, latencySigma: 0.4, bytes: 720, bytesSigma: 0.1,
    statuses: [[200, 93], [401, 6.8], [500, 0.2]], path: () => "/api/users/me",
  },
  {
    method: "GET", template: "/robots.txt", weight: { browser: 0, api: 0, bot: 1.5 },
    latencyMs: 0.8, latencySigma: 0.3, bytes: 68, bytesSigma: 0,
    statuses: [[200, 100]], path: () => "/robots.txt",
  },
];

/** The health checker: periodic, not Poisson, and never sees the daily curve. */
export const HEALTH = {
  intervalMs: 10000, ip: "10.244.0.1", ua: "kube-probe/1.31", latencyMs: 2, latencySigma: 0.3, bytes: 15,
} as const;

/** Browser user agents with their weights. */
export const BROWSER_UAS: readonly (readonly [string, number])[] = [
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 12],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 8],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 7],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 6],
  ["Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 16],
  ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36", 11],
  ["Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", 4],
  ["Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 3],
];
/** App and script user agents with their weights. */
export const API_UAS: readonly (readonly [string, number])[] = [
  ["ShopApp/5.3.1 (iPhone; iOS 18.1; Scale/3.00)", 10],
  ["ShopApp/5.3.0 (Android 14) okhttp/4.12.0", 8],
  ["curl/8.5.0", 3],
  ["python-requests/2.32.3", 3],
  ["Go-http-client/2.0", 1],
];
/** Crawler user agents with their weights. */
export const BOT_UAS: readonly (readonly [string, number])[] = [
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 5],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 2],
  ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 1],
];

interface Client {
  ip: string;
  ua: string;
  kind: ClientKind;
}

/** Per-run service state: clients, catalogue and choice tables (built from the traffic stream). */
interface Model {
  clients: Weighted<Client>;
  routesFor: Record<ClientKind, Weighted<RouteSpec>>;
  statusFor: Map<Route, Weighted<number>>;
  /** Share of non-health traffic each route gets. */
  share: Map<Route, number>;
  catalogue: number[];
  browserUas: Weighted<string>;
  usedIps: Set<string>;
}

function buildModel(rng: Rng): Model {
  const usedIps = new Set<string>([HEALTH.ip]);
  const kinds = weighted<ClientKind>([["browser", 88], ["api", 8], ["bot", 4]]);
  const uas: Record<ClientKind, Weighted<string>> = {
    browser: weighted(BROWSER_UAS), api: weighted(API_UAS), bot: weighted(BOT_UAS),
  };
  const clients: Client[] = [];
  const activity: number[] = [];
  const kindActivity: Record<ClientKind, number> = { browser: 0, api: 0, bot: 0 };
  for (let i = 0; i < 600; i++) {
    const kind = kinds.pick(rng);
    clients.push({ ip: freshIp(rng, usedIps), ua: uas[kind].pick(rng), kind });
    // Zipf-like activity: a few clients (offices behind NAT, busy apps) send much of the traffic.
    const a = 1 / (i + 1) ** 0.9;
    activity.push(a);
    kindActivity[kind] += a;
  }
  const totalActivity = activity.reduce((s, a) => s + a, 0);
  const share = new Map<Route, number>(ROUTES.map((r) => [r, 0]));
  const tableFor = (kind: ClientKind): Weighted<RouteSpec> => {
    const w = ROUTES.map((r) => r.weight[kind]);
    const sum = w.reduce((s, x) => s + x, 0);
    ROUTES.forEach((r, i) => {
      share.set(r, (share.get(r) ?? 0) + ((kindActivity[kind] / totalActivity) * w[i]) / sum);
    });
    return new Weighted(ROUTES, w);
  };
  const routesFor: Record<ClientKind, Weighted<RouteSpec>> = {
    browser: tableFor("browser"), api: tableFor("api"), bot: tableFor("bot"),
  };
  const ids = new Set<number>();
  while (ids.size < 2000) ids.add(1 + rng.int(12000));
  return {
    clients: new Weighted(clients, activity),
    routesFor,
    statusFor: new Map(ROUTES.map((r) => [r, weighted(r.statuses)])),
    share,
    catalogue: [...ids],
    browserUas: uas.browser,
    usedIps,
  };
}

/**
 * Fill method, route, status, latency and bytes of an ordinary request to `route`
 * at `path`, answered with `status` (drawn from the route's mix when absent).
 */
export function fillResponse(
  rng: Rng, route: Route, statuses: Weighted<number> | undefined, path: string, f: Fields, load: number, status?: number,
): void {
  f.method = route.method;
  f.route = path;
  const s = status ?? (statuses === undefined ? 200 : statuses.pick(rng));
  f.status = s;
  let latency = route.latencyMs * Math.exp(route.latencySigma * rng.normal()) * load;
  let bytes = route.bytesSigma > 0 ? route.bytes * Math.exp(route.bytesSigma * rng.normal()) : route.bytes;
  if (s === 304) {
    bytes = 0;
    latency *= 0.5;
  } else if (s >= 500) {
    bytes = errorBody(rng, s);
    latency = errorLatency(rng, s, latency);
  } else if (s >= 400) {
    bytes = 40 + rng.int(80);
    latency *= 0.6;
  }
  // A rare slow tail (GC pause, cold cache) that is part of normal life.
  if (rng.next() < 0.003) latency *= 3 + 7 * rng.next();
  f.latencyMs = latency;
  f.bytes = Math.max(0, Math.round(bytes));
}

// Routes each incident kind may target: the app's dynamic endpoints, not static files.
const SPIKE_TARGETS = [
  ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"], ["GET", "/api/cart"],
  ["POST", "/api/cart"], ["POST", "/checkout"], ["POST", "/api/login"], ["GET", "/api/orders/:id"], ["GET", "/api/users/me"],
] as const;
const OVERSIZE_TARGETS = [
  ["GET", "/"], ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"],
  ["GET", "/api/cart"], ["GET", "/api/orders/:id"], ["GET", "/api/users/me"],
] as const;
const SURGE_TARGETS = [["GET", "/"], ["GET", "/api/products"], ["GET", "/api/products/:id"], ["GET", "/api/search"]] as const;

/** Incident targets of the classic profile. */
export const CLASSIC_TARGETS: IncidentTargets = {
  spike: SPIKE_TARGETS,
  oversize: OVERSIZE_TARGETS,
  surge: SURGE_TARGETS,
  login: [["POST", "/api/login", 1]],
};

/** Classic traffic: one Poisson stream of requests from weighted clients, and the health checker. */
export class ClassicSource implements TrafficSource {
  readonly targets = CLASSIC_TARGETS;
  readonly usedIps: Set<string>;
  readonly browserUas: Weighted<string>;
  private readonly model: Model;
  private nextBase: number;
  private nextHealth: number;

  constructor(private readonly traffic: Rng, start: number, readonly baseRate: (t: number) => number) {
    this.model = buildModel(traffic);
    this.usedIps = this.model.usedIps;
    this.browserUas = this.model.browserUas;
    this.nextBase = start + gapMs(traffic, baseRate(start));
    this.nextHealth = start + traffic.next() * HEALTH.intervalMs;
  }

  peek(): number {
    return Math.min(this.nextBase, this.nextHealth);
  }

  emit(f: Fields): Route | null {
    const traffic = this.traffic;
    f.referer = "-";
    if (this.nextHealth < this.nextBase) {
      f.ip = HEALTH.ip;
      f.ua = HEALTH.ua;
      f.method = "GET";
      f.route = "/health";
      f.status = 200;
      f.latencyMs = HEALTH.latencyMs * Math.exp(HEALTH.latencySigma * traffic.normal());
      f.bytes = HEALTH.bytes;
      this.nextHealth += HEALTH.intervalMs + (traffic.next() - 0.5) * 100;
      return null;
    }
    const t = this.nextBase;
    const client = this.model.clients.pick(traffic);
    const route = this.model.routesFor[client.kind].pick(traffic);
    f.ip = client.ip;
    f.ua = client.ua;
    this.fill(traffic, route, f, t);
    this.nextBase = t + gapMs(traffic, this.baseRate(t));
    return route;
  }

  share(route: Route): number {
    return this.model.share.get(route) ?? 0;
  }

  fillRandom(rng: Rng, route: Route, f: Fields, t: number, status?: number): void {
    f.referer = "-";
    this.fill(rng, this.spec(route), f, t, status);
  }

  private fill(rng: Rng, route: RouteSpec, f: Fields, t: number, status?: number): void {
    const path = route.path(rng, this.model.catalogue);
    fillResponse(rng, route, this.model.statusFor.get(route), path, f, loadFactor(t), status);
  }

  private spec(route: Route): RouteSpec {
    return this.route(route.method, route.template);
  }

  route(method: string, template: string): RouteSpec {
    const r = ROUTES.find((x) => x.method === method && x.template === template);
    if (r === undefined) throw new Error(`internal: no route ${method} ${template}`);
    return r;
  }
}
