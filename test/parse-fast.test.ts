/**
 * Differential tests of the JSON parser's lookups against JSON.parse's object
 * walked key by key (own properties only, null as absent), on fast-check-generated
 * lines (seeded): nested objects, arrays, duplicate keys, escaped keys and keys
 * that Object.prototype also has. A field mapped to a generated path must read
 * exactly what a one-key line holding the walked value reads.
 *
 * (A field-targeted reader that skips JSON.parse was measured and lost to it:
 * see docs/benchmarks.md, "issue 15 progress".)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createParser, FIELD_NAMES, type FieldName } from "../src/streams/http/parse.js";
import { emptyRecord, type LogRecord } from "../src/streams/http/record.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);

/** Keys of the generated objects: mapped-looking ones, Object.prototype's, and an escaped one. */
const KEYS = [
  "status", "route", "req", "url", "headers", "user-agent", "ts", "a", "0", "constructor", "__proto__", "toString",
  "hasOwnProperty", "valueOf", "st\u0061tus",
];

/** Values a field may meet: numbers and strings of every kind a field reads, and the other JSON types. */
const leaf = fc.oneof(
  fc.constantFrom(200, 404, 599, 600, 99, 1.5, -0, 1e21, 1795643081487, 1795643081, "200", " 404 ", "0x1F", "", "-",
    "/api/orders/1?x=2", "GET", "post", "2026-11-25T21:44:48.631Z", "25/Nov/2026:21:44:44 +0000", "12ms", "0.5s",
    "203.0.113.9, 10.0.0.1", "Mozilla/5.0", true, false, null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
);

/** JSON text of a value: a leaf, an array, or an object written member by member (keys may repeat). */
const { json } = fc.letrec<{ json: string; object: string }>((tie) => ({
  json: fc.oneof(
    { arbitrary: leaf.map((v) => JSON.stringify(v)), weight: 3 },
    { arbitrary: fc.array(tie("json"), { maxLength: 3 }).map((a) => `[${a.join(",")}]`), weight: 1 },
    { arbitrary: tie("object"), weight: 2 },
  ),
  object: fc
    .array(fc.tuple(fc.constantFrom(...KEYS), tie("json"), fc.boolean()), { maxLength: 5, depthIdentifier: "obj" })
    .map((members) => `{${members.map(([k, v, escaped]) => `${escaped ? escapeKey(k) : JSON.stringify(k)}: ${v}`).join(", ")}}`),
}));

/** A key written with its first character as a \u escape (JSON.parse reads the same key). */
function escapeKey(k: string): string {
  if (k === "") return '""';
  return `"\\u${k.charCodeAt(0).toString(16).padStart(4, "0")}${JSON.stringify(k.slice(1)).slice(1)}`;
}

/** The value at `path` in JSON.parse's object: own keys only, step by step; null counts as absent. */
function walk(doc: unknown, path: readonly string[]): unknown {
  let cur = doc;
  for (const key of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    const desc = Object.getOwnPropertyDescriptor(cur, key);
    if (desc === undefined) return undefined;
    cur = desc.value;
  }
  return cur === null ? undefined : cur;
}

/** Reason and record of parsing `line` with `fields`. */
function parseWith(line: string, fields: Partial<Record<FieldName, string>>): [string | null, LogRecord] {
  const out = emptyRecord();
  const reason = createParser("json", { fields }).parse(line, out);
  return [reason, { ...out }];
}

/** Every field mapped somewhere no generated line has a key ("zz..."), route to "zr", `field` to `spec`. */
function mapping(field: FieldName, spec: string): Partial<Record<FieldName, string>> {
  const fields: Partial<Record<FieldName, string>> = {};
  for (const f of FIELD_NAMES) fields[f] = `zz_${f}`;
  if (field !== "route") fields.route = "zr";
  fields[field] = spec;
  return fields;
}

describe("JSON field lookups agree with JSON.parse's object walked key by key", () => {
  it.each(FIELD_NAMES.map((f) => [f]))("%s at a generated path", (field) => {
    const path = fc.array(fc.constantFrom(...KEYS.slice(0, 14)), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(json, path, (body, keys) => {
        const line = `{"zr": "/ok", "doc": ${body}}`;
        const full = ["doc", ...keys];
        const spec = full.map((k) => `["${k}"]`).join("");
        const found = walk(JSON.parse(line), full);
        // JSON.stringify writes -0 as 0; the record would tell them apart.
        const text = Object.is(found, -0) ? "-0" : JSON.stringify(found);
        const alone = found === undefined ? `{"zr": "/ok"}` : `{"zr": "/ok", "x": ${text}}`;
        expect(parseWith(line, mapping(field, spec))).toEqual(parseWith(alone, mapping(field, "x")));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("finds nothing on Object.prototype, whatever the path", () => {
    for (const key of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      expect(parseWith('{"zr": "/ok"}', mapping("route", key))).toEqual(parseWith("{}", mapping("route", "zz")));
      const [reason, rec] = parseWith(`{"zr": "/ok", "${key}": "/own"}`, mapping("route", key));
      expect(reason).toBeNull();
      expect(rec.route).toBe("/own");
    }
  });
});
