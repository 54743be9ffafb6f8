/**
 * The template miner: learns a log's templates online, line by line.
 *
 * A message is masked by token shape (mask.ts); a masked form seen before is one map
 * look-up (the fast path). Otherwise the templates of its token count are tried, a
 * `<*>` matching any token; none matching, the masked form becomes a new template.
 * A new template is then weighed against its siblings: templates of its length that
 * agree with it outside a few positions. When at least `minVariants` of them differ
 * only there, over `minEvidence` lines, and new values keep coming, those positions hold
 * a variable (not a few meanings: "Accepted" and "Failed" stay apart, user names
 * merge) and the siblings merge into the oldest,
 * whose id stays. Ids never change meaning; a merged id resolves to the one it joined.
 * Memory is bounded: past `maxTemplates` the least recently seen are evicted, counted.
 */
import { maskMessage, WILDCARD } from "./mask.js";
import { checkMinerState, MINER_STATE_FORMAT, MINER_STATE_VERSION, type MinerState } from "./miner-state.js";

/** One template: its tokens (`<*>` for a variable) and how it was seen. */
export interface Template {
  /** Stable id, from 1. */
  readonly id: number;
  /** Tokens; `<*>` stands for a variable. */
  tokens: string[];
  /** Lines counted under it (merged templates' lines included). */
  count: number;
  /** The miner's tick when it last matched a line. */
  lastSeen: number;
  /** The template it merged into, or null while it stands. */
  mergedInto: Template | null;
}

/** Options of a TemplateMiner. */
export interface MinerOptions {
  /** Most templates held; the least recently seen beyond it are evicted (default 20,000). */
  maxTemplates?: number;
  /** Most masked forms remembered for the fast path (default 200,000). */
  maxCache?: number;
  /** Distinct variants a position needs before it is taken for a variable (default 3). */
  minVariants?: number;
  /** Lines the siblings need before a position is judged at all (default 20): a few lines are too little evidence. */
  minEvidence?: number;
}

/** Default miner options. */
export const MINER_DEFAULTS: Required<MinerOptions> = { maxTemplates: 20_000, maxCache: 200_000, minVariants: 3, minEvidence: 20 };

/** Check miner options; each error names the option, its range and the value. */
export function resolveMinerOptions(o: MinerOptions = {}): Required<MinerOptions> {
  const r = { ...MINER_DEFAULTS, ...o };
  const check = (name: keyof MinerOptions, lo: number, hi: number): void => {
    const v = r[name];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  };
  check("maxTemplates", 1, 10_000_000);
  check("maxCache", 0, 100_000_000);
  check("minVariants", 2, 1000);
  check("minEvidence", 0, 1_000_000);
  return r;
}

/** The template a template resolves to after merges. */
export function rootOf(t: Template): Template {
  let r = t;
  while (r.mergedInto !== null) r = r.mergedInto;
  return r;
}

/** Template text: tokens joined by one space. */
export function templateText(t: Template): string {
  return t.tokens.join(" ");
}

/** Learns templates online; see the file comment. */
export class TemplateMiner {
  /** Templates evicted to stay within maxTemplates. */
  evicted = 0;
  /** Merges made (a position found to vary). */
  merges = 0;
  private readonly opts: Required<MinerOptions>;
  private readonly byId = new Map<number, Template>();
  private readonly buckets = new Map<number, Template[]>();
  private readonly skeletons = new Map<string, Template>();
  private cache = new Map<string, Template>();
  private nextId = 1;
  private tick = 0;

  constructor(options: MinerOptions = {}) {
    this.opts = resolveMinerOptions(options);
  }

  /** The state a model keeps: templates, ids given, counters (see miner-state.ts). */
  toState(): MinerState {
    return {
      format: MINER_STATE_FORMAT,
      version: MINER_STATE_VERSION,
      nextId: this.nextId,
      tick: this.tick,
      merges: this.merges,
      evicted: this.evicted,
      templates: this.templates().map((t) => ({ id: t.id, tokens: t.tokens.slice(), count: t.count, lastSeen: t.lastSeen })),
    };
  }

