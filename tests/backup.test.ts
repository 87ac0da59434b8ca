/**
 * Backups and restores over real HTTP against `node dist/local/host.js`, with an Azurite started by
 * the test (so that the test can read and write the backups container itself) and a temporary
 * SQLite database.
 *
 * The describe blocks run in order on one host and share its database; each says what it needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerClient } from '@azure/storage-blob';
import { departmentLines, employeeObjects, jobLines } from '../tools/datagen';
import { allRows, get, postCsv, postJson, removeDir, startAzurite, startHost, tempDir, type HostHandle } from './helpers/localHost';
import {
  SCHEMAS,
  TABLE_NAMES,
  backupAll,
  backupNamePattern,
  backupOne,
  container,
  decodeAvro,
  downloadBlob,
  encodeAvro,
  expectErrorCode,
  fromAvroRecord,
  hasPythonAvro,
  listBackups,
  listBlobNames,
  nameFor,
  readWithPython,
  restore,
  sha256,
  snapshot,
  toAvroRecord,
  uploadBlob,
  uploadOwnBackup,
  type TableName,
} from './helpers/backups';

/** Far from any test run: the host's own backup timer must not add backups meanwhile. */
const QUIET_SCHEDULE = '0 0 0 29 2 *';

let azurite: Awaited<ReturnType<typeof startAzurite>>;
let host: HostHandle;
let backups: ContainerClient;
const dirs: string[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHost({ env: { AzureWebJobsStorage: azurite.connectionString, BACKUP_SCHEDULE: QUIET_SCHEDULE } });
  dirs.push(host.dataDir);
  backups = container(azurite.connectionString, 'backups');
});

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  for (const dir of dirs) removeDir(dir);
});

async function post(route: string, rows: unknown[]): Promise<void> {
  const res = await postJson(host.url, route, rows);
  expect(res.status, res.text).toBe(200);
  expect(res.body.rejected, res.text).toBe(0);
}

/** Hand-built rows with milliseconds, offsets, a pre-1970 instant, the largest id, Unicode. */
const HAND_EMPLOYEES = [
  { id: 10001, name: 'Ada Lovelace', datetime: '2021-07-27T16:02:08.123+05:30', department_id: 13, job_id: 41 },
  { id: 10002, name: 'Zoë "Q" Müller, Jr.', datetime: '2021-12-31T23:59:59.999-03:00', department_id: 14, job_id: 1 },
  { id: 10003, name: '  Trimmed  ', datetime: '2020-02-29T12:00:00.12345Z', department_id: 1, job_id: 2 },
  { id: 10004, name: 'Rounds up', datetime: '1999-12-31T23:59:59.9996+14:00', department_id: 2, job_id: 3 },
  { id: 10005, name: 'Moon landing', datetime: '1969-07-20T20:17:40.5Z', department_id: 3, job_id: 4 },
  { id: 10006, name: '😀 emoji', datetime: '2021-03-14T01:59:59.001-14:00', department_id: 4, job_id: 5 },
  { id: 10007, name: 'No zone', datetime: '2022-06-01T08:09:10.010', department_id: 5, job_id: 6 },
  { id: 10008, name: 'Earliest instant', datetime: '0001-01-01T00:30:00.000+00:30', department_id: 6, job_id: 7 },
  { id: 10009, name: 'Latest instant', datetime: '9999-12-31T23:59:59.999Z', department_id: 7, job_id: 8 },
  { id: 10010, name: '😀'.repeat(127) + 'x', datetime: '2021-01-01T00:00:00.000Z', department_id: 8, job_id: 9 },
  { id: 10011, name: 'tab\tand\nnewline and NUL\u0000 and ñ', datetime: '2021-01-01T00:00:00.000Z', department_id: 9, job_id: 10 },
  { id: 2147483647, name: 'Largest id', datetime: '2023-01-01T00:00:00Z', department_id: 12, job_id: 40 },
];

/** What the API stores for those datetimes (UTC, milliseconds). */
const HAND_DATETIMES: Record<number, string> = {
  10001: '2021-07-27T10:32:08.123Z',
  10002: '2022-01-01T02:59:59.999Z',
  10003: '2020-02-29T12:00:00.123Z',
  10004: '1999-12-31T10:00:00.000Z',
  10005: '1969-07-20T20:17:40.500Z',
  10006: '2021-03-14T15:59:59.001Z',
  10007: '2022-06-01T08:09:10.010Z',
  10008: '0001-01-01T00:00:00.000Z',
  10009: '9999-12-31T23:59:59.999Z',
  2147483647: '2023-01-01T00:00:00.000Z',
};

