import { describe, expect, it } from 'vitest';
import {
  checkFields,
  checkObject,
  differingColumns,
  MAX_ID,
  MAX_TEXT_LENGTH,
  rowToObject,
  type Checked,
  type Reason,
} from '../shared/rules';
import { foreignKeys, getTable, TABLES, type Row } from '../shared/tables';
import { formatInstant, parseInstant } from '../shared/instant';

const departments = getTable('departments');
const jobs = getTable('jobs');
const hired = getTable('hired_employees');

const T = '2021-07-27T16:02:08Z';
const T_MS = Date.UTC(2021, 6, 27, 16, 2, 8);

function ok(result: Checked): Row {
  expect(result.reasons, JSON.stringify(result.reasons)).toBeUndefined();
  expect(result.row).toBeDefined();
  return result.row!;
}

function rejected(result: Checked): Reason[] {
  expect(result.row).toBeUndefined();
  expect(result.reasons).toBeDefined();
  expect(result.reasons!.length).toBeGreaterThan(0);
  return result.reasons!;
}

/** The partial of a rejected row (fails the test if the row was accepted). */
function partialOf(result: Checked): Partial<Row> {
  if (result.row !== undefined) throw new Error('the row was accepted');
  expect(result.partial).toBeDefined();
  return result.partial!;
}

function fieldsOf(reasons: Reason[]): (string | null)[] {
  return reasons.map((r) => r.field);
}

/** A hired_employees CSV row with one field replaced. */
function hiredFields(overrides: Partial<Record<'id' | 'name' | 'datetime' | 'department_id' | 'job_id', string>> = {}): string[] {
  const base = { id: '1', name: 'Ada', datetime: T, department_id: '2', job_id: '3', ...overrides };
  return [base.id, base.name, base.datetime, base.department_id, base.job_id];
}

function hiredObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 1, name: 'Ada', datetime: T, department_id: 2, job_id: 3, ...overrides };
}

/** The instant (ms) of a datetime, or fails the test. */
function instant(text: string): number {
  const result = parseInstant(text);
  expect(typeof result, `${text} -> ${JSON.stringify(result)}`).toBe('number');
  return result as number;
}

function rejectsInstant(text: string): string {
  const result = parseInstant(text);
  expect(typeof result, `${text} -> ${JSON.stringify(result)}`).toBe('object');
  return (result as { error: string }).error;
}

describe('tables', () => {
  it('defines the three tables with the expected columns in file order', () => {
    expect(TABLES.map((t) => t.name)).toEqual(['departments', 'jobs', 'hired_employees']);
    expect(departments.columns.map((c) => c.name)).toEqual(['id', 'department']);
    expect(jobs.columns.map((c) => c.name)).toEqual(['id', 'job']);
    expect(hired.columns.map((c) => c.name)).toEqual(['id', 'name', 'datetime', 'department_id', 'job_id']);
    expect(hired.columns.map((c) => c.type)).toEqual(['id', 'text', 'datetime', 'id', 'id']);
  });

  it('gives each foreign key an index that begins with it, and no other index', () => {
    // The references are checked by those indexes; each index more is one more place every new hire is written.
    for (const table of TABLES) {
      expect(table.indexes.map((index) => index.columns)).toEqual(foreignKeys(table).map((fk) => [fk.column.name]));
    }
  });

  it('exports the limits of the spec', () => {
    expect(MAX_ID).toBe(2147483647);
    expect(MAX_TEXT_LENGTH).toBe(255);
  });
});

