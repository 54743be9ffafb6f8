/**
 * The realistic profile's visitors: people on browsers (some behind a shared NAT),
 * people on the mobile app, API integrations, crawlers and monitors, each with
 * its own addresses and user agents. The site's regulars (NATs, crawlers, integrations)
 * are the same whatever the seed; the visitors come from the traffic stream.
 */
import type { Rng } from "../../forest/random.js";
import { API_UAS, BROWSER_UAS } from "./classic.js";
import { Weighted, freshIp, weighted } from "./core.js";

/** One visitor: where they come from and what they run. */
export interface Visitor {
  ip: string;
  ua: string;
  /** iOS Safari asks for /apple-touch-icon*.png, which this site does not have. */
  appleTouch: boolean;
}

/** A crawler: one address with its own steady pace. */
export interface Crawler {
  ip: string;
  ua: string;
  /** Share of all crawler traffic. */
  share: number;
  /** Fetches scripts and styles to render pages (Googlebot does). */
  renders: boolean;
}

/** An API integration: a partner's or our own service, polling a few routes at a steady pace. */
export interface Integration {
  ip: string;
  ua: string;
  share: number;
  /** [method, template, weight] of the calls it makes. */
  calls: readonly (readonly [string, string, number])[];
}

const CRAWLERS: readonly (readonly [string, string, number, number, boolean])[] = [
  // [user agent, /16 prefix, addresses, share, renders]
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "66.249", 3, 0.36, true],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "157.55", 2, 0.17, false],
  ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "54.36", 1, 0.1, false],
  ["Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "5.255", 1, 0.07, false],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", "17.241", 1, 0.07, true],
  ["Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", "185.191", 1, 0.08, false],
  ["Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)", "114.119", 1, 0.05, false],
  ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "20.171", 1, 0.06, false],
  ["DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "20.191", 1, 0.04, false],
];

const INTEGRATIONS: readonly Omit<Integration, "ip">[] = [
  { ua: "inventory-sync/2.3.1 (+https://partner-a.example/sync)", share: 0.3, calls: [["GET", "/api/products", 1]] },
  { ua: "acme-erp/4.2 python-requests/2.32.3", share: 0.22, calls: [["GET", "/api/orders/:id", 3], ["GET", "/api/products/:id", 1]] },
  { ua: "PriceWatch/1.8 okhttp/4.12.0", share: 0.2, calls: [["GET", "/api/products/:id", 4], ["GET", "/api/search", 1]] },
  { ua: "Go-http-client/2.0", share: 0.18, calls: [["GET", "/api/products/:id", 2], ["GET", "/api/orders/:id", 2], ["GET", "/api/users/me", 1]] },
  { ua: "curl/8.5.0", share: 0.1, calls: [["GET", "/api/products", 3], ["GET", "/api/cart", 1]] },
];

/** Address blocks of cloud providers and small hosts: one-off probes come from these, nothing else does. */
const PROBE_OCTETS = [3, 13, 18, 34, 35, 43, 47, 52, 103, 139, 141, 159, 161, 165, 167, 178, 193, 194, 206, 209];

/** User agents of one-off probes (a script, a research scanner, a stale browser string). */
export const PROBE_UAS = [
  "python-requests/2.28.1", "curl/7.81.0", "Go-http-client/1.1", "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.102 Safari/537.36",
  "Mozilla/5.0 (compatible; InternetMeasurement/1.0; +https://internet-measurement.com/)", "-",
];

/** The uptime monitor: a third party checking the home page from a few places. */
export const UPTIME = {
  ua: "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
  ips: ["69.162.124.226", "63.143.42.243", "216.245.221.83"],
  intervalMs: 60000,
} as const;

/** A one-off probe's address: from blocks no other client uses (no freshness check, so traffic never reads shared state). */
export function probeIp(rng: Rng): string {
  return `${rng.pick(PROBE_OCTETS)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
}

/** Everyone who visits the realistic site. */
export class Population {
  /** Browser visitors by activity (a few regulars, a long tail of one-time visitors). */
  readonly web: Weighted<Visitor>;
  /** Mobile app users by activity. */
  readonly app: Weighted<Visitor>;
  /** Addresses shared by many visitors (an office, a campus, mobile carrier NAT). */
  readonly nats: string[] = [];
  readonly crawlers: Crawler[] = [];
  readonly integrations: Integration[] = [];
  readonly browserUas: Weighted<string>;

  /**
   * @param site the site's own stream: the NATs, crawlers and integrations are the same whatever the seed
   * @param rng the traffic stream: the visitors change with the seed
   */
  constructor(site: Rng, rng: Rng, usedIps: Set<string>) {
    this.browserUas = weighted(BROWSER_UAS);
    const appUas = weighted(API_UAS.filter(([ua]) => ua.startsWith("ShopApp")));
    for (let i = 0; i < 4; i++) this.nats.push(freshIp(site, usedIps));
    const visitors: Visitor[] = [];
    const activity: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const ua = this.browserUas.pick(rng);
      visitors.push({ ip: freshIp(rng, usedIps), ua, appleTouch: ua.includes("iPhone") || ua.includes("iPad") });
      activity.push(1 / (i + 1) ** 0.6);
    }
    // Behind each NAT, 20-80 people with their own browsers, together as busy as a top regular each.
    for (const nat of this.nats) {
      for (let n = 20 + rng.int(61); n > 0; n--) {
        const ua = this.browserUas.pick(rng);
        visitors.push({ ip: nat, ua, appleTouch: ua.includes("iPhone") || ua.includes("iPad") });
        activity.push(0.02 + 0.1 * rng.next());
      }
    }
    this.web = new Weighted(visitors, activity);
    const appUsers: Visitor[] = [];
    const appActivity: number[] = [];
    for (let i = 0; i < 800; i++) {
      appUsers.push({ ip: freshIp(rng, usedIps), ua: appUas.pick(rng), appleTouch: false });
      appActivity.push(1 / (i + 1) ** 0.5);
    }
    this.app = new Weighted(appUsers, appActivity);
    for (const [ua, prefix, n, share, renders] of CRAWLERS) {
      const third = site.int(256);
      for (let i = 0; i < n; i++) {
        const ip = `${prefix}.${third}.${1 + site.int(254)}`;
        usedIps.add(ip);
        this.crawlers.push({ ip, ua, share: share / n, renders });
      }
    }
    for (const spec of INTEGRATIONS) {
      const ip = `${site.pick([3, 18, 34, 35, 52])}.${site.int(256)}.${site.int(256)}.${1 + site.int(254)}`;
      usedIps.add(ip);
      this.integrations.push({ ...spec, ip });
    }
  }
}
