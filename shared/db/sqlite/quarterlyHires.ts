/**
 * The hires counted per (year, quarter, department, job) of the hire's UTC instant: what both
 * metrics read, so that they cost the same at any number of hires. It is kept in the transaction
 * that inserts the hires: the transaction tallies each insert as it sends it to the writer thread,
 * and the writer adds the tally as it commits. The write connection empties it with the hires,
 * and rebuilds it from them at start where the two disagree (a new table, or hires written by a
 * version that did not keep it).
 */
import { quarterIndex } from '../../metrics';
import { getTable } from '../../tables';
import { insertStatement, quote } from './ddl';

export const QUARTERLY_HIRES = 'quarterly_hires';

const HIRES = getTable('hired_employees');
const DATETIME = HIRES.columns.findIndex((c) => c.name === 'datetime');
const DEPARTMENT = HIRES.columns.findIndex((c) => c.name === 'department_id');
const JOB = HIRES.columns.findIndex((c) => c.name === 'job_id');

/** Keyed in the order the metrics read it: a year's rows, grouped by department and job, without a sort. */
export const CREATE_QUARTERLY_HIRES = `CREATE TABLE IF NOT EXISTS ${quote(QUARTERLY_HIRES)} (
  year INTEGER NOT NULL, department_id INTEGER NOT NULL, job_id INTEGER NOT NULL, quarter INTEGER NOT NULL, hired INTEGER NOT NULL,
  PRIMARY KEY (year, department_id, job_id, quarter)) STRICT, WITHOUT ROWID`;

/** The counts of every stored hire, for a table that was created after the hires were (an upgrade). */
export const REBUILD_QUARTERLY_HIRES = `INSERT INTO ${quote(QUARTERLY_HIRES)} (year, department_id, job_id, quarter, hired)
  SELECT CAST(strftime('%Y', datetime / 1000.0, 'unixepoch') AS INTEGER) AS year, department_id, job_id,
         (CAST(strftime('%m', datetime / 1000.0, 'unixepoch') AS INTEGER) + 2) / 3 AS quarter, COUNT(*)
  FROM ${quote(HIRES.name)} GROUP BY 1, 2, 3, 4`;

/** The values of each row addQuarterlyHires adds, in order. */
const ADDED_COLUMNS = ['year', 'department_id', 'job_id', 'quarter', 'hired'];
export const QUARTERLY_HIRES_WIDTH = ADDED_COLUMNS.length;

/** Adds `rows` counts to those stored. */
export function addQuarterlyHires(rows: number): string {
  return `${insertStatement(QUARTERLY_HIRES, ADDED_COLUMNS, rows)} ON CONFLICT DO UPDATE SET hired = hired + excluded.hired`;
}

export const CLEAR_QUARTERLY_HIRES = `DELETE FROM ${quote(QUARTERLY_HIRES)}`;

/** The number of hires, and the number the counts add up to. */
export const COUNTS_AGREE = `SELECT (SELECT COUNT(*) FROM ${quote(HIRES.name)}), (SELECT COALESCE(SUM(hired), 0) FROM ${quote(QUARTERLY_HIRES)})`;

/** Tallies beyond this many keys go to the table before the transaction ends: memory stays bounded. */
const MAX_TALLY_KEYS = 100_000;

/** The counts a transaction's inserted hires add, until they are added to the table. */
export class QuarterlyHiresTally {
  /** year*4 + quarter-1 → department → job → hires: small integers at every level, which maps hash fastest. */
  private readonly counts = new Map<number, Map<number, Map<number, number>>>();
  private keys = 0;

  /** Tallies hired_employees rows, `width` values each, in one flat array. */
  tally(values: readonly unknown[], width: number): void {
    for (let at = 0; at < values.length; at += width) {
      this.count(quarterIndex(values[at + DATETIME] as number), values[at + DEPARTMENT] as number, values[at + JOB] as number, 1);
    }
  }

  /** Whether it holds more counts than memory allows: they go to the table now, inside the transaction. */
  get full(): boolean {
    return this.keys > MAX_TALLY_KEYS;
  }

  private count(quarter: number, department: number, job: number, hires: number): void {
    let departments = this.counts.get(quarter);
    if (!departments) this.counts.set(quarter, (departments = new Map()));
    let jobs = departments.get(department);
    if (!jobs) departments.set(department, (jobs = new Map()));
    const hired = jobs.get(job);
    if (hired === undefined) this.keys++;
    jobs.set(job, (hired ?? 0) + hires);
  }

  /** The counts as addQuarterlyHires's values, in one flat array; the tally is empty after. */
  take(): number[] {
    const values: number[] = [];
    for (const [quarter, departments] of this.counts)
      for (const [department, jobs] of departments)
        for (const [job, hired] of jobs) values.push(Math.floor(quarter / 4), department, job, (quarter % 4) + 1, hired);
    this.clear();
    return values;
  }

  /** Adds these tallies to `other`'s (a savepoint's, once released, to its transaction's). */
  addTo(other: QuarterlyHiresTally): void {
    for (const [quarter, departments] of this.counts)
      for (const [department, jobs] of departments) for (const [job, hired] of jobs) other.count(quarter, department, job, hired);
  }

  /** Forgets the tallies: the hires they counted are gone. */
  clear(): void {
    this.counts.clear();
    this.keys = 0;
  }
}
