/**
 * Streaming reader for the customer's CSV format: no header (one is tolerated), comma separated,
 * RFC 4180 quoting, CRLF, LF or both, UTF-8 with or without BOM. Papaparse does the field
 * splitting; this module feeds it bounded chunks and keeps, for each record, its line number and
 * its original text, which the rejection log must store exactly as received.
 */
import Papa from 'papaparse';
import { fromFixRecord, REASONS_COLUMN } from './ingest/fixFormat';
import { Utf8ChunkDecoder, type DecodedText, type InvalidRange } from './utf8Chunks';

export interface CsvRecord {
  /** 1-based physical line on which the record starts. */
  readonly line: number;
  readonly fields: string[];
  /** The record's text exactly as received, without its line ending. */
  readonly raw: string;
  /** Why the record could not be read as CSV (a broken quote, bytes that are not UTF-8). */
  readonly malformed?: string;
}

/** A record longer than this is a broken quote swallowing the file, or no record at all: rejected rather than buffered. */
export const MAX_RECORD_CHARS = 1 << 20;
/** How much of such a record is kept, for the rejection. */
const KEPT_CHARS = 1024;

export interface ReadCsvOptions {
  /** Column names: a first record equal to them (case-insensitive) is a header, skipped and not counted. */
  readonly header?: readonly string[];
}

/**
 * Where reading stands between two records: enough to go on from there in another process, with
 * the file's bytes from `offset` on, exactly as one pass would.
 */
export interface CsvPosition {
  /** Bytes of the stream before the next record (or before the rest of a line being skipped). */
  readonly offset: number;
  /** The line the next record starts on. */
  readonly line: number;
  /** No record has been read yet: the next may be a header. */
  readonly first: boolean;
  /** The header named the fix-and-resend format's reasons column. */
  readonly fixFormat: boolean;
  /** The rest of an over-long line is being skipped. */
  readonly skipping: boolean;
}

export const START_OF_FILE: CsvPosition = { offset: 0, line: 1, first: true, fixFormat: false, skipping: false };

/** Records read from one chunk of input, and the position after them. */
export interface CsvChunk {
  readonly records: CsvRecord[];
  readonly next: CsvPosition;
}

/**
 * Reads CSV records from a byte stream, yielding them in arrays (one per input chunk) so that
 * callers can work in batches. Blank lines are skipped. Memory is bounded by the chunk size plus
 * one record.
 */
export async function* readCsv(source: AsyncIterable<Uint8Array>, options: ReadCsvOptions = {}): AsyncGenerator<CsvRecord[]> {
  for await (const { records } of readCsvFrom(source, START_OF_FILE, options)) if (records.length) yield records;
}

/** readCsv from a position: `source` holds the stream's bytes from `from.offset` on. Each chunk says where reading then stands. */
export async function* readCsvFrom(
  source: AsyncIterable<Uint8Array>,
  from: CsvPosition,
  options: ReadCsvOptions = {},
): AsyncGenerator<CsvChunk> {
  const decoder = new Utf8ChunkDecoder(from.offset === 0);
  const state = newState(options, from);
  for await (const bytes of source) {
    state.bytes += bytes.length;
    const records = parseText(state, decoder.decode(bytes), false);
    yield { records, next: position(state, decoder) };
  }
  const records = parseText(state, decoder.end(), true);
  yield { records, next: position(state, decoder) };
}

function position(state: ParseState, decoder: Utf8ChunkDecoder): CsvPosition {
  // The unfinished record's bytes: its text's UTF-8, corrected where bytes that were not UTF-8 became U+FFFD.
  const base = state.consumed - state.partial.length;
  let partialBytes = Buffer.byteLength(state.partial);
  for (const [from, to, bytes] of state.invalid) {
    if (from >= base) partialBytes += bytes - Buffer.byteLength(state.partial.slice(from - base, to - base));
  }
  return {
    offset: state.bytes - decoder.carriedBytes - partialBytes,
    line: state.line,
    first: state.first,
    fixFormat: !!state.fixFormat,
    skipping: !!state.skipping,
  };
}

/** Bytes parsed at a time by parseCsvBytes, so that it can stop early. */
const BATCH_CHUNK_BYTES = 64 * 1024;

/**
 * Reads a whole CSV body held in memory (a batch), by the same rules as readCsv, in chunks: once
 * more than `maxRecords` are read it stops and returns them, leaving the rest unparsed.
 */
export function parseCsvBytes(bytes: Uint8Array, options: ReadCsvOptions, maxRecords: number): CsvRecord[] {
  const decoder = new Utf8ChunkDecoder();
  const state = newState(options, START_OF_FILE);
  const records: CsvRecord[] = [];
  for (let start = 0; start < bytes.length && records.length <= maxRecords; start += BATCH_CHUNK_BYTES) {
    records.push(...parseText(state, decoder.decode(bytes.subarray(start, start + BATCH_CHUNK_BYTES)), false));
  }
  if (records.length <= maxRecords) records.push(...parseText(state, decoder.end(), true));
  return records;
}

