import fs from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './CliError';
import { EXIT } from './exitCodes';

/** Where csv2sql writes: the answer alone on stdout (JSON with --json, else text), so that it can be piped; remarks, progress and errors on stderr. */
export class Output {
  constructor(readonly json: boolean) {}

  /** The command's answer: one JSON document with --json, else the text. */
  result(document: unknown, text: () => string): void {
    process.stdout.write(`${this.json ? JSON.stringify(document) : text()}\n`);
  }

  /** A remark for the person; with --json its content is in the document, so it is left out. */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  /** `error: <code>: <message>`, or with --json `{"error":{"code","message",...},"exitCode":n}`. */
  error(error: CliError): void {
    process.stderr.write(
      this.json
        ? `${JSON.stringify({ error: { code: error.code, message: error.message, ...error.details }, exitCode: error.exitCode })}\n`
        : `error: ${error.code}: ${error.message}\n`,
    );
  }
}

/** Rows as aligned columns under a header; columns of numbers are right-aligned. */
export function formatTable(columns: readonly string[], rows: readonly object[]): string {
  if (rows.length === 0) return '(no rows)';
  const values = rows.map((row) => columns.map((column) => (row as Record<string, unknown>)[column]));
  const cells = values.map((row) => row.map((value) => (typeof value === 'number' ? formatCount(value) : String(value ?? ''))));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i].length)));
  const numeric = columns.map((_, i) => values.every((row) => typeof row[i] === 'number'));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  const power = bytes > 0 ? Math.min(UNITS.length - 1, Math.floor(Math.log(bytes) / Math.log(1024))) : 0;
  return power === 0 ? `${bytes} B` : `${(bytes / 1024 ** power).toFixed(1)} ${UNITS[power]}`;
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** The --output file, opened before anything is asked of the service: one that cannot be written is a usage error. */
export async function outputFile(file: string): Promise<fs.WriteStream> {
  const stream = fs.createWriteStream(file);
  try {
    await once(stream, 'open');
  } catch (error) {
    throw new CliError(EXIT.usage, 'cannot_write', `--output ${file} cannot be written: ${(error as NodeJS.ErrnoException).code}`);
  }
  return stream;
}

/** Streams a download or a listing to the file, or to stdout (left open: it is the process's). */
export async function writeStream(source: Readable, file?: fs.WriteStream): Promise<void> {
  await (file ? pipeline(source, file) : pipeline(source, process.stdout, { end: false }));
}
