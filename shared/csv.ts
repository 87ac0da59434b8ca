/**
 * Streaming reader for the customer's CSV format: no header (one is tolerated), comma separated,
 * RFC 4180 quoting, CRLF, LF or both, UTF-8 with or without BOM. Papaparse does the field
 * splitting; this module feeds it bounded chunks and keeps, for each record, its line number and
 * its original text, which the rejection log must store exactly as received.
 */
import Papa from 'papaparse';
import { BadRequestError } from './errors';

export interface CsvRecord {
  /** 1-based physical line on which the record starts. */
  readonly line: number;
  readonly fields: string[];
  /** The record's text exactly as received, without its line ending. */
  readonly raw: string;
  /** Why the record could not be read as CSV (a broken quote, bytes that are not UTF-8). */
  readonly malformed?: string;
}

/** A record longer than this is a broken quote swallowing the file, not data: stop rather than buffer it. */
export const MAX_RECORD_CHARS = 1 << 20;

export interface ReadCsvOptions {
  /** Column names: a first record equal to them (case-insensitive) is a header, skipped and not counted. */
  readonly header?: readonly string[];
}

/**
 * Reads CSV records from a byte stream, yielding them in arrays (one per input chunk) so that
 * callers can work in batches. Blank lines are skipped. Memory is bounded by the chunk size plus
 * one record.
 */
export async function* readCsv(source: AsyncIterable<Uint8Array>, options: ReadCsvOptions = {}): AsyncGenerator<CsvRecord[]> {
  const decoder = new Utf8ChunkDecoder();
  const state: ParseState = { partial: '', line: 1, first: true, header: options.header?.map((h) => h.toLowerCase()) };
  for await (const bytes of source) {
    const records = parseText(state, decoder.decode(bytes), false, decoder.lossy);
    if (records.length) yield records;
  }
  const records = parseText(state, decoder.end(), true, decoder.lossy);
  if (records.length) yield records;
}

/** Reads a whole CSV text held in memory (a batch body). */
export function parseCsvText(text: string, options: ReadCsvOptions = {}): CsvRecord[] {
  const state: ParseState = { partial: '', line: 1, first: true, header: options.header?.map((h) => h.toLowerCase()) };
  return parseText(state, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, true, false);
}

interface ParseState {
  partial: string;
  line: number;
  first: boolean;
  header?: string[];
}

function parseText(state: ParseState, text: string, final: boolean, lossy: boolean): CsvRecord[] {
  const input = state.partial + text;
  const records: CsvRecord[] = [];
  let start = 0;
  const parser = new Papa.Parser({
    delimiter: ',',
    // Always split on LF: a CR before it stays at the end of the record and is removed below,
    // so CRLF, LF and files that mix them all read the same.
    newline: '\n',
    quoteChar: '"',
    step(results: Papa.ParseStepResult<string[]>) {
      const end = results.meta.cursor;
      const record = toRecord(state, input.slice(start, end), results.data as unknown as string[][], results.errors, lossy);
      start = end;
      if (record) records.push(record);
    },
  } as Papa.ParseConfig);
  const result = parser.parse(input, 0, !final) as unknown as Papa.ParseResult<string[]>;
  state.partial = final ? '' : input.slice(result.meta.cursor);
  if (state.partial.length > MAX_RECORD_CHARS) {
    throw new BadRequestError(
      `line ${state.line}: a record runs past ${MAX_RECORD_CHARS} characters; a quoted field is probably not closed`,
      'malformed_csv',
    );
  }
  return records;
}

function toRecord(state: ParseState, text: string, data: string[][], errors: Papa.ParseError[], lossy: boolean): CsvRecord | undefined {
  const line = state.line;
  state.line += countNewlines(text);
  const raw = stripLineEnding(text);
  if (raw.trim() === '') return undefined;
  const fields = data[0] ?? [];
  const last = fields.length - 1;
  // The CR of a CRLF lands in an unquoted last field; after a closing quote papaparse drops it itself.
  if (last >= 0 && text.endsWith('\r\n') && !raw.endsWith('"') && fields[last].endsWith('\r')) {
    fields[last] = fields[last].slice(0, -1);
  }
  if (state.first) {
    state.first = false;
    const header = state.header;
    if (header && fields.length === header.length && fields.every((f, i) => f.trim().toLowerCase() === header[i])) return undefined;
  }
  const malformed = errors.length
    ? `malformed CSV: ${errors[0].message.toLowerCase()}`
    : lossy && raw.includes('\uFFFD')
      ? 'is not valid UTF-8'
      : undefined;
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

/**
 * Decodes UTF-8 chunk by chunk, never splitting a character across chunks. Invalid bytes do not
 * stop the stream: they become U+FFFD and `lossy` turns on, so the rows holding them are
 * rejected with a reason instead of being stored altered.
 */
class Utf8ChunkDecoder {
  private readonly strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lenient = new TextDecoder('utf-8', { ignoreBOM: true });
  private carry: Uint8Array | undefined;
  private started = false;
  lossy = false;

  decode(chunk: Uint8Array): string {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = completeLength(bytes);
    this.carry = end < bytes.length ? bytes.slice(end) : undefined;
    return this.text(bytes.subarray(0, end));
  }

  end(): string {
    const rest = this.carry ?? new Uint8Array(0);
    this.carry = undefined;
    return this.text(rest);
  }

  private text(bytes: Uint8Array): string {
    let text: string;
    try {
      text = this.strict.decode(bytes);
    } catch {
      this.lossy = true;
      text = this.lenient.decode(bytes);
    }
    if (!this.started && text.length) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }
}

/** Length of the prefix of `bytes` that ends on a character boundary (an incomplete tail waits for the next chunk). */
function completeLength(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) !== 0x80) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > back ? n - back : n;
    }
  }
  return n;
}