interface ParseState {
  partial: string;
  /** Characters decoded so far; `partial` ends here. */
  consumed: number;
  /** Bytes of the stream received so far, from its start (a resumed read starts at its offset). */
  bytes: number;
  /** Character ranges [start, end) of the stream that were decoded from invalid UTF-8, with their bytes. */
  invalid: InvalidRange[];
  line: number;
  first: boolean;
  header?: string[];
  /** Set while the rest of an over-long line is dropped. */
  skipping?: boolean;
  /** The header named the fix-and-resend format's reasons column. */
  fixFormat?: boolean;
}

function newState(options: ReadCsvOptions, from: CsvPosition): ParseState {
  return {
    partial: '',
    consumed: 0,
    bytes: from.offset,
    invalid: [],
    line: from.line,
    first: from.first,
    fixFormat: from.fixFormat,
    skipping: from.skipping,
    header: options.header?.map((h) => h.toLowerCase()),
  };
}

function parseText(state: ParseState, decoded: DecodedText, final: boolean): CsvRecord[] {
  if (state.skipping) decoded = skipRestOfLine(state, decoded);
  const records: CsvRecord[] = [];
  parseInput(state, decoded, final, records);
  if (state.partial.length > MAX_RECORD_CHARS && rejectFirstLine(state, records)) {
    // The lines after it, read again once; if they too run past the limit, they go with it.
    parseInput(state, { text: '', invalid: [] }, false, records);
    if (state.partial.length > MAX_RECORD_CHARS) dropPartial(state, records);
  }
  return records;
}

function parseInput(state: ParseState, decoded: DecodedText, final: boolean, records: CsvRecord[]): void {
  const { text } = decoded;
  const base = state.consumed - state.partial.length;
  for (const [from, to, bytes] of decoded.invalid) state.invalid.push([state.consumed + from, state.consumed + to, bytes]);
  state.consumed += text.length;
  const input = state.partial + text;
  const end =
    state.invalid.length === 0 && input.indexOf('"') === -1
      ? splitRecords(state, input, final, records)
      : steppedRecords(state, input, final, base, records);
  state.partial = final ? '' : input.slice(end);
  state.invalid = state.invalid.filter(([, to]) => to > state.consumed - state.partial.length);
}

/** A record rejected for its length, keeping a copy of its first characters (a slice would keep the whole text alive). */
function tooLongRecord(line: number, text: string): CsvRecord {
  return {
    line,
    fields: [],
    raw: Buffer.from(stripLineEnding(text.slice(0, KEPT_CHARS)), 'utf8').toString('utf8'),
    malformed: `record_too_long: the record is longer than ${MAX_RECORD_CHARS} characters (a quoted field that is never closed, or a line without an end); reading goes on at the next line`,
  };
}

/**
 * The unfinished record has grown past MAX_RECORD_CHARS: a quote that is never closed, or a line
 * without an end. Its first line is rejected on its own. Returns whether lines follow it in what
 * was read, to be read again as records of their own (the partial is the tail of what was
 * decoded, so positions hold); with no line end yet, the rest of the line is skipped as it comes.
 */
function rejectFirstLine(state: ParseState, records: CsvRecord[]): boolean {
  const newline = state.partial.indexOf('\n');
  records.push(tooLongRecord(state.line, newline === -1 ? state.partial : state.partial.slice(0, newline)));
  state.line++;
  state.first = false;
  if (newline === -1) {
    state.partial = '';
    state.invalid = [];
    state.skipping = true;
    return false;
  }
  state.partial = state.partial.slice(newline + 1);
  return true;
}

/** Read again, the lines still run past the limit: all of them are rejected as one record, and reading goes on after the next line end. */
function dropPartial(state: ParseState, records: CsvRecord[]): void {
  records.push(tooLongRecord(state.line, state.partial));
  state.line += countNewlines(state.partial) + 1;
  state.first = false;
  state.partial = '';
  state.invalid = [];
  state.skipping = true;
}

/** Drops the text up to and including the next line end, while an over-long line is skipped. */
function skipRestOfLine(state: ParseState, decoded: DecodedText): DecodedText {
  const newline = decoded.text.indexOf('\n');
  const skipped = newline === -1 ? decoded.text.length : newline + 1;
  state.consumed += skipped;
  if (newline !== -1) state.skipping = false;
  return {
    text: decoded.text.slice(skipped),
    invalid: decoded.invalid
      .filter(([, to]) => to > skipped)
      .map(([from, to, bytes]) => [Math.max(0, from - skipped), to - skipped, bytes]),
  };
}

