/**
 * The realistic profile's site: what there is to request. A shop with products and
 * categories, a blog with dated posts, docs, a file area of small projects (man pages,
 * release tarballs), account pages, and the static assets every page pulls in. Built
 * once per run from the traffic stream, so names, hashes and popularity vary by seed.
 */
import type { Rng } from "../../forest/random.js";
import { CATEGORIES, ROUTES, SEARCH_TERMS } from "./classic.js";
import { Weighted, weighted, type Route } from "./core.js";

/** A route of the realistic site: its response model and a way to draw one of its paths. */
export interface Group extends Route {
  /** A random path of this route (an incident's extra request, a crawler's fetch). */
  sample(rng: Rng): string;
  /** Status mix as a ready table. */
  readonly statusTable: Weighted<number>;
  /**
   * null: body sizes vary freely from request to request (API answers, searches). A number:
   * each path has its own size (`bytesSigma` is the spread between paths) and this is the
   * spread between requests of one path (0 for a static or cached page).
   */
  perPath: number | null;
}

function group(
  method: string, template: string, latencyMs: number, latencySigma: number, bytes: number, bytesSigma: number,
  statuses: readonly (readonly [number, number])[], sample: (rng: Rng) => string, perPath: number | null = null,
): Group {
  return { method, template, latencyMs, latencySigma, bytes, bytesSigma, statuses, sample, statusTable: weighted(statuses), perPath };
}

/** A stable pseudo-random size around `median`: the same path always gets the same size. */
export function fileSize(path: string, median: number, sigma: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  // Sum of the four bytes of the hash: roughly normal, mean 510, sd ~148.
  const z = ((h & 255) + ((h >>> 8) & 255) + ((h >>> 16) & 255) + ((h >>> 24) & 255) - 510) / 148;
  return Math.round(median * Math.exp(sigma * z));
}

/** A product: numeric id, slug, and how many photos it has. */
export interface Product {
  id: number;
  path: string;
  images: string[];
}

/** A static file: its path, size, and whether its name carries a content hash (cached for good). */
export interface Asset {
  path: string;
  bytes: number;
  hashed: boolean;
}

const ADJECTIVES = [
  "merino", "classic", "ultralight", "waterproof", "organic", "compact", "wireless", "ergonomic", "vintage", "recycled",
  "heavy-duty", "slim", "insulated", "foldable", "bamboo", "stainless", "hand-made", "smart", "mini", "pro",
];
const NOUNS = [
  "running-socks", "rain-jacket", "desk-lamp", "coffee-grinder", "yoga-mat", "laptop-stand", "water-bottle", "backpack",
  "phone-case", "kettle", "hiking-boots", "tent", "bluetooth-speaker", "usb-c-cable", "notebook", "dog-bed",
  "keyboard", "sunglasses", "face-cream", "chef-knife", "cutting-board", "air-fryer", "monitor-arm", "headphones",
];
const COLOURS = ["black", "navy", "olive", "sand", "red", "white", "grey", "forest", "2-pack", "xl", "set-of-3"];
const TOPICS = [
  "checkout-latency", "postgres-upgrade", "our-new-warehouse", "sizing-guide", "merino-care", "packing-lists",
  "rust-at-the-edge", "holiday-shipping", "returns-policy", "coffee-at-home", "trail-running", "remote-desk-setup",
  "camping-with-kids", "sustainability-report", "api-v2", "image-pipeline", "black-friday", "gift-ideas",
  "repair-program", "cdn-migration", "search-relevance", "accessibility-audit", "dark-mode", "mobile-app-5",
];
const OPENERS = ["how-we", "why-we", "a-guide-to", "10-tips-for", "lessons-from", "the-story-of", "notes-on", "introducing", "behind"];
const TAGS = ["engineering", "guides", "company", "outdoors", "home", "product", "sustainability", "releases"];
const DOC_SECTIONS = ["getting-started", "guides", "api", "reference", "integrations", "webhooks", "faq", "changelog"];
const DOC_WORDS = [
  "authentication", "pagination", "rate-limits", "errors", "orders", "products", "inventory", "webhooks", "sandbox",
  "sdks", "versioning", "idempotency", "refunds", "shipping", "taxes", "customers", "carts", "search", "images", "exports",
];
const PROJECTS = [
  "keymux", "pngsquash", "termclock", "fastcsv", "xwinfo-ng", "ssh-relay", "mdtable", "wavgrep", "hexpatch", "logrotate-lite",
  "tinyq", "dotmatrix", "netpeek", "bmpfont",
];
const MAN_SUFFIXES = ["", "-config", "-daemon", "-format", "-keys", "-examples", "-protocol", "-hooks", "-filters"];
const IMAGE_NAMES = ["hero", "diagram", "chart", "team", "before-after", "screenshot", "map", "detail"];

