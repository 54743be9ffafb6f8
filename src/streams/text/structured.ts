/**
 * Lines whose message is one field of a structure: logfmt (Go logrus/zap text:
 * `time=... level=info msg="..." k=v`), JSON logs (`msg`, `message`, ECS `message`), and
 * the container wrappers around any other line: Kubernetes CRI (`<ts> stdout F <line>`)
 * and Docker's json-file (`{"log":"<line>\n","stream":"stdout","time":"..."}`).
 */
import type { Clock } from "./clock.js";
import { levelOf, type TextRecord } from "./record.js";
import type { HeaderShape } from "./shapes.js";

const TIME_KEYS = ["time", "ts", "timestamp", "@timestamp", "t", "date"];
const LEVEL_KEYS = ["level", "lvl", "severity", "log.level", "levelname", "loglevel"];
const MESSAGE_KEYS = ["msg", "message", "log", "text", "event"];
const COMPONENT_KEYS = ["logger", "name", "component", "caller", "module", "logger_name", "log.logger"];

/** A time value from a structured line: ISO text or epoch seconds/ms. */
function timeValue(v: unknown, clock: Clock): number {
  if (typeof v === "number") return v > 1e11 ? v : v * 1000;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) return clock.iso(v);
  return NaN;
}

/** The first key of `keys` present in `obj` (dotted ECS keys also nested), else undefined. */
function pick(obj: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const k of keys) {
    if (k in obj) return obj[k];
    const dot = k.indexOf(".");
    if (dot > 0) {
      const inner = obj[k.slice(0, dot)];
      if (inner !== null && typeof inner === "object") {
        const v = (inner as Record<string, unknown>)[k.slice(dot + 1)];
        if (v !== undefined) return v;
      }
    }
  }
  return undefined;
}

/** Fill `out` from a decoded structure; false unless it has a message field. */
function fillFrom(obj: Record<string, unknown>, out: TextRecord, clock: Clock): boolean {
  const msg = pick(obj, MESSAGE_KEYS);
  if (typeof msg !== "string") return false;
  out.message = msg.replace(/\r?\n$/, "");
  out.ts = timeValue(pick(obj, TIME_KEYS), clock);
  const level = pick(obj, LEVEL_KEYS);
  out.level = typeof level === "string" ? levelOf(level) : typeof level === "number" ? pinoLevel(level) : "";
  const comp = pick(obj, COMPONENT_KEYS);
  out.component = typeof comp === "string" ? comp : "";
  const pid = obj.pid ?? obj.thread;
  out.pid = typeof pid === "string" || typeof pid === "number" ? String(pid) : "";
  return true;
}

/** pino/bunyan numeric levels (10 trace ... 60 fatal). */
function pinoLevel(n: number): TextRecord["level"] {
  return n >= 60 ? "FATAL" : n >= 50 ? "ERROR" : n >= 40 ? "WARN" : n >= 30 ? "INFO" : n >= 20 ? "DEBUG" : "TRACE";
}

/** JSON logs with a message field. */
export const JSON_SHAPE: HeaderShape = {
  name: "json",
  example: '{"time":"2026-12-05T12:00:01Z","level":"error","logger":"db","msg":"connection refused"}',
  read(line, out, clock) {
    if (line.charCodeAt(0) !== 123) return false;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return false;
    }
    return obj !== null && typeof obj === "object" && !Array.isArray(obj) && fillFrom(obj as Record<string, unknown>, out, clock);
  },
};

/** logfmt pairs of `line`: key -> value (quotes removed, `\"` unescaped). */
export function logfmtPairs(line: string): Map<string, string> | null {
  const pairs = new Map<string, string>();
  const re = /([\w.@-]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const raw = m[2] ?? "";
    pairs.set(m[1] ?? "", raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw);
  }
  return pairs.size > 0 ? pairs : null;
}

/** logfmt lines (Go logrus/zap/slog text): the message is `msg` followed by the other pairs. */
export const LOGFMT_SHAPE: HeaderShape = {
  name: "logfmt",
  example: 'time="2026-12-05T12:00:01Z" level=error msg="upstream failed" host=db1 took=12ms',
  read(line, out, clock) {
    if (!line.includes("msg=") && !line.includes("message=")) return false;
    const pairs = logfmtPairs(line);
    if (pairs === null) return false;
    const obj: Record<string, unknown> = Object.fromEntries(pairs);
    if (!fillFrom(obj, out, clock)) return false;
    // The other pairs are part of what happened (`host=db1 took=12ms`): templated with the message.
    const rest: string[] = [];
    for (const [k, v] of pairs) {
      if (!TIME_KEYS.includes(k) && !LEVEL_KEYS.includes(k) && !MESSAGE_KEYS.includes(k) && !COMPONENT_KEYS.includes(k)) rest.push(`${k}=${v}`);
    }
    if (rest.length > 0) out.message = `${out.message} ${rest.join(" ")}`;
    return true;
  },
};

/** A container wrapper: gives the inner line of a wrapped one, or null. */
export interface Wrapper {
  readonly name: string;
  /** The inner line and whether it is whole (CRI `P` marks a partial line), or null. */
  unwrap(line: string, out: TextRecord, clock: Clock): { inner: string; whole: boolean } | null;
}

const CRI = /^(\d{4}-\d{2}-\d{2}T\S+) (stdout|stderr) ([FP]) ?(.*)$/;

/** Kubernetes CRI container lines. */
export const CRI_WRAPPER: Wrapper = {
  name: "cri",
  unwrap(line, out, clock) {
    const m = CRI.exec(line);
    if (m === null) return null;
    out.ts = clock.iso(m[1] ?? "");
    return { inner: m[4] ?? "", whole: m[3] === "F" };
  },
};

/** Docker json-file lines. */
export const DOCKER_WRAPPER: Wrapper = {
  name: "docker",
  unwrap(line, out, clock) {
    if (!line.startsWith('{"log":')) return null;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      return null;
    }
    if (obj === null || typeof obj !== "object") return null;
    const { log, time } = obj as { log?: unknown; time?: unknown };
    if (typeof log !== "string") return null;
    out.ts = timeValue(time, clock);
    const whole = log.endsWith("\n");
    return { inner: whole ? log.slice(0, log.endsWith("\r\n") ? -2 : -1) : log, whole };
  },
};
