/**
 * The stakeholder metrics over the loaded data, in what every database dialect shares: the row
 * shapes, the accepted years, the UTC boundaries of a year and its quarters, and the CSV columns.
 * The counting itself is done by each engine's SQL (see `Database.hiresByQuarter` and
 * `Database.departmentsAboveMean`), never by fetching rows.
 */
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

/**
 * The departments above the mean of one year, with what the mean is of: the year's hires over
 * every department (those without hires count as 0).
 */
export interface DepartmentsAboveMean {
  readonly hires: number;
  readonly departments: number;
  readonly mean: number;
  readonly rows: DepartmentHiresRow[];
}

/** A year that has hires, and how many. */
export interface HireYear {
  readonly year: number;
  readonly hired: number;
}

export const MIN_YEAR = 1900;
export const MAX_YEAR = 9999;
export const DEFAULT_YEAR = 2021;

/** CSV header rows (and JSON key order) of the two metrics. */
export const HIRES_BY_QUARTER_COLUMNS = ['department', 'job', 'Q1', 'Q2', 'Q3', 'Q4'] as const;
export const DEPARTMENTS_ABOVE_MEAN_COLUMNS = ['id', 'department', 'hired'] as const;

/** The mean that the departments above it exceed; 0 with no departments. */
export function meanHires(hires: number, departments: number): number {
  return departments === 0 ? 0 : hires / departments;
}

/**
 * The UTC instants that bound `year` and its quarters, in milliseconds since the epoch (the form of
 * a normalised row's datetime, and of SQLite's stored one).
 *
 * - `first`, `last`: the first and last millisecond of the year, both inclusive.
 * - `q2`, `q3`, `q4`: the first millisecond of the 2nd, 3rd and 4th quarter. A hire at `t` is
 *   in Q1 if `t < q2`, Q2 if `q2 <= t < q3`, Q3 if `q3 <= t < q4`, Q4 otherwise.
 */
export interface YearBounds {
  readonly first: number;
  readonly q2: number;
  readonly q3: number;
  readonly q4: number;
  readonly last: number;
}

export function yearBounds(year: number): YearBounds {
  // Date.UTC reads years 0-99 as 1900-1999: the edge accepts MIN_YEAR to MAX_YEAR only.
  if (!Number.isInteger(year) || year < MIN_YEAR || year > MAX_YEAR)
    throw new RangeError(`year ${year} is outside ${MIN_YEAR}-${MAX_YEAR}`);
  const start = (month: number) => Date.UTC(year, month, 1);
  return { first: start(0), q2: start(3), q3: start(6), q4: start(9), last: Date.UTC(year + 1, 0, 1) - 1 };
}

const MS_PER_DAY = 86_400_000;

/**
 * year*4 + quarter-1 of a UTC instant (epoch ms), the quarters yearBounds draws, by arithmetic (the
 * civil-from-days algorithm): no Date per hire.
 */
export function quarterIndex(ms: number): number {
  const days = Math.floor(ms / MS_PER_DAY) + 719_468;
  const era = Math.floor(days / 146_097);
  const dayOfEra = days - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // March is 0
  const month = shiftedMonth < 10 ? shiftedMonth + 2 : shiftedMonth - 10; // January is 0
  const year = yearOfEra + era * 400 + (month < 2 ? 1 : 0);
  return year * 4 + Math.floor(month / 3);
}
