/**
 * The metrics endpoints over real HTTP against `node dist/local/host.js`: hand-built rows that
 * cover quarter and year boundaries, time zone offsets, a department without hires, ties and names
 * differing only in case; then the customer's files, where they are present.
 */
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChallengeFiles, loadChallengeFile } from './helpers/challenge';
import { get, postJson, removeDir, request, startHost, type ApiResponse, type HostHandle } from './helpers/localHost';

const HBQ = '/api/metrics/hires-by-quarter';
const DAM = '/api/metrics/departments-above-mean';
const YEARS = '/api/metrics/years';

function expectError(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
  expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  if (code) expect(res.body.error.code).toBe(code);
}

/** Parses a CSV response back into rows, with the numeric columns as numbers. */
function parseCsv(res: ApiResponse, header: string[], numeric: string[]): Record<string, unknown>[] {
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
  expect(res.text.split('\r\n')[0]).toBe(header.join(','));
  const parsed = Papa.parse<Record<string, unknown>>(res.text, {
    header: true,
    skipEmptyLines: true,
    dynamicTyping: Object.fromEntries(numeric.map((c) => [c, true])),
  });
  expect(parsed.errors).toEqual([]);
  expect(parsed.meta.fields).toEqual(header);
  return parsed.data;
}

const HBQ_HEADER = ['department', 'job', 'Q1', 'Q2', 'Q3', 'Q4'];
const DAM_HEADER = ['id', 'department', 'hired'];

