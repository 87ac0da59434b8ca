/**
 * Instants as the data rules read and write them: ISO 8601 date-times parsed to epoch
 * milliseconds (UTC), within the range Azure SQL's DATETIME2 can store.
 */

/** The range of DATETIME2 on Azure SQL: a value outside it could never be stored there. */
const MIN_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');
/** SQL Server accepts offsets from -14:00 to +14:00, the range of real time zones. */
const MAX_OFFSET_MINUTES = 14 * 60;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** An instant given as epoch ms (a backup's timestamp-millis): the instants the parser can give, and no others. */
export function checkInstantMs(ms: number): number | { error: string } {
  return Number.isInteger(ms) && storable(ms) ? ms : { error: 'is outside the years 0001 to 9999' };
}

function storable(ms: number): boolean {
  return ms >= MIN_INSTANT && ms <= MAX_INSTANT;
}

/** Canonical text of an instant: UTC, millisecond precision, e.g. 2021-07-27T16:02:08.000Z. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

const FORMAT_ERROR = 'must be an ISO 8601 date-time, YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]';
const MS_PER_DAY = 86_400_000;

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` to epoch ms (UTC), rounding the fraction to
 * ms. Written out by hand rather than with a RegExp and a Date: it runs once per row of every
 * load, and allocates nothing.
 */
export function parseInstant(text: string): number | { error: string } {
  const length = text.length;
  if (length < 19 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') {
    return { error: FORMAT_ERROR };
  }
  const year = digitsAt(text, 0, 4),
    month = digitsAt(text, 5, 7),
    day = digitsAt(text, 8, 10);
  const hour = digitsAt(text, 11, 13),
    minute = digitsAt(text, 14, 16),
    second = digitsAt(text, 17, 19);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return { error: FORMAT_ERROR };
  let i = 19;
  // Four digits of fraction are enough to round to milliseconds.
  let tenthsOfMs = 0;
  if (text[i] === '.') {
    const start = ++i;
    while (i < length && i - start < 9 && isDigit(text.charCodeAt(i))) {
      if (i - start < 4) tenthsOfMs += (text.charCodeAt(i) - 48) * 10 ** (3 - (i - start));
      i++;
    }
    if (i === start) return { error: FORMAT_ERROR };
  }
  let offsetMinutes = 0;
  if (i < length) {
    const sign = text[i];
    if (sign === 'Z' && i + 1 === length) {
      // UTC
    } else if ((sign === '+' || sign === '-') && i + 6 === length && text[i + 3] === ':') {
      const hours = digitsAt(text, i + 1, i + 3),
        minutes = digitsAt(text, i + 4, i + 6);
      if (hours < 0 || minutes < 0) return { error: FORMAT_ERROR };
      offsetMinutes = hours * 60 + minutes;
      if (minutes > 59 || offsetMinutes > MAX_OFFSET_MINUTES) return { error: `offset ${text.slice(i)} is outside -14:00 to +14:00` };
      if (sign === '-') offsetMinutes = -offsetMinutes;
    } else {
      return { error: FORMAT_ERROR };
    }
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return { error: `${text.slice(0, 19)} is not a real calendar date and time` };
  }
  const ms =
    daysFromCivil(year, month, day) * MS_PER_DAY +
    ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 +
    Math.round(tenthsOfMs / 10);
  return storable(ms) ? ms : { error: 'is outside the years 0001 to 9999 once converted to UTC' };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The decimal number in text[from, to), or -1 if any character there is not a digit. */
function digitsAt(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - 48;
  }
  return value;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}