  /** A miner carrying on from a saved state (checked; a damaged one is refused with a ModelFileError). */
  static fromState(state: unknown, options: MinerOptions = {}): TemplateMiner {
    const s = checkMinerState(state);
    const m = new TemplateMiner(options);
    m.nextId = s.nextId;
    m.tick = s.tick;
    m.merges = s.merges;
    m.evicted = s.evicted;
    for (const t of s.templates) {
      const tpl: Template = { id: t.id, tokens: t.tokens.slice(), count: t.count, lastSeen: t.lastSeen, mergedInto: null };
      m.byId.set(t.id, tpl);
      const bucket = m.buckets.get(tpl.tokens.length);
      if (bucket === undefined) m.buckets.set(tpl.tokens.length, [tpl]);
      else bucket.push(tpl);
      const key = skeletonKey(tpl.tokens);
      if (key !== null && !m.skeletons.has(key)) m.skeletons.set(key, tpl);
    }
    return m;
  }

  /** Templates standing now, by id. */
  templates(): Template[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** The standing template an id resolves to (a merged id gives the one it joined), or null if evicted. */
  resolve(id: number): Template | null {
    return this.byId.get(id) ?? null;
  }

  /** The next id to be given (ids below it were given). */
  get idsGiven(): number {
    return this.nextId - 1;
  }

  /** Learn from one message; returns the template it counts under now. */
  learn(message: string): Template {
    this.tick++;
    const masked = maskMessage(message);
    const hit = this.cache.get(masked);
    if (hit !== undefined) return this.seen(rootOf(hit));
    const tokens = masked === "" ? [] : masked.split(" ");
    let t = this.find(tokens) ?? this.bySkeleton(skeletonKey(tokens));
    if (t === null) t = this.unifySkeleton(this.consolidate(this.create(tokens)));
    this.remember(masked, t);
    return this.seen(t);
  }

  /** The template `message` matches, learning nothing; null when none does. */
  match(message: string): Template | null {
    const masked = maskMessage(message);
    const hit = this.cache.get(masked);
    if (hit !== undefined) return rootOf(hit);
    const tokens = masked === "" ? [] : masked.split(" ");
    return this.find(tokens) ?? this.bySkeleton(skeletonKey(tokens));
  }

  /** Count a line under `t`. */
  private seen(t: Template): Template {
    t.count++;
    t.lastSeen = this.tick;
    return t;
  }

  /** Remember a masked form's template, forgetting them all when the cache is full. */
  private remember(masked: string, t: Template): void {
    if (this.cache.size >= this.opts.maxCache) this.cache = new Map();
    if (this.opts.maxCache > 0) this.cache.set(masked, t);
  }

  /** The most specific standing template matching `tokens`, or null. */
  private find(tokens: readonly string[]): Template | null {
    const bucket = this.buckets.get(tokens.length);
    if (bucket === undefined) return null;
    let best: Template | null = null;
    let bestConst = -1;
    for (const t of bucket) {
      const c = matchConstants(t.tokens, tokens);
      // A template of wildcards only says nothing: it takes its own masked form alone.
      if (c > bestConst && (c > 0 || tokens.every((x) => x === WILDCARD))) {
        best = t;
        bestConst = c;
      }
    }
    return best;
  }

  /** A new standing template of `tokens`. */
  private create(tokens: string[]): Template {
    const t: Template = { id: this.nextId++, tokens, count: 0, lastSeen: this.tick, mergedInto: null };
    this.byId.set(t.id, t);
    const bucket = this.buckets.get(tokens.length);
    if (bucket === undefined) this.buckets.set(tokens.length, [t]);
    else bucket.push(t);
    if (this.byId.size > this.opts.maxTemplates) this.evict();
    return t;
  }

  /**
   * Merge `t` with its siblings when enough of them differ from it only at a few
   * positions; returns the template `t` now counts under.
   */
  private consolidate(t: Template): Template {
    const bucket = this.buckets.get(t.tokens.length) ?? [];
    const n = t.tokens.length;
    const maxDiff = Math.max(1, Math.floor(n / 3));
    for (const u of bucket) {
      if (u === t) continue;
      const diff = differing(t.tokens, u.tokens, maxDiff);
      if (diff === null || diff.length === 0 || diff.length >= n) continue;
      const varying = this.varyingPositions(t, bucket, diff);
      if (varying === null || !keepsConstants(t.tokens, varying.diff)) continue;
      return this.absorb(this.merge(varying.group, varying.diff, t.tokens));
    }
    return this.absorb(t);
  }

  /**
   * Of the positions `diff`, those that vary among `t`'s siblings: each shows at least
   * minVariants values, and new values keep coming (see varies). A position with fewer,
   * or whose few values each come often, is a distinction (Accepted/Failed), so
   * the siblings are narrowed to `t`'s value there. Null when too few siblings remain.
   */
  private varyingPositions(t: Template, bucket: readonly Template[], diff: number[]): { group: Template[]; diff: number[] } | null {
    let d = diff;
    let group = bucket.filter((v) => agreesOutside(t.tokens, v.tokens, d));
    for (;;) {
      if (group.length < this.opts.minVariants) return null;
      const keep = d.filter((p) => varies(group, p, this.opts.minVariants, this.opts.minEvidence));
      if (keep.length === d.length) return keep.length === 0 ? null : { group, diff: d };
      if (keep.length === 0) return null;
      d = keep;
      group = group.filter((v) => agreesOutside(t.tokens, v.tokens, d));
    }
  }

  /** Merge into `t` the standing templates of its length that it covers (its wildcards match them). */
  private absorb(t: Template): Template {
    const bucket = this.buckets.get(t.tokens.length) ?? [];
    const covered = bucket.filter((u) => u !== t && matchConstants(t.tokens, u.tokens) > 0);
    if (covered.length === 0) return t;
    return this.merge([t, ...covered], [], t.tokens);
  }

  /** Merge `group` into its oldest member, which takes `tokens` with the positions `diff` made variables. */
  private merge(group: Template[], diff: readonly number[], tokens: readonly string[]): Template {
    const into = group.reduce((a, b) => (a.id < b.id ? a : b));
    into.tokens = tokens.slice();
    for (const p of diff) into.tokens[p] = generalised(group.map((v) => v.tokens[p] ?? ""));
    for (const v of group) {
      if (v === into) continue;
      v.mergedInto = into;
      into.count += v.count;
      into.lastSeen = Math.max(into.lastSeen, v.lastSeen);
      this.byId.delete(v.id);
    }
    const bucket = this.buckets.get(into.tokens.length) ?? [];
    this.buckets.set(into.tokens.length, bucket.filter((v) => v.mergedInto === null));
    if (diff.length > 0) this.merges++;
    return into;
  }

  /** The standing template with skeleton `key`, of whatever length, or null. */
  private bySkeleton(key: string | null): Template | null {
    if (key === null) return null;
    const u = this.skeletons.get(key);
    return u !== undefined && u.mergedInto === null && this.byId.get(u.id) === u ? u : null;
  }

  /**
   * Register `t`'s skeleton; an older standing template with the same one (a variable
   * that spans a different number of tokens: `bytes sent` / `bytes (1.2 KB) sent`) absorbs it.
   */
  private unifySkeleton(t: Template): Template {
    const key = skeletonKey(t.tokens);
    const u = this.bySkeleton(key);
    if (key === null) return t;
    if (u === null || u === t) {
      this.skeletons.set(key, t);
      return t;
    }
    const [older, younger] = u.id < t.id ? [u, t] : [t, u];
    younger.mergedInto = older;
    older.count += younger.count;
    older.lastSeen = Math.max(older.lastSeen, younger.lastSeen);
    this.byId.delete(younger.id);
    const bucket = this.buckets.get(younger.tokens.length) ?? [];
    this.buckets.set(younger.tokens.length, bucket.filter((v) => v !== younger));
    this.skeletons.set(key, older);
    this.merges++;
    return older;
  }

  /** Drop the least recently seen tenth of the templates. */
  private evict(): void {
    const all = [...this.byId.values()].sort((a, b) => a.lastSeen - b.lastSeen);
    const drop = new Set(all.slice(0, Math.max(1, Math.floor(all.length / 10))));
    for (const t of drop) this.byId.delete(t.id);
    for (const [len, bucket] of this.buckets) this.buckets.set(len, bucket.filter((t) => !drop.has(t)));
    this.evicted += drop.size;
    this.cache = new Map();
  }
}

/** Constant tokens of `template` equal in `tokens`, or -1 unless every token matches. */
function matchConstants(template: readonly string[], tokens: readonly string[]): number {
  let c = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? "";
    if (t === WILDCARD) continue;
    if (t !== tokens[i] && !framedMatch(t, tokens[i] ?? "")) return -1;
    c++;
  }
  return c;
}

