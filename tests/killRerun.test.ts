/**
 * A load killed midway (SIGKILL) leaves a consistent database: whole chunks, each row exactly as in
 * the file. Loading the file again on a new host gives exactly what one clean load gives.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../tools/datagen';
import { allRows, get, postFile, removeDir, startHost, tableCounts, tempDir, type HostHandle } from './helpers/localHost';
import { isValidGeneratedLine } from './helpers/generatedLines';

const ROWS = 400_000;
/** At least the rows of a slice (SQLite's bulkRows, 2,000): a load's transactions commit whole slices. */
const CHUNK = 5000;

type Expected = { id: number; name: string; datetime: string; department_id: number; job_id: number };

/** The generated file's valid rows by line index (undefined for an invalid line), as the API returns them. */
function expectedRows(file: string): (Expected | undefined)[] {
  const lines = fs.readFileSync(file, 'utf8').split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => {
    const f = line.split(',');
    return isValidGeneratedLine(line)
      ? { id: Number(f[0]), name: f[1], datetime: f[2].replace('Z', '.000Z'), department_id: Number(f[3]), job_id: Number(f[4]) }
      : undefined;
  });
}

describe('kill a load midway, restart, load again', () => {
  let data: string;
  let counts: Awaited<ReturnType<typeof writeDataset>>;
  let expected: (Expected | undefined)[];
  const hosts: HostHandle[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    data = tempDir();
    dirs.push(data);
    counts = await writeDataset(data, { rows: ROWS, seed: 42, invalidRate: 0.005 });
    expected = expectedRows(path.join(data, 'hired_employees.csv'));
  });

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
    for (const dir of dirs) removeDir(dir);
  });

  async function loadReferenceTables(host: HostHandle): Promise<void> {
    for (const table of ['departments', 'jobs']) {
      const res = await postFile(host.url, `/api/tables/${table}/load`, path.join(data, `${table}.csv`));
      expect(res.status, res.text).toBe(200);
    }
  }

  it('survives SIGKILL mid-load and converges to a clean load on re-run', async () => {
    expect(expected).toHaveLength(ROWS);
    const valid = expected.filter(Boolean).length;
    expect(valid).toBe(ROWS - counts.invalid);
    const file = path.join(data, 'hired_employees.csv');

    // 1. Host A: start the load, kill the host once some but not all rows are in.
    const a = await startHost();
    hosts.push(a);
    dirs.push(a.dataDir);
    await loadReferenceTables(a);
    // Paced, so that the load commits at each pause (alone and with its input ready, it would
    // commit every 10 s) and is still running when the host is killed.
    const interrupted = postFile(a.url, '/api/tables/hired_employees/load', file, 'text/csv', { bytes: 256 * 1024, ms: 100 }).then(
      (res) => ({ res, error: undefined as unknown }),
      (error) => ({ res: undefined, error }),
    );
    let seen = 0;
    const deadline = Date.now() + 30_000;
    while (seen < 3 * CHUNK) {
      expect(Date.now(), 'the load should commit its first chunks within 30 s').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 25));
      seen = (await tableCounts(a.url)).hired_employees;
    }
    await a.kill();
    const outcome = await interrupted;
    expect(outcome.res, 'the load must not have finished before the kill').toBeUndefined();
    expect(outcome.error).toBeDefined();
    expect(a.process.signalCode).toBe('SIGKILL');

    // 2. Host B on the same data: what is there is whole chunks, each row exactly as in the file.
    const b = await startHost({ dataDir: a.dataDir });
    hosts.push(b);
    const partialCounts = await tableCounts(b.url);
    expect(partialCounts.departments).toBe(12);
    expect(partialCounts.jobs).toBe(183);
    const partial = partialCounts.hired_employees;
    expect(partial).toBeGreaterThanOrEqual(seen);
    expect(partial).toBeLessThan(valid);

    // The interrupted run: found through its rejections; counts as of its last commit; not succeeded.
    const firstRejections = await get(b.url, '/api/rejections?table=hired_employees&limit=1');
    expect(firstRejections.body.rejections).toHaveLength(1);
    const runId: string = firstRejections.body.rejections[0].runId;
    const run = await get(b.url, `/api/runs/${runId}`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      kind: 'load',
      table: 'hired_employees',
      dryRun: false,
      inserted: partial,
      skipped: 0,
      finishedAt: null,
    });
    expect(['running', 'interrupted']).toContain(run.body.status);
    // Chunks are committed whole: the first `received` lines of the file, nothing of the rest.
    const linesDone: number = run.body.received;
    expect(linesDone).toBeGreaterThanOrEqual(CHUNK);
    expect(linesDone).toBeLessThan(ROWS);
    const present = await allRows(b.url, 'hired_employees');
    expect(present).toHaveLength(partial);
    const prefix = expected.slice(0, linesDone).filter((r): r is Expected => r !== undefined);
    expect(present).toEqual(prefix); // ids are line numbers in the generated file
    expect(run.body.rejected).toBe(linesDone - prefix.length);
    const interruptedRejections: { position: number; rawText: string }[] = [];
    for (let after = 0; ;) {
      const page = await get(b.url, `/api/rejections?runId=${runId}&afterId=${after}&limit=1000`);
      interruptedRejections.push(...page.body.rejections);
      if (page.body.nextAfterId === null) break;
      after = page.body.nextAfterId;
    }
    expect(interruptedRejections).toHaveLength(run.body.rejected);
    const lines = fs.readFileSync(file, 'utf8').split('\r\n');
    for (const r of interruptedRejections) {
      expect(r.position).toBeLessThanOrEqual(linesDone);
      expect(r.rawText).toBe(lines[r.position - 1]);
      expect(expected[r.position - 1]).toBeUndefined();
    }

    // 3. Re-run on B, and a clean load into a fresh host C, side by side.
    const c = await startHost();
    hosts.push(c);
    dirs.push(c.dataDir);
    await loadReferenceTables(c);
    const [rerun, clean] = await Promise.all([
      postFile(b.url, '/api/tables/hired_employees/load', file),
      postFile(c.url, '/api/tables/hired_employees/load', file),
    ]);
    expect(rerun.status, rerun.text).toBe(200);
    expect(clean.status, clean.text).toBe(200);
    expect(clean.body).toMatchObject({ received: ROWS, inserted: valid, skipped: 0, rejected: counts.invalid, status: 'succeeded' });
    expect(rerun.body).toMatchObject({
      received: ROWS,
      inserted: valid - partial,
      skipped: partial,
      rejected: counts.invalid,
      status: 'succeeded',
    });

    // 4. Same tables, row for row.
    expect(await tableCounts(b.url)).toEqual(await tableCounts(c.url));
    const [rowsB, rowsC] = await Promise.all([allRows(b.url, 'hired_employees'), allRows(c.url, 'hired_employees')]);
    expect(rowsB.length).toBe(valid);
    expect(rowsB).toEqual(rowsC);
    expect(rowsC).toEqual(expected.filter(Boolean));
    for (const table of ['departments', 'jobs']) expect(await allRows(b.url, table)).toEqual(await allRows(c.url, table));

    // The interrupted run is still not reported as succeeded.
    const after = await get(b.url, `/api/runs/${runId}`);
    expect(['running', 'interrupted']).toContain(after.body.status);
    expect(after.body.finishedAt).toBeNull();
  });
});
