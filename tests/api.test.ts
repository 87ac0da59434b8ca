/**
 * Every endpoint over real HTTP against `node dist/local/host.js`, plus one handler called directly.
 *
 * The tests in a describe block run in order and share their host's database; each block says
 * what state it starts from.
 */
import fs from 'node:fs';
import http from 'node:http';
import { peakRssKib, resetPeakRss } from '../bench/processMemory';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Papa from 'papaparse';
import { BlobServiceClient } from '@azure/storage-blob';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { employeeObjects, writeDataset } from '../tools/datagen';
import {
  allRejections,
  allRows,
  get,
  loadBlob,
  postCsv,
  postFile,
  postJson,
  removeDir,
  readApiResponse,
  request,
  startAzurite,
  startHost,
  tableCounts,
  tempDir,
  type ApiResponse,
  type HostHandle,
} from './helpers/localHost';

const HIRED_COLUMNS = ['id', 'name', 'datetime', 'department_id', 'job_id'];

/** Every error response has the documented shape. */
function expectError(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/application\/json/);
  expect(res.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  if (code) expect(res.body.error.code).toBe(code);
}

/** The rows with lo < id < hi (one page). */
async function rowsBetween(base: string, table: string, lo: number, hi: number): Promise<any[]> {
  const res = await get(base, `/api/tables/${table}/rows?afterId=${lo}&limit=1000`);
  expect(res.status, res.text).toBe(200);
  return res.body.rows.filter((r: any) => r.id < hi);
}

/** 900 rows of 10 kB each: more than the 8 MiB a batch body may have. */
function oversizedBatch(): string {
  const big = '[' + Array.from({ length: 900 }, (_, i) => `{"id":${8000 + i},"department":"${'y'.repeat(10_000)}"}`).join(',') + ']';
  expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
  return big;
}

/** A POST through node:http with a chosen agent; rejects after `timeoutMs` without a response. */
function rawPost(url: string, contentType: string, body: string, agent: http.Agent, timeoutMs = 20_000): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': contentType } }, (res) => {
      readApiResponse(res).then(resolve, reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    // The server may answer and close before it has read the whole body: that is not a failure here.
    req.on('error', (e: NodeJS.ErrnoException) => reject(e));
    req.end(body);
  });
}

let azurite: Awaited<ReturnType<typeof startAzurite>>;
let host: HostHandle;
const dirs: string[] = [];

beforeAll(async () => {
  azurite = await startAzurite({});
  host = await startHost({ env: { AzureWebJobsStorage: azurite.connectionString } });
  dirs.push(host.dataDir);
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  for (const dir of dirs) removeDir(dir);
});

function upload(blobName: string, file: string) {
  return BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('historic')
    .getBlockBlobClient(blobName)
    .uploadFile(file);
}

describe('health and tables (fresh database)', () => {
  it('GET /api/health says only ok (anonymous: no names, no errors); /api/health/details, with a key, says what answers', async () => {
    const res = await get(host.url, '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    const details = await get(host.url, '/api/health/details');
    expect(details.status).toBe(200);
    expect(details.body).toEqual({ status: 'ok', database: { ok: true }, storage: { ok: true } });
  });

  it('GET /api/tables lists the three tables with columns and zero rows', async () => {
    const res = await get(host.url, '/api/tables');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      tables: [
        { name: 'departments', columns: ['id', 'department'], rows: 0 },
        { name: 'jobs', columns: ['id', 'job'], rows: 0 },
        { name: 'hired_employees', columns: HIRED_COLUMNS, rows: 0 },
      ],
    });
  });
});

