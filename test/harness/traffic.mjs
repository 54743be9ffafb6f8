// The site the real-logger harness plays: its routes, its visitors and a seeded
// plan of every request (time, client, path, server-side fault, truth label).
// Labels come from the plan alone, so they are the same on every run of a seed;
// latencies are real timings and vary a little from run to run.
// Needs the built package (npm run build) for the project's seeded generator.
import { Rng } from "../../dist/src/forest/random.js";

/** @typedef {"latency_spike" | "error_burst" | "scanner" | "brute_force" | "surge" | "oversized"} IncidentKind */
/** @typedef {{ kind: IncidentKind, at: number, seconds: number, route?: string }} IncidentSpec */
/** @typedef {{ kind: IncidentKind, incident: number }} Label */
/** @typedef {{ slow?: number, status?: number }} Fault */
/**
 * @typedef {object} PlannedRequest
 * @property {number} rid       unique id, also sent as `?rid=` so every log line names its request
 * @property {number} t         ms after the start of the run
 * @property {string} method
 * @property {string} path      path and query without the rid
 * @property {string} ip        client address, sent as X-Forwarded-For
 * @property {string} ua
 * @property {string | null} referer
 * @property {string | null} body  JSON body of a POST
 * @property {Fault | null} fault  what the server does differently for an incident
 * @property {Label | null} label
 */

/** Every incident kind the harness injects; surge is optional. */
export const INCIDENT_KINDS = /** @type {const} */ (["latency_spike", "error_burst", "scanner", "brute_force", "surge", "oversized"]);

/** The incident kinds of issue 10's harness (surge left out). */
export const DEFAULT_KINDS = /** @type {const} */ (["latency_spike", "error_burst", "scanner", "brute_force"]);

/**
 * Seconds each kind lasts, and the route the route-level kinds hit. The spike hits
 * search (25 ms typical, 500 ms in the spike): a route's slowness must stand above
 * the harness's own noise, and on a busy 2-core machine its processes stall for
 * 40-300 ms now and then, which made an 8 ms route's p99 in training ~100-200 ms.
 */
const INCIDENT_SHAPE = {
  latency_spike: { seconds: 10, route: "search" },
  error_burst: { seconds: 10, route: "product" },
  scanner: { seconds: 10, route: null },
  brute_force: { seconds: 13, route: null },
  surge: { seconds: 15, route: "products" },
  oversized: { seconds: 10, route: "product" },
};
/** How many times its usual size a product page is in the oversized incident (a runaway query, a leak). */
export const OVERSIZE_FACTOR = 40;
const SPIKE_FACTOR = 20;
const BURST_SHARE = 0.6;
const SCANNER_PATHS = 300;
const BRUTE_FORCE_TRIES = 300;
const SURGE_FACTOR = 5;
// logforest holds the first 10 s of a detect run in warm-up: incidents start after it.
const WARMUP_SECONDS = 12;

/** Median handler time (ms) and log-normal sigma per route; static files have no artificial delay. */
export const ROUTE_DELAY = {
  health: [2, 0.35],
  home: [8, 0.4],
  products: [15, 0.4],
  product: [8, 0.45],
  search: [25, 0.6],
  cart: [12, 0.4],
  checkout: [60, 0.4],
  login: [40, 0.25],
  blog: [18, 0.5],
};

