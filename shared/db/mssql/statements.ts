/**
 * The T-SQL that MssqlDatabase sends, apart from the DDL (ddl.ts), generated here so that tests
 * can parse every statement without a server. Parameters are `@name`; identifiers come from the
 * table definitions and are bracket-quoted.
 */
import { referencesAround, type TableDef, type TableName } from '../../tables';
import { type MssqlNames, quoteName, selectList } from './ddl';

/** `id IN (...)` for a JSON array parameter: one round trip, however many ids. */
function idsFromJson(parameter: string): string {
  return `SELECT CAST([value] AS INT) FROM OPENJSON(${parameter})`;
}

const RUN_COLUMNS =
  'id, table_name, kind, source, dry_run, status, started_at, heartbeat_at, finished_at, received, inserted, skipped, rejected, error, idempotency_key, detail';
const REJECTION_COLUMNS = 'id, run_id, table_name, position, raw_text, format, reasons, created_at';

/** A foreign-key constraint: the table holding it, its column, the table it references. */
export interface ForeignKey {
  readonly table: string;
  readonly column: string;
  readonly parent: string;
  readonly constraint: string;
}

export class MssqlStatements {
  constructor(readonly names: MssqlNames) {}

  /**
   * Turns on SNAPSHOT isolation where it is off. ALTER DATABASE cannot run in a transaction; it is
   * dynamic SQL because Babelfish refuses a batch that contains it before the IF can skip it.
   */
  readonly allowSnapshotIsolation =
    'IF EXISTS (SELECT 1 FROM sys.databases WHERE database_id = DB_ID() AND snapshot_isolation_state = 0) ' +
    "EXEC (N'ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON')";

  /** 1 on Babelfish for PostgreSQL, 0 on SQL Server and Azure SQL. */
  readonly isBabelfish = "SELECT CASE WHEN CAST(SERVERPROPERTY('Babelfish') AS NVARCHAR(10)) = N'1' THEN 1 ELSE 0 END AS babelfish";

  countRows(table: TableDef): string {
    return `SELECT COUNT(*) AS n FROM ${this.names.table(table.name)}`;
  }

  /** Every row in id order: a snapshot's one query. */
  allRows(table: TableDef): string {
    return `SELECT ${selectList(table)} FROM ${this.names.table(table.name)} ORDER BY id`;
  }

  listRows(table: TableDef): string {
    return `SELECT TOP (@limit) ${selectList(table)} FROM ${this.names.table(table.name)} WHERE id > @afterId ORDER BY id`;
  }

  /** Rows of `table` (or of the scratch table `target`) whose id is in the JSON array @ids. */
  findRows(table: TableDef, target: string = table.name): string {
    return `SELECT ${selectList(table)} FROM ${this.names.table(target)} WHERE id IN (${idsFromJson('@ids')})`;
  }

  existingIds(table: TableDef): string {
    return `SELECT id FROM ${this.names.table(table.name)} WHERE id IN (${idsFromJson('@ids')})`;
  }

  deleteAll(table: TableDef): string {
    return `DELETE FROM ${this.names.table(table.name)}`;
  }

  /** The foreign keys that point to or from any of `tables`, each once. */
  foreignKeysAround(tables: readonly TableDef[]): ForeignKey[] {
    const keys = new Map<string, ForeignKey>();
    for (const table of tables) {
      for (const { child, column, parent } of referencesAround(table)) {
        const constraint = this.names.foreignKey(child.name, column);
        keys.set(constraint, { table: child.name, column, parent: parent.name, constraint });
      }
    }
    return [...keys.values()];
  }

  dropForeignKey({ table, constraint }: ForeignKey): string {
    return `ALTER TABLE ${this.names.table(table)} DROP CONSTRAINT ${constraint}`;
  }

  /** Adds a foreign key back: the server checks every row against it (error 547 on an orphan) and trusts it. */
  addForeignKey({ table, column, parent, constraint }: ForeignKey): string {
    return `ALTER TABLE ${this.names.table(table)} ADD CONSTRAINT ${constraint} FOREIGN KEY (${quoteName(column)}) REFERENCES ${this.names.table(parent)} ([id])`;
  }

  /** Two result sets: up to @limit missing values with their row counts, then the total of such rows. */
  orphans(child: TableDef, column: string, parent: TableDef): string {
    const value = quoteName(column);
    const rows = `${this.names.table(child.name)} AS c WHERE NOT EXISTS (SELECT 1 FROM ${this.names.table(parent.name)} AS p WHERE p.id = c.${value})`;
    return (
      `SELECT TOP (@limit) id, row_count FROM (SELECT ${value} AS id, COUNT(*) AS row_count FROM ${rows} GROUP BY ${value}) AS missing ORDER BY id; ` +
      `SELECT COUNT(*) AS n FROM ${rows}`
    );
  }

  getRun(): string {
    return `SELECT ${RUN_COLUMNS} FROM ${this.names.table('runs')} WHERE id = @id`;
  }