describe('checkFields: valid rows of each table', () => {
  it('departments', () => {
    expect(ok(checkFields(departments, ['1', 'Supply Chain']))).toEqual([1, 'Supply Chain']);
  });

  it('jobs', () => {
    expect(ok(checkFields(jobs, ['7', 'Marketing Assistant']))).toEqual([7, 'Marketing Assistant']);
  });

  it('hired_employees', () => {
    expect(ok(checkFields(hired, ['4535', 'Marcelo Gonzalez', '2021-07-27T16:02:08Z', '1', '2']))).toEqual([
      4535,
      'Marcelo Gonzalez',
      T_MS,
      1,
      2,
    ]);
  });

  it('trims surrounding white space of every field (spaces, tabs)', () => {
    expect(ok(checkFields(hired, [' 12 ', '\t Ada Lovelace \t', '  ' + T + ' ', ' 2', '3 ']))).toEqual([12, 'Ada Lovelace', T_MS, 2, 3]);
  });

  it('keeps inner white space of text', () => {
    expect(ok(checkFields(departments, ['1', '  Research   and  Development ']))).toEqual([1, 'Research   and  Development']);
  });
});

describe('checkFields: field count (rule 6)', () => {
  it.each([
    ['departments', departments, ['1']],
    ['departments', departments, ['1', 'a', 'b']],
    ['jobs', jobs, []],
    ['hired_employees', hired, ['1', 'Ada', T, '2']],
    ['hired_employees', hired, ['1', 'Ada', T, '2', '3', '4']],
    ['hired_employees', hired, ['1', 'Ada', T, '2', '3', '']],
  ])('%s with %j is rejected as a whole-row reason', (_name, table, fields) => {
    const reasons = rejected(checkFields(table, fields));
    expect(reasons).toHaveLength(1);
    expect(reasons[0].field).toBeNull();
    expect(reasons[0].message).toContain(`expected ${table.columns.length} fields`);
    expect(reasons[0].message).toContain(`got ${fields.length}`);
  });
});

describe('required fields (rule 1)', () => {
  it.each(['', ' ', '   ', '\t', '\r\n', '\u00a0'])('empty or white-space-only %j is required, in every column', (blank) => {
    for (let i = 0; i < hired.columns.length; i++) {
      const fields = hiredFields();
      fields[i] = blank;
      const reasons = rejected(checkFields(hired, fields));
      expect(reasons).toEqual([{ field: hired.columns[i].name, message: 'is required' }]);
    }
  });

  it('reports every bad field of a row at once', () => {
    const reasons = rejected(checkFields(hired, ['', '', '', '', '']));
    expect(fieldsOf(reasons)).toEqual(['id', 'name', 'datetime', 'department_id', 'job_id']);
    expect(reasons.every((r) => r.message === 'is required')).toBe(true);
  });
});

describe('ids (rule 2), as CSV text', () => {
  it.each([
    ['1', 1],
    ['2147483647', 2147483647],
    ['007', 7],
    [' 12 ', 12],
    ['0000000000000000000000001', 1],
    ['00002147483647', 2147483647],
    ['42', 42],
  ])('%j is accepted as %d', (text, value) => {
    for (const column of ['id', 'department_id', 'job_id'] as const) {
      const row = ok(checkFields(hired, hiredFields({ [column]: text })));
      expect(row[hired.columns.findIndex((c) => c.name === column)]).toBe(value);
    }
    expect(ok(checkFields(departments, [text, 'x']))[0]).toBe(value);
    expect(ok(checkFields(jobs, [text, 'x']))[0]).toBe(value);
  });

  it.each([
    '0',
    '00',
    '2147483648',
    '4294967296',
    '9999999999',
    '10000000000',
    '99999999999999999999999999999999',
    '1' + '0'.repeat(400),
    '-1',
    '+1',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    '1 2',
    '12a',
    'abc',
    '١٢', // Arabic-Indic digits are not decimal digits 0-9
    '１２', // full-width digits
    'Infinity',
    'NaN',
  ])('%j is rejected', (text) => {
    for (const column of ['id', 'department_id', 'job_id'] as const) {
      const reasons = rejected(checkFields(hired, hiredFields({ [column]: text })));
      expect(reasons).toEqual([{ field: column, message: `must be a whole number from 1 to ${MAX_ID}` }]);
    }
  });
});

