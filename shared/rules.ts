/**
 * The data rules, in one place, for every entry point (CSV files, CSV and JSON batches, restores).
 * These checks need only the row itself; the ones that need the database (references, ids already
 * stored) are decided in `ingest/decide.ts` from what the database reports.
 */
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
/** The range of DATETIME2 on Azure SQL: a value outside it could never be stored there. */
const MIN_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
/** SQL Server accepts offsets from -14:00 to +14:00, the range of real time zones. */
const MAX_OFFSET_MINUTES = 14 * 60;

const DIGITS = /^[0-9]+$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

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
    const value = checkText(columns[i], fields[i]);
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
  const reasons: Reason[] = [];
  const row: Row = new Array(table.columns.length);
  table.columns.forEach((column, i) => {
    const result = Object.hasOwn(record, column.name) ? checkJsonValue(column, record[column.name]) : { error: 'is required' };
    if (typeof result === 'object') reasons.push({ field: column.name, message: result.error });
    else row[i] = result;
  });
  for (const key of Object.keys(record)) {
    if (!table.columns.some((c) => c.name === key)) reasons.push({ field: key.slice(0, 100), message: `is not a column of ${table.name}` });
  }
  return reasons.length ? { reasons, partial: row } : { row };
}

/** Reasons as one line of text, for logs and error messages: `datetime is required; job_id jobs has no id 9`. */
export function describeReasons(reasons: readonly Reason[]): string {
  return reasons.map((r) => (r.field ? `${r.field} ${r.message}` : r.message)).join('; ');
}

/** The row as the fields of a CSV line (the inverse of checkFields), e.g. for downloads. */
export function formatRow(table: TableDef, row: Row): string[] {
  return table.columns.map((c, i) => (c.type === 'datetime' ? formatInstant(row[i] as number) : String(row[i])));
}

/** The row as a JSON object keyed by column name. */
export function rowToObject(table: TableDef, row: Row): Record<string, number | string> {
  const object: Record<string, number | string> = {};
  table.columns.forEach((c, i) => {
    object[c.name] = c.type === 'datetime' ? formatInstant(row[i] as number) : row[i];
  });
  return object;
}

/** Canonical text of an instant: UTC, millisecond precision, e.g. 2021-07-27T16:02:08.000Z. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** Names of the columns whose values differ between two normalised rows of `table`. */
export function differingColumns(table: TableDef, a: Row, b: Row): string[] {
  return table.columns.filter((_, i) => a[i] !== b[i]).map((c) => c.name);
}

function checkJsonValue(column: ColumnDef, value: unknown): ValueResult {
  if (value === null || value === undefined) return { error: 'is required' };
  if (column.type === 'id' && typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_ID ? value : { error: idError() };
  }
  if (typeof value !== 'string') {
    return { error: column.type === 'id' ? idError() : 'must be a string' };
  }
  return checkText(column, value);
}

/** Checks one field given as text (a CSV field, or a JSON string). */
function checkText(column: ColumnDef, raw: string): ValueResult {
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
  if (!DIGITS.test(text)) return { error: idError() };
  // Leading zeros are digits too; more than 10 significant digits is out of range before Number() rounds it.
  const significant = text.replace(/^0+/, '');
  const value = significant.length > 10 ? Infinity : Number(significant);
  return value >= 1 && value <= MAX_ID ? value : { error: idError() };
}

const FORMAT_ERROR = 'must be an ISO 8601 date-time, YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]';
const MS_PER_DAY = 86_400_000;

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` to epoch ms (UTC), rounding the fraction to
 * ms. Written out by hand rather than with a RegExp and a Date: it runs once per row of every
 * load, and allocates nothing.
 */
export function parseInstant(text: string): ValueResult {
  const length = text.length;
  if (length < 19 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') {
    return { error: FORMAT_ERROR };
  }
  const year = digitsAt(text, 0, 4),
    month = digitsAt(text, 5, 7),
    day = digitsAt(text, 8, 10);
  const hour = digitsAt(text, 11, 13),
    minute = digitsAt(text, 14, 16),
    second = digitsAt(text, 17, 19);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return { error: FORMAT_ERROR };
  let i = 19;
  // Four digits of fraction are enough to round to milliseconds.
  let tenthsOfMs = 0;
  if (text[i] === '.') {
    const start = ++i;
    while (i < length && i - start < 9 && isDigit(text.charCodeAt(i))) {
      if (i - start < 4) tenthsOfMs += (text.charCodeAt(i) - 48) * 10 ** (3 - (i - start));
      i++;
    }
    if (i === start) return { error: FORMAT_ERROR };
  }
  let offsetMinutes = 0;
  if (i < length) {
    const sign = text[i];
    if (sign === 'Z' && i + 1 === length) {
      // UTC
    } else if ((sign === '+' || sign === '-') && i + 6 === length && text[i + 3] === ':') {
      const hours = digitsAt(text, i + 1, i + 3),
        minutes = digitsAt(text, i + 4, i + 6);
      if (hours < 0 || minutes < 0) return { error: FORMAT_ERROR };
      offsetMinutes = hours * 60 + minutes;
      if (minutes > 59 || offsetMinutes > MAX_OFFSET_MINUTES) return { error: `offset ${text.slice(i)} is outside -14:00 to +14:00` };
      if (sign === '-') offsetMinutes = -offsetMinutes;
    } else {
      return { error: FORMAT_ERROR };
    }
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return { error: `${text.slice(0, 19)} is not a real calendar date and time` };
  }
  const ms =
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    Math.round(tenthsOfMs / 10);
  return ms >= MIN_INSTANT && ms <= MAX_INSTANT ? ms : { error: 'is outside the years 0001 to 9999 once converted to UTC' };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The decimal number in text[from, to), or -1 if any character there is not a digit. */
function digitsAt(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}
