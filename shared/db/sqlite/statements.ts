/** SQLite's part of the statements: its syntax for the store's (../statements.ts), and the metrics in its own SQL. */
import type { MetricsStatements, SqlSyntax } from '../Engine';
import { quote } from './ddl';

export const SQLITE_SYNTAX: SqlSyntax = {
  table: quote,
  column: quote,
  selectLimited: (columns, rest, limitParam) => `SELECT ${columns} ${rest} LIMIT @${limitParam}`,
  idsOf: (param) => `SELECT value FROM json_each(${param})`,
};

/*
 * The metrics read the covering index ix_hired_employees_datetime (datetime, department_id,
 * job_id) over the year's range, count in SQL, and join the names onto the counts (one lookup
 * per group, not per hire). Datetimes are UTC epoch milliseconds, so the year and quarter are
 * those of the UTC instant.
 *
 * Order: `COLLATE NOCASE` first, as Azure SQL's default case-insensitive collation orders
 * ("General Manager" before "GIS Technical Architect"), then the exact text (BINARY) for names
 * differing only in case. NOCASE folds ASCII letters only: names with non-ASCII letters or
 * accents may order differently from Azure SQL's linguistic collation.
 */
export const SQLITE_METRICS: MetricsStatements = {
  // One group per (department_id, job_id), keyed by a single integer (ids < 2^31, so the key
  // < 2^62), which the GROUP BY sorter compares faster than two columns. The quarters are counted
  // as cumulative sums (hires before Q2, Q3, Q4 start), differenced after grouping.
  hiresByQuarter: `WITH counts AS (
       SELECT department_id * 2147483648 + job_id AS pair,
              SUM(datetime < @q2) AS before_q2, SUM(datetime < @q3) AS before_q3, SUM(datetime < @q4) AS before_q4,
              COUNT(*) AS hired
       FROM hired_employees
       WHERE datetime BETWEEN @first AND @last
       GROUP BY pair)
     SELECT d.department AS department, j.job AS job,
            c.before_q2 AS Q1, c.before_q3 - c.before_q2 AS Q2, c.before_q4 - c.before_q3 AS Q3, c.hired - c.before_q4 AS Q4
     FROM counts c
     JOIN departments d ON d.id = c.pair >> 31
     JOIN jobs j ON j.id = c.pair & 2147483647
     ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id`,
  // mean = total hires / number of departments (those without hires count as 0); compared
  // exactly in integers as hired * departments > total, no division.
  departmentsAboveMean: `WITH counts AS (
       SELECT department_id, COUNT(*) AS hired
       FROM hired_employees
       WHERE datetime BETWEEN @first AND @last
       GROUP BY department_id),
     totals AS (
       SELECT (SELECT COUNT(*) FROM departments) AS departments, (SELECT COALESCE(SUM(hired), 0) FROM counts) AS hires)
     SELECT d.id AS id, d.department AS department, c.hired AS hired
     FROM counts c
     JOIN departments d ON d.id = c.department_id
     CROSS JOIN totals t
     WHERE c.hired * t.departments > t.hires
     ORDER BY c.hired DESC, d.id`,
};
