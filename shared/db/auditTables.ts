/**
 * The service's own tables, defined as the data tables are (shared/tables.ts): every engine's DDL,
 * the store's statements and the mapping of their rows to records derive from these entries.
 */
import type { StoredColumn, StoredTable } from '../tables';

/** One batch, load or restore: `RunRecord`, one column per field (the field is the column's camelCase name, `table` for table_name). */
export const RUNS = {
  name: 'runs',
  columns: [
    { name: 'id', type: 'string', maxLength: 36 },
    { name: 'table_name', type: 'string', maxLength: 128 },
    { name: 'kind', type: 'string', maxLength: 16 },
    { name: 'source', type: 'string', maxLength: 2000 },
    { name: 'dry_run', type: 'boolean' },
    { name: 'status', type: 'string', maxLength: 16 },
    { name: 'started_at', type: 'timestamp' },
    { name: 'heartbeat_at', type: 'timestamp' },
    { name: 'finished_at', type: 'timestamp', nullable: true },
    { name: 'received', type: 'bigint' },
    { name: 'inserted', type: 'bigint' },
    { name: 'skipped', type: 'bigint' },
    { name: 'rejected', type: 'bigint' },
    { name: 'error', type: 'string', nullable: true },
    { name: 'idempotency_key', type: 'string', maxLength: 200, exact: true, added: true },
    { name: 'detail', type: 'json', added: true },
    // A load from a blob: the version it reads, where it stands, and which worker holds it.
    { name: 'blob_etag', type: 'string', maxLength: 200, added: true },
    { name: 'bytes_total', type: 'bigint', added: true },
    { name: 'checkpoint', type: 'json', added: true },
    { name: 'lease_owner', type: 'string', maxLength: 100, added: true },
    { name: 'lease_expires_at', type: 'timestamp', added: true },
    { name: 'attempts', type: 'bigint', added: true },
    { name: 'cancel_requested', type: 'boolean', added: true },
  ],
  indexes: [
    { name: 'ix_runs_started', columns: ['started_at'] },
    { name: 'ix_runs_idempotency_key', columns: ['idempotency_key'] },
  ],
} as const satisfies StoredTable;

/** Every row that broke a rule, with its reasons and text: `RejectionRecord`. */
export const REJECTED_ROWS = {
  name: 'rejected_rows',
  columns: [
    { name: 'id', type: 'bigint', generated: true },
    { name: 'run_id', type: 'string', maxLength: 36, references: 'runs' },
    { name: 'table_name', type: 'string', maxLength: 128 },
    { name: 'position', type: 'bigint' },
    { name: 'raw_text', type: 'string' },
    { name: 'format', type: 'string', maxLength: 8 },
    { name: 'reasons', type: 'json' },
    { name: 'created_at', type: 'timestamp' },
    // Rows stored before these were added hold NULL: they stay in the history only.
    { name: 'raw_sha256', type: 'string', length: 64, added: true },
    { name: 'row_id', type: 'id', added: true },
  ],
  indexes: [
    { name: 'ix_rejected_rows_run', columns: ['run_id', 'id'] },
    { name: 'ix_rejected_rows_table', columns: ['table_name', 'id'] },
    { name: 'ix_rejected_rows_text', columns: ['table_name', 'raw_sha256', 'id'] },
  ],
} as const satisfies StoredTable;

export const AUDIT_TABLES: readonly StoredTable[] = [RUNS, REJECTED_ROWS];

/** Whether a column may hold NULL: declared so, or added to tables that existed before it. */
export function isNullable(column: StoredColumn): boolean {
  return !!(column.nullable || column.added);
}

/** The columns the service writes: all but the generated ones, in order. */
export function writtenColumns(table: StoredTable): readonly StoredColumn[] {
  return table.columns.filter((c) => !c.generated);
}

/** The column of `table` named `name`. */
export function columnOf(table: StoredTable, name: string): StoredColumn {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new Error(`${table.name} has no column ${name}`);
  return column;
}
