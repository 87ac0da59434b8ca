/**
 * The data rules, in one place, for every entry point (CSV files, CSV and JSON batches, restores).
 * These checks need only the row itself; the ones that need the database (references, ids already
 * stored) are decided in `ingest/decide.ts` from what the database reports.
 */
import { checkInstantMs, formatInstant, parseInstant } from './instant';
import type { ColumnDef, Row, TableDef } from './tables';

/** Why a row was rejected. `field` is null when the reason concerns the whole row. */
export interface Reason {
  readonly field: string | null;
  readonly message: string;
}

/**
 * A valid row, or the reasons it is not, with the values that did pass (`partial`), so that the
 * database-side rules can still report on them: every reason is reported at once.
 */
export type Checked =
  | { readonly row: Row; readonly reasons?: undefined }
  | { readonly row?: undefined; readonly reasons: Reason[]; readonly partial?: Partial<Row> };

export const MAX_ID = 2147483647;
/** NVARCHAR(255) holds 255 UTF-16 code units, so that is what "255 characters" means here. */
export const MAX_TEXT_LENGTH = 255;

type ValueResult = number | string | { error: string };

/** Checks a CSV row: exactly the table's fields, in column order. */
export function checkFields(table: TableDef, fields: readonly string[]): Checked {
  const { columns } = table;
  if (fields.length !== columns.length) {
    return {
      reasons: [
        {
          field: null,
          message: `expected ${columns.length} fields (${columns.map((c) => c.name).join(',')}), got ${fields.length}`,
        },
      ],
    };
  }
  const row: Row = new Array(columns.length);
  let reasons: Reason[] | undefined;
  for (let i = 0; i < columns.length; i++) {
    const value = parseField(columns[i], fields[i]);
    if (typeof value === 'object') (reasons ??= []).push({ field: columns[i].name, message: value.error });
    else row[i] = value;
  }
  return reasons ? { reasons, partial: row } : { row };
}

/** Checks a JSON row: an object with exactly the table's keys. */
export function checkObject(table: TableDef, value: unknown): Checked {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { reasons: [{ field: null, message: `must be a JSON object with the keys ${table.columns.map((c) => c.name).join(', ')}` }] };
  }
  const record = value as Record<string, unknown>;
  const { row, reasons: columnReasons } = checkColumns(table, record, parseJsonValue);
  let reasons = columnReasons;
  for (const key of Object.keys(record)) {
    if (!table.columns.some((c) => c.name === key))
      (reasons ??= []).push({ field: key.slice(0, 100), message: `is not a column of ${table.name}` });
  }
  return reasons ? { reasons, partial: row } : { row };
}

/**
 * Checks a backup's record: the table's columns as stored (datetimes as epoch ms, Avro's
 * timestamp-millis), held to the same rules as a JSON row, without making a datetime's text.
 */
export function checkStored(table: TableDef, record: Record<string, unknown>): Checked {
  const { row, reasons } = checkColumns(table, record, parseStoredValue);
  return reasons ? { reasons, partial: row } : { row };
}

/**
 * Each column's value in `record` as `parse` reads it, a missing one as undefined: the values
 * that pass, and the reasons of those that do not. A loop without a closure or a list of reasons
 * per row: a restore checks millions.
 */
function checkColumns(
  table: TableDef,
  record: Record<string, unknown>,
  parse: (column: ColumnDef, value: unknown) => ValueResult,
): { row: Row; reasons?: Reason[] } {
  const { columns } = table;
  const row: Row = new Array(columns.length);
  let reasons: Reason[] | undefined;
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i];
    const result = parse(column, Object.hasOwn(record, column.name) ? record[column.name] : undefined);
    if (typeof result === 'object') (reasons ??= []).push({ field: column.name, message: result.error });
    else row[i] = result;
  }
  return { row, reasons };
}

/** Reasons as one line of text, for logs and error messages: `datetime is required; job_id jobs has no id 9`. */
export function describeReasons(reasons: readonly Reason[]): string {
  return reasons.map((r) => (r.field ? `${r.field} ${r.message}` : r.message)).join('; ');
}

/** The row as a JSON object keyed by column name. */
export function rowToObject(table: TableDef, row: Row): Record<string, number | string> {
  const object: Record<string, number | string> = {};
  table.columns.forEach((c, i) => {
    object[c.name] = c.type === 'datetime' ? formatInstant(row[i] as number) : row[i];
  });
  return object;
}

/** Names of the columns whose values differ between two normalised rows of `table`. */
export function differingColumns(table: TableDef, a: Row, b: Row): string[] {
  return table.columns.filter((_, i) => a[i] !== b[i]).map((c) => c.name);
}

function parseStoredValue(column: ColumnDef, value: unknown): ValueResult {
  return column.type === 'datetime' && typeof value === 'number' ? checkInstantMs(value) : parseJsonValue(column, value);
}

function parseJsonValue(column: ColumnDef, value: unknown): ValueResult {
  if (value === null || value === undefined) return { error: 'is required' };
  if (column.type === 'id' && typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : { error: idError() };
  }
  if (typeof value !== 'string') {
    return { error: column.type === 'id' ? idError() : 'must be a string' };
  }
  return parseField(column, value);
}

/** Checks one field given as text (a CSV field, or a JSON string). */
function parseField(column: ColumnDef, raw: string): ValueResult {
  const text = raw.trim();
  if (text === '') return { error: 'is required' };
  switch (column.type) {
    case 'id':
      return parseId(text);
    case 'text':
      return text.length <= MAX_TEXT_LENGTH ? text : { error: `must be at most ${MAX_TEXT_LENGTH} characters, got ${text.length}` };
    case 'datetime':
      return parseInstant(text);
  }
}

function idError(): string {
  return `must be a whole number from 1 to ${MAX_ID}`;
}

function parseId(text: string): ValueResult {
  // Digit by digit, stopping once past MAX_ID: leading zeros are digits too, and no string is made.
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return { error: idError() };
    if (value <= MAX_ID) value = value * 10 + digit;
  }
  return value >= 1 && value <= MAX_ID ? value : { error: idError() };
}
