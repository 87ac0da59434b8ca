/**
 * T-SQL DDL and bulk-load tables, generated from the table definitions (the data tables and the
 * audit tables alike), in a schema of the database (`dbo` in production; the contract tests use
 * one of their own). Every statement is idempotent: the service migrates at every start.
 */
import sql from 'mssql';
import { RETIRED_INDEXES, TABLES, type StoredColumn, type StoredTable, type StoredType } from '../../tables';
import { AUDIT_TABLES, isNullable, writtenColumns } from '../auditTables';

/** The SQL type of a column and the driver type of its values. */
interface ColumnType {
  readonly sql: string;
  readonly driver: () => sql.ISqlType;
}

function stringType(maxLength: number | undefined, length: number | undefined): ColumnType {
  if (length) return { sql: `CHAR(${length})`, driver: () => sql.Char(length) };
  // NVARCHAR(n) holds n UTF-16 code units, the rules' measure of a text's length.
  return maxLength
    ? { sql: `NVARCHAR(${maxLength})`, driver: () => sql.NVarChar(maxLength) }
    : { sql: 'NVARCHAR(MAX)', driver: () => sql.NVarChar(sql.MAX) };
}

/** DATETIME2(3): a UTC instant to the millisecond (the driver's useUTC). */
const INSTANT: ColumnType = { sql: 'DATETIME2(3)', driver: () => sql.DateTime2(3) };

const FIXED_TYPES: Record<Exclude<StoredType, 'string'>, ColumnType> = {
  id: { sql: 'INT', driver: () => sql.Int() },
  text: stringType(255, undefined),
  datetime: INSTANT,
  bigint: { sql: 'BIGINT', driver: () => sql.BigInt() },
  boolean: { sql: 'BIT', driver: () => sql.Bit() },
  timestamp: INSTANT,
  json: stringType(undefined, undefined),
};

export function columnType(column: { type: StoredType; maxLength?: number; length?: number }): ColumnType {
  return column.type === 'string' ? stringType(column.maxLength, column.length) : FIXED_TYPES[column.type];
}

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
  foreignKey(table: string, column: string): string {
    return quoteName(`fk_${table}_${column}`);
  }
}

function columnDefinition(table: StoredTable, column: StoredColumn, names: MssqlNames, withConstraints: boolean): string {
  const parts = [quoteName(column.name), columnType(column).sql];
  if (column.exact) parts.push('COLLATE Latin1_General_BIN2');
  if (column.generated) parts.push('IDENTITY(1, 1)');
  parts.push(isNullable(column) ? 'NULL' : 'NOT NULL');
  if (withConstraints && column.references) {
    parts.push(`CONSTRAINT ${names.foreignKey(table.name, column.name)} REFERENCES ${names.table(column.references)} ([id])`);
  }
  return parts.join(' ');
}

/** CREATE TABLE for `name` with the columns of `table`: the table itself, or a scratch copy without foreign keys. */
export function createTable(table: StoredTable, names: MssqlNames, name: string = table.name): string {
  const definitions = table.columns.map((c) => columnDefinition(table, c, names, name === table.name));
  definitions.push(`CONSTRAINT ${quoteName(`pk_${name}`)} PRIMARY KEY (${quoteName(table.columns[0].name)})`);
  return `CREATE TABLE ${names.table(name)} (${definitions.join(', ')})`;
}

/** `statement` (a CREATE TABLE) only if the table does not exist yet. */
export function ifNoTable(names: MssqlNames, name: string, statement: string): string {
  return `IF OBJECT_ID(${literal(names.table(name))}, N'U') IS NULL ${statement}`;
}

/** Creates the table's secondary indexes that are missing. */
export function indexStatements(names: MssqlNames, table: StoredTable): string[] {
  return table.indexes.map((index) => ifNoIndex(names, table.name, index.name, index.columns));
}

/** Drops the table's secondary indexes. */
export function dropIndexStatements(names: MssqlNames, table: StoredTable): string[] {
  return table.indexes.map((index) => dropIndex(names, table.name, index.name));
}