describe('ids (rule 2), in JSON', () => {
  it.each([
    [1, 1],
    [2147483647, 2147483647],
    ['12', 12],
    [' 12 ', 12],
    ['007', 7],
    [1e2, 100],
    [5.0, 5],
  ])('%j is accepted as %d', (value, expected) => {
    for (const column of ['id', 'department_id', 'job_id'] as const) {
      const row = ok(checkObject(hired, hiredObject({ [column]: value })));
      expect(row[hired.columns.findIndex((c) => c.name === column)]).toBe(expected);
    }
    expect(ok(checkObject(departments, { id: value, department: 'x' }))[0]).toBe(expected);
  });

  it.each([
    [0],
    [-1],
    [1.5],
    [2147483648],
    [Number.MAX_SAFE_INTEGER],
    [1e300],
    [Infinity],
    [NaN],
    ['0'],
    ['2147483648'],
    ['1.5'],
    ['-1'],
    [true],
    [false],
    [{}],
    [[1]],
  ])('%j is rejected', (value) => {
    for (const column of ['id', 'department_id', 'job_id'] as const) {
      const reasons = rejected(checkObject(hired, hiredObject({ [column]: value })));
      expect(reasons).toEqual([{ field: column, message: `must be a whole number from 1 to ${MAX_ID}` }]);
    }
  });

  it.each([[null], [undefined], [''], ['   ']])('%j is "required"', (value) => {
    const reasons = rejected(checkObject(hired, hiredObject({ job_id: value })));
    expect(reasons).toEqual([{ field: 'job_id', message: 'is required' }]);
  });
});

describe('text (rule 3)', () => {
  it('accepts exactly 255 code units and rejects 256', () => {
    const a255 = 'a'.repeat(255);
    expect(ok(checkFields(departments, ['1', a255]))[1]).toBe(a255);
    const reasons = rejected(checkFields(departments, ['1', 'a'.repeat(256)]));
    expect(reasons).toHaveLength(1);
    expect(reasons[0].field).toBe('department');
    expect(reasons[0].message).toMatch(/at most 255/);
    expect(reasons[0].message).toContain('256');
  });

  it('counts the length after trimming', () => {
    const padded = '   ' + 'b'.repeat(255) + '   ';
    expect(ok(checkFields(jobs, ['1', padded]))[1]).toBe('b'.repeat(255));
  });

  it('accepts a single character', () => {
    expect(ok(checkFields(jobs, ['1', 'x']))[1]).toBe('x');
  });

  it('accepts any Unicode, keeping it unchanged', () => {
    const name = 'Zoë Ñúñez 李小龍 😀 Ⅻ';
    expect(ok(checkFields(hired, hiredFields({ name })))[1]).toBe(name);
  });

  it('counts an emoji as two UTF-16 code units', () => {
    const fits = '😀'.repeat(127) + 'a'; // 254 + 1 = 255 code units
    expect(fits.length).toBe(255);
    expect(ok(checkFields(hired, hiredFields({ name: fits })))[1]).toBe(fits);
    const tooLong = '😀'.repeat(128); // 128 characters but 256 code units
    const reasons = rejected(checkFields(hired, hiredFields({ name: tooLong })));
    expect(fieldsOf(reasons)).toEqual(['name']);
  });

  it('accepts characters that look like syntax (commas, quotes, newlines inside)', () => {
    expect(ok(checkFields(departments, ['1', 'R&D, "East"\nwing']))[1]).toBe('R&D, "East"\nwing');
  });

  it('in JSON, text must be a string', () => {
    for (const value of [5, true, { a: 1 }, ['x']]) {
      const reasons = rejected(checkObject(hired, hiredObject({ name: value })));
      expect(reasons).toEqual([{ field: 'name', message: 'must be a string' }]);
    }
    expect(ok(checkObject(jobs, { id: 1, job: '  Engineer ' }))).toEqual([1, 'Engineer']);
    expect(rejected(checkObject(jobs, { id: 1, job: 'j'.repeat(256) }))[0].field).toBe('job');
    expect(rejected(checkObject(jobs, { id: 1, job: ' \t ' }))).toEqual([{ field: 'job', message: 'is required' }]);
  });
});

