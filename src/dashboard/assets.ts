/**
 * The dashboard page's files: found beside this module (running the TS) or in the shipped
 * src/dashboard/ (running dist/), read once at start, served from memory by exact path.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The page's files, read once: the allow-list of what is served, by exact request path. */
export type Assets = ReadonlyMap<string, { type: string; body: Buffer; etag: string }>;

/** The folder holding page.html: src/dashboard/ (running the TS) or, from dist/src/dashboard/, the shipped src/dashboard/. */
function assetDir(): string {
  const candidates = [new URL("./", import.meta.url), new URL("../../../src/dashboard/", import.meta.url)];
  for (const dir of candidates) if (existsSync(new URL("page.html", dir))) return fileURLToPath(dir);
  throw new Error(`dashboard page not found (looked for page.html in ${candidates.map((u) => fileURLToPath(u)).join(" and ")})`);
}

/** Read the page's files once (each with a content hash as its ETag). */
export function loadAssets(): Assets {
  const dir = assetDir();
  const require = createRequire(import.meta.url);
  const files: Array<[string, string, string]> = [
    ["/page.html", "text/html; charset=utf-8", `${dir}/page.html`],
    ["/page.js", "text/javascript; charset=utf-8", `${dir}/page.js`],
    ["/page.css", "text/css; charset=utf-8", `${dir}/page.css`],
    ["/uplot.js", "text/javascript; charset=utf-8", require.resolve("uplot/dist/uPlot.iife.min.js")],
    ["/uplot.css", "text/css; charset=utf-8", require.resolve("uplot/dist/uPlot.min.css")],
  ];
  return new Map(files.map(([path, type, file]) => {
    const body = readFileSync(file);
    return [path, { type, body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` }];
  }));
}
