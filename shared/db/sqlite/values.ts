/** Conversions between normalised rows and what SQLite stores: datetimes as canonical ISO 8601 text. */
import type { Row, TableDef } from '../../tables';

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

/** Converts in place: rows fetched from SQLite are fresh arrays. */
export function fromStored(table: TableDef, row: Row): Row {
  for (const i of datetimeIndexes(table)) row[i] = Date.parse(row[i] as string);
  return row;
}
