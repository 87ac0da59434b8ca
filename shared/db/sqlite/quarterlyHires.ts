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

const QUARTERS = ['q1', 'q2', 'q3', 'q4'];
/** A row's hires in its whole year, as SQL over its columns. */
export const HIRED_IN_YEAR = QUARTERS.join(' + ');

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
export const COUNTS_AGREE = `SELECT (SELECT COUNT(*) FROM ${quote(HIRES.name)}), (SELECT COALESCE(SUM(${HIRED_IN_YEAR}), 0) FROM ${quote(QUARTERLY_HIRES)})`;

/** Tallies beyond this many keys go to the table before the transaction ends: memory stays bounded. */
const MAX_TALLY_KEYS = 100_000;
/** Slots a tally starts with; it doubles when half of them are used. */
const INITIAL_SLOTS = 1024;

/**
 * The counts a transaction's inserted hires add, until they are added to the table: an
 * open-addressing table in typed arrays, keyed by year, department and job, with four counts per
 * key. A restore or a load tallies millions of hires on the thread that reads them, and three
 * nested maps cost a third of that thread's time in such a restore.
 */
export class QuarterlyHiresTally {
  /** Each slot's year, department and job. */
  private keys = new Int32Array(INITIAL_SLOTS * 3);
  /** Each slot's hires in its four quarters. */
  private quarters = new Float64Array(INITIAL_SLOTS * 4);
  private used = new Uint8Array(INITIAL_SLOTS);
  private size = 0;

  /** Tallies hired_employees rows, `width` values each, in one flat array. */
  tally(values: readonly unknown[], width: number): void {
    for (let at = 0; at < values.length; at += width) {
      const quarter = quarterIndex(values[at + DATETIME] as number);
      const slot = this.slot(Math.floor(quarter / 4), values[at + DEPARTMENT] as number, values[at + JOB] as number);
      this.quarters[slot * 4 + (quarter % 4)]++;
    }
  }

  /** Whether it holds more counts than memory allows: they go to the table now, inside the transaction. */
  get full(): boolean {
    return this.size > MAX_TALLY_KEYS;
  }

  /** The slot of a year's department and job, taken on first use. */
  private slot(year: number, department: number, job: number): number {
    const mask = this.used.length - 1;
    for (let slot = tallyHash(year, department, job) & mask; ; slot = (slot + 1) & mask) {
      if (!this.used[slot]) {
        this.used[slot] = 1;
        const at = slot * 3;
        this.keys[at] = year;
        this.keys[at + 1] = department;
        this.keys[at + 2] = job;
        if (++this.size * 2 <= this.used.length) return slot;
        this.grow();
        return this.slot(year, department, job);
      }
      const at = slot * 3;
      if (this.keys[at] === year && this.keys[at + 1] === department && this.keys[at + 2] === job) return slot;
    }
  }

  private grow(): void {
    const { keys, quarters, used } = this;
    this.reset(used.length * 2);
    this.addFrom(keys, quarters, used);
  }

  /** Adds the counts held in another table's arrays. */
  private addFrom(keys: Int32Array, quarters: Float64Array, used: Uint8Array): void {
    for (let from = 0; from < used.length; from++) {
      if (!used[from]) continue;
      const to = this.slot(keys[from * 3], keys[from * 3 + 1], keys[from * 3 + 2]);
      for (let q = 0; q < 4; q++) this.quarters[to * 4 + q] += quarters[from * 4 + q];
    }
  }

  /** The counts as addQuarterlyHires's values, in one flat array; the tally is empty after. */
  take(): number[] {
    const { keys, quarters } = this;
    const values: number[] = [];
    for (let slot = 0; slot < this.used.length; slot++) {
      if (!this.used[slot]) continue;
      const k = slot * 3,
        q = slot * 4;
      values.push(keys[k], keys[k + 1], keys[k + 2], quarters[q], quarters[q + 1], quarters[q + 2], quarters[q + 3]);
    }
    this.clear();
    return values;
  }

  /** Adds these tallies to `other`'s (a savepoint's, once released, to its transaction's). */
  addTo(other: QuarterlyHiresTally): void {
    other.addFrom(this.keys, this.quarters, this.used);
  }

  /** Forgets the tallies: the hires they counted are gone. */
  clear(): void {
    this.reset(INITIAL_SLOTS);
  }

  private reset(slots: number): void {
    this.keys = new Int32Array(slots * 3);
    this.quarters = new Float64Array(slots * 4);
    this.used = new Uint8Array(slots);
    this.size = 0;
  }
}

/**
 * The tally's hash of a key: each part mixed in with MurmurHash3's finaliser, which carries every
 * bit into the low ones that the table takes. Ids that differ only in their high bits (multiples
 * of 2^20, say) must not share a slot, or the probes of a table of n keys grow as n².
 */
export function tallyHash(year: number, department: number, job: number): number {
  return mix(mix(mix(year) ^ department) ^ job);
}

function mix(value: number): number {
  let h = value ^ (value >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
