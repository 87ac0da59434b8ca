/**
 * Runs and rejections to and from the rows of their tables, by the table definitions: a record's
 * field is its column's camelCase name (`table` for table_name); `json` columns hold the field's
 * JSON text.
 */
import type { StoredColumn, StoredTable } from '../tables';
import type { NewRejection, RejectionRecord, RunRecord } from './Database';
import type { Param, Params, StoredValue } from './Engine';
import { REJECTED_ROWS, RUNS, writtenColumns } from './auditTables';
import { LISTED_REJECTION_COLUMNS } from './statements';

function fieldOf(column: StoredColumn): string {
  return column.name === 'table_name' ? 'table' : column.name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** A parameter of the column's type. */
export function param(column: StoredColumn, value: StoredValue): Param {
  return { type: column.type, value, maxLength: column.maxLength, length: column.length };
}

function stored(column: StoredColumn, value: unknown): StoredValue {
  if (value === null || value === undefined) return null;
  return column.type === 'json' ? JSON.stringify(value) : (value as StoredValue);
}

function fromStored(columns: readonly StoredColumn[], values: readonly StoredValue[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const value = values[i];
    record[fieldOf(column)] = column.type === 'json' && typeof value === 'string' ? JSON.parse(value) : value;
  });
  return record;
}

/** The record's values as parameters named after their columns. */
function paramsOf(table: StoredTable, record: object): Params {
  const params: Record<string, Param> = {};
  for (const column of writtenColumns(table))
    params[column.name] = param(column, stored(column, (record as Record<string, unknown>)[fieldOf(column)]));
  return params;
}

export function runParams(run: RunRecord): Params {
  return paramsOf(RUNS, run);
}

export function runFromStored(values: readonly StoredValue[]): RunRecord {
  return fromStored(RUNS.columns, values) as unknown as RunRecord;
}

/** A rejection's row of rejected_rows, in the order of its written columns. */
export function rejectionValues(rejection: NewRejection, createdAt: string): StoredValue[] {
  const record: Record<string, unknown> = { ...rejection, createdAt };
  return writtenColumns(REJECTED_ROWS).map((column) => stored(column, record[fieldOf(column)]));
}

export function rejectionFromStored(values: readonly StoredValue[]): RejectionRecord {
  return fromStored(LISTED_REJECTION_COLUMNS, values) as unknown as RejectionRecord;
}
