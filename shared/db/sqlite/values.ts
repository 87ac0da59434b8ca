/** Conversions between normalised rows and what SQLite stores: datetimes as canonical ISO 8601 text. */
import type { Row, TableDef } from '../../tables';
import { quote } from './ddl';

const datetimeColumns = new Map<TableDef, number[]>();

function datetimeIndexes(table: TableDef): number[] {
  let indexes = datetimeColumns.get(table);
  if (!indexes) {
    indexes = table.columns.flatMap((c, i) => (c.type === 'datetime' ? [i] : []));
    datetimeColumns.set(table, indexes);
  }
  return indexes;
}

export function toStored(table: TableDef, row: Row): Row {
  const indexes = datetimeIndexes(table);
  if (indexes.length === 0) return row;
  const stored = row.slice();
  for (const i of indexes) stored[i] = new Date(row[i] as number).toISOString();
  return stored;
}

/**
 * The columns of `table` selected as a normalised row: datetimes converted to epoch milliseconds
 * by SQLite itself (exact for every DATETIME2 value), so no read converts them row by row in JS.
 */
export function normalisedColumns(table: TableDef): string {
  return table.columns
    .map((c) => (c.type === 'datetime' ? `CAST(ROUND(unixepoch(${quote(c.name)}, 'subsec') * 1000) AS INTEGER)` : quote(c.name)))
    .join(', ');
}
