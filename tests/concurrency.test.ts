/**
 * Concurrent requests against one host: batches in parallel, batches while a long load runs,
 * overlapping ids. Every request must succeed, report exactly its own counts, and the counts over
 * all responses must add up to what the tables hold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { employeeObjects, writeDataset } from '../tools/datagen';
import {
  allRows,
  get,
  postCsv,
  postFile,
  postJson,
  removeDir,
  startHost,
  tableCounts,
  tempDir,
  type ApiResponse,
  type HostHandle,
} from './helpers/localHost';
import { isValidGeneratedLine } from './helpers/generatedLines';

let host: HostHandle;
const dirs: string[] = [];

beforeAll(async () => {
  host = await startHost();
  dirs.push(host.dataDir);
  const departments = await postJson(
    host.url,
    '/api/tables/departments/rows',
    Array.from({ length: 12 }, (_, i) => ({ id: i + 1, department: `D${i + 1}` })),
  );
  const jobs = await postJson(
    host.url,
    '/api/tables/jobs/rows',
    Array.from({ length: 183 }, (_, i) => ({ id: i + 1, job: `J${i + 1}` })),
  );
  expect(departments.body.inserted).toBe(12);
  expect(jobs.body.inserted).toBe(183);
});

afterAll(async () => {
  await host?.stop();
  for (const dir of dirs) removeDir(dir);
});

function expectOk(res: ApiResponse): void {
  expect(res.status, res.text).toBe(200);
}

/** Each response's counts must be the run's stored counts and add up to what it received. */
async function expectRunMatches(res: ApiResponse): Promise<void> {
  const { received, inserted, skipped, rejected } = res.body;
  expect(inserted + skipped + rejected).toBe(received);
  const run = await get(host.url, `/api/runs/${res.body.runId}`);
  expect(run.body).toMatchObject({ status: 'succeeded', received, inserted, skipped, rejected });
  const rejections = await get(host.url, `/api/rejections?runId=${res.body.runId}&limit=1000`);
  expect(rejections.body.rejections).toHaveLength(rejected);
}

