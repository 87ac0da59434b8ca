/**
 * Loads from the historic container, asynchronous and resumable, over real HTTP with Azurite's
 * blob and queue services: 202 and polling, many short worker invocations, hosts killed midway,
 * duplicate and stale messages, poison, cancel and resume, idempotent requests, a blob replaced
 * mid-load. Every finished load is compared with a synchronous load of the same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../tools/datagen';
import { encodeMessage } from '../shared/storage/LoadQueue';
import {
  allRejections,
  get,
  loadBlob,
  postFile,
  postJson,
  removeDir,
  request,
  startAzurite,
  startHost,
  tempDir,
  waitForRun,
  type HostHandle,
} from './helpers/localHost';
import { CHALLENGE_DIR, hasChallengeFiles } from './helpers/challenge';

let azurite: Awaited<ReturnType<typeof startAzurite>>;
const dirs: string[] = [];
let data: string;
/** The synchronous load of hostile.csv: what every asynchronous load of it must equal. */
let reference: { run: any; rows: number; rejections: any[] };
let referenceHost: HostHandle;

/** Short invocations and leases, so that a file is loaded over many invocations and a dead worker is noticed at once. */
const FAST = {
  LOAD_WORKER_SECONDS: '1',
  LOAD_LEASE_SECONDS: '2',
  LOCAL_QUEUE_INVISIBLE_SECONDS: '3',
  LOCAL_QUEUE_RETRY_SECONDS: '0',
};

function historic() {
  return BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('historic');
}

async function upload(name: string, file: string): Promise<void> {
  await historic().createIfNotExists();
  await historic().getBlockBlobClient(name).uploadFile(file);
}

/**
 * A generated file with what makes a resumed read hard: rows sent twice (skipped), conflicting
 * ids (rejected against the first), quoted fields with newlines, and bytes that are not UTF-8,
 * spread through the file so that workers stop and resume around them.
 */
async function writeHostileFile(dir: string, rows: number): Promise<string> {
  await writeDataset(dir, { rows, seed: 21, invalidRate: 0.02 });
  const lines = fs.readFileSync(path.join(dir, 'hired_employees.csv'), 'latin1').split('\r\n');
  lines.pop();
  const out: string[] = [];
  lines.forEach((line, i) => {
    out.push(line);
    if (i % 997 === 500) out.push(lines[i - 400]); // the same row again
    if (i % 1999 === 700) out.push(lines[i - 100].replace(/,([^,]*),/, ',Someone Else,')); // same id, other values
    if (i % 1499 === 300) out.push(`${9_000_000 + i},"Ann\r\nLee, Jr.",2021-05-05T10:00:00Z,1,1`); // a quoted newline
    if (i % 2503 === 900) out.push(`${9_500_000 + i},Bad \xff\xfe bytes,2021-05-05T10:00:00Z,1,1`); // not UTF-8
  });
  const file = path.join(dir, 'hostile.csv');
  fs.writeFileSync(file, Buffer.from(out.join('\r\n') + '\r\n', 'latin1'));
  return file;
}

async function seedTables(host: HostHandle): Promise<void> {
  for (const table of ['departments', 'jobs']) {
    const res = await postFile(host.url, `/api/tables/${table}/load`, path.join(data, `${table}.csv`));
    expect(res.status, res.text).toBe(200);
  }
}

async function countOf(host: HostHandle): Promise<number> {
  return (await get(host.url, '/api/tables')).body.tables.find((t: any) => t.name === 'hired_employees').rows;
}

/** The rejections of a run as comparable values: where, what and why. */
async function rejectionsOf(host: HostHandle, runId: string): Promise<any[]> {
  return (await allRejections(host.url, `runId=${runId}`)).map((r) => [r.position, r.rawText, r.reasons]);
}