/** The state of every table at the first backup, and that backup's names. */
let snapshot0: Record<TableName, Record<string, unknown>[]>;
let backup0: Record<TableName, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('round trip of every table', () => {
  it('loads the tables', async () => {
    const depCsv = departmentLines(12).join('\r\n') + '\r\n13,"  Ünïcödé 部門 😀 "\r\n14,"Quote ""and"", comma"\r\n';
    let res = await postCsv(host.url, '/api/tables/departments/rows', depCsv);
    expect(res.status, res.text).toBe(200);
    expect(res.body.inserted).toBe(14);
    res = await postCsv(host.url, '/api/tables/jobs/rows', jobLines(40).join('\n') + '\n41,"Analyst, Senior"\n');
    expect(res.status, res.text).toBe(200);
    expect(res.body.inserted).toBe(41);
    for (let first = 1; first <= 3000; first += 1000)
      await post('/api/tables/hired_employees/rows', employeeObjects(first, 1000, first, 12, 40));
    await post('/api/tables/hired_employees/rows', HAND_EMPLOYEES);

    const hired = await allRows(host.url, 'hired_employees');
    expect(hired).toHaveLength(3000 + HAND_EMPLOYEES.length);
    for (const [id, datetime] of Object.entries(HAND_DATETIMES)) expect(hired.find((r) => r.id === Number(id))?.datetime).toBe(datetime);
  });

  it('POST /api/backups snapshots every table, and each is listed and stored as described', async () => {
    snapshot0 = await snapshot(host.url);
    const before = Date.now();
    const made = await backupAll(host.url);
    const after = Date.now();
    expect(made.map((b) => b.table)).toEqual([...TABLE_NAMES]);
    backup0 = {} as Record<TableName, any>;
    for (const b of made) {
      const table = b.table as TableName;
      backup0[table] = b;
      expect(Object.keys(b).sort()).toEqual(['backup', 'bytes', 'createdAt', 'kind', 'rows', 'set', 'sha256', 'table']);
      expect(b).toMatchObject({ kind: 'backup', set: made[0].backup.replace(/^.*-(\d{8}T\d{9}Z)\.avro$/, '$1') });
      expect(b.backup).toMatch(backupNamePattern(table));
      expect(b.rows).toBe(snapshot0[table].length);
      expect(b.sha256).toMatch(/^[0-9a-f]{64}$/);
      const created = Date.parse(b.createdAt);
      expect(new Date(created).toISOString()).toBe(b.createdAt);
      expect(created).toBeGreaterThanOrEqual(before - 5);
      expect(created).toBeLessThanOrEqual(after + 5);
      // The name is the snapshot time, to the millisecond.
      expect(b.backup).toBe(nameFor(table, new Date(created)));

      const blob = await downloadBlob(backups, b.backup);
      expect(blob.bytes.length).toBe(b.bytes);
      expect(sha256(blob.bytes)).toBe(b.sha256);
      expect(blob.metadata.sha256).toBe(b.sha256);
      expect(blob.metadata.rows).toBe(String(b.rows));

      const listed = await listBackups(host.url, table);
      expect(listed[0]).toEqual(b);
    }
  });

  it('the backup files are Avro (deflate) with the spec schema, header metadata and the rows (avsc)', async () => {
    for (const table of TABLE_NAMES) {
      const { bytes } = await downloadBlob(backups, backup0[table].backup);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('Obj\x01');
      const file = await decodeAvro(bytes);
      expect(file.codec).toBe('deflate');
      expect(file.schema.type).toBe('record');
      expect(file.schema.fields).toEqual(SCHEMAS[table].fields);
      expect(file.meta.table).toBe(table);
      expect(file.meta.createdAt).toBe(backup0[table].createdAt);
      expect(file.records.map(fromAvroRecord)).toEqual(snapshot0[table]);
    }
    // datetimes are epoch milliseconds (a long), including before 1970
    const { bytes } = await downloadBlob(backups, backup0.hired_employees.backup);
    const moon = (await decodeAvro(bytes)).records.find((r) => r.id === 10005);
    expect(moon?.datetime).toBe(Date.UTC(1969, 6, 20, 20, 17, 40, 500));
  });

  it.skipIf(!hasPythonAvro)('Apache Avro (Python) reads the backups: codec, logical type, metadata, records', async () => {
    const work = tempDir('avro-py-');
    dirs.push(work);
    for (const table of TABLE_NAMES) {
      const { bytes } = await downloadBlob(backups, backup0[table].backup);
      const file = path.join(work, `${table}.avro`);
      fs.writeFileSync(file, bytes);
      const read = readWithPython(file, work);
      expect(read.meta['avro.codec']).toBe('deflate');
      const schema = JSON.parse(read.meta['avro.schema']);
      expect(schema.fields).toEqual(SCHEMAS[table].fields);
      if (table === 'hired_employees') {
        expect(schema.fields.find((f: any) => f.name === 'datetime').type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
      }
      expect(read.meta.table).toBe(table);
      expect(read.meta.createdAt).toBe(backup0[table].createdAt);
      const records = read.records.map((r) => {
        const out: Record<string, unknown> = { ...r };
        // python-avro turns timestamp-millis into a datetime; the script gives it back as {"$ms": n}
        if (out.datetime && typeof out.datetime === 'object') out.datetime = new Date((out.datetime as { $ms: number }).$ms).toISOString();
        return out;
      });
      expect(records).toEqual(snapshot0[table]);
    }
  });
  if (!hasPythonAvro)
    console.warn(
      'python3-avro is not importable by /usr/bin/python3: the Apache Avro reader test is skipped (apt-get install python3-avro)',
    );

  it('after the tables change, restoring each backup gives back exactly the rows at backup time', async () => {
    // New rows in every table, the new employees referencing the new department and job.
    await post('/api/tables/departments/rows', [{ id: 100, department: 'New department' }]);
    await post('/api/tables/jobs/rows', [{ id: 200, job: 'New job' }]);
    await post('/api/tables/hired_employees/rows', employeeObjects(20_000, 500, 99, 12, 40));
    await post('/api/tables/hired_employees/rows', [
      { id: 30_000, name: 'New hire', datetime: '2024-05-05T05:05:05.555+01:00', department_id: 100, job_id: 200 },
    ]);
    const changed = await snapshot(host.url);
    for (const t of TABLE_NAMES) expect(changed[t].length).toBeGreaterThan(snapshot0[t].length);

    // hired_employees first: the new employee references department 100 and job 200.
    for (const table of ['hired_employees', 'departments', 'jobs'] as const) {
      const res = await restore(host.url, table, { backup: backup0[table].backup });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({
        table,
        backup: backup0[table].backup,
        rows: snapshot0[table].length,
        rowsBefore: changed[table].length,
        safetyBackup: expect.stringMatching(backupNamePattern(table)),
        runId: expect.stringMatching(UUID),
      });
      expect(await allRows(host.url, table), table).toEqual(snapshot0[table]);
    }
    // field by field, datetimes to the millisecond
    const hired = await allRows(host.url, 'hired_employees');
    for (const [id, datetime] of Object.entries(HAND_DATETIMES)) expect(hired.find((r) => r.id === Number(id))?.datetime).toBe(datetime);
    expect(hired.find((r) => r.id === 10002)?.name).toBe('Zoë "Q" Müller, Jr.');
    expect(hired.find((r) => r.id === 10010)?.name).toBe('😀'.repeat(127) + 'x');
    expect((await allRows(host.url, 'departments')).find((r) => r.id === 13)?.department).toBe('Ünïcödé 部門 😀');
  });
});

describe('restore of the newest and of a named backup; safety backups', () => {
  it('{} restores the newest backup; its safety backup is listed first and holds the pre-restore rows', async () => {
    const d1 = await backupOne(host.url, 'departments');
    const s1 = await allRows(host.url, 'departments');
    await post('/api/tables/departments/rows', [{ id: 300, department: 'Extra 300' }]);
    const s2 = await allRows(host.url, 'departments');
    expect(s2).toHaveLength(s1.length + 1);

    const res = await restore(host.url, 'departments', {});
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      table: 'departments',
      backup: d1.backup,
      rows: s1.length,
      rowsBefore: s2.length,
      safetyBackup: expect.stringMatching(backupNamePattern('departments')),
      runId: expect.stringMatching(UUID),
    });
    expect(await allRows(host.url, 'departments')).toEqual(s1);

    const listed = await listBackups(host.url, 'departments');
    expect(listed[0]).toMatchObject({ backup: res.body.safetyBackup, rows: s2.length, kind: 'safety', set: null });
    expect(listed[1]).toMatchObject({ backup: d1.backup, kind: 'backup' });
    const safety = await decodeAvro((await downloadBlob(backups, res.body.safetyBackup)).bytes);
    expect(safety.records.map(fromAvroRecord)).toEqual(s2);

    // Restoring the safety backup without another safety backup undoes the restore.
    const undo = await restore(host.url, 'departments', { backup: res.body.safetyBackup, safety: false });
    expect(undo.status, undo.text).toBe(200);
    expect(undo.body).toEqual({
      table: 'departments',
      backup: res.body.safetyBackup,
      rows: s2.length,
      rowsBefore: s1.length,
      safetyBackup: null,
      runId: expect.stringMatching(UUID),
    });
    expect(await allRows(host.url, 'departments')).toEqual(s2);
    expect(await listBackups(host.url, 'departments')).toEqual(listed);
  });

  it('an empty body restores the newest backup too', async () => {
    const d2 = await backupOne(host.url, 'departments');
    const s2 = await allRows(host.url, 'departments');
    await post('/api/tables/departments/rows', [{ id: 301, department: 'Extra 301' }]);
    const s3 = await allRows(host.url, 'departments');

    const res = await restore(host.url, 'departments', '');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ table: 'departments', backup: d2.backup, rows: s2.length });
    expect(await allRows(host.url, 'departments')).toEqual(s2);
    const listed = await listBackups(host.url, 'departments');
    expect(listed[0].backup).toBe(res.body.safetyBackup);
    expect(listed[0].rows).toBe(s3.length);

    const undo = await restore(host.url, 'departments', { backup: res.body.safetyBackup, safety: false });
    expect(undo.status, undo.text).toBe(200);
    expect(await allRows(host.url, 'departments')).toEqual(s3);
  });

  it('a named older backup; "safety": false gives null and adds no backup', async () => {
    const listedBefore = await listBackups(host.url, 'departments');
    expect(listedBefore.length).toBeGreaterThanOrEqual(5);
    expect(listedBefore.map((b) => b.backup)).toEqual([...listedBefore.map((b) => b.backup)].sort().reverse()); // newest first
    expect(listedBefore.some((b) => b.backup === backup0.departments.backup)).toBe(true);

    const res = await restore(host.url, 'departments', { backup: backup0.departments.backup, safety: false });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      table: 'departments',
      backup: backup0.departments.backup,
      rows: snapshot0.departments.length,
      safetyBackup: null,
    });
    expect(await allRows(host.url, 'departments')).toEqual(snapshot0.departments);
    expect(await listBackups(host.url, 'departments')).toEqual(listedBefore);
  });
});

