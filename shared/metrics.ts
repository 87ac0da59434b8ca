/**
 * The stakeholder metrics over the loaded data, in what every database dialect shares: the row
 * shapes, the accepted years, the UTC boundaries of a year and its quarters, and the CSV columns.
 * The counting itself is done by each dialect's SQL (see `Database.hiresByQuarter` and
 * `Database.departmentsAboveMean`), never by fetching rows.
 */
import { BadRequestError } from './errors';

/** Hires of one department and job in one year, by quarter of the hire's UTC instant. */
export interface HiresByQuarterRow {
  readonly department: string;
  readonly job: string;
  readonly Q1: number;
  readonly Q2: number;
  readonly Q3: number;
  readonly Q4: number;
}

/** A department and its number of hires in one year. */
export interface DepartmentHiresRow {
  readonly id: number;
  readonly department: string;
  readonly hired: number;
}

export const MIN_YEAR = 1900;
export const MAX_YEAR = 9999;
export const DEFAULT_YEAR = 2021;

/** CSV header rows (and JSON key order) of the two metrics. */
export const HIRES_BY_QUARTER_COLUMNS = ['department', 'job', 'Q1', 'Q2', 'Q3', 'Q4'] as const;
export const DEPARTMENTS_ABOVE_MEAN_COLUMNS = ['id', 'department', 'hired'] as const;

/** Throws a 400 unless `year` is a whole number from MIN_YEAR to MAX_YEAR. */
export function checkYear(year: number): number {
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR) {
    throw new BadRequestError(`year must be a whole number from ${MIN_YEAR} to ${MAX_YEAR}; got ${year}`, 'bad_query');
  }
  return year;
}

/**
 * The UTC instants that bound `year` and its quarters, as canonical ISO 8601 text with
 * milliseconds (`YYYY-MM-DDTHH:MM:SS.mmmZ`, 24 characters), the form in which datetimes are
 * stored: compared as text they order as time does.
 *
 * - `first`, `last`: the first and last millisecond of the year, both inclusive. (The last one
 *   rather than the start of the next year, so that year 9999 needs no five-digit year.)
 * - `q2`, `q3`, `q4`: the first millisecond of the 2nd, 3rd and 4th quarter. A hire at `t` is
 *   in Q1 if `t < q2`, Q2 if `q2 <= t < q3`, Q3 if `q3 <= t < q4`, Q4 otherwise.
 */
export interface YearBounds {
  readonly first: string;
  readonly q2: string;
  readonly q3: string;
  readonly q4: string;
  readonly last: string;
}

export function yearBounds(year: number): YearBounds {
  checkYear(year);
  const y = String(year).padStart(4, '0');
  return {
    first: `${y}-01-01T00:00:00.000Z`,
    q2: `${y}-04-01T00:00:00.000Z`,
    q3: `${y}-07-01T00:00:00.000Z`,
    q4: `${y}-10-01T00:00:00.000Z`,
    last: `${y}-12-31T23:59:59.999Z`,
  };
}