describe('datetime (rule 4)', () => {
  it('accepts Z and stores epoch ms UTC', () => {
    expect(instant('2021-07-27T16:02:08Z')).toBe(T_MS);
  });

  it('treats no zone as UTC', () => {
    expect(instant('2021-07-27T16:02:08')).toBe(T_MS);
  });

  it.each([
    ['2021-07-27T18:02:08+02:00', T_MS],
    ['2021-07-27T11:02:08-05:00', T_MS],
    ['2021-07-27T21:32:08+05:30', T_MS],
    ['2021-07-27T16:02:08+00:00', T_MS],
    ['2021-07-27T16:02:08-00:00', T_MS],
    ['2021-07-28T06:02:08+14:00', T_MS],
    ['2021-07-27T02:02:08-14:00', T_MS],
    ['2021-07-28T05:47:08+13:45', T_MS],
  ])('%s is the same instant', (text, ms) => {
    expect(instant(text)).toBe(ms);
  });

  it('an offset can move the instant into the previous day, month and year', () => {
    expect(formatInstant(instant('2021-01-01T00:30:00+01:00'))).toBe('2020-12-31T23:30:00.000Z');
    expect(formatInstant(instant('2021-03-01T05:00:00+14:00'))).toBe('2021-02-28T15:00:00.000Z');
  });

  it('an offset can move the instant into the next day, month and year', () => {
    expect(formatInstant(instant('2021-12-31T23:30:00-01:00'))).toBe('2022-01-01T00:30:00.000Z');
    expect(formatInstant(instant('2020-02-28T20:00:00-05:00'))).toBe('2020-02-29T01:00:00.000Z');
  });

  it.each(['+14:30', '-14:30', '+14:01', '+15:00', '+25:00', '-25:00', '+99:00', '+05:60', '+00:99'])('offset %s is rejected', (zone) => {
    rejectsInstant('2021-07-27T16:02:08' + zone);
  });

  it('mentions the allowed range when an offset is out of range', () => {
    expect(rejectsInstant('2021-07-27T16:02:08+25:00')).toMatch(/-14:00 to \+14:00/);
  });

  it.each([
    ['.1', 100],
    ['.12', 120],
    ['.123', 123],
    ['.1234', 123],
    ['.1235', 124],
    ['.12345', 123],
    ['.123456', 123],
    ['.1234567', 123],
    ['.12349999', 123],
    ['.123456789', 123],
    ['.0004', 0],
    ['.0005', 1],
    ['.00049999', 0],
    ['.9994', 999],
    ['.99949', 999],
    ['.999', 999],
    ['.000000001', 0],
    ['.5', 500],
    ['.000', 0],
  ])('fraction %s rounds to %d ms', (fraction, ms) => {
    expect(instant('2021-07-27T16:02:08' + fraction + 'Z')).toBe(T_MS + ms);
  });

  it('fractional digits 1 to 9 are all accepted', () => {
    for (let n = 1; n <= 9; n++) {
      expect(instant('2021-07-27T16:02:08.' + '1'.repeat(n) + 'Z')).toBe(T_MS + Math.round(Number('0.' + '1'.repeat(n)) * 1000));
    }
  });

  it('a fraction of .9995 rounds up into the next second', () => {
    expect(instant('2021-07-27T16:02:08.9995Z')).toBe(T_MS + 1000);
    expect(instant('2021-07-27T16:02:08.999999999Z')).toBe(T_MS + 1000);
  });

  it('rounding up can carry into the next minute, day and year', () => {
    expect(formatInstant(instant('2021-12-31T23:59:59.9995Z'))).toBe('2022-01-01T00:00:00.000Z');
    expect(formatInstant(instant('2021-12-31T23:59:59.99949Z'))).toBe('2021-12-31T23:59:59.999Z');
  });

  it('combines fraction and offset', () => {
    expect(formatInstant(instant('2021-01-01T01:00:00.5+01:30'))).toBe('2020-12-31T23:30:00.500Z');
  });

  it.each([
    ['2020-02-29T00:00:00Z', '2020-02-29T00:00:00.000Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000Z'],
    ['2021-02-28T23:59:59Z', '2021-02-28T23:59:59.000Z'],
    ['2021-04-30T00:00:00Z', '2021-04-30T00:00:00.000Z'],
    ['2021-12-31T23:59:59Z', '2021-12-31T23:59:59.000Z'],
    ['2021-01-01T00:00:00Z', '2021-01-01T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0050-06-15T00:00:00Z', '0050-06-15T00:00:00.000Z'],
    ['1900-03-01T00:00:00Z', '1900-03-01T00:00:00.000Z'],
    ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
  ])('real date %s is accepted', (text, iso) => {
    expect(formatInstant(instant(text))).toBe(iso);
  });

  it('years 0–99 are not mapped to 1900–1999', () => {
    expect(new Date(instant('0050-06-15T00:00:00Z')).getUTCFullYear()).toBe(50);
  });

  it.each([
    '2021-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2021-02-30T00:00:00Z',
    '2021-04-31T00:00:00Z',
    '2021-06-31T00:00:00Z',
    '2021-13-01T00:00:00Z',
    '2021-00-10T00:00:00Z',
    '2021-01-00T00:00:00Z',
    '2021-01-32T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2021-01-01T24:00:00Z',
    '2021-01-01T23:60:00Z',
    '2021-01-01T23:59:60Z',
  ])('impossible date-time %s is rejected', (text) => {
    expect(rejectsInstant(text)).toMatch(/not a real calendar date and time/);
  });

  it.each([
    '2021-07-27 16:02:08',
    '2021-07-27 16:02:08Z',
    '2021-07-27t16:02:08Z',
    '2021-07-27T16:02:08z',
    '2021-07-27T16:02',
    '2021-07-27T16:02Z',
    '2021-07-27',
    '2021-07-27T16:02:08.',
    '2021-07-27T16:02:08.1234567890Z',
    '2021-07-27T16:02:08+0200',
    '2021-07-27T16:02:08+02',
    '2021-07-27T16:02:08 Z',
    '2021-7-27T16:02:08Z',
    '2021-07-27T6:02:08Z',
    '21-07-27T16:02:08Z',
    '+02021-07-27T16:02:08Z',
    '2021/07/27T16:02:08Z',
    '20210727T160208Z',
    '2021-07-27T16:02:08,5Z',
    '2021-07-27T16:02:08ZZ',
    '1627401728000',
    'yesterday',
    '２０２１-07-27T16:02:08Z',
  ])('malformed %j is rejected', (text) => {
    expect(rejectsInstant(text)).toMatch(/ISO 8601/);
  });

  it('through checkFields, a bad datetime is reported on the datetime field', () => {
    for (const datetime of ['2021-02-30T10:00:00Z', '2021-07-27 16:02:08', '2021-07-27T16:02:08+25:00', '0000-01-01T00:00:00Z']) {
      const reasons = rejected(checkFields(hired, hiredFields({ datetime })));
      expect(fieldsOf(reasons)).toEqual(['datetime']);
    }
  });

  it('through checkObject, a datetime must be a string', () => {
    expect(rejected(checkObject(hired, hiredObject({ datetime: T_MS })))).toEqual([{ field: 'datetime', message: 'must be a string' }]);
    expect(ok(checkObject(hired, hiredObject({ datetime: ' 2021-07-27T18:02:08+02:00 ' })))[2]).toBe(T_MS);
  });
});