describe('metrics over hand-built data', () => {
  let host: HostHandle;

  beforeAll(async () => {
    host = await startHost();
  });
  afterAll(async () => {
    await host?.stop();
    removeDir(host?.dataDir);
  });

  it('an empty database gives empty results, as JSON and as CSV', async () => {
    for (const [route, totals] of [
      [HBQ, {}],
      [DAM, { hires: 0, departments: 0, mean: 0 }],
    ] as const) {
      const res = await get(host.url, route);
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(res.body).toEqual({ year: 2021, ...totals, rows: [] });
    }
    expect((await get(host.url, YEARS)).body).toEqual({ years: [] });
    expect(parseCsv(await get(host.url, `${HBQ}?format=csv`), HBQ_HEADER, [])).toEqual([]);
    expect(parseCsv(await get(host.url, `${DAM}?format=csv`), DAM_HEADER, [])).toEqual([]);
  });

  it('rejects a bad year or format with a 400', async () => {
    for (const route of [HBQ, DAM]) {
      for (const year of ['1899', '10000', 'abc', '2021.5', '-2021', '2021x', '%20', '1e3']) {
        expectError(await get(host.url, `${route}?year=${year}`), 400, 'bad_query');
      }
      for (const format of ['xml', 'CSV', 'text/csv']) {
        expectError(await get(host.url, `${route}?format=${encodeURIComponent(format)}`), 400, 'bad_query');
      }
      for (const year of ['1900', '9999', '02021']) {
        const res = await get(host.url, `${route}?year=${year}`);
        expect(res.status, res.text).toBe(200);
        expect(res.body).toMatchObject({ year: Number(year), rows: [] });
      }
      expect((await request(host.url + route, { method: 'POST' })).status).toBe(405);
    }
  });

  it('loads the hand-built rows', async () => {
    const departments = [
      { id: 1, department: 'Engineering' },
      { id: 2, department: 'engineering' }, // differs from 1 only in case
      { id: 3, department: 'Support' },
      { id: 4, department: 'Legal' }, // hires just outside 2021 only
      { id: 5, department: 'Marketing' }, // no hires at all
      { id: 6, department: 'Accounting' },
    ];
    const jobs = [
      { id: 1, job: 'General Manager' },
      { id: 2, job: 'GIS Technical Architect' }, // after "General Manager" case-insensitively, before it in binary order
      { id: 3, job: 'analyst' },
      { id: 4, job: 'Analyst' },
      { id: 5, job: 'Data "Ops", Lead \\ Über' }, // needs CSV quoting, and JSON escapes beyond ASCII
    ];
    const hire = (id: number, datetime: string, department_id: number, job_id: number) => ({
      id,
      name: `Person ${id}`,
      datetime,
      department_id,
      job_id,
    });
    const hires = [
      // Engineering / General Manager: Q1 2, Q2 2
      hire(1, '2021-01-01T00:00:00Z', 1, 1), // first instant of 2021
      hire(2, '2021-03-31T23:59:59.999Z', 1, 1), // last instant of Q1
      hire(3, '2021-04-01T00:00:00Z', 1, 1), // first instant of Q2
      hire(4, '2021-03-31T23:30:00-02:00', 1, 1), // 2021-04-01T01:30Z: Q2
      // Engineering / GIS Technical Architect: Q2 1, Q3 2, Q4 1
      hire(5, '2021-06-30T23:59:59.999Z', 1, 2),
      hire(6, '2021-07-01T00:00:00.000Z', 1, 2),
      hire(7, '2021-10-01T01:00:00+02:00', 1, 2), // 2021-09-30T23:00Z: Q3
      hire(8, '2021-09-30T23:00:00-01:00', 1, 2), // 2021-10-01T00:00Z: Q4
      // engineering / analyst: Q4 2; engineering / Analyst: Q1 1
      hire(9, '2021-12-31T23:59:59.999Z', 2, 3), // last instant of 2021
      hire(10, '2022-01-01T00:30:00+01:00', 2, 3), // 2021-12-31T23:30Z: 2021 Q4
      hire(11, '2020-12-31T23:00:00-02:00', 2, 4), // 2021-01-01T01:00Z: 2021 Q1
      // Support / General Manager: Q2 1, Q3 1; Support / Data "Ops", Lead \\ Über: Q1 1
      hire(12, '2021-05-05T12:00:00Z', 3, 1),
      hire(13, '2021-08-08T12:00:00+14:00', 3, 1),
      hire(14, '2021-02-01T09:00:00Z', 3, 5),
      // Legal: none in 2021
      hire(15, '2021-12-31T23:30:00-01:00', 4, 1), // 2022-01-01T00:30Z: 2022
      hire(16, '2021-01-01T00:30:00+01:00', 4, 1), // 2020-12-31T23:30Z: 2020
      hire(17, '2022-01-01T00:00:00Z', 4, 1),
      hire(18, '2020-06-01T00:00:00Z', 3, 3),
      // Accounting / Analyst: Q1 1; Accounting / analyst: Q4 2
      hire(19, '2021-02-01T00:00:00Z', 6, 4),
      hire(20, '2021-11-01T00:00:00Z', 6, 3),
      hire(21, '2021-11-02T00:00:00Z', 6, 3),
      // 2023: 6 hires over 6 departments, a mean of exactly 1: Engineering's 1 is not above it
      ...[1, 2, 3, 4, 5].map((i) => hire(21 + i, `2023-0${i}-01T00:00:00Z`, 3, 1)),
      hire(27, '2023-06-01T00:00:00Z', 1, 1),
      // 1899: a hire the rules take, in a year the metrics do not (MIN_YEAR)
      hire(28, '1899-12-31T12:00:00Z', 5, 1),
    ];
    for (const [table, rows] of [
      ['departments', departments],
      ['jobs', jobs],
      ['hired_employees', hires],
    ] as const) {
      const res = await postJson(host.url, `/api/tables/${table}/rows`, rows);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ inserted: rows.length, rejected: 0 });
    }
  });

  const HBQ_2021 = [
    { department: 'Accounting', job: 'Analyst', Q1: 1, Q2: 0, Q3: 0, Q4: 0 },
    { department: 'Accounting', job: 'analyst', Q1: 0, Q2: 0, Q3: 0, Q4: 2 },
    { department: 'Engineering', job: 'General Manager', Q1: 2, Q2: 2, Q3: 0, Q4: 0 },
    { department: 'Engineering', job: 'GIS Technical Architect', Q1: 0, Q2: 1, Q3: 2, Q4: 1 },
    { department: 'engineering', job: 'Analyst', Q1: 1, Q2: 0, Q3: 0, Q4: 0 },
    { department: 'engineering', job: 'analyst', Q1: 0, Q2: 0, Q3: 0, Q4: 2 },
    { department: 'Support', job: 'Data "Ops", Lead \\ Über', Q1: 1, Q2: 0, Q3: 0, Q4: 0 },
    { department: 'Support', job: 'General Manager', Q1: 0, Q2: 1, Q3: 1, Q4: 0 },
  ];

  it('hires by quarter: UTC quarters and years, case-insensitive order then exact text', async () => {
    const res = await get(host.url, HBQ); // 2021 by default
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ year: 2021, rows: HBQ_2021 });
    expect(res.text).toBe(JSON.stringify({ year: 2021, rows: HBQ_2021 }));
    expect((await get(host.url, `${HBQ}?year=2021`)).body).toEqual({ year: 2021, rows: HBQ_2021 });
    expect((await get(host.url, `${HBQ}?year=2020`)).body).toEqual({
      year: 2020,
      rows: [
        { department: 'Legal', job: 'General Manager', Q1: 0, Q2: 0, Q3: 0, Q4: 1 },
        { department: 'Support', job: 'analyst', Q1: 0, Q2: 1, Q3: 0, Q4: 0 },
      ],
    });
    expect((await get(host.url, `${HBQ}?year=2022`)).body).toEqual({
      year: 2022,
      rows: [{ department: 'Legal', job: 'General Manager', Q1: 2, Q2: 0, Q3: 0, Q4: 0 }],
    });
    expect((await get(host.url, `${HBQ}?year=1999`)).body).toEqual({ year: 1999, rows: [] });
  });

  it('departments above the mean: departments without hires count, ties by id', async () => {
    // 2021: 8 + 3 + 3 + 0 + 0 + 3 = 17 hires over 6 departments, mean 2.83 (4.25 without the zeros)
    expect((await get(host.url, DAM)).body).toEqual({
      year: 2021,
      hires: 17,
      departments: 6,
      mean: 17 / 6,
      rows: [
        { id: 1, department: 'Engineering', hired: 8 },
        { id: 2, department: 'engineering', hired: 3 },
        { id: 3, department: 'Support', hired: 3 },
        { id: 6, department: 'Accounting', hired: 3 },
      ],
    });
    // 2020: 1 + 1 over 6, mean 0.33
    expect((await get(host.url, `${DAM}?year=2020`)).body).toEqual({
      year: 2020,
      hires: 2,
      departments: 6,
      mean: 2 / 6,
      rows: [
        { id: 3, department: 'Support', hired: 1 },
        { id: 4, department: 'Legal', hired: 1 },
      ],
    });
    // 2023: 5 + 1 over 6, mean exactly 1: equal to the mean is not above it
    expect((await get(host.url, `${DAM}?year=2023`)).body).toEqual({
      year: 2023,
      hires: 6,
      departments: 6,
      mean: 1,
      rows: [{ id: 3, department: 'Support', hired: 5 }],
    });
    expect((await get(host.url, `${DAM}?year=1999`)).body).toEqual({ year: 1999, hires: 0, departments: 6, mean: 0, rows: [] });
  });

  it('the years that have hires, by UTC instant, with their hires; only years the metrics answer for', async () => {
    expect((await get(host.url, YEARS)).body).toEqual({
      years: [
        { year: 2020, hired: 2 },
        { year: 2021, hired: 17 },
        { year: 2022, hired: 2 },
        { year: 2023, hired: 6 },
      ],
    });
    const res = await get(host.url, `${YEARS}?year=2021`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_query_parameter');
  });

  it('CSV, by ?format=csv or Accept: text/csv, parses back to the same rows', async () => {
    const hbq = await get(host.url, `${HBQ}?format=csv`);
    expect(hbq.headers.get('content-disposition')).toBe('attachment; filename="hires-by-quarter-2021.csv"');
    expect(parseCsv(hbq, HBQ_HEADER, ['Q1', 'Q2', 'Q3', 'Q4'])).toEqual(HBQ_2021);
    expect(hbq.text).toContain('Support,"Data ""Ops"", Lead \\ Über",1,0,0,0\r\n');

    const accept = await request(host.url + HBQ, { headers: { accept: 'application/json;q=0.5, text/csv' } });
    expect(accept.text).toBe(hbq.text);

    const dam = await request(`${host.url}${DAM}?year=2021`, { headers: { accept: 'text/csv' } });
    expect(dam.headers.get('content-disposition')).toBe('attachment; filename="departments-above-mean-2021.csv"');
    expect(parseCsv(dam, DAM_HEADER, ['id', 'hired'])).toEqual((await get(host.url, DAM)).body.rows);

    // an explicit ?format=json wins over the Accept header
    const json = await request(`${host.url}${DAM}?format=json`, { headers: { accept: 'text/csv' } });
    expect(json.headers.get('content-type')).toMatch(/application\/json/);
    expect(json.body.rows).toHaveLength(4);

    // a year without hires: the header row only
    const empty = await get(host.url, `${DAM}?year=1999&format=csv`);
    expect(empty.text).toBe('id,department,hired\r\n');
    expect(parseCsv(empty, DAM_HEADER, [])).toEqual([]);
  });
});

