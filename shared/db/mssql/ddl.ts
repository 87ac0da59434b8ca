/**
 * T-SQL DDL and bulk-load tables, generated from the table definitions, in a schema of the
 * database (`dbo` in production; the contract tests use one of their own). Every statement is
 * idempotent: the service migrates at every start.
 */
import sql from 'mssql';
import { TABLES, type ColumnDef, type TableDef, type TableName } from '../../tables';

/** The column types. NVARCHAR(255) holds 255 UTF-16 code units, the rule's limit; DATETIME2(3), a UTC instant to the millisecond. */
export const COLUMN_TYPES: Record<ColumnDef['type'], { sql: string; bulk: () => sql.ISqlType }> = {
  id: { sql: 'INT', bulk: () => sql.Int() },
  text: { sql: 'NVARCHAR(255)', bulk: () => sql.NVarChar(255) },
  datetime: { sql: 'DATETIME2(3)', bulk: () => sql.DateTime2(3) },
};

/**
 * The columns the service writes into `rejected_rows` (its id is an IDENTITY), in bulk-load order:
 * one list for the DDL and the bulk table, so their types cannot drift apart.
 */
const REJECTION_COLUMNS: readonly { name: string; sql: string; bulk: () => sql.ISqlType; added?: true }[] = [
  { name: 'run_id', sql: 'NVARCHAR(36)', bulk: () => sql.NVarChar(36) },
  { name: 'table_name', sql: 'NVARCHAR(128)', bulk: () => sql.NVarChar(128) },
  { name: 'position', sql: 'BIGINT', bulk: () => sql.BigInt() },
  { name: 'raw_text', sql: 'NVARCHAR(MAX)', bulk: () => sql.NVarChar(sql.MAX) },
  { name: 'format', sql: 'NVARCHAR(8)', bulk: () => sql.NVarChar(8) },
  { name: 'reasons', sql: 'NVARCHAR(MAX)', bulk: () => sql.NVarChar(sql.MAX) },
  { name: 'created_at', sql: 'DATETIME2(3)', bulk: () => sql.DateTime2(3) },
  // Added later, so NULL in rows written before them.
  { name: 'raw_sha256', sql: 'CHAR(64)', bulk: () => sql.Char(64), added: true },
  { name: 'row_id', sql: 'INT', bulk: () => sql.Int(), added: true },
];

/** A bracket-quoted identifier (QUOTENAME's rule). */
export function quoteName(name: string): string {
  return `[${name.replace(/]/g, ']]')}]`;
}

/** A T-SQL string literal. */
function literal(text: string): string {
  return `N'${text.replace(/'/g, "''")}'`;
}

export class MssqlNames {
  constructor(readonly schema: string) {}

  /** `[schema].[name]`. */
  table(name: string): string {
    return `${quoteName(this.schema)}.${quoteName(name)}`;
  }

  /** The foreign-key constraint of `column` (constraint names are unique per schema). */
  foreignKey(table: TableName, column: string): string {
    return quoteName(`fk_${table}_${column}`);
  }
}

function columnDefinitions(table: TableDef, names: MssqlNames, withConstraints: boolean, tableName: string): string {
  const definitions = table.columns.map((c) => {
    const parts = [quoteName(c.name), COLUMN_TYPES[c.type].sql, 'NOT NULL'];
    if (withConstraints && c.references) {
      parts.push(`CONSTRAINT ${names.foreignKey(table.name, c.name)} REFERENCES ${names.table(c.references)} ([id])`);
    }
    return parts.join(' ');
  });
  definitions.push(`CONSTRAINT ${quoteName(`pk_${tableName}`)} PRIMARY KEY ([id])`);
  return definitions.join(', ');
}

/** CREATE TABLE for `name` with the columns of `table`: the table itself, or a scratch copy without foreign keys. */
export function createTable(table: TableDef, names: MssqlNames, name: string = table.name): string {
  return `CREATE TABLE ${names.table(name)} (${columnDefinitions(table, names, name === table.name, name)})`;
}

/** `statement` (a CREATE TABLE) only if the table does not exist yet. */
export function ifNoTable(names: MssqlNames, name: string, statement: string): string {
  return `IF OBJECT_ID(${literal(names.table(name))}, N'U') IS NULL ${statement}`;
}

function ifNoIndex(names: MssqlNames, table: string, index: string, columns: readonly string[]): string {
  return (
    `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(${literal(names.table(table))}) AND name = ${literal(index)}) ` +
    `CREATE INDEX ${quoteName(index)} ON ${names.table(table)} (${columns.map(quoteName).join(', ')})`
  );
}

