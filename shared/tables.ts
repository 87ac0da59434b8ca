/**
 * The tables of the service, defined once. Everything that depends on a table's shape is
 * derived from these entries: validation (`rules.ts`), the DDL of each database dialect, the CSV
 * column order of files and downloads, and the Avro schema of backups. Adding a table is adding
 * one entry here.
 */

/** `id`: a positive 32-bit integer; `text`: 1–255 UTF-16 code units; `datetime`: a UTC instant in ms. */
export type ColumnType = 'id' | 'text' | 'datetime';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** The table whose `id` this column references (a foreign key). */
  readonly references?: TableName;
}

export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
}

export interface TableDef {
  readonly name: TableName;
  /** In file order. The first column is always `id`, the primary key. */
  readonly columns: readonly ColumnDef[];
  readonly indexes: readonly IndexDef[];
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
    indexes: [
      // Serves the metrics: a year range read with the department and job of each hire, no table lookup.
      { name: 'ix_hired_employees_datetime', columns: ['datetime', 'department_id', 'job_id'] },
      // Serves foreign-key checks when departments or jobs are restored, and per-department counts.
      { name: 'ix_hired_employees_department_job', columns: ['department_id', 'job_id'] },
    ],
  },
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
