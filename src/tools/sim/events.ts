/** The realistic profile's event queue: lines to write and actors to fire, in time order. */
import type { Group } from "./catalogue.js";
import type { Actor } from "./actors.js";

/** A queued event: a line to write (actor null) or an actor to fire. */
export class Ev {
  constructor(
    readonly t: number,
    readonly seq: number,
    readonly actor: Actor | null,
    /** The line's route; null for monitoring (health checker, uptime monitor). */
    readonly route: Group | null,
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly latencyMs: number,
    readonly bytes: number,
    readonly ip: string,
    readonly ua: string,
    readonly referer: string,
  ) {}
}

/** A binary min-heap of events by (time, sequence). */
export class Queue {
  private readonly items: Ev[] = [];
  get size(): number {
    return this.items.length;
  }
  top(): Ev | undefined {
    return this.items[0];
  }
  push(e: Ev): void {
    const a = this.items;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, a[p])) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = e;
  }
  pop(): Ev | undefined {
    const a = this.items;
    const first = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return first;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && before(a[l + 1], a[l]) ? l + 1 : l;
      if (!before(a[c], last)) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return first;
  }
}

function before(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