/** The finished run equals the synchronous load's, and so do the table and the rejections. */
async function expectLikeReference(host: HostHandle, run: any): Promise<void> {
  expect(run).toMatchObject({
    status: 'succeeded',
    received: reference.run.received,
    inserted: reference.run.inserted,
    skipped: reference.run.skipped,
    rejected: reference.run.rejected,
    percent: 100,
  });
  expect(await countOf(host)).toBe(reference.rows);
  expect(await rejectionsOf(host, run.runId)).toEqual(reference.rejections);
}

/** Resolves once the run has committed some of its file. */
async function untilCommitted(host: HostHandle, runId: string): Promise<void> {
  while (!((await get(host.url, `/api/runs/${runId}`)).body.bytesDone > 0)) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function freshHost(env: Record<string, string> = {}, dataDir?: string): Promise<HostHandle> {
  const host = await startHost({ env: { AzureWebJobsStorage: azurite.connectionString, ...FAST, ...env }, dataDir });
  dirs.push(host.dataDir);
  return host;
}

beforeAll(async () => {
  azurite = await startAzurite({});
  data = tempDir();
  dirs.push(data);
  // Large enough to outlast several one-second invocations at this machine's load rate (about 250,000 rows/s), with room for a faster one.
  const file = await writeHostileFile(data, 600_000);
  await upload('hostile.csv', file);
  referenceHost = await freshHost();
  await seedTables(referenceHost);
  const sync = await postFile(referenceHost.url, '/api/tables/hired_employees/load', file);
  expect(sync.status, sync.text).toBe(200);
  expect(sync.body.skipped).toBeGreaterThan(100);
  expect(sync.body.rejected).toBeGreaterThan(3000);
  reference = { run: sync.body, rows: await countOf(referenceHost), rejections: await rejectionsOf(referenceHost, sync.body.runId) };
}, 180_000);

afterAll(async () => {
  await referenceHost?.stop();
  await azurite?.stop();
  for (const dir of dirs) removeDir(dir);
});

describe('a load from the historic container', () => {
  it(
    'answers 202 with where to poll, then loads over many invocations exactly what one synchronous load does',
    { timeout: 180_000 },
    async () => {
      const host = await freshHost();
      try {
        await seedTables(host);
        const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
        expect(queued.status, queued.text).toBe(202);
        expect(queued.headers.get('location')).toBe(`/api/runs/${queued.body.runId}`);
        expect(Number(queued.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(queued.body).toMatchObject({ status: 'queued', bytesTotal: fs.statSync(path.join(data, 'hostile.csv')).size, bytesDone: 0 });
        // Seen while it runs: progress that only grows. Polled often: the file's last invocation may run for well under a second.
        const seen: any[] = [];
        let run = queued.body;
        while (run.status === 'queued' || run.status === 'running') {
          await new Promise((resolve) => setTimeout(resolve, 20));
          run = (await get(host.url, queued.headers.get('location')!)).body;
          seen.push(run);
        }
        const running = seen.filter((r) => r.status === 'running' && r.bytesDone > 0 && r.bytesDone < r.bytesTotal);
        expect(running.length).toBeGreaterThan(0);
        expect(running[0]).toMatchObject({ percent: expect.any(Number), line: expect.any(Number), rowsPerSecond: expect.any(Number) });
        expect(running.some((r) => typeof r.etaSeconds === 'number')).toBe(true);
        for (let i = 1; i < seen.length; i++) expect(seen[i].bytesDone ?? 0).toBeGreaterThanOrEqual(seen[i - 1].bytesDone ?? 0);
        expect(run.attempts).toBeGreaterThan(1); // one-second invocations: the file took more than one
        await expectLikeReference(host, run);
        // Every line of the log about the run names it.
        expect(host.output()).toMatch(new RegExp(`\\[run ${run.runId}\\] (paused|finished)`));
      } finally {
        await host.stop();
      }
    },
  );

  it('a dry run over many invocations counts what the real load does and changes nothing', { timeout: 180_000 }, async () => {
    const host = await freshHost();
    try {
      await seedTables(host);
      const run = (await loadBlob(host.url, 'hired_employees', { blob: 'hostile.csv' }, '?dryRun=true')).body;
      expect(run).toMatchObject({ dryRun: true, status: 'succeeded', inserted: reference.run.inserted, skipped: reference.run.skipped });
      expect(run.attempts).toBeGreaterThan(1);
      expect(await countOf(host)).toBe(0);
    } finally {
      await host.stop();
    }
  });

  it(
    'finishes by itself after its host is killed again and again, with exactly the rows and rejections of a clean load',
    { timeout: 300_000 },
    async () => {
      let host = await freshHost();
      const dataDir = host.dataDir;
      try {
        await seedTables(host);
        const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
        expect(queued.status, queued.text).toBe(202);
        const runId = queued.body.runId;
        for (let kill = 0; kill < 3; kill++) {
          // Until it has committed something more, then a random moment later.
          const before = (await get(host.url, `/api/runs/${runId}`)).body.bytesDone ?? 0;
          for (let t = Date.now(); Date.now() - t < 60_000;) {
            const now = (await get(host.url, `/api/runs/${runId}`)).body;
            if (now.bytesDone > before || now.status !== 'running') break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 700)));
          await host.kill();
          host = await freshHost({}, dataDir);
          const after = (await get(host.url, `/api/runs/${runId}`)).body;
          if (after.status === 'succeeded') break;
        }
        const run = (await waitForRun(host.url, runId, 240_000)).body;
        expect(run.attempts).toBeGreaterThan(1);
        await expectLikeReference(host, run);
      } finally {
        await host.stop();
      }
    },
  );

  it('does nothing twice: a duplicate message during the load, or a stale one after it', { timeout: 180_000 }, async () => {
    const host = await freshHost({ LOAD_QUEUE: 'loads-duplicates' });
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('loads-duplicates');
    try {
      await seedTables(host);
      const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
      for (let i = 0; i < 3; i++) await queue.sendMessage(encodeMessage({ runId: queued.body.runId }));
      const run = (await waitForRun(host.url, queued.body.runId)).body;
      await expectLikeReference(host, run);
      // A stale message for the finished run: nothing changes.
      await queue.sendMessage(encodeMessage({ runId: queued.body.runId }));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect((await get(host.url, `/api/runs/${run.runId}`)).body).toEqual(run);
      expect(await countOf(host)).toBe(reference.rows);
    } finally {
      await host.stop();
    }
  });

  it('stops a load when asked, keeps what it committed, and resumes it from there', { timeout: 180_000 }, async () => {
    const host = await freshHost();
    try {
      await seedTables(host);
      const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
      const runId = queued.body.runId;
      await untilCommitted(host, runId);
      const cancel = await request(`${host.url}/api/runs/${runId}`, { method: 'DELETE' });
      expect([200, 202]).toContain(cancel.status);
      const cancelled = (await waitForRun(host.url, runId)).body;
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.bytesDone).toBeLessThan(cancelled.bytesTotal);
      expect(await countOf(host)).toBe(cancelled.inserted);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await countOf(host)).toBe(cancelled.inserted); // nothing goes on
      expect((await request(`${host.url}/api/runs/${runId}`, { method: 'DELETE' })).status).toBe(409);

      const resumed = await postJson(host.url, `/api/runs/${runId}/resume`, {});
      expect(resumed.status, resumed.text).toBe(202);
      expect(resumed.headers.get('location')).toBe(`/api/runs/${runId}`);
      await expectLikeReference(host, (await waitForRun(host.url, runId)).body);
      expect((await postJson(host.url, `/api/runs/${runId}/resume`, {})).status).toBe(409);
    } finally {
      await host.stop();
    }
  });

  it(
    'answers the same request with the same run: the same blob version while it runs, or the same Idempotency-Key',
    { timeout: 180_000 },
    async () => {
      const host = await freshHost({ LOAD_WORKER_SECONDS: '300' });
      try {
        await seedTables(host);
        const first = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
        const again = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
        expect(first.status).toBe(202);
        expect(again.status, again.text).toBe(200);
        expect(again.body.runId).toBe(first.body.runId);
        expect(again.headers.get('location')).toBe(first.headers.get('location'));
        await waitForRun(host.url, first.body.runId);

        const keyed = (key: string) =>
          request(`${host.url}/api/tables/jobs/load`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': key },
            body: JSON.stringify({ blob: 'hostile.csv' }),
          });
        const once = await keyed('load-key-1');
        const twice = await keyed('load-key-1');
        expect(once.status).toBe(202);
        expect(twice.status).toBe(200);
        expect(twice.body.runId).toBe(once.body.runId);
      } finally {
        await host.stop();
      }
    },
  );

  it('fails with blob_changed when the blob is replaced mid-load, keeping what it committed', { timeout: 120_000 }, async () => {
    const host = await freshHost();
    try {
      await seedTables(host);
      await upload('changing.csv', path.join(data, 'hostile.csv'));
      const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'changing.csv' });
      await untilCommitted(host, queued.body.runId);
      await upload('changing.csv', path.join(data, 'departments.csv'));
      const run = (await waitForRun(host.url, queued.body.runId)).body;
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/replaced or deleted after the load began/);
      expect(await countOf(host)).toBe(run.inserted);
    } finally {
      await host.stop();
    }
  });

  it('fails a run whose message fails every attempt, and leaves the message in the poison queue', { timeout: 120_000 }, async () => {
    const host = await freshHost({ LOAD_QUEUE: 'loads-poisoned' });
    try {
      await seedTables(host);
      // A queued run whose checkpoint no worker can read from: every attempt throws.
      const queued = await postJson(host.url, '/api/tables/hired_employees/load', { blob: 'hostile.csv' });
      await request(`${host.url}/api/runs/${queued.body.runId}`, { method: 'DELETE' });
      const queue = QueueServiceClient.fromConnectionString(azurite.connectionString);
      // The load's own message is spent first, on the cancelled run: a worker that took it stops at its next commit.
      while ((await queue.getQueueClient('loads-poisoned').getProperties()).approximateMessagesCount !== 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const db = new BetterSqlite3(path.join(host.dataDir, 'service.sqlite'));
      db.prepare(
        `UPDATE runs SET status = 'queued', finished_at = NULL, cancel_requested = 0, attempts = 0, checkpoint = ? WHERE id = ?`,
      ).run(JSON.stringify({ offset: -5, line: 1, first: true, fixFormat: false, skipping: false }), queued.body.runId);
      db.close();
      await queue.getQueueClient('loads-poisoned').sendMessage(encodeMessage({ runId: queued.body.runId }));
      const run = (await waitForRun(host.url, queued.body.runId, 90_000)).body;
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/unexpected error/);
      const poisoned = await queue.getQueueClient('loads-poisoned-poison').peekMessages({ numberOfMessages: 5 });
      expect(poisoned.peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString()).runId)).toContain(
        queued.body.runId,
      );
      expect(run.attempts).toBe(5); // host.json maxDequeueCount
    } finally {
      await host.stop();
    }
  });

  it.skipIf(!hasChallengeFiles)("loads the customer's files asynchronously exactly as synchronously", { timeout: 180_000 }, async () => {
    const host = await freshHost();
    const sync = await freshHost();
    try {
      for (const table of ['departments', 'jobs', 'hired_employees']) {
        const file = path.join(CHALLENGE_DIR, `${table}.csv`);
        await upload(`challenge/${table}.csv`, file);
        const run = (await loadBlob(host.url, table, { blob: `challenge/${table}.csv` })).body;
        const expected = (await postFile(sync.url, `/api/tables/${table}/load`, file)).body;
        expect(run).toMatchObject({
          status: 'succeeded',
          received: expected.received,
          inserted: expected.inserted,
          skipped: expected.skipped,
          rejected: expected.rejected,
        });
        expect(await rejectionsOf(host, run.runId)).toEqual(await rejectionsOf(sync, expected.runId));
      }
    } finally {
      await Promise.all([host.stop(), sync.stop()]);
    }
  });
});
