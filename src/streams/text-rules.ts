/**
 * The keys of a rules file a free-text model reads besides `minSeverity` and
 * `sessionAlerts` (docs/rules.md): `mute` (templates whose alerts are counted, not
 * emitted), `disable` (text rules not run) and `cooldownWindows`. Checked when the rules
 * file is read (streams/http/rules.ts calls checkTextRules), whatever the model: shared, so
 * that no stream kind imports another.
 */

/** The free-text detector's rules, by name. */
export const TEXT_RULES = ["new_template", "param_range", "rate_spike", "rate_drop", "heartbeat_stopped", "level_burst", "forest", "session"] as const;
export type TextRule = (typeof TEXT_RULES)[number];

/** What a rules file says to a free-text model. */
export interface TextRuleKeys {
  /**
   * Templates whose alerts are counted (`muted` in the summary), not emitted: `E12` (a
   * template id), `/regex/` (on the template's text), or text the template's text contains.
   */
  mute?: string[];
  /** Text rules not run. */
  disable?: TextRule[];
  /** Windows during which the same rule on the same template alerts once (default 10). */
  cooldownWindows?: number;
}

export const TEXT_RULE_KEYS = ["mute", "disable", "cooldownWindows"] as const;

/** Check the text keys of a rules object; errors name the key, what it may be and the value. */
export function checkTextRules(o: Record<string, unknown>, source: string): TextRuleKeys {
  const out: TextRuleKeys = {};
  if (o.mute !== undefined) {
    if (!Array.isArray(o.mute) || !o.mute.every((m) => typeof m === "string" && m !== "")) {
      throw new RangeError(`${source}: mute must be an array of template ids (E12), /regex/ or text, got ${JSON.stringify(o.mute)}`);
    }
    for (const m of o.mute as string[]) muteMatcher(m, source);
    out.mute = o.mute as string[];
  }
  if (o.disable !== undefined) {
    const bad = Array.isArray(o.disable) ? o.disable.find((r) => !(TEXT_RULES as readonly unknown[]).includes(r)) : o.disable;
    if (!Array.isArray(o.disable) || bad !== undefined) {
      throw new RangeError(`${source}: disable must be an array of the text rules ${TEXT_RULES.join(", ")}, got ${JSON.stringify(bad ?? o.disable)}`);
    }
    out.disable = o.disable as TextRule[];
  }
  if (o.cooldownWindows !== undefined) {
    const v = o.cooldownWindows;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 100_000) throw new RangeError(`${source}: cooldownWindows must be an integer in [0, 100000], got ${JSON.stringify(v)}`);
    out.cooldownWindows = v as number;
  }
  return out;
}

/** A mute entry as a test on a template (id as `E12`, and its text). */
export function muteMatcher(entry: string, source = "mute"): (id: string, text: string) => boolean {
  if (/^E\d+$/.test(entry)) return (id) => id === entry;
  if (entry.length >= 2 && entry.startsWith("/") && entry.endsWith("/")) {
    let re: RegExp;
    try {
      re = new RegExp(entry.slice(1, -1));
    } catch (e) {
      throw new RangeError(`${source}: mute entry ${JSON.stringify(entry)} is not a valid regular expression: ${(e as Error).message}`);
    }
    return (_id, text) => re.test(text);
  }
  return (_id, text) => text.includes(entry);
}
