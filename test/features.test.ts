import { describe, expect, it } from "vitest";
import { FeatureExtractor, normalizeRoute, routeKey, type FeatureSpec } from "../src/streams/http/features.js";
import { emptyRecord } from "../src/streams/http/record.js";
import { calibrate, severityOf } from "../src/streams/severity.js";
import { trainFromLines } from "../src/streams/http/train.js";
import { simulate } from "../src/tools/simulate.js";

describe("route templates", () => {
  it.each([
    ["/api/orders/1834", "/api/orders/:id"],
    ["/api/orders/77/items/3", "/api/orders/:id/items/:id"],
    ["/users/3f2b9c1e-5d4a-4c3b-9a8f-0123456789ab", "/users/:id"],
    ["/blob/0123456789abcdef0123", "/blob/:id"],
    ["/session/Zx81kQm2LpW7aa9T", "/session/:id"],
    ["/checkout", "/checkout"],
    ["/static/app.js", "/*.js"],
    ["/static/js/app.3f2a9c1b.js", "/*.js"],
    ["/img/Logo.PNG", "/*.png"],
    ["/blog/2015-05-17/hello", "/blog/:date/hello"],
    ["/blog/2015/05/17/hello", "/blog/:id/:id/:id/hello"],
    ["/files/xdotool/xdotool-2.2.tar.gz", "/*.gz"],
    ["/index.php", "/index.php"],
    ["/robots.txt", "/robots.txt"],
    ["/wp-admin/setup-config.php", "/wp-admin/setup-config.php"],
    ["/v2/items", "/v2/items"],
    ["/", "/"],
    ["", ""],
  ])("%s -> %s", (path, template) => {
    expect(normalizeRoute(path)).toBe(template);
  });

  it("keys routes by method and template", () => {
    expect(routeKey("POST", "/api/cart")).toBe("POST /api/cart");
    expect(routeKey("GET", "/api/orders/9")).toBe("GET /api/orders/:id");
  });
});

function specFor(lines: number, seed = 3) {
  const text = [...simulate({ count: lines, seed, incidents: "none", profile: "classic" })].map((l) => l.text);
  return trainFromLines(text, { forest: { seed: 1, trees: 10 } }).forest.metadata.pipeline as { spec: FeatureSpec };
}