describe('batches: POST /api/tables/{table}/rows', () => {
  it('inserts a JSON batch and records the run', async () => {
    const departments = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, department: `Dept ${i + 1}` }));
    const res = await postJson(host.url, '/api/tables/departments/rows', departments);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      runId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      table: 'departments',
      received: 12,
      inserted: 12,
      skipped: 0,
      rejected: 0,
      reasons: [],
      rejections: [],
    });
    const run = await get(host.url, `/api/runs/${res.body.runId}`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      runId: res.body.runId,
      table: 'departments',
      kind: 'batch',
      source: 'json',
      dryRun: false,
      status: 'succeeded',
      received: 12,
      inserted: 12,
      skipped: 0,
      rejected: 0,
      error: null,
    });
    expect(run.body.finishedAt).toEqual(expect.any(String));
    expect((await tableCounts(host.url)).departments).toBe(12);
  });

  it('inserts a CSV batch with a header row, quoted fields and CRLF line endings', async () => {
    const lines = ['id,job'];
    for (let i = 1; i <= 183; i++) lines.push(`${i},Job ${i}`);
    lines[1] = '1,"Engineer, Senior"';
    lines[2] = '2,"The ""Chief"" Officer"';
    lines[3] = '3,"Two\r\nlines"';
    const res = await postCsv(host.url, '/api/tables/jobs/rows', lines.join('\r\n') + '\r\n', 'text/csv; charset=utf-8');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ table: 'jobs', received: 183, inserted: 183, skipped: 0, rejected: 0, rejections: [] });
    const page = await get(host.url, '/api/tables/jobs/rows?limit=4');
    expect(page.body.rows).toEqual([
      { id: 1, job: 'Engineer, Senior' },
      { id: 2, job: 'The "Chief" Officer' },
      { id: 3, job: 'Two\r\nlines' },
      { id: 4, job: 'Job 4' },
    ]);
    const run = await get(host.url, `/api/runs/${res.body.runId}`);
    expect(run.body).toMatchObject({ kind: 'batch', source: 'csv', status: 'succeeded', inserted: 183 });
  });

  it('accepts a CSV batch without a header, with LF endings and no final newline', async () => {
    const res = await postCsv(
      host.url,
      '/api/tables/hired_employees/rows',
      '1,Ann Adams,2021-07-27T16:02:08Z,1,1\n2,"Bo, Baker",2021-07-27T16:02:08.123+02:00,2,3',
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 2, inserted: 2, rejected: 0 });
    const rows = (await get(host.url, '/api/tables/hired_employees/rows')).body.rows;
    expect(rows).toEqual([
      { id: 1, name: 'Ann Adams', datetime: '2021-07-27T16:02:08.000Z', department_id: 1, job_id: 1 },
      { id: 2, name: 'Bo, Baker', datetime: '2021-07-27T14:02:08.123Z', department_id: 2, job_id: 3 },
    ]);
  });

  it('rejects an empty batch with 400 and writes nothing', async () => {
    const before = await tableCounts(host.url);
    const rejectionsBefore = (await allRejections(host.url, 'table=departments')).length;
    expectError(await postJson(host.url, '/api/tables/departments/rows', []), 400, 'empty_batch');
    expectError(await postJson(host.url, '/api/tables/departments/rows', ' [ ] '), 400, 'empty_batch');
    expectError(await postCsv(host.url, '/api/tables/departments/rows', ''), 400, 'empty_batch');
    expectError(await postCsv(host.url, '/api/tables/departments/rows', 'id,department\r\n'), 400, 'empty_batch');
    expectError(await postCsv(host.url, '/api/tables/departments/rows', '\r\n\r\n'), 400, 'empty_batch');
    expect(await tableCounts(host.url)).toEqual(before);
    expect((await allRejections(host.url, 'table=departments')).length).toBe(rejectionsBefore);
  });

  it('rejects 1001 rows with 413 and writes nothing (JSON and CSV), but takes exactly 1000', async () => {
    const before = await tableCounts(host.url);
    const rejectionsBefore = (await allRejections(host.url, 'table=hired_employees')).length;
    const rows: unknown[] = employeeObjects(100_000, 1001, 7);
    rows[5] = { id: 'bad' }; // an invalid row must not be logged either
    expectError(await postJson(host.url, '/api/tables/hired_employees/rows', rows), 413);
    const csv = (rows as any[]).map((r) => [r.id, r.name, r.datetime, r.department_id, r.job_id].join(',')).join('\r\n');
    expectError(await postCsv(host.url, '/api/tables/hired_employees/rows', csv), 413);
    expect(await tableCounts(host.url)).toEqual(before);
    expect((await allRejections(host.url, 'table=hired_employees')).length).toBe(rejectionsBefore);

    const thousand = employeeObjects(100_000, 1000, 7);
    const ok = await postJson(host.url, '/api/tables/hired_employees/rows', thousand);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ received: 1000, inserted: 1000, rejected: 0 });
    expect((await tableCounts(host.url)).hired_employees).toBe(before.hired_employees + 1000);
  });

  describe('mixed valid and invalid rows', () => {
    const jsonElements = [
      '{"id": 2001, "name": "Valid One", "datetime": "2021-03-04T05:06:07Z", "department_id": 1, "job_id": 2}',
      '{"id":2002,"name":"","datetime":"2021-02-30T10:00:00Z","department_id":99,"job_id":1}',
      '{ "id" : 2003, "name": "Extra", "datetime": "2021-03-04T05:06:07Z", "department_id": 1, "job_id": 2, "salary": 1e3 }',
      '{"name": "No id", "datetime": "2021-03-04T05:06:07Z", "department_id": 1, "job_id": 2}',
      '42',
      '{"id": "2004", "name": "  Valid Two ", "datetime": "2021-03-04T05:06:07.5+02:00", "department_id": 2, "job_id": 3}',
    ];
    let jsonRun: any;

    it('JSON: inserts the valid rows and lists every reason of every rejected row', async () => {
      const before = (await tableCounts(host.url)).hired_employees;
      const res = await postJson(host.url, '/api/tables/hired_employees/rows', '[\n  ' + jsonElements.join(',\n  ') + '\n]');
      expect(res.status, res.text).toBe(200);
      jsonRun = res.body;
      expect(res.body).toMatchObject({ table: 'hired_employees', received: 6, inserted: 2, skipped: 0, rejected: 4 });
      const byPosition = Object.fromEntries(res.body.rejections.map((r: any) => [r.position, r]));
      expect(Object.keys(byPosition).map(Number)).toEqual([2, 3, 4, 5]);

      const fields = (p: number) => byPosition[p].reasons.map((r: any) => r.field).sort();
      expect(fields(2)).toEqual(['datetime', 'department_id', 'name']);
      expect(byPosition[2].reasons).toEqual(
        expect.arrayContaining([
          { field: 'name', message: 'is required' },
          { field: 'department_id', message: expect.stringContaining('99') },
        ]),
      );
      expect(fields(3)).toEqual(['salary']);
      expect(fields(4)).toEqual(['id']);
      expect(byPosition[5].reasons).toEqual([{ field: null, message: expect.any(String) }]);
      for (const r of res.body.rejections) for (const reason of r.reasons) expect(reason.message.length).toBeGreaterThan(0);
      // `data` is the value as sent
      expect(byPosition[2].data).toEqual(JSON.parse(jsonElements[1]));
      expect(byPosition[5].data).toBe(42);

      expect((await tableCounts(host.url)).hired_employees).toBe(before + 2);
      const rows = await rowsBetween(host.url, 'hired_employees', 2000, 3000);
      expect(rows).toEqual([
        { id: 2001, name: 'Valid One', datetime: '2021-03-04T05:06:07.000Z', department_id: 1, job_id: 2 },
        { id: 2004, name: 'Valid Two', datetime: '2021-03-04T03:06:07.500Z', department_id: 2, job_id: 3 },
      ]);
    });

    it('GET /api/rejections lists the stored rejections with the raw text exactly as sent', async () => {
      const res = await get(host.url, `/api/rejections?runId=${jsonRun.runId}`);
      expect(res.status).toBe(200);
      expect(res.body.nextAfterId).toBeNull();
      expect(res.body.rejections.map((r: any) => [r.position, r.rawText, r.format, r.table, r.runId])).toEqual([
        [2, jsonElements[1], 'json', 'hired_employees', jsonRun.runId],
        [3, jsonElements[2], 'json', 'hired_employees', jsonRun.runId],
        [4, jsonElements[3], 'json', 'hired_employees', jsonRun.runId],
        [5, '42', 'json', 'hired_employees', jsonRun.runId],
      ]);
      expect(res.body.rejections.map((r: any) => r.reasons)).toEqual(jsonRun.rejections.map((r: any) => r.reasons));
      // keyset paging
      const first = await get(host.url, `/api/rejections?runId=${jsonRun.runId}&limit=3`);
      expect(first.body.rejections).toHaveLength(3);
      expect(first.body.nextAfterId).toBe(first.body.rejections[2].id);
      const second = await get(host.url, `/api/rejections?runId=${jsonRun.runId}&limit=3&afterId=${first.body.nextAfterId}`);
      expect(second.body.rejections.map((r: any) => r.position)).toEqual([5]);
      expect(second.body.nextAfterId).toBeNull();
    });

    it('the JSON rejections download as CSV in column order', async () => {
      const res = await get(host.url, `/api/rejections?table=hired_employees&runId=${jsonRun.runId}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      const parsed = Papa.parse<string[]>(res.text.replace(/\r\n$/, ''), { newline: '\r\n' }).data;
      // The table's columns, then each row's reasons.
      expect(parsed.map((row) => row.slice(0, -1))).toEqual([
        HIRED_COLUMNS,
        ['2002', '', '2021-02-30T10:00:00Z', '99', '1'],
        ['2003', 'Extra', '2021-03-04T05:06:07Z', '1', '2'],
        ['', 'No id', '2021-03-04T05:06:07Z', '1', '2'],
        ['', '', '', '', ''],
      ]);
      expect(parsed[0].at(-1)).toBe('rejected_because');
      expect(parsed[1].at(-1)).toMatch(/name is required; datetime .*; department_id departments has no id 99/);
    });

    // Lines 3-4 hold one record (a quoted line break); the rejected rows start on lines 5, 6 and 7.
    const csvLines = [
      'id,name,datetime,department_id,job_id',
      '3001,"Smith, Jane",2021-01-01T00:00:00Z,1,1',
      '3002,"Multi\r\nLine ""Q""",2021-01-01T00:00:00Z,1,1',
      '3003,,not-a-date,1,1',
      '3004,Bob,2021-01-01T00:00:00Z,1',
      'abc,"Carl ""C""",2021-01-01T00:00:00Z,1,999',
      '3006,Dana,2021-01-01T00:00:00Z,2,2',
    ];
    let csvRun: any;

    it('CSV: rejected rows carry their line, all reasons and the line as sent', async () => {
      const res = await postCsv(host.url, '/api/tables/hired_employees/rows', csvLines.join('\r\n') + '\r\n');
      expect(res.status, res.text).toBe(200);
      csvRun = res.body;
      expect(res.body).toMatchObject({ received: 6, inserted: 3, skipped: 0, rejected: 3 });
      expect(res.body.rejections.map((r: any) => [r.position, r.data])).toEqual([
        [5, csvLines[3]],
        [6, csvLines[4]],
        [7, csvLines[5]],
      ]);
      const [r5, r6, r7] = res.body.rejections;
      expect(r5.reasons.map((r: any) => r.field).sort()).toEqual(['datetime', 'name']);
      expect(r6.reasons).toEqual([{ field: null, message: expect.stringContaining('5') }]);
      expect(r7.reasons.map((r: any) => r.field).sort()).toEqual(['id', 'job_id']);

      const stored = await get(host.url, `/api/rejections?table=hired_employees&runId=${csvRun.runId}`);
      expect(stored.body.rejections.map((r: any) => [r.position, r.rawText, r.format])).toEqual([
        [5, csvLines[3], 'csv'],
        [6, csvLines[4], 'csv'],
        [7, csvLines[5], 'csv'],
      ]);
      const rows = await rowsBetween(host.url, 'hired_employees', 3000, 4000);
      expect(rows.map((r: any) => [r.id, r.name])).toEqual([
        [3001, 'Smith, Jane'],
        [3002, 'Multi\r\nLine "Q"'],
        [3006, 'Dana'],
      ]);
    });

    it('the CSV download parses back to the rows as sent, and the fixed file inserts them', async () => {
      const res = await get(host.url, `/api/rejections?table=hired_employees&runId=${csvRun.runId}&format=csv`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain('hired_employees');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const parsed = Papa.parse<string[]>(res.text.replace(/\r\n$/, ''), { newline: '\r\n' }).data;
      // Each row as it was split, however many fields it had, then its reasons.
      expect(parsed.map((row) => row.slice(0, -1))).toEqual([
        HIRED_COLUMNS,
        ['3003', '', 'not-a-date', '1', '1'],
        ['3004', 'Bob', '2021-01-01T00:00:00Z', '1'],
        ['abc', 'Carl "C"', '2021-01-01T00:00:00Z', '1', '999'],
      ]);
      expect(parsed[2].at(-1)).toMatch(/^expected 5 fields/);
      // Fix the rows and send the file back as it is, reasons column and all.
      parsed[1][1] = 'Fixed Name';
      parsed[1][2] = '2022-02-02T02:02:02Z';
      parsed[2].splice(4, 0, '4');
      parsed[3][0] = '3005';
      parsed[3][4] = '5';
      const fixed = Papa.unparse(parsed, { newline: '\r\n' });
      const resend = await postCsv(host.url, '/api/tables/hired_employees/rows', fixed);
      expect(resend.status, resend.text).toBe(200);
      expect(resend.body).toMatchObject({ received: 3, inserted: 3, skipped: 0, rejected: 0 });
      const rows = await rowsBetween(host.url, 'hired_employees', 3002, 3006);
      expect(rows).toEqual([
        { id: 3003, name: 'Fixed Name', datetime: '2022-02-02T02:02:02.000Z', department_id: 1, job_id: 1 },
        { id: 3004, name: 'Bob', datetime: '2021-01-01T00:00:00.000Z', department_id: 1, job_id: 4 },
        { id: 3005, name: 'Carl "C"', datetime: '2021-01-01T00:00:00.000Z', department_id: 1, job_id: 5 },
      ]);
    });

    it('GET /api/rejections filters by table', async () => {
      const jobs = await get(host.url, '/api/rejections?table=jobs');
      expect(jobs.body).toEqual({ rejections: [], nextAfterId: null });
      const hired = await allRejections(host.url, 'table=hired_employees');
      expect(hired.every((r) => r.table === 'hired_employees')).toBe(true);
      expect(hired.length).toBe(7);
      const csvDownload = await get(host.url, '/api/rejections?table=jobs&format=csv');
      expect(csvDownload.text).toBe('id,job,rejected_because\r\n');
    });
  });

  describe('rule 7: skip vs conflict, rule 5: references', () => {
    it('an identical row after normalisation is skipped; a different one is a conflict', async () => {
      const seed = await postJson(host.url, '/api/tables/hired_employees/rows', [
        { id: 4001, name: 'Eve Evans', datetime: '2021-06-01T00:00:00Z', department_id: 3, job_id: 4 },
      ]);
      expect(seed.body.inserted).toBe(1);
      const csv = [
        '04001, Eve Evans ,2021-06-01T02:00:00+02:00,03,4', // same after normalisation → skipped
        '4001,Eve Evens,2021-06-01T00:00:00Z,3,4', // different name → conflict
        '4001,Eve Evans,2021-06-01T00:00:00.001Z,3,5', // different datetime and job → conflict
      ].join('\r\n');
      const res = await postCsv(host.url, '/api/tables/hired_employees/rows', csv);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ received: 3, inserted: 0, skipped: 1, rejected: 2 });
      const [a, b] = res.body.rejections;
      expect(a.position).toBe(2);
      expect(a.reasons).toEqual([{ field: 'id', message: expect.stringContaining('name') }]);
      expect(b.position).toBe(3);
      expect(b.reasons).toEqual([{ field: 'id', message: expect.stringMatching(/datetime.*job_id|job_id.*datetime/) }]);
      // the stored row is untouched
      const rows = (await get(host.url, '/api/tables/hired_employees/rows?afterId=4000&limit=1')).body.rows;
      expect(rows).toEqual([{ id: 4001, name: 'Eve Evans', datetime: '2021-06-01T00:00:00.000Z', department_id: 3, job_id: 4 }]);
    });

    it('an id repeated in the same request: identical → skipped, different → conflict', async () => {
      const row = { id: 4002, name: 'Kai Ito', datetime: '2021-06-01T00:00:00Z', department_id: 1, job_id: 1 };
      const res = await postJson(host.url, '/api/tables/hired_employees/rows', [
        row,
        { ...row, datetime: '2021-06-01T00:00:00.000+00:00' },
        { ...row, name: 'Kai Itoh' },
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 3, inserted: 1, skipped: 1, rejected: 1 });
      expect(res.body.rejections).toHaveLength(1);
      expect(res.body.rejections[0]).toMatchObject({ position: 3, reasons: [{ field: 'id', message: expect.stringContaining('name') }] });
      const rows = (await get(host.url, '/api/tables/hired_employees/rows?afterId=4001&limit=1')).body.rows;
      expect(rows[0]).toMatchObject({ id: 4002, name: 'Kai Ito' });
    });

    it('unknown department or job ids are rejected with a reason per reference', async () => {
      const res = await postJson(host.url, '/api/tables/hired_employees/rows', [
        { id: 4010, name: 'A', datetime: '2021-06-01T00:00:00Z', department_id: 13, job_id: 1 },
        { id: 4011, name: 'B', datetime: '2021-06-01T00:00:00Z', department_id: 1, job_id: 184 },
        { id: 4012, name: 'C', datetime: '2021-06-01T00:00:00Z', department_id: 500, job_id: 500 },
        { id: 4013, name: 'D', datetime: '2021-06-01T00:00:00Z', department_id: 12, job_id: 183 },
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ received: 4, inserted: 1, rejected: 3 });
      expect(res.body.rejections.map((r: any) => [r.position, r.reasons.map((x: any) => x.field)])).toEqual([
        [1, ['department_id']],
        [2, ['job_id']],
        [3, ['department_id', 'job_id']],
      ]);
      const ids = (await rowsBetween(host.url, 'hired_employees', 4009, 5000)).map((r: any) => r.id);
      expect(ids).toEqual([4013]);
    });
  });
});

describe('load: POST /api/tables/{table}/load', () => {
  it('validates the blob path: traversal and absolute paths are 400, a missing blob is 404', async () => {
    for (const blob of ['../x', '/abs', 'a/../../b', 'a//b', './x', 'https://evil.example/x', 'a\\b', '']) {
      expectError(await postJson(host.url, '/api/tables/jobs/load', { blob }), 400, 'bad_blob_path');
    }
    expectError(await postJson(host.url, '/api/tables/jobs/load', { blob: 5 }), 400);
    expectError(await postJson(host.url, '/api/tables/jobs/load', { blob: 'x.csv', extra: 1 }), 400, 'bad_load_request');
    expectError(await postJson(host.url, '/api/tables/jobs/load', { file: 'x.csv' }), 400, 'bad_load_request');
    expectError(await postJson(host.url, '/api/tables/jobs/load', '{"blob":'), 400, 'malformed_json');
    expectError(await postJson(host.url, '/api/tables/jobs/load', { blob: 'no/such/file.csv' }), 404, 'blob_not_found');
    expectError(await postJson(host.url, '/api/tables/jobs/load?dryRun=maybe', { blob: 'x.csv' }), 400, 'bad_query');
  });

  it('dry run and real load of in-file duplicates give the same counts; only the real one writes', async () => {
    const before = (await tableCounts(host.url)).departments;
    const csv = '100,Alpha\r\n100, Alpha\r\n101,Beta\r\n101,Gamma\r\n102,\r\n';
    const dry = await postCsv(host.url, '/api/tables/departments/load?dryRun=true', csv);
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ received: 5, inserted: 2, skipped: 1, rejected: 2, dryRun: true, status: 'succeeded' });
    expect((await tableCounts(host.url)).departments).toBe(before);
    const dryRejections = await get(host.url, `/api/rejections?runId=${dry.body.runId}`);
    expect(dryRejections.body.rejections.map((r: any) => [r.position, r.rawText])).toEqual([
      [4, '101,Gamma'],
      [5, '102,'],
    ]);

    const real = await postCsv(host.url, '/api/tables/departments/load', csv);
    expect(real.status, real.text).toBe(200);
    const counts = (b: any) => [b.received, b.inserted, b.skipped, b.rejected];
    expect(counts(real.body)).toEqual(counts(dry.body));
    expect(real.body.dryRun).toBe(false);
    expect((await tableCounts(host.url)).departments).toBe(before + 2);
    const run = await get(host.url, `/api/runs/${real.body.runId}`);
    expect(run.body).toMatchObject({
      kind: 'load',
      source: 'csv',
      dryRun: false,
      status: 'succeeded',
      inserted: 2,
      skipped: 1,
      rejected: 2,
    });
  });

  it('loads a generated file uploaded to the historic container', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const counts = await writeDataset(dir, { rows: 500, firstId: 50_001, seed: 11, invalidRate: 0.05 });
    await upload('2024/batch-a/hired_employees.csv', path.join(dir, 'hired_employees.csv'));
    const before = (await tableCounts(host.url)).hired_employees;
    const res = await loadBlob(host.url, 'hired_employees', { blob: '2024/batch-a/hired_employees.csv' });
    expect(res.status, res.text).toBe(200);
    expect(counts.invalid).toBeGreaterThan(0);
    expect(res.body).toMatchObject({
      received: 500,
      inserted: 500 - counts.invalid,
      skipped: 0,
      rejected: counts.invalid,
      dryRun: false,
      status: 'succeeded',
    });
    expect((await tableCounts(host.url)).hired_employees).toBe(before + 500 - counts.invalid);
    const run = await get(host.url, `/api/runs/${res.body.runId}`);
    expect(run.body).toMatchObject({ kind: 'load', source: 'blob:2024/batch-a/hired_employees.csv', status: 'succeeded' });
    // every stored rejection is a line of the file, exactly
    const lines = fs.readFileSync(path.join(dir, 'hired_employees.csv'), 'utf8').split('\r\n');
    const rejections = await allRejections(host.url, `runId=${res.body.runId}`);
    expect(rejections).toHaveLength(counts.invalid);
    for (const r of rejections) {
      expect(r.rawText).toBe(lines[r.position - 1]);
      expect(r.reasons.length).toBeGreaterThan(0);
    }
  });

  describe('a fresh host: dry run, load, load again', () => {
    let fresh: HostHandle;
    let dir: string;
    let counts: Awaited<ReturnType<typeof writeDataset>>;
    let real: any;

    beforeAll(async () => {
      dir = tempDir();
      dirs.push(dir);
      [fresh, counts] = await Promise.all([
        startHost({ env: { AzureWebJobsStorage: azurite.connectionString } }),
        writeDataset(dir, { rows: 20_000, seed: 3, invalidRate: 0.02 }),
      ]);
      dirs.push(fresh.dataDir);
      await upload('fresh/hired_employees.csv', path.join(dir, 'hired_employees.csv'));
      for (const table of ['departments', 'jobs']) {
        const res = await postFile(fresh.url, `/api/tables/${table}/load`, path.join(dir, `${table}.csv`));
        expect(res.status, res.text).toBe(200);
      }
    });
    afterAll(async () => {
      await fresh?.stop();
    });

    it('dryRun leaves the table empty and reports the counts of the real load', { timeout: 150_000 }, async () => {
      const dry = await loadBlob(fresh.url, 'hired_employees', { blob: 'fresh/hired_employees.csv' }, '?dryRun=true');
      expect(dry.status, dry.text).toBe(200);
      expect(await tableCounts(fresh.url)).toEqual({ departments: 12, jobs: 183, hired_employees: 0 });
      expect((await get(fresh.url, '/api/tables/hired_employees/rows')).body).toEqual({
        table: 'hired_employees',
        rows: [],
        nextAfterId: null,
      });
      const run = await get(fresh.url, `/api/runs/${dry.body.runId}`);
      expect(run.body).toMatchObject({ dryRun: true, status: 'succeeded', inserted: dry.body.inserted });
      expect(await allRejections(fresh.url, `runId=${dry.body.runId}`)).toHaveLength(counts.invalid);

      real = await postFile(fresh.url, '/api/tables/hired_employees/load', path.join(dir, 'hired_employees.csv'));
      expect(real.status, real.text).toBe(200);
      expect(real.body).toMatchObject({
        received: 20_000,
        inserted: 20_000 - counts.invalid,
        skipped: 0,
        rejected: counts.invalid,
        dryRun: false,
        status: 'succeeded',
      });
      expect(dry.body).toMatchObject({
        received: real.body.received,
        inserted: real.body.inserted,
        skipped: real.body.skipped,
        rejected: real.body.rejected,
        dryRun: true,
      });
      expect((await tableCounts(fresh.url)).hired_employees).toBe(20_000 - counts.invalid);
    });

    it('loading the same file again inserts nothing and skips every stored row', { timeout: 150_000 }, async () => {
      const again = await loadBlob(fresh.url, 'hired_employees', { blob: 'fresh/hired_employees.csv' });
      expect(again.status, again.text).toBe(200);
      expect(again.body).toMatchObject({
        received: 20_000,
        inserted: 0,
        skipped: real.body.inserted,
        rejected: counts.invalid,
        status: 'succeeded',
      });
      expect((await tableCounts(fresh.url)).hired_employees).toBe(real.body.inserted);
    });

    it('pages through the rows by id with nextAfterId', async () => {
      const page1 = await get(fresh.url, '/api/tables/hired_employees/rows?limit=7');
      expect(page1.status).toBe(200);
      expect(page1.body.rows).toHaveLength(7);
      expect(page1.body.rows[0]).toEqual({
        id: expect.any(Number),
        name: expect.any(String),
        datetime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        department_id: expect.any(Number),
        job_id: expect.any(Number),
      });
      expect(page1.body.nextAfterId).toBe(page1.body.rows[6].id);
      const page2 = await get(fresh.url, `/api/tables/hired_employees/rows?limit=7&afterId=${page1.body.nextAfterId}`);
      expect(page2.body.rows[0].id).toBeGreaterThan(page1.body.nextAfterId);
      const all = await allRows(fresh.url, 'hired_employees');
      expect(all).toHaveLength(real.body.inserted);
      const ids = all.map((r) => r.id as number);
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
      expect(all.slice(0, 14)).toEqual([...page1.body.rows, ...page2.body.rows]);
      const last = await get(fresh.url, `/api/tables/hired_employees/rows?afterId=${ids[ids.length - 1]}`);
      expect(last.body).toEqual({ table: 'hired_employees', rows: [], nextAfterId: null });
      const tail = await get(fresh.url, `/api/tables/hired_employees/rows?afterId=${ids[ids.length - 3]}&limit=1000`);
      expect(tail.body.rows.map((r: any) => r.id)).toEqual(ids.slice(-2));
      expect(tail.body.nextAfterId).toBeNull();
    });
  });
});

describe('bad requests are 4xx, never 500', () => {
  it('rows paging rejects bad query values with 400', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=-1', 'limit=abc', 'limit=1.5', 'afterId=-1', 'afterId=x', 'afterId=99999999999']) {
      expectError(await get(host.url, `/api/tables/jobs/rows?${q}`), 400, 'bad_query');
    }
    expect((await get(host.url, '/api/tables/jobs/rows?limit=1000')).body.rows).toHaveLength(183);
  });

  it('GET /api/runs lists the newest runs, and rejects bad filters with 400', async () => {
    const runs = await get(host.url, '/api/runs?table=jobs&limit=2');
    expect(runs.status).toBe(200);
    expect(runs.body.runs.length).toBeGreaterThan(0);
    expect(runs.body.runs.length).toBeLessThanOrEqual(2);
    expect(runs.body.runs.every((r: { table: string }) => r.table === 'jobs')).toBe(true);
    const starts = runs.body.runs.map((r: { startedAt: string }) => r.startedAt);
    expect([...starts].sort().reverse()).toEqual(starts);
    expectError(await get(host.url, '/api/runs?table=nope'), 404, 'table_not_found');
    expectError(await get(host.url, '/api/runs?kind=other'), 400, 'bad_query');
    expectError(await get(host.url, '/api/runs?limit=0'), 400, 'bad_query');
  });

  it('a query parameter a route does not take is a 400 naming those it takes, and does nothing', async () => {
    const before = await tableCounts(host.url);
    const load = await postCsv(host.url, '/api/tables/jobs/load?dryrun=true', '950,Misspelled\n');
    expectError(load, 400, 'unknown_query_parameter');
    expect(load.body.error.message).toContain('"dryRun"');
    expect(await tableCounts(host.url)).toEqual(before);
    const metrics = await get(host.url, '/api/metrics/hires-by-quarter?yaer=2022');
    expectError(metrics, 400, 'unknown_query_parameter');
    expect(metrics.body.error.message).toMatch(/"year", "format"/);
    expectError(await get(host.url, '/api/tables?x=1'), 400, 'unknown_query_parameter');
    expectError(await get(host.url, '/api/health?verbose=1'), 400, 'unknown_query_parameter');
    // The Functions host's own key parameter is taken everywhere.
    expect((await get(host.url, '/api/tables?code=abc')).status).toBe(200);
    expect((await get(host.url, '/api/tables?Code=abc&clientId=default')).status).toBe(200); // as the portal's function URLs give them
  });

  it('GET /api/runs?status= returns runs of that status only', async () => {
    expect((await postJson(host.url, '/api/tables/jobs/rows', [{ id: 971, job: 'A run that succeeds' }])).status).toBe(200);
    // A load whose client goes away midway fails.
    const cut = http.request(`${host.url}/api/tables/jobs/load`, { method: 'POST', headers: { 'content-type': 'text/csv' } });
    cut.on('error', () => undefined);
    cut.write('970,Cut off\n');
    await new Promise((r) => setTimeout(r, 300));
    cut.destroy();
    for (let i = 0; i < 50 && (await get(host.url, '/api/runs?status=failed')).body.runs.length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    for (const status of ['succeeded', 'failed']) {
      const res = await get(host.url, `/api/runs?status=${status}&limit=100`);
      expect(res.status, res.text).toBe(200);
      expect(res.body.runs.length, status).toBeGreaterThan(0);
      expect(res.body.runs.every((r: { status: string }) => r.status === status)).toBe(true);
    }
    expectError(await get(host.url, '/api/runs?status=done'), 400, 'bad_query');
    // The failed load says why, that what it committed is kept, and that running it again is safe.
    const [cutRun] = (await get(host.url, '/api/runs?status=failed&kind=load&limit=1')).body.runs;
    expect(cutRun.error).toMatch(
      /^the upload was cut off before the end of the file; the \d+ rows it had committed are kept, and running the same load again is safe/,
    );
  });

  it('a batch of more than 1000 rows is refused while it is read (413), however tiny its rows', async () => {
    const before = await tableCounts(host.url);
    const json = '[' + Array.from({ length: 1_500_000 }, () => '0').join(',') + ']';
    const started = Date.now();
    resetPeakRss(host.process.pid!);
    expectError(await postJson(host.url, '/api/tables/jobs/rows', json), 413);
    const csv = Array.from({ length: 1_500_000 }, () => '1').join('\n');
    expectError(await postCsv(host.url, '/api/tables/jobs/rows', csv), 413);
    expect(await tableCounts(host.url)).toEqual(before);
    const peakMb = peakRssKib(host.process.pid!) / 1024;
    console.log(`two 1.5M-row bodies refused in ${Date.now() - started} ms, host peak RSS ${peakMb.toFixed(0)} MB`);
    // Parsed whole, such a body took the host past 500 MB.
    expect(peakMb).toBeLessThan(200);
    // Exactly 1000 rows are taken.
    const thousand = await postJson(
      host.url,
      '/api/tables/jobs/rows',
      Array.from({ length: 1000 }, (_, i) => ({ id: 100_000 + i, job: `J${i}` })),
    );
    expect(thousand.status, thousand.text).toBe(200);
    expect(thousand.body.inserted).toBe(1000);
  });

  it('JSON nested past 32 levels is a 400, and nothing is stored', async () => {
    const before = await tableCounts(host.url);
    const deep = `[{"id": 960, "job": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]`;
    expectError(await postJson(host.url, '/api/tables/jobs/rows', deep), 400, 'json_too_deep');
    expect(await tableCounts(host.url)).toEqual(before);
    const rejections = await get(host.url, '/api/rejections?table=jobs&format=csv');
    expect(rejections.status).toBe(200);
  });

  it("a load names its file in its run; runs page by a cursor; a run's rejections download by its id alone", async () => {
    const res = await postCsv(host.url, '/api/tables/jobs/load?name=jobs%202024.csv', '980,Named\n981,\n');
    expect(res.status, res.text).toBe(200);
    const run = await get(host.url, `/api/runs/${res.body.runId}`);
    expect(run.body.source).toBe('csv:jobs 2024.csv');
    const download = await get(host.url, `/api/rejections?runId=${res.body.runId}&format=csv`);
    expect(download.status, download.text).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="jobs-rejections-${res.body.runId}.csv"`);
    expect(download.text.split('\r\n')[0]).toMatch(/^id,job/);
    expectError(await get(host.url, '/api/rejections?runId=00000000-0000-4000-8000-000000000000&format=csv'), 404, 'run_not_found');

    const all = (await get(host.url, '/api/runs?limit=1000')).body.runs.map((r: { runId: string }) => r.runId);
    const paged: string[] = [];
    for (let url = '/api/runs?limit=7'; ;) {
      const page = await get(host.url, url);
      expect(page.status, page.text).toBe(200);
      paged.push(...page.body.runs.map((r: { runId: string }) => r.runId));
      if (!page.body.nextAfter) break;
      url = `/api/runs?limit=7&after=${page.body.nextAfter}`;
    }
    expect(paged).toEqual(all);
    expectError(await get(host.url, '/api/runs?after=garbage'), 400, 'bad_query');
  });

  it('GET /api/runs: 404 for an unknown uuid, 400 for a malformed one', async () => {
    expectError(await get(host.url, '/api/runs/00000000-0000-4000-8000-000000000000'), 404, 'run_not_found');
    expectError(await get(host.url, '/api/runs/not-a-uuid'), 400, 'bad_run_id');
    expectError(await get(host.url, "/api/runs/1'%20OR%201=1"), 400, 'bad_run_id');
  });

  it('GET /api/rejections rejects bad query values', async () => {
    expectError(await get(host.url, '/api/rejections?format=xml'), 400, 'bad_query');
    expectError(await get(host.url, '/api/rejections?format=csv'), 400, 'bad_query'); // neither table nor runId
    expectError(await get(host.url, '/api/rejections?runId=nope'), 400, 'bad_query');
    expectError(await get(host.url, '/api/rejections?limit=0'), 400, 'bad_query');
    expectError(await get(host.url, '/api/rejections?limit=1001'), 400, 'bad_query');
    expectError(await get(host.url, '/api/rejections?afterId=-5'), 400, 'bad_query');
    expectError(await get(host.url, '/api/rejections?table=nope'), 404, 'table_not_found');
  });

  it('unknown tables are 404', async () => {
    expectError(await postJson(host.url, '/api/tables/employees/rows', [{ id: 1 }]), 404, 'table_not_found');
    expectError(await get(host.url, '/api/tables/employees/rows'), 404, 'table_not_found');
    expectError(await postCsv(host.url, '/api/tables/employees/load', '1,a'), 404, 'table_not_found');
    expectError(await postJson(host.url, '/api/tables/runs/rows', [{ id: 1 }]), 404, 'table_not_found');
  });

  it('unknown routes are 404, wrong methods 405', async () => {
    expectError(await get(host.url, '/api/nothing'), 404);
    expectError(await get(host.url, '/api/tables/jobs/rows/extra'), 404);
    expectError(await get(host.url, '/tables'), 404);
    expectError(await request(host.url + '/api/tables', { method: 'DELETE' }), 405);
    expectError(await request(host.url + '/api/tables/jobs/rows', { method: 'PUT', body: '[]' }), 405);
    expectError(await get(host.url, '/api/tables/jobs/load'), 405);
    expectError(await request(host.url + '/api/health', { method: 'POST' }), 405);
  });

  it('wrong or missing content types are 415', async () => {
    const before = await tableCounts(host.url);
    expectError(await postCsv(host.url, '/api/tables/jobs/rows', '900,x', 'text/plain'), 415);
    expectError(await postJson(host.url, '/api/tables/jobs/rows', [{ id: 900, job: 'x' }], 'application/xml'), 415);
    expectError(
      await request(host.url + '/api/tables/jobs/rows', { method: 'POST', body: new Uint8Array(Buffer.from('[{"id":900,"job":"x"}]')) }),
      415,
    );
    expectError(await postCsv(host.url, '/api/tables/jobs/load', '900,x', 'application/octet-stream'), 415);
    expect(await tableCounts(host.url)).toEqual(before);
  });

  it('malformed JSON, a non-array body and non-UTF-8 JSON are 400', async () => {
    const before = await tableCounts(host.url);
    expectError(await postJson(host.url, '/api/tables/jobs/rows', '[{"id": 900, "job": "x"'), 400, 'malformed_json');
    expectError(await postJson(host.url, '/api/tables/jobs/rows', ''), 400, 'malformed_json');
    expectError(await postJson(host.url, '/api/tables/jobs/rows', '{"id": 900, "job": "x"}'), 400, 'malformed_json');
    expectError(await postJson(host.url, '/api/tables/jobs/rows', '[1,]'), 400, 'malformed_json');
    expectError(
      await postCsv(host.url, '/api/tables/jobs/rows', Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d]), 'application/json'),
      400,
      'bad_encoding',
    );
    expect(await tableCounts(host.url)).toEqual(before);
  });

  it('a CSV batch row with bytes that are not UTF-8 is rejected on its own, as in a load', async () => {
    const before = await tableCounts(host.url);
    const res = await postCsv(
      host.url,
      '/api/tables/jobs/rows',
      Buffer.concat([Buffer.from('901,ok\n900,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 2, inserted: 1, rejected: 1 });
    expect(res.body.rejections).toEqual([
      { position: 2, reasons: [{ field: null, message: 'is not valid UTF-8' }], data: '900,\uFFFD\uFFFD' },
    ]);
    expect((await tableCounts(host.url)).jobs).toBe(before.jobs + 1);
  });

  it('rows that are not objects, or nested values, are rejected rows, not errors', async () => {
    const res = await postJson(host.url, '/api/tables/jobs/rows', '[null, [1, "x"], "900,x", {"id": {"n": 1}, "job": ["x"]}]');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 4, inserted: 0, rejected: 4 });
    expect(res.body.rejections[3].reasons.map((r: any) => r.field).sort()).toEqual(['id', 'job']);
    const stored = await get(host.url, `/api/rejections?runId=${res.body.runId}`);
    expect(stored.body.rejections.map((r: any) => r.rawText)).toEqual(['null', '[1, "x"]', '"900,x"', '{"id": {"n": 1}, "job": ["x"]}']);
  });
});

describe('more edge cases', () => {
  it('value bounds: ids up to 2147483647, text up to 255 UTF-16 code units', async () => {
    const res = await postJson(host.url, '/api/tables/departments/rows', [
      { id: 2147483647, department: 'x'.repeat(255) },
      { id: 2147483648, department: 'ok' },
      { id: 0, department: 'ok' },
      { id: 1.5, department: 'ok' },
      { id: 7000, department: 'x'.repeat(256) },
      { id: 7001, department: '\u{1F600}'.repeat(128) }, // 256 code units
      { id: 7002, department: '   ' },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 7, inserted: 1, rejected: 6 });
    expect(res.body.rejections.map((r: any) => [r.position, r.reasons.map((x: any) => x.field)])).toEqual([
      [2, ['id']],
      [3, ['id']],
      [4, ['id']],
      [5, ['department']],
      [6, ['department']],
      [7, ['department']],
    ]);
    const last = await get(host.url, '/api/tables/departments/rows?afterId=2147483646');
    expect(last.body.rows).toEqual([{ id: 2147483647, department: 'x'.repeat(255) }]);
  });

  it('a batch body over 8 MiB is 413 and writes nothing', async () => {
    const before = await tableCounts(host.url);
    // A connection of its own (see the next test for what happens to a reused one).
    const res = await rawPost(
      host.url + '/api/tables/departments/rows',
      'application/json',
      oversizedBatch(),
      new http.Agent({ keepAlive: false }),
    );
    expectError(res, 413, 'payload_too_large');
    expect(await tableCounts(host.url)).toEqual(before);
  });

  it('after an early 413 on a keep-alive connection, the next request on that connection is answered', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await rawPost(host.url + '/api/tables/departments/rows', 'application/json', oversizedBatch(), agent);
      expect(res.status).toBe(413);
      for (let i = 0; i < 3; i++) {
        const next = await rawPost(
          host.url + '/api/tables/jobs/rows',
          'application/json',
          '[{"id": 1, "job": "Engineer, Senior"}]',
          agent,
          3000,
        );
        expect(next.status, next.text).toBe(200);
        expect(next.body).toMatchObject({ skipped: 1 });
      }
    } finally {
      agent.destroy();
    }
  });

  it('a CSV batch with an unclosed quote is a rejected row, not an error', async () => {
    const res = await postCsv(host.url, '/api/tables/jobs/rows', '900,"Unclosed\r\n901,Fine\r\n');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ inserted: 0, rejected: 1 });
    expect(res.body.rejections[0].reasons).toEqual([{ field: null, message: expect.stringMatching(/malformed CSV/i) }]);
  });

  it('a load with a runaway quoted field rejects that record (record_too_long) and goes on at the next line', async () => {
    const before = (await tableCounts(host.url)).departments;
    const res = await postCsv(
      host.url,
      '/api/tables/departments/load',
      '300,A\r\n301,"never closed' + 'z'.repeat(1_100_000) + '\r\n302,After\r\n',
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 3, inserted: 2, rejected: 1, status: 'succeeded' });
    const [rejection] = (await get(host.url, `/api/rejections?runId=${res.body.runId}`)).body.rejections;
    expect(rejection).toMatchObject({ position: 2, reasons: [{ field: null, message: expect.stringMatching(/^record_too_long: /) }] });
    expect(rejection.rawText).toBe('301,"never closed' + 'z'.repeat(1024 - 17));
    expect((await tableCounts(host.url)).departments).toBe(before + 2);
  });

  it('a load with a BOM and a header row skips the header; positions are physical lines', async () => {
    const res = await postCsv(host.url, '/api/tables/departments/load', '\uFEFFid,department\r\n200,Two Hundred\r\n201,\r\n');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ received: 2, inserted: 1, rejected: 1 });
    const rejections = await get(host.url, `/api/rejections?runId=${res.body.runId}`);
    expect(rejections.body.rejections.map((r: any) => [r.position, r.rawText])).toEqual([[3, '201,']]);
    expect(await rowsBetween(host.url, 'departments', 199, 202)).toEqual([{ id: 200, department: 'Two Hundred' }]);
  });

  it('dry run and real load agree when duplicates are further apart than one chunk', async () => {
    const lines: string[] = [];
    for (let id = 10_000; id < 16_000; id++) lines.push(`${id},Dept ${id}`);
    lines.push('10000,Dept 10000'); // identical to the first line, 6000 lines earlier → skipped
    lines.push('10001,Renamed'); // conflict with line 2
    lines.push('15999,Dept 15999 '); // identical after trimming → skipped
    const csv = lines.join('\n') + '\n';
    const before = (await tableCounts(host.url)).departments;
    const dry = await postCsv(host.url, '/api/tables/departments/load?dryRun=true', csv);
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ received: 6003, inserted: 6000, skipped: 2, rejected: 1, dryRun: true });
    expect((await tableCounts(host.url)).departments).toBe(before);
    const real = await postCsv(host.url, '/api/tables/departments/load', csv);
    expect(real.body).toMatchObject({ received: 6003, inserted: 6000, skipped: 2, rejected: 1, dryRun: false });
    expect((await tableCounts(host.url)).departments).toBe(before + 6000);
    const rejection = await get(host.url, `/api/rejections?runId=${real.body.runId}`);
    expect(rejection.body.rejections.map((r: any) => [r.position, r.rawText])).toEqual([[6002, '10001,Renamed']]);
  });

  it('run ids are case-insensitive', async () => {
    const res = await postJson(host.url, '/api/tables/jobs/rows', [{ id: 1, job: 'Engineer, Senior' }]);
    expect(res.body).toMatchObject({ inserted: 0, skipped: 1 });
    const run = await get(host.url, `/api/runs/${res.body.runId.toUpperCase()}`);
    expect(run.status).toBe(200);
    expect(run.body.runId).toBe(res.body.runId);
  });

  it('a malformed percent-encoding in the path is a 4xx, not a 500', async () => {
    for (const route of ['/api/tables/%E0%A4%A/rows', '/api/runs/%ZZ']) {
      const res = await get(host.url, route);
      expect(res.status, `${route}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${route}: ${res.text}`).toBeLessThan(500);
      expect(res.body?.error?.code).toEqual(expect.any(String));
    }
  });
});