describe('concurrent batches', () => {
  it('disjoint, overlapping-identical and overlapping-conflicting batches all succeed and add up', async () => {
    const before = (await tableCounts(host.url)).hired_employees;

    // 16 disjoint batches of 500 rows; batch 3 also holds one row with an unknown department.
    const disjoint = Array.from({ length: 16 }, (_, k) => {
      const rows: any[] = employeeObjects(1_000_000 + k * 1000, 500, 100 + k);
      if (k === 3) rows[250] = { ...rows[250], department_id: 99 };
      return rows;
    });
    // 4 batches with the same 50 rows: exactly one inserts them, the other three skip them.
    const shared = employeeObjects(2_000_000, 50, 7);
    // 2 batches with the same 20 ids and different names: one inserts, the other conflicts on all.
    const contestedA = employeeObjects(3_000_000, 20, 8);
    const contestedB = contestedA.map((r) => ({ ...r, name: r.name + ' B' }));

    const bodies: { rows: any[]; kind: string }[] = [
      ...disjoint.map((rows) => ({ rows, kind: 'disjoint' })),
      ...Array.from({ length: 4 }, () => ({ rows: shared, kind: 'shared' })),
      { rows: contestedA, kind: 'A' },
      { rows: contestedB, kind: 'B' },
    ];
    // Half as JSON, half as CSV.
    const responses = await Promise.all(
      bodies.map(({ rows }, i) =>
        i % 2 === 0
          ? postJson(host.url, '/api/tables/hired_employees/rows', rows)
          : postCsv(
              host.url,
              '/api/tables/hired_employees/rows',
              rows.map((r) => `${r.id},"${r.name}",${r.datetime},${r.department_id},${r.job_id}`).join('\r\n'),
            ),
      ),
    );
    responses.forEach(expectOk);
    for (const res of responses) await expectRunMatches(res);

    responses.slice(0, 16).forEach((res, k) => {
      expect(res.body).toMatchObject(
        k === 3 ? { received: 500, inserted: 499, skipped: 0, rejected: 1 } : { received: 500, inserted: 500, skipped: 0, rejected: 0 },
      );
    });
    // batch 3 reports its own one rejection and nothing of another request
    expect(responses[3].body.rejections).toEqual([
      { position: 251, reasons: [{ field: 'department_id', message: expect.stringContaining('99') }], data: expect.anything() },
    ]);

    const sharedResponses = responses.slice(16, 20).map((r) => r.body);
    expect(sharedResponses.map((b) => b.inserted).sort((a, b) => a - b)).toEqual([0, 0, 0, 50]);
    expect(sharedResponses.map((b) => b.skipped).sort((a, b) => a - b)).toEqual([0, 50, 50, 50]);
    expect(sharedResponses.every((b) => b.rejected === 0)).toBe(true);

    const [a, b] = responses.slice(20).map((r) => r.body);
    // each request commits as a whole: one wins every contested id, the other loses every one
    expect([a.inserted, b.inserted].sort()).toEqual([0, 20]);
    expect(a.rejected + b.rejected).toBe(20);
    expect(a.inserted === 20 ? b.rejected : a.rejected).toBe(20);
    const loser = a.inserted === 20 ? b : a;
    expect(
      loser.rejections.every((r: any) => r.reasons.length === 1 && r.reasons[0].field === 'id' && /name/.test(r.reasons[0].message)),
    ).toBe(true);

    const totalInserted = responses.reduce((sum, r) => sum + r.body.inserted, 0);
    expect(totalInserted).toBe(16 * 500 - 1 + 50 + 20);
    expect((await tableCounts(host.url)).hired_employees).toBe(before + totalInserted);

    // what is stored is exactly what was sent (by the winner for the contested ids)
    const stored = new Map((await allRows(host.url, 'hired_employees')).map((r) => [r.id as number, r]));
    const expected = [
      ...disjoint.flat().filter((r) => r.department_id !== 99),
      ...shared,
      ...(a.inserted === 20 ? bodies[20].rows : bodies[21].rows),
    ];
    for (const row of expected) {
      const got = stored.get(row.id);
      expect(got, `row ${row.id}`).toBeDefined();
      expect({ ...got, datetime: new Date(got!.datetime as string).getTime() }).toEqual({ ...row, datetime: Date.parse(row.datetime) });
    }
    expect(stored.has(disjoint[3][250].id)).toBe(false);
  });
});