function hex(rng: Rng, chars: number): string {
  let s = "";
  while (s.length < chars) s += rng.nextU32().toString(16).padStart(8, "0");
  return s.slice(0, chars);
}

/** Weights 1/rank^s for `n` items: Zipf popularity. */
function zipf(n: number, s: number): number[] {
  const w: number[] = [];
  for (let i = 0; i < n; i++) w.push(1 / (i + 1) ** s);
  return w;
}

/** Everything the realistic site serves. */
export class Site {
  readonly products: Product[] = [];
  /** Products by popularity (Zipf), and every product equally (crawlers). */
  readonly popularProduct: Weighted<Product>;
  readonly posts: { path: string; images: string[] }[] = [];
  readonly popularPost: Weighted<{ path: string; images: string[] }>;
  readonly docs: string[] = [];
  readonly popularDoc: Weighted<string>;
  /** Man pages, project indexes and text files: the file tree. */
  readonly files: string[] = [];
  readonly popularFile: Weighted<string>;
  readonly downloads: string[] = [];
  /** Links that used to work: removed products, renamed posts, old doc pages. */
  readonly stale: string[] = [];
  /** Old paths that redirect (301) to a current page. */
  readonly moved: string[] = [];
  /** Every page a crawler can find, with its route, in a fixed order (crawlers walk it with a stride). */
  readonly crawlable: (readonly [Group, string])[] = [];

  /** Shared assets of every page, the per-section script chunk, and small extras. */
  readonly css: Asset;
  readonly vendorJs: Asset;
  readonly appJs: Asset;
  readonly font: Asset;
  readonly monoFont: Asset;
  readonly logo: Asset;
  readonly sprite: Asset;
  readonly favicon: Asset = { path: "/favicon.ico", bytes: 5430, hashed: false };
  readonly manifest: Asset = { path: "/site.webmanifest", bytes: 512, hashed: false };
  readonly chunks: Record<"product" | "blog" | "docs" | "checkout", Asset>;
  readonly banners: string[] = [];

  /** The routes: pages, the API (the classic routes), static files. */
  readonly home: Group;
  readonly category: Group;
  readonly product: Group;
  readonly search: Group;
  readonly blogIndex: Group;
  readonly blogPost: Group;
  readonly docsPage: Group;
  readonly fileTree: Group;
  readonly download: Group;
  readonly account: Group;
  readonly receipt: Group;
  readonly cart: Group;
  readonly checkoutPage: Group;
  readonly loginPage: Group;
  readonly loginPost: Group;
  readonly notFound: Group;
  readonly redirect: Group;
  readonly robots: Group;
  readonly sitemap: Group;
  /** Static files by kind (never incident targets). */
  readonly scripts: Group;
  readonly styles: Group;
  readonly fonts: Group;
  readonly images: Group;
  readonly icons: Group;
  readonly api: Map<string, Group>;
  readonly all: Group[];

