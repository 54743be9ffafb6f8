/**
 * The route vocabulary's templates: a path becomes a template (ids, UUIDs, hashes
 * and dates as placeholders, static assets grouped by extension), and a template
 * that is not a route of its own falls into its learned prefix routes.
 */
/** The route key features and baselines use: method and path template ("GET /api/orders/:id"). */
export function routeKey(method: string, path: string): string {
  return `${method} ${normalizeRoute(path)}`;
}

/**
 * Extensions of static assets and downloads: every such path is one route per
 * extension ("/*.png", "/*.gz"), since files of one type share their sizes and
 * times whatever their folder and name; pages (.html, .php, no extension) keep
 * their path.
 */
const STATIC_EXTENSIONS = new Set([
  "js", "mjs", "css", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "bmp", "tif", "tiff",
  "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav", "swf",
  "gz", "tgz", "bz2", "xz", "zst", "zip", "7z", "rar", "tar", "jar", "war", "deb", "rpm", "apk", "exe", "msi", "dmg",
  "iso", "img", "pdf", "epub", "ps", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "csv", "sig", "asc", "sha256",
]);

/**
 * Route template: ids become ":id" so /api/orders/1834 and /api/orders/77 are one
 * route; dates ("2026-11-24") become ":date"; a static asset becomes "/*.ext"
 * whatever its folder and name (/static/app.3f2a9c.js and /img/logo.png are
 * "/*.js" and "/*.png"). A segment is an id when it is a number, a UUID, a long hex
 * string, or mixes digits and letters in a token of 16+ characters.
 */
export function normalizeRoute(path: string): string {
  const asset = staticExtension(path);
  if (asset !== "") return `/*.${asset}`;
  // First pass without allocating: most paths have no id segment at all.
  let start = 0;
  let any = false;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (i > start && placeholder(path, start, i) !== "") {
        any = true;
        break;
      }
      start = i + 1;
    }
  }
  if (!any) return path;
  let out = "";
  start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47) {
      const p = i > start ? placeholder(path, start, i) : "";
      out += p !== "" ? p : path.slice(start, i);
      if (i < path.length) out += "/";
      start = i + 1;
    }
  }
  return out;
}

/** The lower-case extension of the path's last segment when it names a static asset, else "". */
function staticExtension(path: string): string {
  const dot = path.lastIndexOf(".");
  if (dot < 0 || dot < path.lastIndexOf("/") || path.length - dot > 6 || dot === path.length - 1) return "";
  const ext = path.slice(dot + 1).toLowerCase();
  return STATIC_EXTENSIONS.has(ext) ? ext : "";
}

/** ":id" or ":date" when path[from, to) is one, else "". */
function placeholder(path: string, from: number, to: number): string {
  if (isIdSegment(path, from, to)) return ":id";
  return isDateSegment(path, from, to) ? ":date" : "";
}

/** Whether path[from, to) is an id: all digits, a UUID or long hex, or a 16+ token mixing digits and letters. */
function isIdSegment(path: string, from: number, to: number): boolean {
  const n = to - from;
  let digits = 0;
  let hex = 0;
  let word = 0;
  let dashes = 0;
  for (let i = from; i < to; i++) {
    const c = path.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hex++;
    else if ((c >= 103 && c <= 122) || (c >= 71 && c <= 90) || c === 95) word++;
    else if (c === 45) dashes++;
    else return false;
  }
  if (digits === n) return true;
  if (n >= 12 && digits + hex === n) return true; // long hex
  if (n === 36 && dashes === 4 && digits + hex === 32) return isUuid(path, from);
  return n >= 16 && digits > 0 && digits + hex + word + dashes === n;
}

function isUuid(path: string, from: number): boolean {
  for (const at of [8, 13, 18, 23]) if (path.charCodeAt(from + at) !== 45) return false;
  return true;
}

/** YYYY-MM-DD or YYYY_MM_DD. */
function isDateSegment(path: string, from: number, to: number): boolean {
  if (to - from !== 10) return false;
  for (let k = 0; k < 10; k++) {
    const c = path.charCodeAt(from + k);
    if (k === 4 || k === 7 ? c !== 45 && c !== 95 : c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Where a template falls when it is not a route of its own: its prefixes from the
 * deepest to the root ("/a/b/c" -> "/a/b/*", "/a/*", "/*"). Calls `visit` with each
 * until it returns true.
 */
export function forEachPrefix(template: string, visit: (prefix: string) => boolean): void {
  let i = template.lastIndexOf("/");
  while (i >= 0) {
    if (visit(`${template.slice(0, i)}/*`)) return;
    if (i === 0) return;
    i = template.lastIndexOf("/", i - 1);
  }
}

/** Whether a route key names the static assets of one extension ("GET /*.png"). */
export function isAssetRoute(key: string): boolean {
  return key.indexOf(" /*.") > 0;
}

/** Whether a route key names a learned prefix route ("GET /blog/*"). */
export function isPrefixRoute(key: string): boolean {
  return key.endsWith("/*");
}
