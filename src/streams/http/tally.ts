/**
 * The counts training keeps over every parsed line, however few of them it holds:
 * the route keys with their lines, failures and first clients, the methods, the
 * clock's range, which fields are present and each client's failures. Their size
 * grows with the route vocabulary and the clients, not with the lines, so the spec
 * learned from a sample of the lines keeps the whole stream's vocabulary and shares.
 */
import type { Columns } from "./columns.js";
import { emptyRecord, type LogRecord } from "./record.js";
import { normalizeRoute } from "./routes.js";

/** The whole stream's lines of one route key ("GET /api/items/:id"). */
export interface KeyTally {
  method: string;
  template: string;
  count: number;
  /** Lines answered 4xx or 5xx. */
  fails: number;
  /** Lines answered 5xx. */
  errors: number;
  /** Up to two client addresses that asked for it. */
  clients: string[];
  /** Its lines held by a sampling trainer. */
  held: number;
}

/** Raw paths whose template is remembered (most repeat); the cache is emptied when full. */
const TEMPLATE_CACHE = 4096;

/** Counts over every parsed training line (see the file comment). */
export class Tally {
  n = 0;
  /** Lines with a finite timestamp, and the earliest and latest of them. */
  timed = 0;
  lo = Infinity;
  hi = -Infinity;
  withLatency = 0;
  withBytes = 0;
  withIp = 0;
  /** Lines not answered 4xx or 5xx (a line without a status counts as answered). */
  answered = 0;
  /** Lines answered 5xx. */
  errors = 0;
  /** The first two distinct client fields ("" included), and the first two non-empty ones. */
  readonly clients: string[] = [];
  readonly addresses: string[] = [];
  readonly methods = new Map<string, number>();
  readonly keys = new Map<string, KeyTally>();
  /** Per client address: [lines, failed lines, rank of its first failure among the clients that failed (-1: none yet)]. */
  readonly perClient = new Map<string, [number, number, number]>();
  private failing = 0;
  private readonly templates = new Map<string, string>();

  /** The tally of lines held in columns (training without sampling, retraining's ring). */
  static of(c: Columns): Tally {
    const t = new Tally();
    const r = emptyRecord();
    for (let i = 0; i < c.n; i++) {
      c.fill(i, r);
      t.add(r);
    }
    return t;
  }

  /** The template of a raw path (cached). */
  template(path: string): string {
    let t = this.templates.get(path);
    if (t === undefined) {
      t = normalizeRoute(path);
      if (this.templates.size >= TEMPLATE_CACHE) this.templates.clear();
      this.templates.set(path, t);
    }
    return t;
  }

  /** Count r; returns its route key's tally. */
  add(r: LogRecord): KeyTally {
    this.n++;
    if (Number.isFinite(r.ts)) {
      this.timed++;
      if (r.ts < this.lo) this.lo = r.ts;
      if (r.ts > this.hi) this.hi = r.ts;
    }
    if (Number.isFinite(r.latencyMs)) this.withLatency++;
    if (Number.isFinite(r.bytes)) this.withBytes++;
    const failed = r.status >= 400;
    if (!failed) this.answered++;
    if (r.status >= 500) this.errors++;
    this.methods.set(r.method, (this.methods.get(r.method) ?? 0) + 1);
    const template = this.template(r.route);
    const key = `${r.method} ${template}`;
    let k = this.keys.get(key);
    if (k === undefined) this.keys.set(key, (k = { method: r.method, template, count: 0, fails: 0, errors: 0, clients: [], held: 0 }));
    k.count++;
    if (failed) k.fails++;
    if (r.status >= 500) k.errors++;
    if (k.clients.length < 2 && !k.clients.includes(r.ip)) k.clients.push(r.ip);
    if (this.clients.length < 2 && !this.clients.includes(r.ip)) this.clients.push(r.ip);
    if (r.ip === "") return k;
    this.withIp++;
    if (this.addresses.length < 2 && !this.addresses.includes(r.ip)) this.addresses.push(r.ip);
    let p = this.perClient.get(r.ip);
    if (p === undefined) this.perClient.set(r.ip, (p = [0, 0, -1]));
    p[0]++;
    if (failed && p[1]++ === 0) p[2] = this.failing++;
    return k;
  }
}
