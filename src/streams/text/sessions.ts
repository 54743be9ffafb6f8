/**
 * Sessions: lines grouped by a key (`--session-key REGEX`: a block id, a request id,
 * a container id), each session judged when it goes idle or the input ends, on its
 * template sequence against training's sessions: a template no training session had,
 * a transition (template a then b, start and end included) none had, and a step every
 * training session had that this one lacks.
 */

/** What training learned of sessions. */
export interface SessionModel {
  /** The key expression (its first group, else the whole match, is the key). */
  keyPattern: string;
  /** A session with no line for this long (ms, or lines when untimed) is over. */
  idle: number;
  /** Sessions trained on. */
  sessions: number;
  /** Templates seen in training sessions. */
  templates: number[];
  /** Transitions seen, as `a>b` (0 is a session's start or end). */
  transitions: string[];
  /** Templates every training session had. */
  required: number[];
}

/** Why a session is unusual (empty lists: it is not). */
export interface SessionVerdict {
  key: string;
  lines: number;
  unseen: number[];
  transitions: string[];
  missing: number[];
}

/** The key expression compiled, or a RangeError naming the option. */
export function keyRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new RangeError(`sessionKey must be a regular expression, got ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

/** The session key of a line, or null when it has none. */
export function keyOf(re: RegExp, line: string): string | null {
  const m = re.exec(line);
  if (m === null) return null;
  return m[1] ?? m[0];
}

/** Learn sessions from template sequences; `idle` defaults to twice the longest gap inside a session. */
export function learnSessions(keyPattern: string, sequences: readonly { ids: readonly number[]; gaps: readonly number[] }[], idle?: number): SessionModel {
  keyRegex(keyPattern);
  const templates = new Set<number>();
  const transitions = new Set<string>();
  let required: number[] | undefined;
  let longest = 0;
  for (const s of sequences) {
    let prev = 0;
    for (const id of s.ids) {
      templates.add(id);
      transitions.add(`${prev}>${id}`);
      prev = id;
    }
    transitions.add(`${prev}>0`);
    const has = new Set(s.ids);
    required = required === undefined ? [...has] : required.filter((x) => has.has(x));
    for (const g of s.gaps) longest = Math.max(longest, g);
  }
  const chosen = idle ?? Math.max(2 * longest, 1);
  if (!(chosen > 0)) throw new RangeError(`sessionIdle must be > 0, got ${chosen}`);
  return {
    keyPattern,
    idle: chosen,
    sessions: sequences.length,
    templates: [...templates].sort((a, b) => a - b),
    transitions: [...transitions].sort(),
    required: (required ?? []).sort((a, b) => a - b),
  };
}

/**
 * A transition `a>b` is the number a * 2^26 + b: ids from training stay far below 2^26; an id
 * past it (an endless stream's 67 millionth template) is an unseen transition by definition.
 */
const TRANSITION_BASE = 2 ** 26;

/** The number of a transition written `a>b` (a model's form); NaN for anything else, which matches nothing. */
function transitionKey(t: string): number {
  const gt = t.indexOf(">");
  const a = Number(t.slice(0, gt));
  const b = Number(t.slice(gt + 1));
  return gt > 0 && Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && b < TRANSITION_BASE ? a * TRANSITION_BASE + b : Number.NaN;
}

/** Groups template ids by session key and judges each session when it ends. */
export class SessionTracker {
  private readonly open = new Map<string, { ids: number[]; last: number }>();
  private readonly templates: Set<number>;
  private readonly transitions: Set<number>;
  /** Sessions judged so far. */
  closed = 0;

  constructor(readonly model: SessionModel, private readonly onClose: (v: SessionVerdict) => void) {
    this.templates = new Set(model.templates);
    this.transitions = new Set(model.transitions.map(transitionKey));
  }

  /** Sessions open now. */
  get size(): number {
    return this.open.size;
  }

  /** A line of session `key` with template `id` at time `at`. */
  add(key: string, id: number, at: number): void {
    const s = this.open.get(key);
    if (s === undefined) this.open.set(key, { ids: [id], last: at });
    else {
      s.ids.push(id);
      s.last = at;
    }
  }

  /** Close the sessions idle at time `now`. */
  sweep(now: number): void {
    for (const [key, s] of this.open) if (now - s.last > this.model.idle) this.close(key, s.ids);
  }

  /**
   * Close every open session (the input ended). A session with a line within the idle
   * time of `now` may still have been going on: it is judged on its templates and the
   * transitions between its lines only, not on how it ended or on steps it has not
   * reached yet. Without `now`, every session is judged whole.
   */
  closeAll(now?: number): void {
    for (const [key, s] of this.open) this.close(key, s.ids, now !== undefined && now - s.last <= this.model.idle);
  }

  /** The verdict on one session's template sequence. */
  judge(key: string, ids: readonly number[], inProgress = false): SessionVerdict {
    const unseen = new Set<number>();
    const trans = new Set<string>();
    let prev = 0;
    for (const id of ids) {
      if (!this.templates.has(id)) unseen.add(id);
      if (!this.transitions.has(id < TRANSITION_BASE ? prev * TRANSITION_BASE + id : Number.NaN)) trans.add(`${prev}>${id}`);
      prev = id;
    }
    if (!inProgress && !this.transitions.has(prev * TRANSITION_BASE)) trans.add(`${prev}>0`);
    const has = new Set(ids);
    return { key, lines: ids.length, unseen: [...unseen], transitions: [...trans], missing: inProgress ? [] : this.model.required.filter((r) => !has.has(r)) };
  }

  private close(key: string, ids: readonly number[], inProgress = false): void {
    this.open.delete(key);
    this.closed++;
    this.onClose(this.judge(key, ids, inProgress));
  }
}
