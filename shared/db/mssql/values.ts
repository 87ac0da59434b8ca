/** The store's values to and from what mssql sends and returns, by column type. */
import type sql from 'mssql';
import type { StoredColumn } from '../../tables';
import type { Params, StoredValue } from '../Engine';
import { columnType } from './ddl';

/** Adds the parameters to the request, typed as their columns: DATETIME2 from epoch ms or ISO text. */
export function bind(request: sql.Request, params: Params): sql.Request {
  for (const [name, param] of Object.entries(params)) {
    const { value } = param;
    const instant = (param.type === 'datetime' || param.type === 'timestamp') && value !== null;
    request.input(name, columnType(param).driver(), instant ? new Date(value as number | string) : value);
  }
  return request;
}

/**
 * Rows in the store's form; the rows are converted in place. DATETIME2 arrives as a Date (UTC, see
 * useUTC), BIGINT as a string (counts and ids stay far below 2^53), BIT as a boolean.
 */
export function fromStored(columns: readonly StoredColumn[], rows: unknown[][]): StoredValue[][] {
  const conversions = columns.flatMap((c, i): { i: number; convert: (v: unknown) => StoredValue }[] => {
    if (c.type === 'datetime') return [{ i, convert: (v: unknown) => (v as Date).getTime() }];
    if (c.type === 'timestamp') return [{ i, convert: (v: unknown) => (v as Date).toISOString() }];
    if (c.type === 'bigint') return [{ i, convert: (v: unknown) => Number(v) }];
    return [];
  });
  if (conversions.length) {
    for (const row of rows) for (const { i, convert } of conversions) if (row[i] !== null) row[i] = convert(row[i]);
  }
  return rows as StoredValue[][];
}