  constructor(rng: Rng) {
    const ids = new Set<number>();
    while (ids.size < 4000) ids.add(1000 + rng.int(90000));
    for (const id of ids) {
      const slug = `${rng.pick(ADJECTIVES)}-${rng.pick(NOUNS)}${rng.next() < 0.4 ? `-${rng.pick(COLOURS)}` : ""}`;
      const images: string[] = [];
      for (let n = 1 + rng.int(4); n > 0; n--) images.push(`/img/products/${id}-${images.length + 1}.webp`);
      // A tenth of the catalogue is discontinued: their pages 404 when old links are followed.
      if (rng.next() < 0.1) this.stale.push(`/products/${id}-${slug}`);
      else this.products.push({ id, path: `/products/${id}-${slug}`, images });
    }
    this.popularProduct = new Weighted(this.products, zipf(this.products.length, 1.05));

    const newest = Date.UTC(2026, 10, 20);
    const oldest = Date.UTC(2019, 0, 1);
    const slugs = new Set<string>();
    for (let i = 0; i < 380; i++) {
      const day = new Date(oldest + Math.floor(rng.next() * (newest - oldest)));
      const date = day.toISOString().slice(0, 10).replace(/-/g, "/");
      // Slugs are unique, as a blog's are: a taken one gets a suffix.
      let slug = `${rng.pick(OPENERS)}-${rng.pick(TOPICS)}${rng.next() < 0.3 ? `-${2019 + rng.int(8)}` : ""}`;
      for (let n = 2; slugs.has(slug); n++) slug = `${slug.replace(/-part-\d+$/, "")}-part-${n}`;
      slugs.add(slug);
      const images: string[] = [];
      const ext = rng.next() < 0.7 ? "jpg" : "png";
      for (let n = rng.int(4); n > 0; n--) images.push(`/img/blog/${slug}-${rng.pick(IMAGE_NAMES)}.${ext}`);
      const path = `/blog/${date}/${slug}`;
      if (rng.next() < 0.05) this.moved.push(`/blog/${slug}`);
      if (rng.next() < 0.04) this.stale.push(`/blog/${date}/${slug}-draft`);
      this.posts.push({ path, images });
    }
    // Recent posts are read most: sort newest first before weighting.
    this.posts.sort((a, b) => (a.path < b.path ? 1 : -1));
    this.popularPost = new Weighted(this.posts, zipf(this.posts.length, 0.9));

    for (const section of DOC_SECTIONS) {
      const pages = new Set<string>(["overview"]);
      const n = 6 + rng.int(22);
      while (pages.size < n) pages.add(rng.pick(DOC_WORDS) + (rng.next() < 0.3 ? `-${rng.pick(DOC_WORDS)}` : ""));
      for (const p of pages) this.docs.push(`/docs/${section}/${p}`);
      this.stale.push(`/docs/v1/${section}/${rng.pick(DOC_WORDS)}`);
    }
    this.popularDoc = new Weighted(this.docs, zipf(this.docs.length, 0.8));

    for (const p of PROJECTS) {
      this.files.push(`/files/${p}/`, `/files/${p}/docs/`, `/files/${p}/README`, `/files/${p}/ChangeLog`);
      for (const s of MAN_SUFFIXES) if (s === "" || rng.next() < 0.6) this.files.push(`/files/${p}/docs/man/${p}${s}.1.html`);
      let [major, minor, patch] = [0, 1 + rng.int(5), rng.int(3)];
      for (let v = 4 + rng.int(8); v > 0; v--) {
        this.downloads.push(`/files/${p}/${p}-${major}.${minor}.${patch}.tar.gz`);
        if (rng.next() < 0.3) [major, minor, patch] = [major + 1, 0, 0];
        else if (rng.next() < 0.6) [minor, patch] = [minor + 1, 0];
        else patch++;
      }
      this.stale.push(`/files/${p}/docs/man/${p}-old.1.html`);
    }
    this.popularFile = new Weighted(this.files, zipf(this.files.length, 0.7));

    const asset = (dir: string, name: string, ext: string, bytes: number): Asset =>
      ({ path: `${dir}/${name}.${hex(rng, 8)}.${ext}`, bytes, hashed: true });
    this.css = asset("/static/css", "main", "css", 48213);
    this.vendorJs = asset("/static/js", "vendor", "js", 412077);
    this.appJs = asset("/static/js", "app", "js", 184312);
    this.font = asset("/fonts", "inter-var", "woff2", 96532);
    this.monoFont = asset("/fonts", "jetbrains-mono", "woff2", 42310);
    this.sprite = asset("/img/icons", "sprite", "svg", 18544);
    this.logo = { path: "/img/logo.svg", bytes: 4122, hashed: false };
    this.chunks = {
      product: asset("/static/js", "chunk-product", "js", 38120),
      blog: asset("/static/js", "chunk-blog", "js", 22410),
      docs: asset("/static/js", "chunk-docs", "js", 27033),
      checkout: asset("/static/js", "chunk-checkout", "js", 31270),
    };
    for (const b of ["autumn-sale", "new-in", "outdoor", "gifts", "bestsellers"]) this.banners.push(`/img/banners/${b}.webp`);

    const ok = [[200, 99.6], [500, 0.25], [503, 0.15]] as const;
    this.home = group("GET", "/", 25, 0.35, 38120, 0.05, [[200, 97], [304, 3]], (r) => this.landing(r, "/"));
    this.category = group("GET", "/c/:category", 45, 0.4, 52300, 0.2, ok, (r) => this.categoryPath(r), 0.05);
    this.product = group("GET", "/products/:slug", 32, 0.45, 46100, 0.25, ok, (r) => this.popularProduct.pick(r).path, 0.04);
    this.search = group("GET", "/search", 95, 0.6, 41200, 0.4, ok, (r) => `/search?q=${r.pick(SEARCH_TERMS).replace(/ /g, "+")}`);
    this.blogIndex = group("GET", "/blog/", 18, 0.4, 28400, 0.1, ok, (r) => (r.next() < 0.7 ? "/blog/" : r.next() < 0.5
      ? `/blog/page/${2 + r.int(20)}` : `/blog/tag/${r.pick(TAGS)}`), 0.02);
    this.blogPost = group("GET", "/blog/:date/:slug", 14, 0.5, 64200, 0.45, ok, (r) => this.popularPost.pick(r).path, 0);
    this.docsPage = group("GET", "/docs/:section/:page", 12, 0.4, 36100, 0.5, ok, (r) => this.popularDoc.pick(r), 0);
    this.fileTree = group("GET", "/files/:project/...", 3, 0.5, 9200, 0.8, [[200, 100]], (r) => this.popularFile.pick(r), 0);
    this.download = group("GET", "/files/:project/:release.tar.gz", 8, 0.4, 1.8e6, 1.1, [[200, 100]], (r) => r.pick(this.downloads), 0);
    this.account = group("GET", "/account/...", 38, 0.4, 21400, 0.3, [[200, 99.8], [500, 0.2]],
      (r) => (r.next() < 0.4 ? "/account" : r.next() < 0.5 ? "/account/orders" : `/account/orders/${10000 + r.int(50000)}`));
    this.receipt = group("GET", "/r/:token", 40, 0.4, 18200, 0.15, [[200, 98], [404, 2]], (r) => `/r/${hex(r, 16)}`);
    this.cart = group("GET", "/cart", 30, 0.4, 24100, 0.3, ok, () => "/cart");
    this.checkoutPage = group("GET", "/checkout", 60, 0.4, 27300, 0.1, ok, () => "/checkout");
    this.loginPage = group("GET", "/login", 10, 0.3, 12400, 0.03, [[200, 100]], () => "/login");
    this.loginPost = group("POST", "/login", 150, 0.25, 85, 0.05, [[302, 99.5], [500, 0.5]], () => "/login");
    this.notFound = group("GET", "(not found)", 6, 0.4, 9420, 0.02, [[404, 100]], (r) => r.pick(this.stale));
    this.redirect = group("GET", "(moved)", 2, 0.4, 162, 0, [[301, 100]], (r) => r.pick(this.moved.length > 0 ? this.moved : this.stale));
    this.robots = group("GET", "/robots.txt", 0.8, 0.3, 231, 0, [[200, 100]], () => "/robots.txt");
    this.sitemap = group("GET", "/sitemap.xml", 35, 0.3, 88000, 0.9, [[200, 100]], (r) => r.pick(SITEMAPS));
    const file = (template: string, bytes: number, pick: (r: Rng) => string): Group =>
      group("GET", template, 0.4, 0.4, bytes, 0.6, [[200, 70], [304, 30]], pick);
    this.scripts = file("/static/js/*.js", 120000, (r) => r.pick([this.appJs, this.vendorJs, ...Object.values(this.chunks)]).path);
    this.styles = file("/static/css/*.css", 48213, () => this.css.path);
    this.fonts = file("/fonts/*.woff2", 90000, (r) => (r.next() < 0.8 ? this.font : this.monoFont).path);
    this.images = file("/img/*", 60000, (r) => r.pick(this.popularProduct.pick(r).images));
    this.icons = file("/favicon.ico", 5430, () => "/favicon.ico");
    this.api = new Map<string, Group>();
    for (const spec of ROUTES) {
      if (!spec.template.startsWith("/api/") && spec.template !== "/checkout") continue;
      const api = group(spec.method, spec.template, spec.latencyMs, spec.latencySigma, spec.bytes, spec.bytesSigma, spec.statuses,
        (r) => this.apiPath(spec.template, r));
      this.api.set(`${spec.method} ${spec.template}`, api);
    }
    for (const p of this.products) this.crawlable.push([this.product, p.path]);
    for (const p of this.posts) this.crawlable.push([this.blogPost, p.path]);
    for (const p of this.docs) this.crawlable.push([this.docsPage, p]);
    for (const p of this.files) this.crawlable.push([this.fileTree, p]);
    for (const c of CATEGORIES) for (let i = 1; i <= 12; i++) this.crawlable.push([this.category, i === 1 ? `/c/${c}` : `/c/${c}?page=${i}`]);
    for (let i = 2; i <= 20; i++) this.crawlable.push([this.blogIndex, `/blog/page/${i}`]);
    for (const tag of TAGS) this.crawlable.push([this.blogIndex, `/blog/tag/${tag}`]);
    this.all = [
      this.home, this.category, this.product, this.search, this.blogIndex, this.blogPost, this.docsPage, this.fileTree,
      this.download, this.account, this.receipt, this.cart, this.checkoutPage, this.loginPage, this.loginPost,
      this.notFound, this.redirect, this.robots, this.sitemap, this.scripts, this.styles, this.fonts, this.images, this.icons,
      ...this.api.values(),
    ];
  }

