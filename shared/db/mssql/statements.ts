/**
 * Azure SQL's part of the statements: its syntax for the store's (../statements.ts), and the T-SQL
 * only this engine sends (snapshot isolation, a snapshot's read, foreign keys around a restore,
 * scratch tables, the metrics). Generated here so that tests can parse every statement without a
 * server. Parameters are `@name`; identifiers come from the table definitions and are bracket-quoted.
 */
import { referencesAround, type TableDef } from '../../tables';
import type { MetricsStatements, SqlSyntax } from '../Engine';
import { QUARTERLY_HIRES_VIEW, quoteName, type MssqlNames } from './ddl';

/** A foreign-key constraint: the table holding it, its column, the table it references. */
export interface ForeignKey {
  readonly table: string;
  readonly column: string;
  readonly parent: string;
  readonly constraint: string;
}

export class MssqlStatements {
  /** The metrics over the indexed view's counts (countsHiresAsWritten). */
  readonly countedMetrics: MetricsStatements;
  /** The metrics counting the year's hires at each call, where there is no indexed view (Babelfish). */
  readonly scannedMetrics: MetricsStatements;

  constructor(readonly names: MssqlNames) {
    this.countedMetrics = countedMetrics(names);
    this.scannedMetrics = scannedMetrics(names);
  }

  readonly syntax: SqlSyntax = {
    table: (name) => this.names.table(name),
    column: quoteName,
    selectLimited: (columns, rest, limitParam) => `SELECT TOP (@${limitParam}) ${columns} ${rest}`,
    idsOf: (param) => `SELECT CAST([value] AS INT) FROM OPENJSON(${param})`,
  };

  /**
   * Turns on SNAPSHOT isolation where it is off. ALTER DATABASE cannot run in a transaction; it is
   * dynamic SQL because Babelfish refuses a batch that contains it before the IF can skip it.
   */
  readonly allowSnapshotIsolation =
    'IF EXISTS (SELECT 1 FROM sys.databases WHERE database_id = DB_ID() AND snapshot_isolation_state = 0) ' +
    "EXEC (N'ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON')";

  /** 1 on Babelfish for PostgreSQL, 0 on SQL Server and Azure SQL. */
  readonly isBabelfish = "SELECT CASE WHEN CAST(SERVERPROPERTY('Babelfish') AS NVARCHAR(10)) = N'1' THEN 1 ELSE 0 END AS babelfish";

  /** Every row in id order: a snapshot's one query. */
  allRows(table: TableDef): string {
    return `SELECT ${table.columns.map((c) => quoteName(c.name)).join(', ')} FROM ${this.names.table(table.name)} ORDER BY id`;
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

  scratchTables(): string {
    return `SELECT name FROM sys.tables WHERE schema_id = SCHEMA_ID(@schema) AND name LIKE 'scratch[_]%'`;
  }

  dropTable(name: string): string {
    return `DROP TABLE IF EXISTS ${this.names.table(name)}`;
  }
}

/*
 * The metrics, as the SQLite ones: counts by department and job, names joined onto them. Names
 * are ordered by the database's default collation (case-insensitive on Azure SQL), then by their
 * exact text (BIN2, code-point order, as SQLite's BINARY) for names differing only in case. The
 * engines' case-insensitive orders agree on letters, digits and spaces; Azure SQL's linguistic
 * collation may order punctuation and accented letters differently from SQLite's NOCASE.
 */
const NAMES_ORDER = 'ORDER BY d.department, d.department COLLATE Latin1_General_BIN2, j.job, j.job COLLATE Latin1_General_BIN2, d.id, j.id';

/** Each metric from its counts: per (department, job) with Q1-Q4, and per department (hired). */
function metricsOver(names: MssqlNames, byDepartmentAndJob: string, byDepartment: string, byYear: string): MetricsStatements {
  return {
    hiresByQuarter: `WITH counts AS (${byDepartmentAndJob})
      SELECT d.department, j.job, c.Q1, c.Q2, c.Q3, c.Q4
      FROM counts c
      JOIN ${names.table('departments')} d ON d.id = c.department_id
      JOIN ${names.table('jobs')} j ON j.id = c.job_id
      ${NAMES_ORDER}`,
    // Serialised by the store from the rows: one statement to keep right on SQL Server and Babelfish, not two.
    hiresByQuarterJson: null,
    // Compared exactly in integers, hired * departments > total hires, as on SQLite: no rounded mean. The totals row stays when none is above.
    departmentsAboveMean: `WITH counts AS (${byDepartment}),
      totals AS (
        SELECT (SELECT COUNT(*) FROM ${names.table('departments')}) AS departments,
               (SELECT COALESCE(SUM(CAST(hired AS BIGINT)), 0) FROM counts) AS hires)
      SELECT d.id, d.department, c.hired, t.departments, t.hires
      FROM totals t
      LEFT JOIN counts c ON CAST(c.hired AS BIGINT) * t.departments > t.hires
      LEFT JOIN ${names.table('departments')} d ON d.id = c.department_id
      ORDER BY c.hired DESC, d.id`,
    hireYears: `SELECT [year], SUM(CAST(hired AS BIGINT)) AS hired FROM (${byYear}) y GROUP BY [year] ORDER BY [year]`,
  };
}

/** Over the indexed view, its own index read as the view (NOEXPAND): one year's counts. */
function countedMetrics(names: MssqlNames): MetricsStatements {
  const view = `${names.table(QUARTERLY_HIRES_VIEW)} WITH (NOEXPAND)`;
  const quarter = (q: number) => `SUM(CASE WHEN [quarter] = ${q} THEN hired ELSE 0 END) AS Q${q}`;
  return metricsOver(
    names,
    `SELECT department_id, job_id, ${[1, 2, 3, 4].map(quarter).join(', ')} FROM ${view} WHERE [year] = @year GROUP BY department_id, job_id`,
    `SELECT department_id, SUM(hired) AS hired FROM ${view} WHERE [year] = @year GROUP BY department_id`,
    `SELECT [year], hired FROM ${view}`,
  );
}

/** Over the hires of the year's range, counted at each call. */
function scannedMetrics(names: MssqlNames): MetricsStatements {
  const hires = names.table('hired_employees');
  return metricsOver(
    names,
    `SELECT department_id, job_id,
               SUM(CASE WHEN [datetime] < @q2 THEN 1 ELSE 0 END) AS Q1,
               SUM(CASE WHEN [datetime] >= @q2 AND [datetime] < @q3 THEN 1 ELSE 0 END) AS Q2,
               SUM(CASE WHEN [datetime] >= @q3 AND [datetime] < @q4 THEN 1 ELSE 0 END) AS Q3,
               SUM(CASE WHEN [datetime] >= @q4 THEN 1 ELSE 0 END) AS Q4
        FROM ${hires}
        WHERE [datetime] BETWEEN @first AND @last
        GROUP BY department_id, job_id`,
    `SELECT department_id, COUNT(*) AS hired FROM ${hires} WHERE [datetime] BETWEEN @first AND @last GROUP BY department_id`,
    `SELECT YEAR([datetime]) AS [year], 1 AS hired FROM ${hires}`,
  );
}
