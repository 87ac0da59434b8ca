/**
 * The hires counted per year, department and job, by quarter of the hire's UTC instant: what both
 * metrics read, so that they cost the same at any number of hires. It is kept in the transaction
 * that inserts the hires: the transaction tallies each insert as it sends it to the writer thread,
 * and the writer adds the tally as it commits. The write connection empties it with the hires,
 * and rebuilds it from them at start where the two disagree (a new table, or hires written by a
 * version that did not keep it).
 */
import { quarterIndex } from '../../metrics';
import { getTable } from '../../tables';
import { insertStatement, quote } from './ddl';

export const QUARTERLY_HIRES = 'hires_by_quarter';
/** The table of an earlier version, one row per quarter: dropped, and its counts made again in the new one. */
export const DROP_RETIRED_COUNTS = `DROP TABLE IF EXISTS ${quote('quarterly_hires')}`;

const HIRES = getTable('hired_employees');
const DATETIME = HIRES.columns.findIndex((c) => c.name === 'datetime');
const DEPARTMENT = HIRES.columns.findIndex((c) => c.name === 'department_id');
const JOB = HIRES.columns.findIndex((c) => c.name === 'job_id');

/** A year's department-and-job pairs with their four quarters, in key order: the metrics read them as they are, without grouping or sorting. */
export const CREATE_QUARTERLY_HIRES = `CREATE TABLE IF NOT EXISTS ${quote(QUARTERLY_HIRES)} (
  year INTEGER NOT NULL, department_id INTEGER NOT NULL, job_id INTEGER NOT NULL,
  q1 INTEGER NOT NULL, q2 INTEGER NOT NULL, q3 INTEGER NOT NULL, q4 INTEGER NOT NULL,
  PRIMARY KEY (year, department_id, job_id)) STRICT, WITHOUT ROWID`;

/** The counts of every stored hire, for a table that was created after the hires were (an upgrade). */
export const REBUILD_QUARTERLY_HIRES = `INSERT INTO ${quote(QUARTERLY_HIRES)} (year, department_id, job_id, q1, q2, q3, q4)
  SELECT year, department_id, job_id, SUM(quarter = 1), SUM(quarter = 2), SUM(quarter = 3), SUM(quarter = 4)
  FROM (SELECT CAST(strftime('%Y', datetime / 1000.0, 'unixepoch') AS INTEGER) AS year, department_id, job_id,
               (CAST(strftime('%m', datetime / 1000.0, 'unixepoch') AS INTEGER) + 2) / 3 AS quarter
        FROM ${quote(HIRES.name)})
  GROUP BY 1, 2, 3`;

const QUARTERS = ['q1', 'q2', 'q3', 'q4'];
/** The values of each row addQuarterlyHires adds, in order. */
const ADDED_COLUMNS = ['year', 'department_id', 'job_id', ...QUARTERS];
export const QUARTERLY_HIRES_WIDTH = ADDED_COLUMNS.length;

/** Adds `rows` counts to those stored. */
export function addQuarterlyHires(rows: number): string {
  const sums = QUARTERS.map((q) => `${q} = ${q} + excluded.${q}`).join(', ');
  return `${insertStatement(QUARTERLY_HIRES, ADDED_COLUMNS, rows)} ON CONFLICT DO UPDATE SET ${sums}`;
}

export const CLEAR_QUARTERLY_HIRES = `DELETE FROM ${quote(QUARTERLY_HIRES)}`;

/** The number of hires, and the number the counts add up to. */
export const COUNTS_AGREE = `SELECT (SELECT COUNT(*) FROM ${quote(HIRES.name)}), (SELECT COALESCE(SUM(q1 + q2 + q3 + q4), 0) FROM ${quote(QUARTERLY_HIRES)})`;

/** Tallies beyond this many keys go to the table before the transaction ends: memory stays bounded. */
const MAX_TALLY_KEYS = 100_000;

/** The counts a transaction's inserted hires add, until they are added to the table. */
export class QuarterlyHiresTally {
  /** year → department → job → hires in each quarter: small integers at every level, which maps hash fastest. */
  private readonly counts = new Map<number, Map<number, Map<number, number[]>>>();
  private keys = 0;

  /** Tallies hired_employees rows, `width` values each, in one flat array. */
  tally(values: readonly unknown[], width: number): void {
    for (let at = 0; at < values.length; at += width) {
      const quarter = quarterIndex(values[at + DATETIME] as number);
      this.quarters(Math.floor(quarter / 4), values[at + DEPARTMENT] as number, values[at + JOB] as number)[quarter % 4]++;
    }
  }

  /** Whether it holds more counts than memory allows: they go to the table now, inside the transaction. */
  get full(): boolean {
    return this.keys > MAX_TALLY_KEYS;
  }

  /** The four counts of a year's department and job, made on first use. */
  private quarters(year: number, department: number, job: number): number[] {
    let departments = this.counts.get(year);
    if (!departments) this.counts.set(year, (departments = new Map()));
    let jobs = departments.get(department);
    if (!jobs) departments.set(department, (jobs = new Map()));
    let quarters = jobs.get(job);
    if (!quarters) {
      jobs.set(job, (quarters = [0, 0, 0, 0]));
      this.keys++;
    }
    return quarters;
  }

  /** The counts as addQuarterlyHires's values, in one flat array; the tally is empty after. */
  take(): number[] {
    const values: number[] = [];
    for (const [year, departments] of this.counts)
      for (const [department, jobs] of departments) for (const [job, quarters] of jobs) values.push(year, department, job, ...quarters);
    this.clear();
    return values;
  }

  /** Adds these tallies to `other`'s (a savepoint's, once released, to its transaction's). */
  addTo(other: QuarterlyHiresTally): void {
    for (const [year, departments] of this.counts)
      for (const [department, jobs] of departments)
        for (const [job, quarters] of jobs) {
          const sums = other.quarters(year, department, job);
          for (let q = 0; q < 4; q++) sums[q] += quarters[q];
        }
  }

  /** Forgets the tallies: the hires they counted are gone. */
  clear(): void {
    this.counts.clear();
    this.keys = 0;
  }
}
