/** SQLite's part of the statements: its syntax for the store's (../statements.ts), and the metrics in its own SQL. */
import type { MetricsStatements, SqlSyntax } from '../Engine';
import { quote } from './ddl';
import { HIRED_IN_YEAR, QUARTERLY_HIRES } from './quarterlyHires';

export const SQLITE_SYNTAX: SqlSyntax = {
  table: quote,
  column: quote,
  selectLimited: (columns, rest, limitParam) => `SELECT ${columns} ${rest} LIMIT @${limitParam}`,
  idsOf: (param) => `SELECT value FROM json_each(${param})`,
};

/*
 * The metrics read the year's counts (quarterlyHires.ts), kept as hires are written: a year's
 * rows, one per department and job with its four quarters, and the names joined onto them. Year
 * and quarter are those of the hire's UTC instant.
 *
 * Order: `COLLATE NOCASE` first, as Azure SQL's default case-insensitive collation orders
 * ("General Manager" before "GIS Technical Architect"), then the exact text (BINARY) for names
 * differing only in case. NOCASE folds ASCII letters only: names with non-ASCII letters or
 * accents may order differently from Azure SQL's linguistic collation.
 */
export const SQLITE_METRICS: MetricsStatements = {
  hiresByQuarter: `SELECT d.department AS department, j.job AS job, c.q1 AS Q1, c.q2 AS Q2, c.q3 AS Q3, c.q4 AS Q4
     FROM ${quote(QUARTERLY_HIRES)} c
     JOIN departments d ON d.id = c.department_id
     JOIN jobs j ON j.id = c.job_id
     WHERE c.year = @year
     ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id`,
  // mean = total hires / number of departments (those without hires count as 0); compared
  // exactly in integers as hired * departments > total, no division. The totals row stays when none is above.
  departmentsAboveMean: `WITH counts AS (
       SELECT department_id, SUM(${HIRED_IN_YEAR}) AS hired
       FROM ${quote(QUARTERLY_HIRES)}
       WHERE year = @year
       GROUP BY department_id),
     totals AS (
       SELECT (SELECT COUNT(*) FROM departments) AS departments, (SELECT COALESCE(SUM(hired), 0) FROM counts) AS hires)
     SELECT d.id AS id, d.department AS department, c.hired AS hired, t.departments, t.hires
     FROM totals t
     LEFT JOIN counts c ON c.hired * t.departments > t.hires
     LEFT JOIN departments d ON d.id = c.department_id
     ORDER BY c.hired DESC, d.id`,
  hireYears: `SELECT year, SUM(${HIRED_IN_YEAR}) AS hired FROM ${quote(QUARTERLY_HIRES)} GROUP BY year ORDER BY year`,
};