  listRuns(filter: { table: boolean; kind: boolean; status: boolean; idempotencyKey: boolean; after: boolean }): string {
    const where = ['1 = 1'];
    if (filter.table) where.push('table_name = @table');
    if (filter.kind) where.push('kind = @kind');
    if (filter.status) where.push('status = @status');
    if (filter.idempotencyKey) where.push('idempotency_key = @idempotencyKey');
    if (filter.after) where.push('(started_at < @afterStartedAt OR (started_at = @afterStartedAt AND id > @afterId))');
    return `SELECT TOP (@limit) ${RUN_COLUMNS} FROM ${this.names.table('runs')} WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id`;
  }

  /** Inserts the run, or updates what changes during a run. Runs are written under the write lock, so there is no race between the two. */
  saveRun(): string {
    const runs = this.names.table('runs');
    return (
      `IF EXISTS (SELECT 1 FROM ${runs} WHERE id = @id) ` +
      `UPDATE ${runs} SET status = @status, heartbeat_at = @heartbeatAt, finished_at = @finishedAt, received = @received, ` +
      `inserted = @inserted, skipped = @skipped, rejected = @rejected, error = @error, detail = @detail WHERE id = @id ` +
      `ELSE INSERT INTO ${runs} (${RUN_COLUMNS}) VALUES (@id, @table, @kind, @source, @dryRun, @status, @startedAt, @heartbeatAt, ` +
      `@finishedAt, @received, @inserted, @skipped, @rejected, @error, @idempotencyKey, @detail)`
    );
  }

  /** With `open` (and a table): the newest rejection of each distinct row text, unless its id has since been inserted. */
  listRejections(filter: { table: TableName | undefined; runId: boolean; open: boolean }): string {
    const rejections = this.names.table('rejected_rows');
    const where = ['r.id > @afterId'];
    if (filter.table) where.push('r.table_name = @table');
    if (filter.runId) where.push('r.run_id = @runId');
    if (filter.open && filter.table) {
      where.push(
        'r.raw_sha256 IS NOT NULL',
        `NOT EXISTS (SELECT 1 FROM ${rejections} AS l WHERE l.table_name = r.table_name AND l.raw_sha256 = r.raw_sha256 AND l.id > r.id)`,
        `(r.row_id IS NULL OR NOT EXISTS (SELECT 1 FROM ${this.names.table(filter.table)} AS t WHERE t.id = r.row_id))`,
      );
    }
    return `SELECT TOP (@limit) ${REJECTION_COLUMNS} FROM ${rejections} AS r WHERE ${where.join(' AND ')} ORDER BY r.id`;
  }

  scratchTables(): string {
    return `SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(@schema) AND name LIKE 'scratch[_]%'`;
  }

  dropTable(name: string): string {
    return `DROP TABLE IF EXISTS ${this.names.table(name)}`;
  }

  /*
   * The metrics, as the SQLite ones: the year's range of the covering index
   * ix_hired_employees_datetime, counted in SQL, names joined onto the counts. Names are ordered
   * by the database's default collation (case-insensitive on Azure SQL), then by their exact text
   * (BIN2, code-point order, as SQLite's BINARY) for names differing only in case. The engines'
   * case-insensitive orders agree on letters, digits and spaces; Azure SQL's linguistic collation
   * may order punctuation and accented letters differently from SQLite's NOCASE.
   */

  hiresByQuarter(): string {
    return `WITH counts AS (
        SELECT department_id, job_id,
               SUM(CASE WHEN [datetime] < @q2 THEN 1 ELSE 0 END) AS Q1,
               SUM(CASE WHEN [datetime] >= @q2 AND [datetime] < @q3 THEN 1 ELSE 0 END) AS Q2,
               SUM(CASE WHEN [datetime] >= @q3 AND [datetime] < @q4 THEN 1 ELSE 0 END) AS Q3,
               SUM(CASE WHEN [datetime] >= @q4 THEN 1 ELSE 0 END) AS Q4
        FROM ${this.names.table('hired_employees')}
        WHERE [datetime] BETWEEN @first AND @last
        GROUP BY department_id, job_id)
      SELECT d.department, j.job, c.Q1, c.Q2, c.Q3, c.Q4
      FROM counts c
      JOIN ${this.names.table('departments')} d ON d.id = c.department_id
      JOIN ${this.names.table('jobs')} j ON j.id = c.job_id
      ORDER BY d.department, d.department COLLATE Latin1_General_BIN2, j.job, j.job COLLATE Latin1_General_BIN2, d.id, j.id`;
  }

  /** Compared exactly in integers, hired * departments > total hires, as on SQLite: no rounded mean. */
  departmentsAboveMean(): string {
    return `WITH counts AS (
        SELECT department_id, COUNT(*) AS hired
        FROM ${this.names.table('hired_employees')}
        WHERE [datetime] BETWEEN @first AND @last
        GROUP BY department_id),
      totals AS (
        SELECT (SELECT COUNT(*) FROM ${this.names.table('departments')}) AS departments,
               (SELECT COALESCE(SUM(CAST(hired AS BIGINT)), 0) FROM counts) AS hires)
      SELECT d.id, d.department, c.hired
      FROM counts c
      JOIN ${this.names.table('departments')} d ON d.id = c.department_id
      CROSS JOIN totals t
      WHERE CAST(c.hired AS BIGINT) * t.departments > t.hires
      ORDER BY c.hired DESC, d.id`;
  }
}