  /** A landing URL, sometimes with campaign parameters (unique click ids make unique paths). */
  landing(rng: Rng, path: string): string {
    const u = rng.next();
    if (u < 0.9) return path;
    if (u < 0.94) return `${path}?utm_source=newsletter&utm_medium=email&utm_campaign=${rng.pick(["nov-week-4", "black-friday", "restock"])}`;
    if (u < 0.97) return `${path}?gclid=${hex(rng, 24)}`;
    return `${path}?fbclid=IwAR${hex(rng, 20)}`;
  }

  /** A category listing, sometimes paged or sorted. */
  categoryPath(rng: Rng): string {
    const c = `/c/${rng.pick(CATEGORIES)}`;
    const u = rng.next();
    return u < 0.7 ? c : u < 0.9 ? `${c}?page=${2 + rng.int(12)}` : `${c}?sort=${rng.pick(["price", "-price", "new", "rating"])}`;
  }

  /** A path of one of the API routes. */
  apiPath(template: string, rng: Rng, product?: Product): string {
    switch (template) {
      case "/api/products": {
        const u = rng.next();
        if (u < 0.5) return "/api/products";
        const cat = rng.pick(CATEGORIES);
        return u < 0.8 ? `/api/products?category=${cat}` : `/api/products?category=${cat}&page=${2 + rng.int(8)}`;
      }
      case "/api/products/:id":
        return `/api/products/${(product ?? this.popularProduct.pick(rng)).id}`;
      case "/api/search": {
        const q = rng.pick(SEARCH_TERMS).replace(/ /g, "+");
        return rng.next() < 0.2 ? `/api/search?q=${q}&page=${2 + rng.int(4)}` : `/api/search?q=${q}`;
      }
      case "/api/orders/:id":
        return `/api/orders/${10000 + rng.int(50000)}`;
      default:
        return template;
    }
  }

  /** The API route `method template` (one of the classic routes under /api/, and POST /checkout). */
  apiRoute(method: string, template: string): Group {
    const g = this.api.get(`${method} ${template}`);
    if (g === undefined) throw new Error(`internal: no API route ${method} ${template}`);
    return g;
  }
}

const SITEMAPS = ["/sitemap.xml", "/sitemap-products.xml", "/sitemap-blog.xml", "/sitemap-docs.xml"];