describe('checkObject: shape (rule 6)', () => {
  it('accepts each table with exactly its keys, in any key order', () => {
    expect(ok(checkObject(departments, { department: 'Sales', id: 3 }))).toEqual([3, 'Sales']);
    expect(ok(checkObject(jobs, { id: '4', job: 'Dev' }))).toEqual([4, 'Dev']);
    expect(ok(checkObject(hired, { job_id: 3, department_id: '2', datetime: T, name: 'Ada', id: 1 }))).toEqual([1, 'Ada', T_MS, 2, 3]);
  });

  it('reports an unknown key by name', () => {
    const reasons = rejected(checkObject(departments, { id: 1, department: 'Sales', extra: 'x' }));
    expect(reasons).toEqual([{ field: 'extra', message: 'is not a column of departments' }]);
  });

  it('reports a key of another table as unknown', () => {
    const reasons = rejected(checkObject(jobs, { id: 1, job: 'Dev', department: 'Sales' }));
    expect(reasons).toEqual([{ field: 'department', message: 'is not a column of jobs' }]);
  });

  it('key names are case-sensitive', () => {
    const reasons = rejected(checkObject(departments, { ID: 1, department: 'Sales' }));
    expect(reasons).toEqual(
      expect.arrayContaining([
        { field: 'id', message: 'is required' },
        { field: 'ID', message: 'is not a column of departments' },
      ]),
    );
    expect(reasons).toHaveLength(2);
  });

  it('reports missing keys by name', () => {
    const reasons = rejected(checkObject(hired, { id: 1, name: 'Ada' }));
    expect(reasons).toEqual([
      { field: 'datetime', message: 'is required' },
      { field: 'department_id', message: 'is required' },
      { field: 'job_id', message: 'is required' },
    ]);
  });

  it('reports missing keys, unknown keys and bad values all at once', () => {
    const reasons = rejected(checkObject(hired, { id: 0, name: '', datetime: '2021-02-30T00:00:00Z', foo: 1, bar: null }));
    expect(fieldsOf(reasons).sort()).toEqual(['bar', 'datetime', 'department_id', 'foo', 'id', 'job_id', 'name'].sort());
    expect(reasons.find((r) => r.field === 'foo')!.message).toBe('is not a column of hired_employees');
    expect(reasons.find((r) => r.field === 'bar')!.message).toBe('is not a column of hired_employees');
    expect(reasons.find((r) => r.field === 'department_id')!.message).toBe('is required');
    expect(reasons.find((r) => r.field === 'name')!.message).toBe('is required');
    expect(reasons.find((r) => r.field === 'id')!.message).toMatch(/whole number/);
  });

  it('rejects an empty object with every column required', () => {
    const reasons = rejected(checkObject(departments, {}));
    expect(reasons).toEqual([
      { field: 'id', message: 'is required' },
      { field: 'department', message: 'is required' },
    ]);
  });

  it('rejects inherited properties: only own keys count', () => {
    const proto = { id: 1, department: 'Sales' };
    const reasons = rejected(checkObject(departments, Object.create(proto)));
    expect(fieldsOf(reasons)).toEqual(['id', 'department']);
  });

  it('treats a JSON "__proto__" key as an unknown key', () => {
    const value = JSON.parse('{"id":1,"department":"Sales","__proto__":{"x":1}}');
    const reasons = rejected(checkObject(departments, value));
    expect(reasons).toEqual([{ field: '__proto__', message: 'is not a column of departments' }]);
  });

  it.each([[null], [undefined], [1], ['{"id":1}'], [true], [[1, 'Sales']], [[]]])(
    'rejects the non-object %j as a whole-row reason',
    (value) => {
      const reasons = rejected(checkObject(departments, value));
      expect(reasons).toHaveLength(1);
      expect(reasons[0].field).toBeNull();
      expect(reasons[0].message).toMatch(/JSON object/);
      expect(reasons[0].message).toContain('id, department');
    },
  );
});

