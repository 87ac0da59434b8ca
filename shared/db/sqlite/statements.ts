/** SQLite's part of the statements: its syntax for the store's (../statements.ts), and the metrics in its own SQL. */
import type { MetricsStatements, SqlSyntax } from '../Engine';
import { HIRES_BY_QUARTER_COLUMNS } from '../../metrics';
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
 */
/** Each of hires-by-quarter's columns, as SQL over the counts (c) and the names (d, j). */
const HIRES_BY_QUARTER_SQL: Readonly<Record<(typeof HIRES_BY_QUARTER_COLUMNS)[number], string>> = {
  department: 'd.department',
  job: 'j.job',
  Q1: 'c.q1',
  Q2: 'c.q2',
  Q3: 'c.q3',
  Q4: 'c.q4',
};
const HIRES_BY_QUARTER_FROM = `FROM ${quote(QUARTERLY_HIRES)} c
     JOIN departments d ON d.id = c.department_id
     JOIN jobs j ON j.id = c.job_id
     WHERE c.year = @year`;
/*
 * `COLLATE NOCASE` first, as Azure SQL's default case-insensitive collation orders ("General
 * Manager" before "GIS Technical Architect"), then the exact text (BINARY) for names differing
 * only in case. NOCASE folds ASCII letters only: names with non-ASCII letters or accents may order
 * differently from Azure SQL's linguistic collation.
 */
const NAMES_ORDER = 'ORDER BY d.department COLLATE NOCASE, d.department, j.job COLLATE NOCASE, j.job, d.id, j.id';

export const SQLITE_METRICS: MetricsStatements = {
  hiresByQuarter: `SELECT ${HIRES_BY_QUARTER_COLUMNS.map((name) => `${HIRES_BY_QUARTER_SQL[name]} AS ${name}`).join(', ')}
     ${HIRES_BY_QUARTER_FROM}
     ${NAMES_ORDER}`,
  // Built by SQLite in one string: reading the rows out of better-sqlite3 one value at a time costs more than the query.
  // Ordered by the subquery's sorter, which SQLite keeps under an aggregate other than count, min or max (select.c,
  // tag-select-0230; the JSON contract case checks the order): json_group_array's own ORDER BY sorts in a B-tree, at twice the cost.
  hiresByQuarterJson: `SELECT '[' || COALESCE(group_concat(item, ','), '') || ']' AS rows
     FROM (SELECT json_object(${HIRES_BY_QUARTER_COLUMNS.map((name) => `'${name}', ${HIRES_BY_QUARTER_SQL[name]}`).join(', ')}) AS item
       ${HIRES_BY_QUARTER_FROM}
       ${NAMES_ORDER})`,
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