describe("feature extraction", () => {
  const { spec } = specFor(5000);

  function rowOf(fx: FeatureExtractor, r: Partial<ReturnType<typeof emptyRecord>>): Record<string, number> {
    const rec = { ...emptyRecord(), ...r };
    const out = new Float64Array(fx.cols);
    fx.extract(rec, out, 0);
    return Object.fromEntries(spec.features.map((f, i) => [f, out[i]]));
  }

  it("learns the trained routes with baselines, and rates an unknown route rarest", () => {
    expect(Object.keys(spec.routes)).toContain("GET /api/products/:id");
    const fx = new FeatureExtractor(spec);
    const known = rowOf(fx, { ts: 1e12, method: "GET", route: "/api/products/5", status: 200, latencyMs: 16, bytes: 2300, ip: "a" });
    const unknown = rowOf(fx, { ts: 1e12, method: "GET", route: "/.env", status: 404, latencyMs: 1, bytes: 150, ip: "b" });
    expect(unknown.route_rarity).toBe(spec.unseenRarity);
    expect(unknown.route_rarity).toBeGreaterThan(known.route_rarity);
    expect(fx.routeId("GET /.env")).toBe(-1);
  });

  it("scores latency against the route's own baseline", () => {
    const fx = new FeatureExtractor(spec);
    const b = spec.routes["POST /checkout"];
    const typical = rowOf(fx, { ts: 1e12, method: "POST", route: "/checkout", status: 200, latencyMs: Math.expm1(b.latencyMid), bytes: 900, ip: "a" });
    expect(Math.abs(typical.latency_vs_route)).toBeLessThan(1e-9);
    const slow = rowOf(fx, { ts: 1e12, method: "POST", route: "/checkout", status: 200, latencyMs: 20 * Math.expm1(b.latencyMid), bytes: 900, ip: "a" });
    expect(slow.latency_vs_route).toBeCloseTo((Math.log1p(20 * Math.expm1(b.latencyMid)) - b.latencyMid) / b.latencySpread, 9);
    expect(slow.route_latency_trend).toBeGreaterThan(0);
  });

  it("counts a route's 5xx share and a client's requests over the window, and forgets them after it", () => {
    const fx = new FeatureExtractor(spec);
    const t0 = 1.7e12;
    let last: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      last = rowOf(fx, { ts: t0 + i * 100, method: "GET", route: "/api/orders/1", status: 503, latencyMs: 30, bytes: 100, ip: "10.0.0.1" });
    }
    expect(last.route_error_rate).toBeGreaterThan(0.7);
    expect(last.client_requests).toBeCloseTo(Math.log1p(20), 9);
    expect(last.client_error_rate).toBeGreaterThan(0.7);
    const later = rowOf(fx, { ts: t0 + (spec.windowSeconds + 5) * 1000, method: "GET", route: "/api/orders/1", status: 200, latencyMs: 30, bytes: 100, ip: "10.0.0.1" });
    expect(later.client_requests).toBeCloseTo(Math.log1p(1), 9);
    expect(later.route_error_rate).toBeLessThan(0.2);
  });

  it("reads a uniform rise of all traffic as no surge, and a rise on one route as one", () => {
    const routes = Object.keys(spec.routes).slice(0, 4);
    const ratioAt = (perRoute: number[]) => {
      const fx = new FeatureExtractor(spec);
      let r: Record<string, number> = {};
      const t0 = 1.7e12;
      for (let s = 0; s < spec.windowSeconds; s++) {
        routes.forEach((key, i) => {
          const [method, path] = key.split(" ");
          for (let n = 0; n < perRoute[i]; n++) {
            r = rowOf(fx, { ts: t0 + s * 1000 + n, method, route: path.replace(":id", "7"), status: 200, latencyMs: 10, bytes: 100, ip: `c${n}` });
          }
        });
      }
      return r.route_rate_ratio; // the last row is on the last route
    };
    const base = routes.map((k) => Math.max(1, Math.round(20 * spec.routes[k].share)));
    const doubled = base.map((v) => 2 * v);
    const surged = [...base.slice(0, 3), 8 * base[3]];
    expect(Math.abs(ratioAt(doubled) - ratioAt(base))).toBeLessThan(0.25);
    expect(ratioAt(surged) - ratioAt(base)).toBeGreaterThan(Math.log(4));
  });
});

describe("severity calibration", () => {
  const scores = Float64Array.from({ length: 10001 }, (_, i) => 0.3 + (0.4 * i) / 10000);
  const c = calibrate(scores);

  it("puts 0, 25, 50, 75 and 90 at the minimum, median, p99, p99.9 and maximum training score", () => {
    expect(severityOf(c, 0.3)).toBe(0);
    expect(severityOf(c, 0.5)).toBe(25);
    expect(severityOf(c, 0.3 + 0.4 * 0.99)).toBeCloseTo(50, 5);
    expect(severityOf(c, 0.3 + 0.4 * 0.999)).toBeCloseTo(75, 5);
    expect(severityOf(c, 0.7)).toBe(90);
    expect(severityOf(c, 1)).toBe(100);
    expect(severityOf(c, 0.1)).toBe(0);
  });

  it("is monotonic, and 75+ is rarer than 1 in 500 training scores", () => {
    let prev = -1;
    for (let s = 0; s <= 1; s += 0.001) {
      const v = severityOf(c, s);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
    expect(Array.from(scores).filter((s) => severityOf(c, s) >= 75).length / scores.length).toBeLessThan(0.002);
  });

  it("stays a function when training scores are all equal", () => {
    const flat = calibrate(new Float64Array(100).fill(0.5));
    expect(flat.scores.every((v, i) => i === 0 || v > flat.scores[i - 1])).toBe(true);
    expect(severityOf(flat, 0.9)).toBeGreaterThan(severityOf(flat, 0.5));
  });
});
