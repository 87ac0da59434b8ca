/**
 * The tables of the service, defined once. Everything that depends on a table's shape is
 * derived from these entries: validation (`rules.ts`), the DDL of each database dialect, the CSV
 * column order of files and downloads, and the Avro schema of backups. Adding a table is adding
 * one entry here.
 */

/** `id`: a positive 32-bit integer; `text`: 1–255 UTF-16 code units; `datetime`: a UTC instant in ms. */
export type ColumnType = 'id' | 'text' | 'datetime';

/**
 * What a database column holds, for every table it stores: the data tables' column types, and
 * those of its own audit tables (db/auditTables.ts). `string` is text up to `maxLength` (or of
 * exactly `length`, or unbounded); `bigint`, a count; `timestamp`, an instant as ISO 8601 text;
 * `json`, a value stored as its JSON text.
 */
export type StoredType = ColumnType | 'string' | 'bigint' | 'boolean' | 'timestamp' | 'json';

export interface StoredColumn {
  readonly name: string;
  readonly type: StoredType;
  readonly maxLength?: number;
  /** A fixed length (a hash's hex digits). */
  readonly length?: number;
  /** Compared by exact code points, not by the database's case-insensitive default. */
  readonly exact?: true;
  readonly nullable?: true;
  /** Numbered by the database as rows are inserted: never written by the service. */
  readonly generated?: true;
  /** Added after the table's first version: nullable, and added to tables that lack it. */
  readonly added?: true;
  /** The table whose `id` this column references (a foreign key). */
  readonly references?: string;
}

export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
}

/** A table as a database stores it. The first column is the primary key. */
export interface StoredTable {
  readonly name: string;
  readonly columns: readonly StoredColumn[];
  readonly indexes: readonly IndexDef[];
}

export interface ColumnDef extends StoredColumn {
  readonly type: ColumnType;
  readonly references?: TableName;
}

/** A table of the service's data. */
export interface TableDef extends StoredTable {
  readonly name: TableName;
  /** In file order. The first column is always `id`, the primary key. */
  readonly columns: readonly ColumnDef[];
}

export type TableName = 'departments' | 'jobs' | 'hired_employees';

/** A normalised row: values in column order (`id` → number, `text` → string, `datetime` → epoch ms). */
export type Row = (number | string)[];

/** In dependency order: a table only references tables before it, so loads and restores go in this order. */
export const TABLES: readonly TableDef[] = [
  {
    name: 'departments',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'department', type: 'text' },
    ],
    indexes: [],
  },
  {
    name: 'jobs',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'job', type: 'text' },
    ],
    indexes: [],
  },
  {
    name: 'hired_employees',
    columns: [
      { name: 'id', type: 'id' },
      { name: 'name', type: 'text' },
      { name: 'datetime', type: 'datetime' },
      { name: 'department_id', type: 'id', references: 'departments' },
      { name: 'job_id', type: 'id', references: 'jobs' },
    ],
    // One per foreign key: each checks its references, and a new hire's entries land among departments + jobs places, not departments × jobs.
    indexes: [
      { name: 'ix_hired_employees_department_id', columns: ['department_id'] },
      { name: 'ix_hired_employees_job_id', columns: ['job_id'] },
    ],
  },
];

/**
 * Indexes of earlier versions, dropped where they exist: the hire-date index served the metrics,
 * which now read counts kept as hires are written, and it made every insert land at random; the
 * department-and-job index gave a batch's rows a place per department and job, where the two
 * indexes that replace it have one per department and one per job.
 */
export const RETIRED_INDEXES: readonly { readonly table: TableName; readonly name: string }[] = [
  { table: 'hired_employees', name: 'ix_hired_employees_datetime' },
  { table: 'hired_employees', name: 'ix_hired_employees_department_job' },
];

const byName = new Map<string, TableDef>(TABLES.map((t) => [t.name, t]));

/** The table named `name`, or undefined: names come from URLs, so this is the single lookup. */
export function findTable(name: string): TableDef | undefined {
  return byName.get(name);
}

export function getTable(name: TableName): TableDef {
  return byName.get(name)!;
}

/** Columns that reference another table, with the table they reference. */
export function foreignKeys(table: TableDef): { column: ColumnDef; index: number; target: TableDef }[] {
  return table.columns.flatMap((column, index) => (column.references ? [{ column, index, target: getTable(column.references) }] : []));
}

/**
 * Every reference that involves `table`, from it and to it: what must hold after its rows are
 * replaced (a restore).
 */
export function referencesAround(table: TableDef): { child: TableDef; column: string; parent: TableDef }[] {
  return [table, ...referencingTables(table)].flatMap((child) =>
    foreignKeys(child)
      .filter((fk) => child === table || fk.target === table)
      .map((fk) => ({ child, column: fk.column.name, parent: fk.target })),
  );
}

/** Tables whose rows reference `table`. */
export function referencingTables(table: TableDef): TableDef[] {
  return TABLES.filter((t) => t.columns.some((c) => c.references === table.name));
}