/** Sizes of the site's content, shared by the app and the plan. */
export const CATALOGUE = { products: 1500, pages: 8 };
export const STATIC_FILES = {
  js: ["app.3f9a1c7e.js", "vendor.8d2e4b01.js", "checkout.c41f9d22.js"],
  css: ["app.77b0e5aa.css"],
  img: ["logo", "hero", "banner-winter", "banner-sale", "icon-cart", "icon-user", "product-1", "product-2", "product-3", "sprite", "avatar", "footer"],
};
export const BLOG_SLUGS = [
  "welcome-to-our-shop", "how-we-roast-coffee", "ten-tips-for-better-espresso", "choosing-a-grinder", "cold-brew-at-home",
  "meet-the-farmers", "our-packaging-goes-green", "winter-blend-is-back", "latte-art-for-beginners", "water-matters",
  "the-history-of-the-moka-pot", "single-origin-vs-blend", "decaf-done-right", "how-to-store-beans", "pour-over-guide",
  "aeropress-recipes", "french-press-mistakes", "espresso-machine-cleaning", "coffee-and-chocolate-pairing", "new-store-opening",
  "holiday-gift-guide", "behind-the-scenes-roastery", "sustainability-report-2025", "customer-stories", "brewing-ratios-explained",
  "milk-alternatives", "the-perfect-cappuccino", "iced-coffee-recipes", "why-freshness-matters", "grind-size-chart",
  "coffee-origins-ethiopia", "coffee-origins-colombia", "coffee-origins-brazil", "coffee-origins-kenya", "coffee-origins-guatemala",
  "tasting-notes-101", "cupping-at-home", "barista-interview", "subscription-faq", "shipping-update",
  "spring-menu", "summer-menu", "autumn-menu", "roast-levels", "caffeine-myths",
  "coffee-and-health", "travel-brewing-kit", "office-coffee-setup", "workshop-announcement", "anniversary-sale",
  "gear-review-kettles", "gear-review-scales", "gear-review-grinders", "recipe-affogato", "recipe-irish-coffee",
  "recipe-vietnamese-coffee", "recipe-turkish-coffee", "recipe-dalgona", "year-in-review", "thank-you",
];
/** Blog pages that no longer exist (normal 404s from old links). */
export const REMOVED_SLUGS = ["old-summer-promo", "test-post", "draft-announcement", "2019-price-list"];
export const SEARCH_TERMS = [
  "espresso", "decaf", "grinder", "ethiopia", "colombia", "filter", "beans", "mug", "kettle", "gift card",
  "cold brew", "dark roast", "light roast", "moka", "aeropress", "subscription", "brazil", "kenya", "capsules", "sale",
];
export const GOOD_PASSWORD = "correct-horse-battery";

const BROWSER_UAS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];
const MONITOR_UA = "UptimeRobot/2.0 (http://www.uptimerobot.com/)";
const CRAWLER_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const SCANNER_UA = "Mozilla/5.0 zgrab/0.x";

/** The unknown paths a scanner tries: common probes under a few prefixes, all distinct. */
export function scannerPaths(n) {
  const probes = [
    "/wp-admin/", "/wp-login.php", "/.env", "/.git/config", "/phpmyadmin/index.php", "/admin/config.php",
    "/cgi-bin/test.cgi", "/cgi-bin/luci", "/xmlrpc.php", "/config.json", "/server-status", "/.aws/credentials",
    "/backup.zip", "/db.sql", "/wp-content/plugins/revslider/readme.txt", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/actuator/health", "/solr/admin/info/system", "/console/", "/manager/html", "/.DS_Store", "/info.php",
    "/phpinfo.php", "/administrator/index.php", "/user/login", "/HNAP1/", "/boaform/admin/formLogin", "/owa/auth/logon.aspx",
    "/.well-known/security.txt.bak", "/setup.cgi", "/shell.php", "/config/database.yml", "/.htaccess", "/web.config",
    "/api/v1/pods", "/telescope/requests", "/_ignition/execute-solution", "/debug/default/view", "/login.action", "/jenkins/login",
  ];
  const prefixes = ["", "/old", "/backup", "/wordpress", "/site", "/test", "/dev", "/new", "/cms", "/public"];
  const out = [];
  for (const p of prefixes) for (const b of probes) if (out.length < n) out.push(p + b);
  if (out.length < n) throw new RangeError(`scanner paths must be at most ${out.length}, got ${n}`);
  return out;
}

/** A log-normal weight: a few heavy users, many light ones. */
function activity(rng) {
  return Math.exp(1.1 * rng.normal());
}

/** Cumulative table for weighted picks. */
function weighted(entries) {
  const cum = [];
  let total = 0;
  for (const [, w] of entries) cum.push((total += w));
  return {
    pick(rng) {
      const u = rng.next() * total;
      let i = 0;
      while (cum[i] <= u) i++;
      return entries[i][0];
    },
  };
}