/** Columns of `runs` added after its first version, for databases created before them: name and type. */
const ADDED_RUN_COLUMNS = [
  // Keys are compared exactly, as on SQLite, not by the database's case-insensitive default collation.
  ['idempotency_key', 'NVARCHAR(200) COLLATE Latin1_General_BIN2 NULL'],
  ['detail', 'NVARCHAR(MAX) NULL'],
] as const;

/** The schema's statements, each one batch, in order. */
export function schemaStatements(names: MssqlNames): string[] {
  const statements = [`IF SCHEMA_ID(${literal(names.schema)}) IS NULL EXEC (${literal(`CREATE SCHEMA ${quoteName(names.schema)}`)})`];
  for (const table of TABLES) {
    statements.push(ifNoTable(names, table.name, createTable(table, names)));
    for (const index of table.indexes) statements.push(ifNoIndex(names, table.name, index.name, index.columns));
  }
  statements.push(
    ifNoTable(
      names,
      'runs',
      `CREATE TABLE ${names.table('runs')} (
        id NVARCHAR(36) NOT NULL, table_name NVARCHAR(128) NOT NULL, kind NVARCHAR(16) NOT NULL,
        source NVARCHAR(2000) NOT NULL, dry_run BIT NOT NULL, status NVARCHAR(16) NOT NULL, started_at DATETIME2(3) NOT NULL,
        heartbeat_at DATETIME2(3) NOT NULL, finished_at DATETIME2(3) NULL, received BIGINT NOT NULL, inserted BIGINT NOT NULL,
        skipped BIGINT NOT NULL, rejected BIGINT NOT NULL, error NVARCHAR(MAX) NULL,
        ${ADDED_RUN_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')},
        CONSTRAINT [pk_runs] PRIMARY KEY ([id]))`,
    ),
    ...ADDED_RUN_COLUMNS.map(
      ([name, type]) =>
        `IF COL_LENGTH(${literal(names.table('runs'))}, ${literal(name)}) IS NULL ALTER TABLE ${names.table('runs')} ADD ${name} ${type}`,
    ),
    ifNoTable(
      names,
      'rejected_rows',
      `CREATE TABLE ${names.table('rejected_rows')} (id BIGINT IDENTITY(1, 1) NOT NULL, ${REJECTION_COLUMNS.map((c) =>
        c.name === 'run_id'
          ? `${c.name} ${c.sql} NOT NULL CONSTRAINT [fk_rejected_rows_run_id] REFERENCES ${names.table('runs')} ([id])`
          : `${c.name} ${c.sql} ${c.added ? 'NULL' : 'NOT NULL'}`,
      ).join(', ')}, CONSTRAINT [pk_rejected_rows] PRIMARY KEY ([id]))`,
    ),
    ...REJECTION_COLUMNS.filter((c) => c.added).map(
      (c) =>
        `IF COL_LENGTH(${literal(names.table('rejected_rows'))}, ${literal(c.name)}) IS NULL ALTER TABLE ${names.table('rejected_rows')} ADD ${c.name} ${c.sql} NULL`,
    ),
  );
  statements.push(
    ifNoIndex(names, 'runs', 'ix_runs_started', ['started_at']),
    ifNoIndex(names, 'runs', 'ix_runs_idempotency_key', ['idempotency_key']),
    ifNoIndex(names, 'rejected_rows', 'ix_rejected_rows_run', ['run_id', 'id']),
    ifNoIndex(names, 'rejected_rows', 'ix_rejected_rows_table', ['table_name', 'id']),
    ifNoIndex(names, 'rejected_rows', 'ix_rejected_rows_text', ['table_name', 'raw_sha256', 'id']),
  );
  return statements;
}

/**
 * The bulk-load table for `table` (or a scratch copy named `name`): the same column types as
 * the DDL, so the server converts nothing. Rows are added with `rows.add(...row)`, which copies
 * them: mssql replaces datetime numbers by Dates in place.
 */
export function bulkTable(table: TableDef, names: MssqlNames, name: string = table.name): sql.Table {
  const bulk = new sql.Table(names.table(name));
  for (const column of table.columns) bulk.columns.add(column.name, COLUMN_TYPES[column.type].bulk(), { nullable: false });
  return bulk;
}

/** The bulk-load table for rejections: values in the order of REJECTION_COLUMNS. */
export function rejectionsBulkTable(names: MssqlNames): sql.Table {
  const bulk = new sql.Table(names.table('rejected_rows'));
  for (const column of REJECTION_COLUMNS) bulk.columns.add(column.name, column.bulk(), { nullable: !!column.added });
  return bulk;
}

/** The columns of `table`, in order, quoted. */
export function selectList(table: TableDef): string {
  return table.columns.map((c) => quoteName(c.name)).join(', ');
}
