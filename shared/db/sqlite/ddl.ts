/** SQLite DDL, generated from the table definitions. Every statement is idempotent. */
import { RETIRED_INDEXES, TABLES, type StoredColumn, type StoredTable, type StoredType } from '../../tables';
import { AUDIT_TABLES, isNullable } from '../auditTables';

const TYPES: Record<StoredType, string> = {
  id: 'INTEGER',
  text: 'TEXT',
  // Milliseconds since 1970-01-01T00:00:00Z, as in a normalised row and in the Avro backups
  // (timestamp-millis): nothing is converted on the way in or out, and an integer key makes the
  // hire-date index smaller than one on ISO 8601 text, so more of it stays in the cache.
  datetime: 'INTEGER',
  string: 'TEXT',
  bigint: 'INTEGER',
  boolean: 'INTEGER',
  // ISO 8601 text in UTC, which orders as the instants do.
  timestamp: 'TEXT',
  json: 'TEXT',
};

export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** INSERT of `rows` rows of `columns` into `table`, their values bound in order. */
export function insertStatement(table: string, columns: readonly string[], rows: number): string {
  const row = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`;
}

function columnDefinition(table: StoredTable, column: StoredColumn, withConstraints: boolean): string {
  if (column.generated) return `${quote(column.name)} INTEGER PRIMARY KEY AUTOINCREMENT`;
  const parts = [quote(column.name), TYPES[column.type]];
  if (!isNullable(column)) parts.push('NOT NULL');
  if (column === table.columns[0]) parts.push('PRIMARY KEY');
  if (withConstraints && column.references) parts.push(`REFERENCES ${quote(column.references)} (id)`);
  return parts.join(' ');
}

/** CREATE TABLE for `name` with the columns of `table`: the table itself, or a scratch copy without foreign keys. */
export function createTable(table: StoredTable, name: string = table.name): string {
  const columns = table.columns.map((c) => columnDefinition(table, c, name === table.name)).join(', ');
  // STRICT: a value of the wrong type is an error, as it would be on Azure SQL.
  return `CREATE TABLE IF NOT EXISTS ${quote(name)} (${columns}) STRICT`;
}

/** ALTER TABLE that adds `column`, for a table created before it. */
export function addColumn(table: StoredTable, column: StoredColumn): string {
  return `ALTER TABLE ${quote(table.name)} ADD COLUMN ${columnDefinition(table, column, true)}`;
}

/** Every table the service stores, in dependency order. */
export const STORED_TABLES: readonly StoredTable[] = [...TABLES, ...AUDIT_TABLES];

/** The tables and their indexes; run after the columns that older tables lack have been added. */
export function schemaStatements(): string[] {
  return STORED_TABLES.flatMap((table) => [createTable(table), ...indexStatements(table)]);
}

/** Creates the table's secondary indexes that are missing. */
export function indexStatements(table: StoredTable): string[] {
  return table.indexes.map(
    (index) => `CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${quote(table.name)} (${index.columns.map(quote).join(', ')})`,
  );
}

/** Drops the table's secondary indexes. */
export function dropIndexStatements(table: StoredTable): string[] {
  return table.indexes.map(dropIndex);
}

/** Drops the indexes of earlier versions. */
export function retiredIndexStatements(): string[] {
  return RETIRED_INDEXES.map(dropIndex);
}

function dropIndex(index: { readonly name: string }): string {
  return `DROP INDEX IF EXISTS ${quote(index.name)}`;
}