describe('empty tables', () => {
  it('a backup of an empty table is a valid file with no rows, and restoring it empties the table', async () => {
    const full = await allRows(host.url, 'hired_employees');
    expect(full.length).toBeGreaterThan(0);
    // A hand-made backup with no rows empties the table...
    const stamp = new Date(Date.UTC(2000, 5, 1));
    const { name } = await uploadOwnBackup(backups, 'hired_employees', SCHEMAS.hired_employees, [], stamp);
    let res = await restore(host.url, 'hired_employees', { backup: name });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ rows: 0, backup: name });
    const safety1 = res.body.safetyBackup;
    expect(await allRows(host.url, 'hired_employees')).toEqual([]);
    // ...and a backup of the empty table is a valid Avro file with no rows.
    const empty = await backupOne(host.url, 'hired_employees');
    expect(empty.rows).toBe(0);
    const file = await decodeAvro((await downloadBlob(backups, empty.backup)).bytes);
    expect(file.records).toEqual([]);
    expect(file.schema.fields).toEqual(SCHEMAS.hired_employees.fields);
    expect(file.meta.table).toBe('hired_employees');

    res = await restore(host.url, 'hired_employees', { backup: safety1, safety: false });
    expect(res.status, res.text).toBe(200);
    expect(await allRows(host.url, 'hired_employees')).toEqual(full);
    res = await restore(host.url, 'hired_employees', { backup: empty.backup, safety: false });
    expect(res.status, res.text).toBe(200);
    expect(await allRows(host.url, 'hired_employees')).toEqual([]);
    res = await restore(host.url, 'hired_employees', { backup: safety1, safety: false });
    expect(res.status, res.text).toBe(200);
    expect(await allRows(host.url, 'hired_employees')).toEqual(full);
  });
});

