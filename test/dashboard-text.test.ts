// The dashboard and --scores on a free-text model: templates in place of routes, error
// lines in place of 5xx, no latency chart, text alerts in their own table layout.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDashboard, type DashboardState } from "../src/dashboard/server.js";
import { textForest, type TextStreamAlert } from "../src/streams/text/kind.js";
import { trainText } from "../src/streams/text/train.js";
import { TEXT_SIM_SESSION_KEY } from "../src/tools/simulate-text.js";
import { simulatedText } from "./text-helpers.js";
import { launchChromium, openDashboardPage } from "./browser.js";
import { detectFlat } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "logforest-dashboard-text-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const texts = simulatedText;
const model = textForest(trainText(texts(40_000, 5, false, Date.UTC(2026, 11, 5, 0, 0, 0)), { sessionKey: TEXT_SIM_SESSION_KEY }));
const live = texts(60_000, 6, true, Date.UTC(2026, 11, 5, 6, 0, 0));
const logFile = join(dir, "orders.log");
writeFileSync(logFile, `${live.join("\n")}\n`);
// Records: a stack trace's lines join their first line.
const records = live.filter((l) => !l.startsWith("\t")).length;

const fetchJson = (url: string): Promise<DashboardState> =>
  new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(JSON.parse(body) as DashboardState));
    }).on("error", reject);
  });

describe("free text on the dashboard", () => {
  it("charts each template's lines and error lines per second, and lists the text alerts", async () => {
    const d = await startDashboard({ port: 0, windowSeconds: 86_400, pushMs: 50 });
    try {
      const alerts: TextStreamAlert[] = [];
      const { summary } = await detectFlat({ model, input: logFile, out: null, ...d.hooks, onAlert: (a) => {
        alerts.push(a as TextStreamAlert);
        d.hooks.onAlert(a);
      } });
      d.finish();
      const s = await fetchJson(`${d.url}api/state`);
      expect(s.model?.kind).toBe("text");
      expect(s.totals).toMatchObject({ status: "finished", lines_scored: live.length, alerts: summary.alerts });
      // One row per record, bucketed by its second; templates are the routes.
      expect(s.rows.reduce((n, r) => n + (r[1] as number), 0)).toBe(records);
      expect(s.routes[0]?.key).toBe("all");
      expect(s.routes.slice(1).every((r) => /^E\d+ /.test(r.key))).toBe(true);
      expect(s.routes.some((r) => r.key.includes("Order <*> completed in"))).toBe(true);
      // The error column counts ERROR lines: the simulated new error's lines.
      const errorLines = live.filter((l) => / ERROR \[/.test(l)).length;
      expect(errorLines).toBeGreaterThan(0);
      expect(s.rows.reduce((n, r) => n + (r[2] as number), 0)).toBe(errorLines);
      expect(s.alerts.length).toBe(summary.alerts);
      expect(s.alerts.map((a) => (a.alert as TextStreamAlert).rule).sort()).toEqual(alerts.map((a) => a.rule).sort());
    } finally {
      await d.close();
    }
  }, 120_000);

  it("--scores writes a row per record: the line's finding's severity / 100, 0 on an ordinary line", async () => {
    const scores = join(dir, "scores.csv");
    await detectFlat({ model, input: logFile, out: null, scores });
    const rows = readFileSync(scores, "utf8").trim().split("\n");
    expect(rows[0]).toBe("file,line,timestamp,score,severity,skipped");
    expect(rows.length - 1).toBe(records);
    const parsed = rows.slice(1).map((r) => r.split(","));
    const newError = live.findIndex((l) => l.includes("Failed to persist order")) + 1;
    const row = parsed.find((p) => Number(p[1]) === newError);
    expect(row?.[3]).toBe("0.900000");
    expect(row?.[4]).toBe("90");
    expect(parsed.filter((p) => Number(p[3]) === 0).length).toBeGreaterThan(records * 0.99);
    expect(parsed.every((p) => /^2026-12-05T/.test(p[2] ?? ""))).toBe(true);
  }, 120_000);

  it("in a browser: the template layout, text alerts in the table, a record on click", async () => {
    const browser = await launchChromium();
    if (browser === null) return; // LOGFOREST_BROWSER_TESTS=0: explicitly turned off
    const d = await startDashboard({ port: 0, windowSeconds: 86_400, pushMs: 100 });
    try {
      const { page, pageErrors } = await openDashboardPage(browser, d.url);
      const { summary } = await detectFlat({ model, input: logFile, out: null, ...d.hooks });
      d.finish();
      await page.locator("#status", { hasText: "finished" }).waitFor({ timeout: 60_000 });
      const rows = page.locator("#alerts tbody tr");
      await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(summary.alerts);
      expect(await page.evaluate("document.body.className")).toBe("mode-logs mode-text");
      expect(await page.evaluate("window.logforestDashboard.layout()")).toBe("text");
      expect(await page.locator("label.route span").textContent()).toBe("template");
      expect(await page.locator("#chart-latency").isVisible()).toBe(false);
      expect(await page.locator("tr.text-only").isVisible()).toBe(true);
      expect(await page.locator("#route option").first().textContent()).toMatch(/^all templates \(/);
      await expect.poll(async () => Number(await page.locator("#chart-rate").getAttribute("data-lines")), { timeout: 30_000 }).toBe(records);
      // Click the new error template's alert: its record shows; the row names template, level, rule.
      const row = page.locator("#alerts tbody tr", { hasText: "Failed to persist order" }).first();
      const cells = await row.locator("td").allTextContents();
      await row.click();
      const detail = JSON.parse((await page.locator("#detail").textContent()) ?? "") as TextStreamAlert;
      expect(detail.rule).toBe("new_template");
      expect(cells.slice(2, 5)).toEqual([`${detail.record.template_id} ${detail.record.template}`, "ERROR", "new_template"]);
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await d.close();
    }
  }, 180_000);
});
