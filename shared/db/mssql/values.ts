/** Conversions from what mssql returns to normalised rows: DATETIME2 arrives as a Date (UTC, see useUTC). */
import type { Row, TableDef } from '../../tables';

export function fromStored(table: TableDef, record: unknown[]): Row {
  const row = record as Row;
  for (let i = 0; i < table.columns.length; i++) {
    if (table.columns[i].type === 'datetime') row[i] = (record[i] as Date).getTime();
  }
  return row;
}