describe('a backup taken while batches are inserted', () => {
  it('holds, for every batch, all of its rows or none, and exactly the batches committed before some instant', async () => {
    const base = await allRows(host.url, 'hired_employees');
    let seq = 0;
    type Batch = { stream: number; index: number; ids: number[]; rows: any[]; sent: number; done?: number };
    const batches: Batch[] = [];
    const BATCH = 100;
    let stop = false;

    async function stream(s: number): Promise<void> {
      for (let index = 0; !stop; index++) {
        const first = (5 + s) * 1_000_000 + index * BATCH;
        const rows = employeeObjects(first, BATCH, first, 12, 40);
        const batch: Batch = { stream: s, index, ids: rows.map((r) => r.id), rows, sent: ++seq };
        batches.push(batch);
        const res = await postJson(host.url, '/api/tables/hired_employees/rows', rows);
        expect(res.status, res.text).toBe(200);
        expect(res.body.inserted, res.text).toBe(BATCH);
        batch.done = ++seq;
      }
    }
    const streams = [stream(0), stream(1)];

    const taken: { sent: number; done: number; backup: any }[] = [];
    const committed = () => batches.filter((b) => b.done !== undefined).length;
    for (let k = 0; k < 5; k++) {
      const target = committed() + 6;
      while (committed() < target) await new Promise((r) => setTimeout(r, 5));
      const sent = ++seq;
      const backup = await backupOne(host.url, 'hired_employees');
      taken.push({ sent, done: ++seq, backup });
    }
    const afterLast = committed() + 4;
    while (committed() < afterLast) await new Promise((r) => setTimeout(r, 5));
    stop = true;
    await Promise.all(streams);

    const baseIds = new Set(base.map((r) => r.id as number));
    const byId = new Map<number, Batch>();
    for (const b of batches) for (const id of b.ids) byId.set(id, b);
    let overlapped = 0;
    for (const t of taken) {
      const { bytes, metadata } = await downloadBlob(backups, t.backup.backup);
      const records = (await decodeAvro(bytes)).records.map(fromAvroRecord);
      expect(records.length).toBe(t.backup.rows);
      expect(metadata.rows).toBe(String(records.length));
      // The rows from before the stream, unchanged.
      expect(records.filter((r) => baseIds.has(r.id as number))).toEqual(base);
      const counts = new Map<Batch, number>();
      for (const r of records) {
        if (baseIds.has(r.id as number)) continue;
        const b = byId.get(r.id as number);
        expect(b, `row ${r.id} of the backup comes from no batch`).toBeDefined();
        const sentRow = b!.rows.find((x: any) => x.id === r.id);
        expect(r).toEqual({ ...sentRow, datetime: sentRow.datetime.replace('Z', '.000Z') });
        counts.set(b!, (counts.get(b!) ?? 0) + 1);
      }
      const included = new Set<Batch>();
      for (const [b, n] of counts) {
        expect(n, `batch ${b.stream}/${b.index}: all of its rows or none`).toBe(BATCH);
        included.add(b);
      }
      for (const b of batches) {
        // committed before the backup was asked for: included; sent after it answered: not included
        if (b.done! < t.sent) expect(included.has(b), `batch ${b.stream}/${b.index} committed before the backup`).toBe(true);
        if (b.sent > t.done) expect(included.has(b), `batch ${b.stream}/${b.index} sent after the backup`).toBe(false);
        if (b.sent < t.done && b.done! > t.sent) overlapped++; // in flight while the backup ran
      }
      // A prefix in commit order: an included batch implies every batch that committed before it was sent.
      for (const y of included) {
        for (const x of batches)
          if (x.done! < y.sent)
            expect(included.has(x), `batch ${x.stream}/${x.index} committed before included ${y.stream}/${y.index} was sent`).toBe(true);
      }
      // per stream, a prefix
      for (const s of [0, 1]) {
        const mine = batches.filter((b) => b.stream === s).sort((a, b) => a.index - b.index);
        const n = mine.filter((b) => included.has(b)).length;
        expect(mine.slice(0, n).every((b) => included.has(b))).toBe(true);
      }
    }
    expect(batches.length).toBeGreaterThan(30);
    // At least some batches were in flight while a backup ran (otherwise this test proves little).
    expect(overlapped).toBeGreaterThan(0);
  });
});