describe('partial: the valid values of a rejected row', () => {
  it('checkFields keeps every value that passed', () => {
    const result = checkFields(hired, ['10', '', '2021-02-30T00:00:00Z', '2', 'x']);
    rejected(result);
    expect(fieldsOf(result.reasons!)).toEqual(['name', 'datetime', 'job_id']);
    const partial = partialOf(result);
    expect(partial).toBeDefined();
    expect(partial[0]).toBe(10);
    expect(partial[1]).toBeUndefined();
    expect(partial[2]).toBeUndefined();
    expect(partial[3]).toBe(2);
    expect(partial[4]).toBeUndefined();
  });

  it('checkFields partial holds normalised values (trimmed text, epoch ms)', () => {
    const result = checkFields(hired, ['0', '  Ada  ', ' 2021-07-27T18:02:08+02:00 ', '007', '3']);
    expect(fieldsOf(rejected(result))).toEqual(['id']);
    expect(partialOf(result)[0]).toBeUndefined();
    expect(partialOf(result).slice(1)).toEqual(['Ada', T_MS, 7, 3]);
  });

  it('checkObject keeps every value that passed, even with unknown keys', () => {
    const result = checkObject(hired, { id: '5', name: ' Bob ', datetime: T, department_id: 1.5, job_id: 9, extra: true });
    expect(fieldsOf(rejected(result))).toEqual(['department_id', 'extra']);
    const partial = partialOf(result);
    expect(partial[0]).toBe(5);
    expect(partial[1]).toBe('Bob');
    expect(partial[2]).toBe(T_MS);
    expect(partial[3]).toBeUndefined();
    expect(partial[4]).toBe(9);
  });

  it('a valid row has no partial and no reasons', () => {
    const result = checkFields(departments, ['1', 'A']);
    expect(result).toEqual({ row: [1, 'A'] });
  });
});