function dropIndex(names: MssqlNames, table: string, index: string): string {
  return `IF ${indexExists(names, table, index)} DROP INDEX ${quoteName(index)} ON ${names.table(table)}`;
}

function ifNoIndex(names: MssqlNames, table: string, index: string, columns: readonly string[]): string {
  return `IF NOT ${indexExists(names, table, index)} CREATE INDEX ${quoteName(index)} ON ${names.table(table)} (${columns.map(quoteName).join(', ')})`;
}

function indexExists(names: MssqlNames, table: string, index: string): string {
  // Babelfish lists an index as its name and its table's, cut to 31 characters, then a 32-digit hash.
  const named = `(name = ${literal(index)} OR name = ${literal((index + table).slice(0, 31))} + RIGHT(name, 32))`;
  return `EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(${literal(names.table(table))}) AND ${named})`;
}

function ifNoColumn(names: MssqlNames, table: StoredTable, column: StoredColumn): string {
  return (
    `IF COL_LENGTH(${literal(names.table(table.name))}, ${literal(column.name)}) IS NULL ` +
    `ALTER TABLE ${names.table(table.name)} ADD ${columnDefinition(table, column, names, true)}`
  );
}

/** The schema's statements, each one batch, in order: tables, the columns older tables lack, indexes. */
export function schemaStatements(names: MssqlNames): string[] {
  const tables = [...TABLES, ...AUDIT_TABLES];
  return [
    `IF SCHEMA_ID(${literal(names.schema)}) IS NULL EXEC (${literal(`CREATE SCHEMA ${quoteName(names.schema)}`)})`,
    ...tables.map((table) => ifNoTable(names, table.name, createTable(table, names))),
    ...tables.flatMap((table) => table.columns.filter((c) => c.added).map((column) => ifNoColumn(names, table, column))),
    ...tables.flatMap((table) => indexStatements(names, table)),
    ...RETIRED_INDEXES.map((index) => dropIndex(names, index.table, index.name)),
  ];
}

/**
 * The hires counted per (year, quarter, department, job) of their UTC instant, kept by the
 * server in every write's own transaction: an indexed view (SCHEMABINDING, COUNT_BIG, a unique
 * clustered index in the order the metrics read it). CREATE VIEW must be alone in its batch.
 */
export function quarterlyHiresView(names: MssqlNames): string[] {
  const view = names.table(QUARTERLY_HIRES_VIEW);
  const select =
    `SELECT YEAR([datetime]) AS [year], DATEPART(QUARTER, [datetime]) AS [quarter], [department_id], [job_id], COUNT_BIG(*) AS [hired] ` +
    `FROM ${names.table('hired_employees')} GROUP BY YEAR([datetime]), DATEPART(QUARTER, [datetime]), [department_id], [job_id]`;
  return [
    `IF OBJECT_ID(${literal(view)}, N'V') IS NULL EXEC (${literal(`CREATE VIEW ${view} WITH SCHEMABINDING AS ${select}`)})`,
    `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(${literal(view)}) AND name = N'ix_quarterly_hires') ` +
      `CREATE UNIQUE CLUSTERED INDEX [ix_quarterly_hires] ON ${view} ([year], [department_id], [job_id], [quarter])`,
  ];
}

export const QUARTERLY_HIRES_VIEW = 'quarterly_hires';

/**
 * The bulk-load table for `table`'s written columns (into the table, or a scratch copy named
 * `name`): the DDL's column types, so the server converts nothing. Rows are added with
 * `rows.add(...row)`, which copies them: mssql replaces datetime numbers by Dates in place.
 */
export function bulkTable(table: StoredTable, names: MssqlNames, name: string = table.name): sql.Table {
  const bulk = new sql.Table(names.table(name));
  for (const column of writtenColumns(table)) bulk.columns.add(column.name, columnType(column).driver(), { nullable: isNullable(column) });
  return bulk;
}
