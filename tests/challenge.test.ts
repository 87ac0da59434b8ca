/**
 * The customer's challenge files, where they are present next to the repository (they are never
 * copied into it): loaded once, then again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHALLENGE_DIR, hasChallengeFiles, loadChallengeFile } from './helpers/challenge';
import { allRows, get, removeDir, startHost, tableCounts, type HostHandle } from './helpers/localHost';

describe.skipIf(!hasChallengeFiles)('challenge files', () => {
  let host: HostHandle;

  beforeAll(async () => {
    host = await startHost();
  });
  afterAll(async () => {
    await host?.stop();
    removeDir(host?.dataDir);
  });

  const load = (table: string) => loadChallengeFile(host.url, table);

  it('first load: 12 departments, 183 jobs, 1929 employees inserted and 70 rejected with reasons', async () => {
    const departments = await load('departments');
    expect(departments.status, departments.text).toBe(200);
    expect(departments.body).toMatchObject({ received: 12, inserted: 12, skipped: 0, rejected: 0, status: 'succeeded' });
    const jobs = await load('jobs');
    expect(jobs.status, jobs.text).toBe(200);
    expect(jobs.body).toMatchObject({ received: 183, inserted: 183, skipped: 0, rejected: 0, status: 'succeeded' });
    const hired = await load('hired_employees');
    expect(hired.status, hired.text).toBe(200);
    expect(hired.body).toMatchObject({ received: 1999, inserted: 1929, skipped: 0, rejected: 70, dryRun: false, status: 'succeeded' });
    expect(await tableCounts(host.url)).toEqual({ departments: 12, jobs: 183, hired_employees: 1929 });

    const res = await get(host.url, `/api/rejections?runId=${hired.body.runId}&limit=1000`);
    expect(res.status).toBe(200);
    const rejections = res.body.rejections;
    expect(rejections).toHaveLength(70);
    const lines = fs.readFileSync(path.join(CHALLENGE_DIR, 'hired_employees.csv'), 'utf8').split(/\r?\n/);
    for (const r of rejections) {
      expect(r.table).toBe('hired_employees');
      expect(r.format).toBe('csv');
      expect(r.reasons.length, `line ${r.position}`).toBeGreaterThan(0);
      for (const reason of r.reasons) expect(reason.message.length).toBeGreaterThan(0);
      expect(r.rawText).toBe(lines[r.position - 1]);
    }
    // every stored row came from a line that was not rejected
    const rejectedIds = new Set(rejections.map((r: any) => r.rawText.split(',')[0]));
    const stored = await allRows(host.url, 'hired_employees');
    expect(stored).toHaveLength(1929);
    expect(stored.some((row) => rejectedIds.has(String(row.id)))).toBe(false);
  });

  it('second load: nothing inserted, every stored row skipped, the same 70 rejected', async () => {
    for (const [table, n] of [
      ['departments', 12],
      ['jobs', 183],
    ] as const) {
      const res = await load(table);
      expect(res.body).toMatchObject({ received: n, inserted: 0, skipped: n, rejected: 0 });
    }
    const again = await load('hired_employees');
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ received: 1999, inserted: 0, skipped: 1929, rejected: 70, status: 'succeeded' });
    expect(await tableCounts(host.url)).toEqual({ departments: 12, jobs: 183, hired_employees: 1929 });
    const res = await get(host.url, `/api/rejections?runId=${again.body.runId}&limit=1000`);
    expect(res.body.rejections).toHaveLength(70);
    expect(res.body.rejections.every((r: any) => r.reasons.length > 0)).toBe(true);
    // The file to fix lists the 70 once, not once per load; the history has both loads'.
    const dataLines = (text: string) => text.split('\r\n').filter((l) => l !== '').length - 1;
    expect(dataLines((await get(host.url, '/api/rejections?table=hired_employees&format=csv')).text)).toBe(70);
    expect(dataLines((await get(host.url, '/api/rejections?table=hired_employees&format=csv&history=true')).text)).toBe(140);
  });
});