describe('rowToObject / formatInstant', () => {
  it('formatInstant is canonical UTC with milliseconds', () => {
    expect(formatInstant(T_MS)).toBe('2021-07-27T16:02:08.000Z');
    expect(formatInstant(T_MS + 7)).toBe('2021-07-27T16:02:08.007Z');
    expect(formatInstant(Date.UTC(2000, 0, 1) - 1)).toBe('1999-12-31T23:59:59.999Z');
  });

  it('rowToObject is the inverse of checkObject', () => {
    const row = ok(
      checkObject(hired, { id: 12, name: 'Zoë 😀', datetime: '2021-07-27T18:02:08.5+02:00', department_id: '007', job_id: 3 }),
    );
    const object = rowToObject(hired, row);
    expect(object).toEqual({ id: 12, name: 'Zoë 😀', datetime: '2021-07-27T16:02:08.500Z', department_id: 7, job_id: 3 });
    expect(ok(checkObject(hired, object))).toEqual(row);
  });

  it('rowToObject keys values by column name, ids as numbers, datetimes as ISO text', () => {
    expect(rowToObject(departments, [1, 'Sales'])).toEqual({ id: 1, department: 'Sales' });
    expect(rowToObject(jobs, [3, 'Dev'])).toEqual({ id: 3, job: 'Dev' });
    const object = rowToObject(hired, [4535, 'Marcelo', T_MS, 1, 2]);
    expect(object).toEqual({ id: 4535, name: 'Marcelo', datetime: '2021-07-27T16:02:08.000Z', department_id: 1, job_id: 2 });
    expect(Object.keys(object)).toEqual(['id', 'name', 'datetime', 'department_id', 'job_id']);
  });

  it('rowToObject round-trips through checkObject', () => {
    const row: Row = [9, 'Ada', T_MS + 1, 4, 5];
    expect(ok(checkObject(hired, rowToObject(hired, row)))).toEqual(row);
  });
});

describe('differingColumns', () => {
  it('is empty for equal rows', () => {
    expect(differingColumns(hired, [1, 'Ada', T_MS, 2, 3], [1, 'Ada', T_MS, 2, 3])).toEqual([]);
  });

  it('names each column that differs, in column order', () => {
    expect(differingColumns(hired, [1, 'Ada', T_MS, 2, 3], [1, 'Ada ', T_MS + 1, 2, 4])).toEqual(['name', 'datetime', 'job_id']);
    expect(differingColumns(departments, [1, 'Sales'], [2, 'sales'])).toEqual(['id', 'department']);
    expect(differingColumns(jobs, [1, 'Dev'], [1, 'Ops'])).toEqual(['job']);
  });

  it('compares strictly: a number is not its digit string', () => {
    expect(differingColumns(departments, [1, 'Sales'], ['1' as unknown as number, 'Sales'])).toEqual(['id']);
  });
});
