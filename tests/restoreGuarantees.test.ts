/**
 * What a restore guarantees, over real HTTP against the local host (its own Azurite, SQLite in a
 * temp folder): no committed row is ever lost between the safety backup and the restore; no
 * restore under a running load, and no load under a running restore; a retried restore does not
 * undo itself; a backup set is one instant; a set restore killed midway leaves every table as it
 * was; a crafted backup that inflates without bound is refused within the memory budget.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { employeeObjects, writeDataset } from '../tools/datagen';
import { peakRssKib, resetPeakRss } from '../bench/processMemory';
import {
  allRows,
  get,
  postCsv,
  postFile,
  postJson,
  removeDir,
  request,
  startHost,
  tableCounts,
  tempDir,
  type HostHandle,
} from './helpers/localHost';
import {
  backupOne,
  container,
  decodeAvro,
  downloadBlob,
  encodeAvro,
  listBackups,
  restore,
  SCHEMAS,
  sha256,
  uploadBlob,
} from './helpers/backups';

const QUIET_SCHEDULE = '0 0 0 29 2 *';
const ROWS = 20_000;

const hosts: HostHandle[] = [];
const dirs: string[] = [];

async function newHost(dataDir?: string): Promise<HostHandle> {
  const host = await startHost({ ...(dataDir && { dataDir }), env: { BACKUP_SCHEDULE: QUIET_SCHEDULE } });
  hosts.push(host);
  dirs.push(host.dataDir);
  return host;
}

async function load(host: HostHandle, rows: number): Promise<void> {
  const dir = tempDir();
  dirs.push(dir);
  await writeDataset(dir, { rows, seed: 7, invalidRate: 0 });
  for (const table of ['departments', 'jobs', 'hired_employees']) {
    const res = await postFile(host.url, `/api/tables/${table}/load`, path.join(dir, `${table}.csv`));
    expect(res.status, res.text).toBe(200);
  }
}

function storage(host: HostHandle) {
  return container(host.storageConnection!);
}

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  for (const dir of dirs) removeDir(dir);
});

describe('a batch racing a restore', () => {
  it('every committed batch row is in the restored table (it committed after) or in the safety backup (before), never in neither', async () => {
    const host = await newHost();
    await load(host, ROWS);
    const backup = await backupOne(host.url, 'hired_employees');
    const random = mulberry32(42);
    let after = 0;
    let before = 0;
    for (let attempt = 0; attempt < 12; attempt++) {
      const first = 1_000_000 + attempt * 100;
      const restoring = restore(host.url, 'hired_employees', { backup: backup.backup });
      await new Promise((r) => setTimeout(r, Math.floor(random() * 40)));
      const batch = await postJson(host.url, '/api/tables/hired_employees/rows', employeeObjects(first, 100, first));
      const restored = await restoring;
      expect(restored.status, restored.text).toBe(200);
      expect(batch.status, batch.text).toBe(200);
      expect(batch.body.inserted).toBe(100);

      const ids = new Set((await allRows(host.url, 'hired_employees')).map((r) => r.id as number));
      const inTable = countIn(ids, first, 100);
      const safety = await decodeAvro((await downloadBlob(storage(host), restored.body.safetyBackup)).bytes);
      const inSafety = countIn(new Set(safety.records.map((r) => r.id as number)), first, 100);
      // All of the batch on one side, none on the other: it committed entirely before or after.
      expect([inTable, inSafety].sort()).toEqual([0, 100]);
      if (inTable) after++;
      else before++;
      // Reset for the next attempt, without a safety backup.
      expect((await restore(host.url, 'hired_employees', { backup: backup.backup, safety: false })).status).toBe(200);
    }
    console.log(`restore race: the batch committed before the restore ${before} times, after it ${after} times`);
  });
});

describe('restores and loads exclude each other', () => {
  it('a restore during a running load is 409 load_running and changes nothing; a load during a restore is 409 restore_running', async () => {
    const host = await newHost();
    const rows = 200_000; // a restore that lasts long enough to send a load while it runs
    await load(host, rows);
    const backups = { hired: await backupOne(host.url, 'hired_employees'), departments: await backupOne(host.url, 'departments') };
    // A slow load of new hires: the client sends its file in small pieces.
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'more.csv');
    fs.writeFileSync(
      file,
      employeeObjects(500_000, 3000, 500_000)
        .map((e) => `${e.id},${e.name},${e.datetime},${e.department_id},${e.job_id}`)
        .join('\n') + '\n',
    );
    const loading = postFile(host.url, '/api/tables/hired_employees/load', file, 'text/csv', { bytes: 8 * 1024, ms: 150 });
    let runId: string | undefined;
    for (const deadline = Date.now() + 10_000; !runId && Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      runId = (await get(host.url, '/api/runs?kind=load&limit=1')).body.runs.find((r: { status: string }) => r.status === 'running')?.runId;
    }
    expect(runId, 'the load should be running').toBeDefined();
    const listed = await listBackups(host.url, 'hired_employees');

    for (const [table, name] of [
      ['hired_employees', backups.hired.backup],
      ['departments', backups.departments.backup],
    ]) {
      const res = await restore(host.url, table, { backup: name });
      expect(res.status, res.text).toBe(409);
      expect(res.body.error).toMatchObject({ code: 'load_running', runId, table: 'hired_employees' });
    }
    expect(await listBackups(host.url, 'hired_employees')).toEqual(listed); // not even a safety backup
    const loaded = await loading;
    expect(loaded.status, loaded.text).toBe(200);
    expect(loaded.body.inserted).toBe(3000);
    expect((await tableCounts(host.url)).hired_employees).toBe(rows + 3000);

    // And the other way round: a load sent once the restore has taken its safety backup, in its transaction.
    let settled = false;
    const restoring = restore(host.url, 'hired_employees', { backup: backups.hired.backup }).finally(() => (settled = true));
    for (const deadline = Date.now() + 30_000; (await listBackups(host.url, 'hired_employees')).length === listed.length;) {
      expect(Date.now()).toBeLessThan(deadline);
    }
    const refused = await postCsv(host.url, '/api/tables/hired_employees/load', '900001,Late Hire,2021-01-01T00:00:00Z,1,1\n');
    expect(settled, 'the restore must still be running').toBe(false);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.code).toBe('restore_running');
    const restored = await restoring;
    expect(restored.status, `${restored.text}\n${host.output()}`).toBe(200);
    expect((await tableCounts(host.url)).hired_employees).toBe(rows);
    const audits = (await get(host.url, '/api/runs?kind=restore&limit=10')).body.runs;
    expect(audits.filter((r: { status: string }) => r.status === 'failed')).toHaveLength(2);
    expect(audits[0]).toMatchObject({
      kind: 'restore',
      status: 'succeeded',
      detail: { backup: backups.hired.backup, rowsBefore: rows + 3000, rowsAfter: rows },
    });
  });
});

describe('a retried restore', () => {
  it('{} again, without a key, restores the same backup (never the safety backup); with an Idempotency-Key it does nothing again', async () => {
    const host = await newHost();
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 1, job: 'One' }]);
    await backupOne(host.url, 'jobs');
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 2, job: 'Two' }]);
    const first = await restore(host.url, 'jobs', {});
    expect(first.status, first.text).toBe(200);
    const left = await allRows(host.url, 'jobs');
    expect(left).toEqual([{ id: 1, job: 'One' }]);
    const retried = await restore(host.url, 'jobs', {});
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body.backup).toBe(first.body.backup);
    expect(await allRows(host.url, 'jobs')).toEqual(left);
    expect((await listBackups(host.url, 'jobs')).map((b) => b.kind)).toEqual(['safety', 'safety', 'backup']);

    const keyed = () =>
      request(`${host.url}/api/tables/jobs/restore`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'restore-jobs-1' },
        body: '{}',
      });
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 3, job: 'Three' }]);
    const once = await keyed();
    expect(once.status, once.text).toBe(200);
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 4, job: 'Four' }]);
    const twice = await keyed();
    expect(twice.status, twice.text).toBe(200);
    expect(twice.body).toEqual({ ...JSON.parse(once.text), replayed: true });
    expect(await allRows(host.url, 'jobs')).toEqual([...left, { id: 4, job: 'Four' }]);
    const bad = await request(`${host.url}/api/tables/jobs/restore`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bad key' },
      body: '{}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('bad_idempotency_key');
  });
});

describe('backup sets', () => {
  it('a set taken during concurrent batches is one instant: every hire in it has its department and job in the same set', async () => {
    const host = await newHost();
    await postJson(host.url, '/api/tables/jobs/rows', [{ id: 1, job: 'Only' }]);
    let stop = false;
    const writer = (async () => {
      for (let i = 1; !stop && i < 5000; i++) {
        expect((await postJson(host.url, '/api/tables/departments/rows', [{ id: i, department: `D${i}` }])).status).toBe(200);
        const res = await postJson(host.url, '/api/tables/hired_employees/rows', [
          { id: i, name: `P${i}`, datetime: '2021-01-01T00:00:00Z', department_id: i, job_id: 1 },
        ]);
        expect(res.body.inserted).toBe(1);
      }
    })();
    const sets = [];
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 30));
      const res = await postJson(host.url, '/api/backups', '');
      expect(res.status, res.text).toBe(200);
      sets.push(res.body);
    }
    stop = true;
    await writer;
    const blobs = storage(host);
    let checked = 0;
    for (const set of sets) {
      const [departments, , hired] = await Promise.all(
        set.tables.map(async (t: { backup: string }) => (await decodeAvro((await downloadBlob(blobs, t.backup)).bytes)).records),
      );
      const ids = new Set(departments.map((d: { id: number }) => d.id));
      for (const hire of hired) expect(ids.has(hire.department_id), `set ${set.set}: hire ${hire.id}`).toBe(true);
      checked += hired.length;
    }
    expect(checked).toBeGreaterThan(0);
    const listed = (await get(host.url, '/api/backups')).body.sets;
    expect(listed.map((s: { set: string }) => s.set)).toEqual(sets.map((s) => s.set).reverse());
  });

  it('a set restore killed midway (SIGKILL) leaves all three tables with their old rows', async () => {
    const a = await newHost();
    await load(a, 300_000);
    const set = (await postJson(a.url, '/api/backups', '')).body;
    await postJson(a.url, '/api/tables/departments/rows', [{ id: 9000, department: 'After the set' }]);
    await postJson(a.url, '/api/tables/jobs/rows', [{ id: 9000, job: 'After the set' }]);
    await postJson(a.url, '/api/tables/hired_employees/rows', [
      { id: 9_000_000, name: 'Late', datetime: '2022-01-01T00:00:00Z', department_id: 9000, job_id: 9000 },
    ]);
    const before = {
      departments: await allRows(a.url, 'departments'),
      jobs: await allRows(a.url, 'jobs'),
      hired: await tableCounts(a.url),
    };
    const restoring = postJson(a.url, '/api/restore', { set: set.set }).then(
      (res) => res,
      () => undefined,
    );
    // Kill once the safety set exists: the restore's transaction is then emptying and refilling the tables.
    const blobs = storage(a);
    for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 20))) {
      expect(Date.now()).toBeLessThan(deadline);
      let manifests = 0;
      for await (const item of blobs.listBlobsFlat({ prefix: 'sets/' })) if (item.name) manifests++;
      if (manifests > 1) break;
    }
    await new Promise((r) => setTimeout(r, 200));
    await a.kill();
    expect(await restoring, 'the restore answered before the kill').toBeUndefined();

    const b = await newHost(a.dataDir);
    expect(await allRows(b.url, 'departments')).toEqual(before.departments);
    expect(await allRows(b.url, 'jobs')).toEqual(before.jobs);
    expect(await tableCounts(b.url)).toEqual(before.hired);
    const done = await postJson(b.url, '/api/restore', { set: set.set });
    expect(done.status, done.text).toBe(200);
    expect((await tableCounts(b.url)).hired_employees).toBe(300_000);
  });
});

describe('a decompression bomb', () => {
  it('a backup whose one deflate block inflates to 1 GiB is 422 backup_invalid, and the host stays under 200 MB', async () => {
    const host = await newHost();
    const schema = SCHEMAS.departments;
    const records = 1_000_000;
    const block = await deflatedZeros(1024 * 1024 * 1024);
    // A valid file with no blocks (avsc's writer): its header, which ends with the sync marker.
    const header = await encodeAvro(schema, []);
    const sync = header.subarray(header.length - 16);
    const long = avro.Type.forSchema('long');
    const file = Buffer.concat([header, long.toBuffer(records), long.toBuffer(block.length), block, sync]);
    expect(file.length).toBeLessThan(2 * 1024 * 1024);
    const name = 'departments/departments-20000101T000000000Z.avro';
    await uploadBlob(storage(host), name, file, {
      table: 'departments',
      rows: String(records),
      createdat: '2000-01-01T00:00:00.000Z',
      sha256: sha256(file),
    });
    resetPeakRss(host.process.pid!);
    const res = await restore(host.url, 'departments', { backup: name, safety: false });
    const peakMb = peakRssKib(host.process.pid!) / 1024;
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('backup_invalid');
    expect(res.body.error.message).toMatch(/inflates to more than/);
    expect(peakMb).toBeLessThan(200);
    console.log(`decompression bomb: host peak RSS ${peakMb.toFixed(0)} MB`);
  });
});

/** Deflate-raw of `bytes` zero bytes, streamed: about 1 MB for 1 GiB. */
async function deflatedZeros(bytes: number): Promise<Buffer> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < bytes; written += zeros.length) {
    if (!deflate.write(zeros)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(chunks);
}

function countIn(ids: Set<number>, first: number, count: number): number {
  let n = 0;
  for (let id = first; id < first + count; id++) if (ids.has(id)) n++;
  return n;
}

/** A small seeded generator, so a failing attempt can be replayed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t >>> 0) / 4294967296;
  };
}
