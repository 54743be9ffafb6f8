/**
 * The templates of a whole log, line by line (`logforest patterns`): the file's header
 * shape detected from its first lines, each record's message learned by one miner,
 * and every line labelled with the template its record counts under at the end
 * (merges made later in the file apply to earlier lines too).
 */
import { readLineBatches } from "../lines.js";
import { csvField } from "./loghub.js";
import { TemplateMiner, rootOf, templateText, type MinerOptions, type Template } from "./miner.js";
import { TextReader, firstLine, type TextReaderOptions } from "./reader.js";

/** Lines read to choose the header shape. */
export const SAMPLE_LINES = 200;

/** One line's template, as Loghub's columns name it. */
export interface PatternRow {
  lineId: number;
  eventId: string;
  template: string;
}

/** A log's templates and its lines' labels. */
export interface PatternsResult {
  /** One row per line, LineId from 1. */
  rows: PatternRow[];
  /** Event id -> template text. */
  templates: Map<string, string>;
  /** Event id -> lines. */
  counts: Map<string, number>;
  /** The reader (its shape, counts and time notes). */
  reader: TextReader;
  /** The miner (its templates, merges, evictions). */
  miner: TemplateMiner;
}

/** Event id of a template: `E` and its id. */
function eventId(t: Template): string {
  return `E${t.id}`;
}

/** Learns over lines pushed in order, then labels them all. */
class Labeller {
  private readonly perLine: Template[] = [];
  private reader: TextReader | null = null;
  readonly miner: TemplateMiner;

  constructor(private readonly readerOptions: TextReaderOptions, minerOptions: MinerOptions) {
    this.miner = new TemplateMiner(minerOptions);
  }

  push(lines: readonly string[], first: number): void {
    const reader = this.reader ?? (this.reader = TextReader.detect(lines.slice(0, SAMPLE_LINES), this.readerOptions));
    for (let i = 0; i < lines.length; i++) reader.push(lines[i] ?? "", first + i, this.onRecord);
  }

  private readonly onRecord = (rec: { message: string }, line: number, span: number): void => {
    const t = this.miner.learn(firstLine(rec.message));
    for (let k = 0; k < span; k++) this.perLine[line - 1 + k] = t;
  };

  finish(): PatternsResult {
    const reader = this.reader ?? TextReader.detect([], this.readerOptions);
    reader.flush(this.onRecord);
    const templates = new Map<string, string>();
    const counts = new Map<string, number>();
    const rows = this.perLine.map((t, i) => {
      const root = rootOf(t);
      const id = eventId(root);
      if (!templates.has(id)) templates.set(id, templateText(root));
      counts.set(id, (counts.get(id) ?? 0) + 1);
      return { lineId: i + 1, eventId: id, template: templateText(root) };
    });
    return { rows, templates, counts, reader, miner: this.miner };
  }
}

/** The templates of `lines` (one log, in order). */
export function parseLines(lines: readonly string[], readerOptions: TextReaderOptions = {}, minerOptions: MinerOptions = {}): PatternsResult {
  const l = new Labeller(readerOptions, minerOptions);
  l.push(lines, 1);
  return l.finish();
}

/** The templates of the log at `path`, read in batches. */
export async function parseFile(path: string, readerOptions: TextReaderOptions = {}, minerOptions: MinerOptions = {}): Promise<PatternsResult> {
  const l = new Labeller(readerOptions, minerOptions);
  await readLineBatches(path, (lines, first) => l.push(lines, first));
  return l.finish();
}

/** Loghub's per-line CSV of a result: `LineId,EventId,EventTemplate`, one row per line. */
export function patternsCsv(result: PatternsResult): string {
  const parts = ["LineId,EventId,EventTemplate\n"];
  for (const r of result.rows) parts.push(`${r.lineId},${r.eventId},${csvField(r.template)}\n`);
  return parts.join("");
}

/** A result's summary: what was read, what was assumed, and the templates by count. */
export function patternsSummary(result: PatternsResult): Record<string, unknown> {
  const { reader, miner } = result;
  const notes = reader.notes;
  return {
    lines: result.rows.length,
    records: reader.counts.records,
    shape: reader.name,
    continuation_lines: reader.counts.continuation,
    headerless_lines: reader.counts.headerless,
    time: { assumed_year: notes.noYear > 0 ? reader.clock.assumedYear : null, no_year: notes.noYear, no_zone: notes.noZone, no_date: notes.noDate },
    templates: result.templates.size,
    merges: miner.merges,
    evicted: miner.evicted,
    events: [...result.counts].sort((a, b) => b[1] - a[1]).map(([id, count]) => ({ event_id: id, count, template: result.templates.get(id) ?? "" })),
  };
}