describe.skipIf(!hasChallengeFiles)('metrics over the challenge files', () => {
  let host: HostHandle;

  beforeAll(async () => {
    host = await startHost();
    for (const table of ['departments', 'jobs', 'hired_employees']) {
      const res = await loadChallengeFile(host.url, table);
      expect(res.status, res.text).toBe(200);
    }
  });
  afterAll(async () => {
    await host?.stop();
    removeDir(host?.dataDir);
  });

  it('hires by quarter in 2021: 933 rows, ordered case-insensitively', async () => {
    const res = await get(host.url, HBQ);
    expect(res.status, res.text).toBe(200);
    const rows = res.body.rows as { department: string; job: string; Q1: number; Q2: number; Q3: number; Q4: number }[];
    expect(rows).toHaveLength(933);
    const key = (r: { department: string; job: string }) => [r.department.toLowerCase(), r.department, r.job.toLowerCase(), r.job];
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [key(rows[i - 1]), key(rows[i])];
      const c = a.findIndex((x, k) => x !== b[k]);
      expect(c === -1 || a[c] < b[c], `${JSON.stringify(rows[i - 1])} before ${JSON.stringify(rows[i])}`).toBe(true);
    }
    for (const r of rows) expect(r.Q1 + r.Q2 + r.Q3 + r.Q4).toBeGreaterThan(0);
    expect(parseCsv(await get(host.url, `${HBQ}?format=csv`), HBQ_HEADER, ['Q1', 'Q2', 'Q3', 'Q4'])).toEqual(rows);
  });

  it('departments above the mean in 2021: 7, starting Support 216 and Engineering 205', async () => {
    const res = await get(host.url, `${DAM}?year=2021`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.rows).toHaveLength(7);
    const year2021 = (await get(host.url, YEARS)).body.years.find((y: { year: number }) => y.year === 2021);
    expect(res.body).toMatchObject({ hires: year2021.hired, departments: 12, mean: year2021.hired / 12 });
    expect(res.body.rows.slice(0, 2)).toEqual([
      { id: 8, department: 'Support', hired: 216 },
      { id: 5, department: 'Engineering', hired: 205 },
    ]);
    expect(parseCsv(await get(host.url, `${DAM}?format=csv`), DAM_HEADER, ['id', 'hired'])).toEqual(res.body.rows);
  });
});