/** Positions where `a` and `b` differ, or null when more than `max` do. */
function differing(a: readonly string[], b: readonly string[], max: number): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      out.push(i);
      if (out.length > max) return null;
    }
  }
  return out;
}

/** Whether `a` and `b` agree everywhere outside the positions `diff`. */
function agreesOutside(a: readonly string[], b: readonly string[], diff: readonly number[]): boolean {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (diff[d] === i) {
      d++;
      continue;
    }
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Whether making `diff` variables leaves at least twice as many constants as it makes variables. */
function keepsConstants(tokens: readonly string[], diff: readonly number[]): boolean {
  let constants = 0;
  for (const t of tokens) if (t !== WILDCARD) constants++;
  for (const p of diff) if (tokens[p] !== WILDCARD) constants--;
  return constants >= 2 * diff.length;
}

/**
 * Whether position `p` varies among `group`: at least `min` values over at least
 * `evidence` lines, and besides the most common value, at least one value per four
 * lines (a user name: root, then many rare ones). A few values that each come often
 * (boot, wait, halt) are a distinction.
 */
function varies(group: readonly Template[], p: number, min: number, evidence: number): boolean {
  const lines = new Map<string, number>();
  for (const v of group) {
    const tok = v.tokens[p] ?? "";
    lines.set(tok, (lines.get(tok) ?? 0) + v.count + 1);
  }
  if (lines.size < min) return false;
  let total = 0;
  let top = 0;
  for (const c of lines.values()) {
    total += c;
    top = Math.max(top, c);
  }
  return total >= evidence && (lines.size - 1) * 4 >= total - top;
}

/**
 * A template's constant skeleton: its tokens less those that are variables only
 * (`<*>`, `(<*>`, `<*>:<*>`), or null when it has no such token or fewer than two others.
 */
function skeletonKey(tokens: readonly string[]): string | null {
  const kept = tokens.filter((t) => !variableOnly(t));
  return kept.length === tokens.length || kept.length < 2 ? null : kept.join(" ");
}

/** Whether a token is wildcards and punctuation only (no letter or digit outside `<*>`). */
function variableOnly(token: string): boolean {
  if (!token.includes(WILDCARD)) return false;
  for (let i = 0; i < token.length; i++) {
    if (token.startsWith(WILDCARD, i)) {
      i += WILDCARD.length - 1;
      continue;
    }
    const c = token.charCodeAt(i);
    if ((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c > 127) return false;
  }
  return true;
}

/** Whether the code unit is a delimiter that frames a value (`=`, `:`, brackets, quotes, `,`). */
function frames(c: number): boolean {
  return c === 61 || c === 58 || c === 40 || c === 41 || c === 91 || c === 93 || c === 123 || c === 125 || c === 34 || c === 39 || c === 44 || c === 59;
}

/**
 * The token a varying position becomes: `<*>` kept in the frame all its values share
 * (`user=root`, `user=ftp` -> `user=<*>`; `[ann]`, `[bob]` -> `[<*>]`), else `<*>`.
 */
function generalised(values: readonly string[]): string {
  const first = values[0] ?? "";
  let pre = first.length;
  let suf = first.length;
  for (const v of values) {
    let i = 0;
    while (i < pre && i < v.length && v.charCodeAt(i) === first.charCodeAt(i)) i++;
    pre = i;
    let j = 0;
    while (j < suf && j < v.length && v.charCodeAt(v.length - 1 - j) === first.charCodeAt(first.length - 1 - j)) j++;
    suf = j;
  }
  // Cut the shared ends back to a delimiter, so `user=ro`+`ot` never keeps half a value.
  while (pre > 0 && !frames(first.charCodeAt(pre - 1))) pre--;
  while (suf > 0 && !frames(first.charCodeAt(first.length - suf))) suf--;
  if (pre + suf >= first.length || first.includes(WILDCARD)) return WILDCARD;
  return `${first.slice(0, pre)}${WILDCARD}${first.slice(first.length - suf)}`;
}

/** Whether `token` fits a template token with one `<*>` in a frame (`user=<*>` takes `user=bob`). */
function framedMatch(t: string, token: string): boolean {
  const w = t.indexOf(WILDCARD);
  if (w < 0 || t.indexOf(WILDCARD, w + 1) >= 0) return false;
  const tail = t.length - w - WILDCARD.length;
  return token.length > w + tail && token.startsWith(t.slice(0, w)) && token.endsWith(t.slice(t.length - tail));
}