describe('refusals leave the table exactly as it was', () => {
  /** Restores and expects a refusal; the table's rows are unchanged, and (unless `mayBackUp`) no backup was added. */
  async function expectRefused(table: TableName, body: object | string, status: number, code: string, mayBackUp = false) {
    const rowsBefore = await allRows(host.url, table);
    const listedBefore = await listBackups(host.url, table);
    const res = await restore(host.url, table, body);
    expectErrorCode(res, status, code);
    expect(await allRows(host.url, table)).toEqual(rowsBefore);
    if (!mayBackUp) expect(await listBackups(host.url, table)).toEqual(listedBefore);
    return res;
  }

  let stamp = Date.UTC(2001, 0, 1);
  /** An old, unique snapshot time for the backups the tests upload themselves. */
  const nextStamp = () => new Date((stamp += 1000));

  it('control: a backup uploaded by the test with correct metadata restores', async () => {
    const rows = await allRows(host.url, 'departments');
    const records = [...rows, { id: 98, department: 'Control' }].sort((a, b) => (a.id as number) - (b.id as number));
    const { name } = await uploadOwnBackup(backups, 'departments', SCHEMAS.departments, records, nextStamp());
    expect((await listBackups(host.url, 'departments')).some((b) => b.backup === name)).toBe(true);
    const res = await restore(host.url, 'departments', { backup: name, safety: false });
    expect(res.status, res.text).toBe(200);
    expect(await allRows(host.url, 'departments')).toEqual(records);
  });

  it('an unknown backup of the right shape: 404 backup_not_found', async () => {
    await expectRefused('departments', { backup: nameFor('departments', new Date(Date.UTC(2000, 0, 1))) }, 404, 'backup_not_found');
    await expectRefused('jobs', { backup: 'jobs/jobs-20991231T235959999Z.avro', safety: false }, 404, 'backup_not_found');
  });

  it("names outside the table's own folder or not of the pattern: 400 bad_backup_name", async () => {
    const real = backup0.departments.backup as string; // exists
    const stampPart = real.slice('departments/departments-'.length);
    const bad: unknown[] = [
      '../x',
      `../${real}`,
      `departments/../${real}`,
      `departments/../jobs/jobs-${stampPart}`,
      backup0.jobs.backup, // another table's backup, which exists
      `jobs/departments-${stampPart}`,
      `departments/jobs-${stampPart}`,
      `hired_employees/${real}`,
      `http://127.0.0.1:${azurite.port}/devstoreaccount1/backups/${real}`,
      `https://example.com/backups/${real}`,
      `backups/${real}`,
      `historic/${real}`,
      `other-container/${real}`,
      `/${real}`,
      `${real}/`,
      `${real}?comp=list`,
      `${real}#x`,
      `${real}\n`,
      `${real}.bak`,
      real.replace('/', '\\'),
      real.replace('/', '%2F'),
      real.toUpperCase(),
      `departments/departments-${stampPart.replace('.avro', '.csv')}`,
      'departments/departments-2021-01-01T00:00:00.000Z.avro',
      'departments/departments-20210101T000000Z.avro',
      `departments-${stampPart}`,
      '',
      42,
      null,
      { name: real },
    ];
    // a copy of a real backup in another container, to be sure such a name cannot reach it
    const other = container(azurite.connectionString, 'other-container');
    const copy = await downloadBlob(backups, real);
    await uploadBlob(other, real, copy.bytes, copy.metadata);
    for (const backup of bad) {
      const res = await expectRefused('departments', { backup }, 400, 'bad_backup_name');
      expect(res.body.error.message.length).toBeGreaterThan(0);
    }
  });

  it('a request that is not a restore request: 4xx, unchanged', async () => {
    for (const body of [
      '{"backup":',
      '[]',
      '"x"',
      JSON.stringify({ backup: backup0.departments.backup, extra: 1 }),
      JSON.stringify({ safety: 'no' }),
    ]) {
      const rowsBefore = await allRows(host.url, 'departments');
      const res = await restore(host.url, 'departments', body);
      expect(res.status, `${body}: ${res.text}`).toBe(400);
      expect(await allRows(host.url, 'departments')).toEqual(rowsBefore);
    }
  });

  it('a blob whose bytes no longer match its SHA-256: 422 backup_corrupted', async () => {
    // A real backup, overwritten with one byte changed, its metadata kept.
    const made = await backupOne(host.url, 'departments');
    const original = await downloadBlob(backups, made.backup);
    const bytes = Buffer.from(original.bytes);
    bytes[bytes.length - 20] ^= 0x5a;
    await uploadBlob(backups, made.backup, bytes, original.metadata);
    expect((await downloadBlob(backups, made.backup)).metadata.sha256).toBe(sha256(original.bytes));
    // The checksum is verified as the rows stream in, after the safety backup (restoreTable says why).
    const res = await expectRefused('departments', { backup: made.backup }, 422, 'backup_corrupted', true);
    expect(res.body.error.message).toContain(made.backup);

    // Truncated, with the original's metadata, under another valid name.
    const name = nameFor('departments', nextStamp());
    await uploadBlob(backups, name, original.bytes.subarray(0, original.bytes.length - 30), original.metadata);
    await expectRefused('departments', { backup: name }, 422, 'backup_corrupted', true);
  });

  it('a file that matches its checksum but cannot be decoded: 422 backup_invalid; one short of rows: 422 backup_corrupted', async () => {
    const made = await backupOne(host.url, 'departments');
    const original = await downloadBlob(backups, made.backup);
    // The first block's compressed data begins after the header (which ends with the 16-byte sync
    // marker, also the file's last 16 bytes) and two varints (row count, byte size). A first byte
    // of 0b111 is a deflate block of the reserved type, which no inflater accepts.
    const sync = original.bytes.subarray(original.bytes.length - 16);
    let at = original.bytes.indexOf(sync) + 16;
    for (let varints = 0; varints < 2; at++) if ((original.bytes[at] & 0x80) === 0) varints++;
    const undecodable = Buffer.from(original.bytes);
    undecodable[at] = 0b111;
    const name = nameFor('departments', nextStamp());
    await uploadBlob(backups, name, undecodable, { ...original.metadata, sha256: sha256(undecodable) });
    const res = await expectRefused('departments', { backup: name }, 422, 'backup_invalid', true);
    expect(res.body.error.message).toContain(name);

    // Truncated within its last block: not a whole file, whatever its checksum says.
    const truncated = original.bytes.subarray(0, original.bytes.length - 30);
    const cut = nameFor('departments', nextStamp());
    await uploadBlob(backups, cut, truncated, { ...original.metadata, sha256: sha256(truncated) });
    const cutRes = await expectRefused('departments', { backup: cut }, 422, 'backup_invalid', true);
    expect(cutRes.body.error.message).toMatch(/ends in the middle of a block/);

    // Whole, but one row short of what its metadata says.
    const short = nameFor('departments', nextStamp());
    await uploadBlob(backups, short, original.bytes, { ...original.metadata, rows: String(made.rows + 1) });
    const shortRes = await expectRefused('departments', { backup: short }, 422, 'backup_corrupted', true);
    expect(shortRes.body.error.message).toMatch(/holds \d+ rows, its metadata says \d+/);
  });

  it('a backup whose schema differs: 422 schema_mismatch naming the difference', async () => {
    const deps = (await allRows(host.url, 'departments')).slice(0, 3);
    const cases: { table: TableName; schema: any; records: object[]; mentions: string }[] = [
      {
        table: 'departments',
        schema: { ...SCHEMAS.departments, fields: [...SCHEMAS.departments.fields, { name: 'budget', type: 'int' }] },
        records: deps.map((r) => ({ ...r, budget: 1 })),
        mentions: 'budget',
      },
      {
        table: 'departments',
        schema: {
          ...SCHEMAS.departments,
          fields: [
            { name: 'id', type: 'int' },
            { name: 'department', type: 'long' },
          ],
        },
        records: deps.map((r) => ({ id: r.id, department: 7 })),
        mentions: 'department',
      },
      {
        table: 'jobs',
        schema: {
          ...SCHEMAS.jobs,
          fields: [
            { name: 'id', type: 'int' },
            { name: 'title', type: 'string' },
          ],
        },
        records: [{ id: 1, title: 'x' }],
        mentions: 'job',
      },
      {
        table: 'hired_employees',
        schema: {
          ...SCHEMAS.hired_employees,
          fields: SCHEMAS.hired_employees.fields.map((f) => (f.name === 'datetime' ? { name: 'datetime', type: 'long' } : f)),
        },
        records: [{ id: 1, name: 'A', datetime: 0, department_id: 1, job_id: 1 }],
        mentions: 'datetime',
      },
      {
        table: 'hired_employees',
        schema: { ...SCHEMAS.hired_employees, fields: SCHEMAS.hired_employees.fields.filter((f) => f.name !== 'job_id') },
        records: [{ id: 1, name: 'A', datetime: 0, department_id: 1 }],
        mentions: 'job_id',
      },
    ];
    for (const c of cases) {
      const { name } = await uploadOwnBackup(backups, c.table, c.schema, c.records, nextStamp());
      const res = await expectRefused(c.table, { backup: name }, 422, 'schema_mismatch');
      expect(res.body.error.message, res.text).toContain(c.mentions);
    }
    // Not Avro at all, with a correct checksum.
    const text = Buffer.from('1,Sales\r\n2,Support\r\n');
    const name = nameFor('departments', nextStamp());
    await uploadBlob(backups, name, text, { rows: '2', sha256: sha256(text), createdat: new Date().toISOString() });
    const res = await restore(host.url, 'departments', { backup: name });
    expect(res.status, res.text).toBe(422);
  });

  it('a backup with a row that breaks the data rules: 422 backup_invalid_row', async () => {
    const cases: { table: TableName; records: object[] }[] = [
      {
        table: 'departments',
        records: [
          { id: 1, department: 'Sales' },
          { id: 2, department: '' },
        ],
      },
      {
        table: 'departments',
        records: [
          { id: 0, department: 'Zero' },
          { id: 1, department: 'One' },
        ],
      },
      { table: 'departments', records: [{ id: 1, department: '   ' }] },
      { table: 'departments', records: [{ id: 1, department: 'x'.repeat(256) }] },
      { table: 'departments', records: [{ id: -5, department: 'Negative' }] },
      {
        table: 'jobs',
        records: [
          { id: 1, job: 'A' },
          { id: 2, job: '' },
        ],
      },
      { table: 'hired_employees', records: [{ id: 1, name: '', datetime: Date.UTC(2021, 0, 1), department_id: 1, job_id: 1 }] },
      { table: 'hired_employees', records: [{ id: 1, name: 'A', datetime: Date.UTC(2021, 0, 1), department_id: 0, job_id: 1 }] },
    ];
    for (const c of cases) {
      const { name } = await uploadOwnBackup(backups, c.table, SCHEMAS[c.table], c.records, nextStamp());
      await expectRefused(c.table, { backup: name }, 422, 'backup_invalid_row', true);
    }
    // the same id twice cannot be restored either
    const { name } = await uploadOwnBackup(
      backups,
      'departments',
      SCHEMAS.departments,
      [
        { id: 1, department: 'A' },
        { id: 1, department: 'A' },
      ],
      nextStamp(),
    );
    const rowsBefore = await allRows(host.url, 'departments');
    const res = await restore(host.url, 'departments', { backup: name, safety: false });
    expect([409, 422], res.text).toContain(res.status);
    expect(await allRows(host.url, 'departments')).toEqual(rowsBefore);
  });

  it('restoring departments or jobs without ids that hired_employees uses: 409 naming the ids and row counts', async () => {
    const hired = await allRows(host.url, 'hired_employees');
    for (const [table, column, keep] of [
      ['departments', 'department_id', 3],
      ['jobs', 'job_id', 30],
    ] as const) {
      const current = await allRows(host.url, table);
      const records = current.filter((r) => (r.id as number) <= keep);
      const { name } = await uploadOwnBackup(backups, table, SCHEMAS[table], records, nextStamp());
      const orphans = new Map<number, number>();
      for (const r of hired)
        if ((r[column] as number) > keep) orphans.set(r[column] as number, (orphans.get(r[column] as number) ?? 0) + 1);
      expect(orphans.size).toBeGreaterThan(0);
      const res = await expectRefused(table, { backup: name }, 409, 'restore_breaks_references', true);
      const message: string = res.body.error.message;
      const total = [...orphans.values()].reduce((a, b) => a + b, 0);
      expect(message, 'the number of rows left without a reference').toMatch(new RegExp(`\\b${total}\\b`));
      for (const [id, rows] of orphans)
        expect(message, `missing id ${id} (${rows} rows)`).toMatch(new RegExp(`\\b${id}\\b\\D{1,12}\\b${rows}\\b`));
    }
  });

  it('restoring hired_employees that reference a department that no longer exists: 409', async () => {
    const b1 = await backupOne(host.url, 'departments'); // without department 77
    const h1 = await backupOne(host.url, 'hired_employees'); // without employee 7777777
    await post('/api/tables/departments/rows', [{ id: 77, department: 'Short-lived' }]);
    await post('/api/tables/hired_employees/rows', [
      { id: 7_777_777, name: 'Short-lived hire', datetime: '2021-01-01T00:00:00.001Z', department_id: 77, job_id: 1 },
    ]);
    const h2 = await backupOne(host.url, 'hired_employees');
    expect(h2.rows).toBe(h1.rows + 1);

    // Department 77 is in use: departments cannot go back to b1 yet.
    await expectRefused('departments', { backup: b1.backup, safety: false }, 409, 'restore_breaks_references');
    let res = await restore(host.url, 'hired_employees', { backup: h1.backup, safety: false });
    expect(res.status, res.text).toBe(200);
    res = await restore(host.url, 'departments', { backup: b1.backup, safety: false });
    expect(res.status, res.text).toBe(200);
    expect((await allRows(host.url, 'departments')).some((r) => r.id === 77)).toBe(false);

    res = await expectRefused('hired_employees', { backup: h2.backup }, 409, 'restore_breaks_references', true);
    expect(res.body.error.message).toMatch(/\b77\b\D{1,12}\b1\b/);
  });

  it('a backup whose row count differs from its metadata: 422, unchanged', async () => {
    const rows = await allRows(host.url, 'jobs');
    const bytes = await encodeAvro(SCHEMAS.jobs, rows, { table: 'jobs', createdAt: new Date().toISOString() });
    const name = nameFor('jobs', nextStamp());
    await uploadBlob(backups, name, bytes, {
      table: 'jobs',
      rows: String(rows.length + 1),
      sha256: sha256(bytes),
      createdat: new Date().toISOString(),
    });
    const before = await allRows(host.url, 'jobs');
    const res = await restore(host.url, 'jobs', { backup: name, safety: false });
    expect(res.status, res.text).toBe(422);
    expect(await allRows(host.url, 'jobs')).toEqual(before);
  });

  it('unknown tables: 404 table_not_found on every backup route', async () => {
    let res = await restore(host.url, 'nope', {});
    expectErrorCode(res, 404, 'table_not_found');
    res = await postJson(host.url, '/api/tables/nope/backups', '');
    expectErrorCode(res, 404, 'table_not_found');
    res = await get(host.url, '/api/tables/nope/backups');
    expectErrorCode(res, 404, 'table_not_found');
  });

  it("nothing was left in the backups container outside the tables' folders", async () => {
    const names = await listBlobNames(backups);
    for (const n of names) expect(n).toMatch(/^(departments|jobs|hired_employees|sets)\//);
  });
});

describe('BACKUP_CONTAINER', () => {
  it('a host with BACKUP_CONTAINER=nightly writes, lists and restores backups there only', async () => {
    const other = await startHost({
      env: { AzureWebJobsStorage: azurite.connectionString, BACKUP_SCHEDULE: QUIET_SCHEDULE, BACKUP_CONTAINER: 'nightly' },
    });
    dirs.push(other.dataDir);
    try {
      const inDefault = await listBlobNames(backups);
      const res = await postJson(other.url, '/api/tables/jobs/rows', [{ id: 1, job: 'Only job' }]);
      expect(res.status, res.text).toBe(200);
      const made = await backupAll(other.url);
      expect(made).toHaveLength(3);
      const nightly = container(azurite.connectionString, 'nightly');
      expect(await listBlobNames(nightly)).toEqual([...made.map((b) => b.backup), `sets/${made[0].set}.json`].sort());
      expect(await listBlobNames(backups)).toEqual(inDefault);
      expect((await listBackups(other.url, 'jobs')).map((b) => b.backup)).toEqual([made[1].backup]);
      await postJson(other.url, '/api/tables/jobs/rows', [{ id: 2, job: 'Second job' }]);
      const restored = await restore(other.url, 'jobs', {});
      expect(restored.status, restored.text).toBe(200);
      expect(restored.body.backup).toBe(made[1].backup);
      expect(await allRows(other.url, 'jobs')).toEqual([{ id: 1, job: 'Only job' }]);
    } finally {
      await other.stop();
    }
  });
});

/** avsc, used by the helpers, agrees with itself: a guard that the test's own encoder is sound. */
describe('test helpers', () => {
  it('encodeAvro/decodeAvro round trip with metadata', async () => {
    const bytes = await encodeAvro(
      SCHEMAS.hired_employees,
      [toAvroRecord({ id: 1, name: 'A', datetime: '1969-12-31T23:59:59.999Z', department_id: 1, job_id: 1 })],
      { table: 'x' },
    );
    const decoded = await decodeAvro(bytes);
    expect(decoded.meta.table).toBe('x');
    expect(decoded.schema.fields).toEqual(SCHEMAS.hired_employees.fields); // the logical type is written to the header
    expect(decoded.records.map(fromAvroRecord)).toEqual([
      { id: 1, name: 'A', datetime: '1969-12-31T23:59:59.999Z', department_id: 1, job_id: 1 },
    ]);
  });
});
