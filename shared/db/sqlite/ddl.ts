/** SQLite DDL, generated from the table definitions. Every statement is idempotent. */
import { TABLES, type ColumnDef, type TableDef } from '../../tables';

const TYPES: Record<ColumnDef['type'], string> = {
  id: 'INTEGER',
  text: 'TEXT',
  // Milliseconds since 1970-01-01T00:00:00Z, as in a normalised row and in the Avro backups
  // (timestamp-millis): nothing is converted on the way in or out, and an integer key makes the
  // hire-date index half the size of one on ISO 8601 text, so more of it stays in the cache.
  datetime: 'INTEGER',
};

export function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The column list of `table` (or of a scratch copy of it), without constraints beyond the key. */
export function columnDefinitions(table: TableDef, withConstraints: boolean): string {
  return table.columns
    .map((c, i) => {
      const parts = [quote(c.name), TYPES[c.type], 'NOT NULL'];
      if (i === 0) parts.push('PRIMARY KEY');
      if (withConstraints && c.references) parts.push(`REFERENCES ${quote(c.references)} (id)`);
      return parts.join(' ');
    })
    .join(', ');
}

/** Columns added after a table's first version, for files created before them: table, name and type. */
export const ADDED_COLUMNS = [
  ['runs', 'idempotency_key', 'TEXT'],
  ['runs', 'detail', 'TEXT'],
  ['rejected_rows', 'raw_sha256', 'TEXT'],
  ['rejected_rows', 'row_id', 'INTEGER'],
] as const;

export function schemaStatements(): string[] {
  const statements: string[] = [];
  for (const table of TABLES) {
    // STRICT: a value of the wrong type is an error, as it would be on Azure SQL.
    statements.push(`CREATE TABLE IF NOT EXISTS ${quote(table.name)} (${columnDefinitions(table, true)}) STRICT`);
    for (const index of table.indexes) {
      statements.push(`CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${quote(table.name)} (${index.columns.map(quote).join(', ')})`);
    }
  }
  statements.push(
    `CREATE TABLE IF NOT EXISTS runs (
      id TEXT NOT NULL PRIMARY KEY, table_name TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
      dry_run INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
      finished_at TEXT, received INTEGER NOT NULL, inserted INTEGER NOT NULL, skipped INTEGER NOT NULL,
      rejected INTEGER NOT NULL, error TEXT, idempotency_key TEXT, detail TEXT) STRICT`,
    `CREATE TABLE IF NOT EXISTS rejected_rows (
      id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs (id), table_name TEXT NOT NULL,
      position INTEGER NOT NULL, raw_text TEXT NOT NULL, format TEXT NOT NULL, reasons TEXT NOT NULL, created_at TEXT NOT NULL,
      raw_sha256 TEXT, row_id INTEGER) STRICT`,
    `CREATE INDEX IF NOT EXISTS ix_runs_started ON runs (started_at)`,
    `CREATE INDEX IF NOT EXISTS ix_runs_idempotency_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL`,
    `CREATE INDEX IF NOT EXISTS ix_rejected_rows_run ON rejected_rows (run_id, id)`,
    `CREATE INDEX IF NOT EXISTS ix_rejected_rows_table ON rejected_rows (table_name, id)`,
    `CREATE INDEX IF NOT EXISTS ix_rejected_rows_text ON rejected_rows (table_name, raw_sha256, id)`,
  );
  return statements;
}

/** A page of `table`: up to (second parameter) rows with ids greater than (first parameter), in id order. */
export function pageQuery(table: TableDef): string {
  return `SELECT ${selectList(table)} FROM ${quote(table.name)} WHERE id > ? ORDER BY id LIMIT ?`;
}

/** The quoted column names of `table`, in column order. */
export function selectList(table: TableDef): string {
  return table.columns.map((c) => quote(c.name)).join(', ');
}