/** Distinct documentation-range and private-looking client addresses. */
function freshIp(rng, used) {
  for (;;) {
    const ip = `${rng.pick([81, 86, 92, 109, 151, 176, 188, 203, 212])}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
    if (!used.has(ip)) {
      used.add(ip);
      return ip;
    }
  }
}

/** The site's clients: `users` browsers, two uptime monitors and a search crawler (`used`: their addresses). */
export function population(seed, users) {
  const rng = new Rng(seed);
  const used = new Set();
  const people = [];
  for (let i = 0; i < users; i++) people.push({ ip: freshIp(rng, used), ua: rng.pick(BROWSER_UAS), user: `user${i + 1}`, w: activity(rng) });
  const monitors = [freshIp(rng, used), freshIp(rng, used)];
  const crawler = freshIp(rng, used);
  const pickUser = weighted(people.map((p) => [p, p.w]));
  return { people, monitors, crawler, used, pickUser };
}

// Share of a browser's requests per route (health and the crawler come on top).
const BROWSER_ROUTES = weighted([
  ["home", 5], ["products", 10], ["product", 18], ["search", 8], ["cart", 6], ["checkout", 2], ["login", 3],
  ["static_js", 10], ["static_css", 5], ["img", 16], ["blog", 10],
]);
const HEALTH_SHARE = 0.04;
const CRAWLER_SHARE = 0.015;

/** Zipf-like index in [0, n): popular items first. */
function zipf(rng, n) {
  return Math.min(n - 1, Math.floor(n * Math.pow(rng.next(), 2.2)));
}

/** One browser request to `route` (method, path, body). */
function browserRequest(rng, route, who) {
  switch (route) {
    case "home":
      return { method: "GET", path: "/", body: null };
    case "products":
      return { method: "GET", path: `/api/products?page=${1 + zipf(rng, CATALOGUE.pages)}`, body: null };
    case "product": {
      // About 1% of product links point past the catalogue (deleted products): 404.
      const id = rng.next() < 0.01 ? CATALOGUE.products + 1 + rng.int(500) : 1 + zipf(rng, CATALOGUE.products);
      return { method: "GET", path: `/api/products/${id}`, body: null };
    }
    case "search":
      return { method: "GET", path: `/api/search?q=${encodeURIComponent(rng.pick(SEARCH_TERMS))}`, body: null };
    case "cart":
      return { method: "POST", path: "/api/cart", body: JSON.stringify({ product: 1 + zipf(rng, CATALOGUE.products), qty: 1 + rng.int(3) }) };
    case "checkout":
      return { method: "POST", path: "/checkout", body: JSON.stringify({ user: who.user, payment: "card" }) };
    case "login": {
      // Ordinary users mistype their password now and then (~3%).
      const password = rng.next() < 0.03 ? "wrong-" + rng.int(1000) : GOOD_PASSWORD;
      return { method: "POST", path: "/login", body: JSON.stringify({ user: who.user, password }) };
    }
    case "static_js":
      return { method: "GET", path: `/static/${rng.pick(STATIC_FILES.js)}`, body: null };
    case "static_css":
      return { method: "GET", path: `/static/${rng.pick(STATIC_FILES.css)}`, body: null };
    case "img": {
      const name = rng.next() < 0.005 ? "promo-2019" : STATIC_FILES.img[zipf(rng, STATIC_FILES.img.length)];
      return { method: "GET", path: `/static/img/${name}.png`, body: null };
    }
    case "blog": {
      const slug = rng.next() < 0.03 ? rng.pick(REMOVED_SLUGS) : BLOG_SLUGS[zipf(rng, BLOG_SLUGS.length)];
      return { method: "GET", path: `/blog/${slug}`, body: null };
    }
    default:
      throw new RangeError(`route must be a browser route, got ${route}`);
  }
}

/** The route key of a planned browser/monitor request (for route-level incidents). */
function routeKeyOf(path) {
  if (path === "/health") return "health";
  if (path === "/") return "home";
  if (path.startsWith("/api/products?")) return "products";
  if (path.startsWith("/api/products/")) return "product";
  if (path.startsWith("/api/search")) return "search";
  if (path === "/api/cart") return "cart";
  if (path === "/checkout") return "checkout";
  if (path === "/login") return "login";
  if (path.startsWith("/blog/")) return "blog";
  return "static";
}

/**
 * Incidents for `kinds` in a run of `seconds`: after the warm-up, starts spread
 * evenly so that each ends before the run does (they overlap when the run is short).
 * `routes` moves a route-level kind to another route (a key of ROUTE_DELAY).
 * @param {readonly IncidentKind[]} kinds
 * @param {number} seconds
 * @param {Partial<Record<IncidentKind, string>>} [routes]
 * @returns {IncidentSpec[]}
 */
export function scheduleIncidents(kinds, seconds, routes = {}) {
  for (const [kind, route] of Object.entries(routes)) {
    if (INCIDENT_SHAPE[kind]?.route == null) throw new RangeError(`routes: kind must be a route-level kind (latency_spike, error_burst, surge, oversized), got ${kind}`);
    if (!(route in ROUTE_DELAY)) throw new RangeError(`routes: ${kind} route must be one of ${Object.keys(ROUTE_DELAY).join(", ")}, got ${route}`);
  }
  const specs = [];
  kinds.forEach((kind, i) => {
    const shape = INCIDENT_SHAPE[kind];
    if (shape === undefined) throw new RangeError(`incident kind must be one of ${INCIDENT_KINDS.join(", ")}, got ${kind}`);
    const last = seconds - shape.seconds - 1;
    if (last < WARMUP_SECONDS) {
      throw new RangeError(`run must last at least ${WARMUP_SECONDS + shape.seconds + 1} s for ${kind}, got ${seconds.toFixed(1)} s (more requests or a lower rate)`);
    }
    const at = kinds.length === 1 ? WARMUP_SECONDS : WARMUP_SECONDS + ((last - WARMUP_SECONDS) * i) / (kinds.length - 1);
    const route = routes[kind] ?? shape.route;
    specs.push({ kind, at, seconds: shape.seconds, ...(route ? { route } : {}) });
  });
  return specs;
}

/**
 * The whole run, planned: `requests` requests of ordinary traffic (browsers,
 * monitors, crawler) at `rate` per second on average, plus the incidents' extra
 * requests (scanner, brute force, surge), sorted by time.
 * @param {{ seed: number, stream: number, requests: number, rate: number, users?: number, incidents?: IncidentSpec[] }} o
 * @returns {PlannedRequest[]}
 */
export function buildPlan(o) {
  const { seed, stream, requests, rate } = o;
  const users = o.users ?? 400;
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 28) throw new RangeError(`seed must be an integer in [0, 2^28], got ${seed}`);
  if (!Number.isInteger(requests) || requests < 1 || requests > 2_000_000) throw new RangeError(`requests must be an integer in [1, 2000000], got ${requests}`);
  if (!(rate >= 1 && rate <= 20_000)) throw new RangeError(`rate must be in [1, 20000] requests/s, got ${rate}`);
  const pop = population(seed, users);
  const rng = new Rng(seed * 7919 + 1 + stream);
  const chaos = new Rng(seed * 7919 + 5003 + stream);
  /** @type {Omit<PlannedRequest, "rid">[]} */
  const out = [];
  let t = 0;
  for (let i = 0; i < requests; i++) {
    t += (-Math.log(1 - rng.next()) * 1000) / rate;
    const u = rng.next();
    if (u < HEALTH_SHARE) {
      out.push({ t, method: "GET", path: "/health", ip: rng.pick(pop.monitors), ua: MONITOR_UA, referer: null, body: null, fault: null, label: null });
    } else if (u < HEALTH_SHARE + CRAWLER_SHARE) {
      // A crawler follows every blog link it finds, old ones included.
      const path = rng.next() < 0.6 ? `/blog/${rng.next() < 0.06 ? rng.pick(REMOVED_SLUGS) : rng.pick(BLOG_SLUGS)}` : rng.next() < 0.5 ? "/" : `/api/products/${1 + rng.int(CATALOGUE.products)}`;
      out.push({ t, method: "GET", path, ip: pop.crawler, ua: CRAWLER_UA, referer: null, body: null, fault: null, label: null });
    } else {
      const who = pop.pickUser.pick(rng);
      const route = BROWSER_ROUTES.pick(rng);
      const r = browserRequest(rng, route, who);
      const referer = r.path.startsWith("/static/") || r.path.startsWith("/api/") ? "https://shop.example/" : null;
      out.push({ t, ...r, ip: who.ip, ua: who.ua, referer, fault: null, label: null });
    }
  }
  const end = t;
  (o.incidents ?? []).forEach((spec, k) => inject(out, spec, k + 1, { chaos, pop, end }));
  out.sort((a, b) => a.t - b.t);
  return out.map((r, i) => ({ rid: i + 1, ...r }));
}

/** Apply one incident to the planned requests (altering some, adding others). */
function inject(out, spec, incident, ctx) {
  const { chaos, pop, end } = ctx;
  const from = spec.at * 1000;
  const to = from + spec.seconds * 1000;
  if (to > end) throw new RangeError(`incident ${incident} (${spec.kind}) must end within the run (${(end / 1000).toFixed(1)} s), got ${spec.at}+${spec.seconds} s`);
  const label = { kind: spec.kind, incident };
  const inWindow = (r) => r.t >= from && r.t < to && r.label === null && routeKeyOf(r.path) === spec.route;
  switch (spec.kind) {
    case "latency_spike":
      for (const r of out) if (inWindow(r)) Object.assign(r, { fault: { slow: SPIKE_FACTOR }, label });
      return;
    case "error_burst":
      // Only the failed requests are the incident's lines (as in logforest's simulator).
      for (const r of out) if (inWindow(r) && chaos.next() < BURST_SHARE) Object.assign(r, { fault: { status: 500 }, label });
      return;
    case "scanner": {
      const attacker = freshIp(chaos, pop.used);
      const paths = scannerPaths(SCANNER_PATHS);
      paths.forEach((path, i) => {
        const method = chaos.next() < 0.9 ? "GET" : "POST";
        out.push({ t: from + ((i + chaos.next()) * (to - from)) / paths.length, method, path, ip: attacker, ua: SCANNER_UA, referer: null, body: method === "POST" ? "{}" : null, fault: null, label });
      });
      return;
    }
    case "brute_force": {
      // Credential stuffing: one client, many user names, every password wrong.
      const attacker = freshIp(chaos, pop.used);
      for (let i = 0; i < BRUTE_FORCE_TRIES; i++) {
        const body = JSON.stringify({ user: chaos.next() < 0.5 ? "admin" : `user${1 + chaos.int(5000)}`, password: `guess-${chaos.int(1e6)}` });
        out.push({ t: from + ((i + chaos.next()) * (to - from)) / BRUTE_FORCE_TRIES, method: "POST", path: "/login", ip: attacker, ua: BROWSER_UAS[0], referer: null, body, fault: null, label });
      }
      return;
    }
    case "surge": {
      // Extra requests from ordinary users: the route at SURGE_FACTOR times its share.
      const base = out.filter((r) => r.t >= from && r.t < to && routeKeyOf(r.path) === spec.route && r.label === null);
      const extra = Math.round(base.length * (SURGE_FACTOR - 1));
      for (let i = 0; i < extra; i++) {
        const who = pop.pickUser.pick(chaos);
        const r = browserRequest(chaos, spec.route, who);
        out.push({ t: from + chaos.next() * (to - from), ...r, ip: who.ip, ua: who.ua, referer: "https://shop.example/", fault: null, label });
      }
      for (const r of base) r.label = label;
      return;
    }
    case "oversized":
      for (const r of out) if (inWindow(r)) Object.assign(r, { fault: { big: OVERSIZE_FACTOR }, label });
      return;
    default:
      throw new RangeError(`incident kind must be one of ${INCIDENT_KINDS.join(", ")}, got ${spec.kind}`);
  }
}
