/**
 * A restore killed midway (SIGKILL) leaves the old rows: the host is killed while the restore's
 * transaction runs, restarted on the same data folder, and the table holds exactly what it held
 * before the restore began.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { employeeObjects, writeDataset } from '../tools/datagen';
import { allRows, postFile, postJson, removeDir, startHost, tableCounts, tempDir, type HostHandle } from './helpers/localHost';
import { backupOne, listBackups, restore } from './helpers/backups';

const ROWS = 300_000;
const EXTRA = 3_000;
const QUIET_SCHEDULE = '0 0 0 29 2 *';

describe('kill a restore midway, restart', () => {
  let data: string;
  const hosts: HostHandle[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    data = tempDir();
    dirs.push(data);
    await writeDataset(data, { rows: ROWS, seed: 11, invalidRate: 0 });
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    for (const dir of dirs) removeDir(dir);
  });

  it('leaves exactly the pre-restore rows', async () => {
    const t0 = Date.now();
    const a = await startHost({ env: { BACKUP_SCHEDULE: QUIET_SCHEDULE } });
    hosts.push(a);
    dirs.push(a.dataDir);
    for (const table of ['departments', 'jobs', 'hired_employees']) {
      const res = await postFile(a.url, `/api/tables/${table}/load`, path.join(data, `${table}.csv`));
      expect(res.status, res.text).toBe(200);
      expect(res.body.rejected).toBe(0);
    }
    expect((await tableCounts(a.url)).hired_employees).toBe(ROWS);
    const tLoaded = Date.now();

    const backup = await backupOne(a.url, 'hired_employees');
    expect(backup.rows).toBe(ROWS);
    for (let first = 1_000_001; first < 1_000_001 + EXTRA; first += 1000) {
      const res = await postJson(a.url, '/api/tables/hired_employees/rows', employeeObjects(first, 1000, first));
      expect(res.status, res.text).toBe(200);
      expect(res.body.inserted).toBe(1000);
    }
    const before = await allRows(a.url, 'hired_employees');
    expect(before).toHaveLength(ROWS + EXTRA);
    const otherBefore = { departments: await allRows(a.url, 'departments'), jobs: await allRows(a.url, 'jobs') };
    const listedBefore = await listBackups(a.url, 'hired_employees');
    const tReady = Date.now();

    // Start the restore; its safety backup comes first, then the transaction that replaces the rows.
    let settled = false;
    const restoring = restore(a.url, 'hired_employees', { backup: backup.backup }).then(
      (res) => ({ res, error: undefined as unknown }),
      (error) => ({ res: undefined, error }),
    );
    void restoring.then(() => (settled = true));
    const deadline = Date.now() + 30_000;
    for (;;) {
      expect(settled, 'the restore must still be running').toBe(false);
      expect(Date.now(), 'the safety backup should appear within 30 s').toBeLessThan(deadline);
      if ((await listBackups(a.url, 'hired_employees')).length > listedBefore.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const tSafety = Date.now();
    // The transaction is running now; readers still see the old rows.
    await new Promise((r) => setTimeout(r, 300));
    expect((await tableCounts(a.url)).hired_employees).toBe(ROWS + EXTRA);
    expect(settled, 'the restore must not have finished before the kill').toBe(false);
    await a.kill();
    const outcome = await restoring;
    expect(outcome.res, `the restore answered before the kill: ${outcome.res?.text}`).toBeUndefined();
    expect(a.process.signalCode).toBe('SIGKILL');
    const tKilled = Date.now();

    // Same data folder: the old rows, all of them, exactly.
    const b = await startHost({ dataDir: a.dataDir, env: { BACKUP_SCHEDULE: QUIET_SCHEDULE } });
    hosts.push(b);
    expect((await tableCounts(b.url)).hired_employees).toBe(ROWS + EXTRA);
    expect(await allRows(b.url, 'hired_employees')).toEqual(before);
    expect(await allRows(b.url, 'departments')).toEqual(otherBefore.departments);
    expect(await allRows(b.url, 'jobs')).toEqual(otherBefore.jobs);

    // The same restore, run to the end, does change the table: the kill is what kept the old rows.
    const done = await restore(b.url, 'hired_employees', { backup: backup.backup, safety: false });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ rows: ROWS, safetyBackup: null });
    const restored = await allRows(b.url, 'hired_employees');
    expect(restored).toEqual(before.filter((r) => (r.id as number) <= ROWS));
    console.log(
      `backupKill: load ${tLoaded - t0} ms, prepare ${tReady - tLoaded} ms, safety backup after ${tSafety - tReady} ms, killed at ${tKilled - tReady} ms, check+restore ${Date.now() - tKilled} ms`,
    );
  });
});