/**
 * The common case, text without quotes or bad bytes: papaparse only splits, and each record's
 * original text is its fields joined by commas, computed only if it is asked for (a rejection).
 * Returns where the unfinished last line starts.
 */
function splitRecords(state: ParseState, input: string, final: boolean, records: CsvRecord[]): number {
  const result = new Papa.Parser({ delimiter: ',', newline: '\n', quoteChar: '"' }).parse(input, 0, !final) as unknown as Papa.ParseResult<
    string[]
  >;
  const rows = result.data;
  for (let i = 0; i < rows.length; i++) {
    const fields = rows[i];
    const line = state.line++;
    const last = fields.length - 1;
    const terminated = !final || i < rows.length - 1 || input.endsWith('\n');
    if (terminated && fields[last].endsWith('\r')) fields[last] = fields[last].slice(0, -1);
    if (last === 0 && fields[0].trim() === '') continue;
    if (isHeader(state, fields)) continue;
    // A record that ended within one large chunk is held to the limit too.
    if (input.length > MAX_RECORD_CHARS && fields.reduce((n, f) => n + f.length + 1, 0) > MAX_RECORD_CHARS)
      records.push(tooLongRecord(line, fields.join(',')));
    else records.push(ownRecord(state, new SplitRecord(line, fields)));
  }
  return result.meta.cursor;
}

class SplitRecord implements CsvRecord {
  constructor(
    readonly line: number,
    readonly fields: string[],
  ) {}

  get raw(): string {
    return this.fields.join(',');
  }
}

/** The general case: papaparse reports each record's end, from which its exact text is cut. */
function steppedRecords(state: ParseState, input: string, final: boolean, base: number, records: CsvRecord[]): number {
  let start = 0;
  const parser = new Papa.Parser({
    delimiter: ',',
    // Always split on LF: a CR before it stays at the end of the record and is removed below,
    // so CRLF, LF and files that mix them all read the same.
    newline: '\n',
    quoteChar: '"',
    step(results: Papa.ParseStepResult<string[]>) {
      const end = results.meta.cursor;
      const invalid = state.invalid.some(([from, to]) => from < base + end && to > base + start);
      const record = toRecord(state, input.slice(start, end), results.data as unknown as string[][], results.errors, invalid);
      start = end;
      if (record) records.push(record);
    },
  } as Papa.ParseConfig);
  return (parser.parse(input, 0, !final) as unknown as Papa.ParseResult<string[]>).meta.cursor;
}

/**
 * Whether `fields` is the file's first record and names the columns: a header, skipped. Named
 * with the fix-and-resend format's last column too, it says the records are in that format.
 */
function isHeader(state: ParseState, fields: string[]): boolean {
  if (!state.first) return false;
  state.first = false;
  const header = state.header;
  const names = fields.map((f) => f.trim().toLowerCase());
  if (!header) return false;
  if (names.length === header.length + 1 && names.at(-1) === REASONS_COLUMN && header.every((h, i) => names[i] === h)) {
    state.fixFormat = true;
    return true;
  }
  return names.length === header.length && header.every((h, i) => names[i] === h);
}

/** A record of the fix-and-resend format as the table's own (fixFormat.ts); others as they are. */
function ownRecord(state: ParseState, record: CsvRecord): CsvRecord {
  if (!state.fixFormat || record.malformed) return record;
  return { line: record.line, ...fromFixRecord(record.fields) };
}

function toRecord(
  state: ParseState,
  text: string,
  data: string[][],
  errors: Papa.ParseError[],
  invalidUtf8: boolean,
): CsvRecord | undefined {
  const line = state.line;
  state.line += countNewlines(text);
  const raw = stripLineEnding(text);
  if (raw.length > MAX_RECORD_CHARS) {
    state.first = false;
    return tooLongRecord(line, raw);
  }
  if (raw.trim() === '') return undefined;
  const fields = data[0] ?? [];
  const last = fields.length - 1;
  // The CR of a CRLF lands in an unquoted last field; after a closing quote papaparse drops it itself.
  if (last >= 0 && text.endsWith('\r\n') && fields[last].endsWith('\r') && (!raw.endsWith('"') || fields[last].endsWith('"\r'))) {
    fields[last] = fields[last].slice(0, -1);
  }
  if (isHeader(state, fields)) return undefined;
  if (state.fixFormat && !errors.length && !invalidUtf8) return ownRecord(state, { line, fields, raw });
  const malformed = errors.length ? `malformed CSV: ${errors[0].message.toLowerCase()}` : invalidUtf8 ? 'is not valid UTF-8' : undefined;
  return malformed ? { line, fields, raw, malformed } : { line, fields, raw };
}

function stripLineEnding(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}