describe('batches while a long load runs', () => {
  let dir: string;
  let invalid: number;
  /** Enough for the load to outlast the 2 s a write may wait for one of its transactions. */
  const ROWS = 600_000;

  beforeAll(async () => {
    dir = tempDir();
    dirs.push(dir);
    invalid = (await writeDataset(dir, { rows: ROWS, seed: 21, invalidRate: 0.001 })).invalid;
  });

  it('every batch succeeds during the load, with exactly its own counts, and all counts add up', async () => {
    const before = await tableCounts(host.url);
    const lines = fs.readFileSync(path.join(dir, 'hired_employees.csv'), 'utf8').split('\r\n');
    // The last 100 lines of the file, sent as a batch during the load: whoever comes second skips them.
    const tail = lines.slice(ROWS - 100, ROWS).filter(isValidGeneratedLine);
    expect(tail.length).toBeGreaterThan(90);

    let loadDone = false;
    const load = postFile(host.url, '/api/tables/hired_employees/load', path.join(dir, 'hired_employees.csv')).finally(() => {
      loadDone = true;
    });
    // Wait until the load runs, not until it first commits: alone, its first transaction could
    // take the whole file. The batches get in between its transactions, which end when they have
    // run 2 s while a write waits, or when the load's input pauses.
    const deadline = Date.now() + 20_000;
    let loadRun: { runId: string; status: string } | undefined;
    while (loadRun?.status !== 'running') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
      loadRun = (await get(host.url, '/api/runs?table=hired_employees&kind=load&limit=1')).body.runs[0];
    }

    const batchResponses: ApiResponse[] = [];
    let round = 0;
    /** Rows the load had committed when the first round of batches was answered. */
    let committedAfterFirstRound: number | undefined;
    const tailBatch = postCsv(host.url, '/api/tables/hired_employees/rows', tail.join('\r\n'));
    // rounds of 16 concurrent batches until the load ends (at least one round)
    do {
      const base = 5_000_000 + round * 100_000;
      const requests = Array.from({ length: 16 }, (_, k) => {
        const rows: any[] = employeeObjects(base + k * 1000, 200, 1000 + round * 16 + k);
        if (k % 4 === 0) rows[k] = { ...rows[k], job_id: 999 }; // one invalid reference in a quarter of them
        return postJson(host.url, '/api/tables/hired_employees/rows', rows);
      });
      batchResponses.push(...(await Promise.all(requests)));
      committedAfterFirstRound ??= (await get(host.url, `/api/runs/${loadRun.runId}`)).body.inserted;
      round++;
    } while (!loadDone && round < 20);

    const loadRes = await load;
    const tailRes = await tailBatch;
    expectOk(loadRes);
    expectOk(tailRes);
    batchResponses.forEach(expectOk);
    // Batches interleave with the load's transactions rather than waiting for the whole file.
    expect(committedAfterFirstRound, 'rows the load had committed when the first batches were answered').toBeLessThan(
      loadRes.body.inserted,
    );

    batchResponses.forEach((res, i) => {
      const k = i % 16;
      expect(res.body).toMatchObject(
        k % 4 === 0 ? { received: 200, inserted: 199, skipped: 0, rejected: 1 } : { received: 200, inserted: 200, skipped: 0, rejected: 0 },
      );
      if (k % 4 === 0)
        expect(res.body.rejections.map((r: any) => [r.position, r.reasons])).toEqual([
          [k + 1, [{ field: 'job_id', message: expect.stringContaining('999') }]],
        ]);
    });
    for (const res of batchResponses) await expectRunMatches(res);

    // the load saw exactly the file: the tail rows are skipped by whichever of the two came second
    expect(tailRes.body).toMatchObject({ received: tail.length, rejected: 0 });
    expect(tailRes.body.inserted + tailRes.body.skipped).toBe(tail.length);
    expect(loadRes.body).toMatchObject({ received: ROWS, rejected: invalid, status: 'succeeded' });
    expect(loadRes.body.skipped).toBe(tailRes.body.inserted);
    expect(loadRes.body.inserted + loadRes.body.skipped).toBe(ROWS - invalid);
    const loadRejections = await get(host.url, `/api/rejections?runId=${loadRes.body.runId}&limit=1000`);
    expect(loadRejections.body.rejections).toHaveLength(invalid);
    expect(loadRejections.body.rejections.every((r: any) => r.format === 'csv' && r.rawText === lines[r.position - 1])).toBe(true);

    const inserted = loadRes.body.inserted + tailRes.body.inserted + batchResponses.reduce((s, r) => s + r.body.inserted, 0);
    const after = await tableCounts(host.url);
    expect(after.hired_employees - before.hired_employees).toBe(inserted);
    expect(after.hired_employees - before.hired_employees).toBe(ROWS - invalid + batchResponses.length * 200 - batchResponses.length / 4);
  });

  it('two loads of one file at once insert every row exactly once; a dry run alongside writes nothing', async () => {
    const small = tempDir();
    dirs.push(small);
    await writeDataset(small, { rows: 15_000, seed: 5, firstId: 7_000_000, invalidRate: 0.01 });
    const file = path.join(small, 'hired_employees.csv');
    const valid = fs.readFileSync(file, 'utf8').split('\r\n').filter(Boolean).length;
    const before = (await tableCounts(host.url)).hired_employees;
    const [x, y, dry] = await Promise.all([
      postFile(host.url, '/api/tables/hired_employees/load', file),
      postFile(host.url, '/api/tables/hired_employees/load', file),
      postFile(host.url, '/api/tables/hired_employees/load?dryRun=true', file),
    ]);
    [x, y, dry].forEach(expectOk);
    expect(valid).toBe(15_000);
    const rejected = x.body.rejected;
    expect(rejected).toBeGreaterThan(0);
    expect(y.body.rejected).toBe(rejected);
    expect(dry.body.rejected).toBe(rejected);
    expect(x.body.inserted + y.body.inserted).toBe(15_000 - rejected);
    expect(x.body.skipped + y.body.skipped).toBe(15_000 - rejected);
    expect(dry.body.inserted + dry.body.skipped).toBe(15_000 - rejected);
    expect((await tableCounts(host.url)).hired_employees).toBe(before + 15_000 - rejected);
  });
});