describe('a handler called directly', () => {
  let dataDir: string;
  const saved = { DATA_DIR: process.env.DATA_DIR, AzureWebJobsStorage: process.env.AzureWebJobsStorage };

  beforeAll(() => {
    dataDir = tempDir();
    dirs.push(dataDir);
    process.env.DATA_DIR = dataDir;
    delete process.env.AzureWebJobsStorage;
  });
  afterAll(async () => {
    const { closeServices } = await import('../shared/services');
    await closeServices();
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('insertRows and listRows work with HttpRequest and InvocationContext from @azure/functions', async () => {
    const { insertRows } = await import('../functions/insertRows');
    const { listRows } = await import('../functions/listRows');
    const logs: { level: string; text: string }[] = [];
    const context = new InvocationContext({
      functionName: 'insertRows',
      logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
    });
    const post = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/tables/departments/rows',
      headers: { 'content-type': 'application/json' },
      params: { table: 'departments' },
      body: { string: '[{"id": 1, "department": "Sales"}, {"id": 2, "department": ""}]' },
    });
    const result = await insertRows(post, context);
    expect(result.status).toBe(200);
    expect(result.jsonBody).toMatchObject({
      table: 'departments',
      received: 2,
      inserted: 1,
      skipped: 0,
      rejected: 1,
      rejections: [{ position: 2, reasons: [{ field: 'department', message: 'is required' }], data: { id: 2, department: '' } }],
    });
    // the rejected row's position and reasons reach the debug log, never its data; the run, one summary line
    expect(logs.filter((l) => l.level === 'debug').map((l) => l.text)).toEqual(['rejected departments row 2: department is required']);
    expect(logs.filter((l) => l.level === 'information').map((l) => l.text)).toEqual([
      `batch ${(result.jsonBody as { runId: string }).runId} into departments: received 2, inserted 1, skipped 0, rejected 1; reasons: 1 × department: is required`,
    ]);
    expect(logs.some((l) => l.text.includes('"department": ""'))).toBe(false);

    const list = await listRows(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/tables/departments/rows?limit=10', params: { table: 'departments' } }),
    );
    expect(list.jsonBody).toEqual({ table: 'departments', rows: [{ id: 1, department: 'Sales' }], nextAfterId: null });
    expect(fs.existsSync(path.join(dataDir, 'service.sqlite'))).toBe(true);
  });

  it('the unwrapped handler throws a 404 ServiceError for an unknown table', async () => {
    const { insertRows } = await import('../functions/insertRows');
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/tables/nope/rows',
      headers: { 'content-type': 'application/json' },
      params: { table: 'nope' },
      body: { string: '[]' },
    });
    await expect(insertRows(request, new InvocationContext())).rejects.toMatchObject({ kind: 'not_found', code: 'table_not_found' });
  });
});
