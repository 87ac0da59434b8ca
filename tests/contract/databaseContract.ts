/**
 * The contract every Database implementation must meet, written once: the data rules at the
 * database edge, skipped and conflicting ids, transactions and concurrency, snapshots and atomic
 * restore, and both metrics. It drives each database through the service's own shared logic
 * (insertBatch, loadCsv, backupTable, restoreTable), so "passes the contract" means "every
 * endpoint behaves the same on it".
 *
 * `open` gives a fresh, empty, migrated database for each test; `dispose` removes it.
 */
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { Database, RunRecord } from '../../shared/db';
import { getTable, TABLES, type Row, type TableDef } from '../../shared/tables';
import { insertBatch } from '../../shared/ingest/insertBatch';
import { loadCsv } from '../../shared/ingest/loadCsv';
import { fromJsonElement, type SourceRow } from '../../shared/ingest/SourceRow';
import { describeRun, newRun } from '../../shared/ingest/runs';
import { Lease } from '../../shared/ingest/Lease';
import { LeaseLostError } from '../../shared/ingest/LeaseLostError';
import { BackupStore, type BackupSet } from '../../shared/backup/BackupStore';
import { backupTable, writeSet } from '../../shared/backup/backupTable';
import { restoreSet, restoreTable } from '../../shared/backup/restore';
import { type RecordPage } from '../../shared/avro/recordEncoder';
import { avroSchema } from '../../shared/avro/schema';
import avro from 'avsc';
import { blobServiceClient } from '../../shared/storage/blobService';
import { ServiceError } from '../../shared/errors';
import { startAzurite } from '../helpers/localHost';

export interface ContractTarget {
  open(): Promise<Database>;
  /** A second, independent store over the same database as `db` (its own connections); the test closes it. */
  openAnother(db: Database): Promise<Database>;
  dispose(db: Database): Promise<void>;
}

const departments = getTable('departments');
const jobs = getTable('jobs');
const hired = getTable('hired_employees');

function jsonRows(table: TableDef, values: unknown[]): SourceRow[] {
  return values.map((value, i) => fromJsonElement(table, i, JSON.stringify(value), value));
}

function batch(db: Database, table: TableDef, values: unknown[]) {
  return insertBatch(db, table, jsonRows(table, values), 'json');
}

async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

/** The records a backup reads, from a snapshot of the one table that begins with the first page asked for. */
async function* backupRecords(db: Database, table: TableDef): AsyncGenerator<RecordPage> {
  const snapshot = await db.openSnapshot([table]);
  try {
    yield* snapshot.records(table);
  } finally {
    await snapshot.close();
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

/** Decodes pages of records with avsc, checking each page's count against what it holds. */
function decodeRecords(table: TableDef, pages: readonly RecordPage[]): Row[] {
  const type = avro.Type.forSchema(avroSchema(table));
  const rows: Row[] = [];
  for (const page of pages) {
    const bytes = Buffer.from(page.bytes.buffer, page.bytes.byteOffset, page.bytes.length);
    let decoded = 0;
    for (let offset = 0; offset < bytes.length; decoded++) {
      const record = type.decode(bytes, offset);
      rows.push(table.columns.map((c) => (record.value as Record<string, number | string>)[c.name]));
      offset = record.offset;
    }
    expect(decoded).toBe(page.rows);
  }
  return rows;
}

const NO_BULK_FOREIGN_KEYS =
  "this engine's bulk insert does not check foreign keys (capability bulkInsertChecksForeignKeys); the service's own reference check (rule 5) runs first";

/** The database refuses the write by itself, where its bulk insert checks foreign keys (and says why it is not checked elsewhere). */
async function expectReferenceRefused(db: Database, write: () => Promise<unknown>): Promise<void> {
  if (db.capabilities.bulkInsertChecksForeignKeys) {
    await expect(write()).rejects.toThrow();
  } else {
    console.info(`not checked: ${NO_BULK_FOREIGN_KEYS}`);
  }
}

async function all(db: Database, table: TableDef): Promise<Row[]> {
  return db.listRows(table, 0, 100_000);
}

/** Departments 1–3 and jobs 1–3, which most tests build on. */
async function seed(db: Database): Promise<void> {
  await batch(db, departments, [
    { id: 1, department: 'Supply Chain' },
    { id: 2, department: 'Maintenance' },
    { id: 3, department: 'Staff' },
  ]);
  await batch(db, jobs, [
    { id: 1, job: 'Recruiter' },
    { id: 2, job: 'Manager' },
    { id: 3, job: 'Analyst' },
  ]);
}

function hire(id: number, datetime: string, department_id = 1, job_id = 1, name = `Person ${id}`) {
  return { id, name, datetime, department_id, job_id };
}

export function describeDatabaseContract(name: string, target: ContractTarget): void {
  describe(`database contract: ${name}`, () => {
    let db: Database;
    beforeEach(async () => {
      db = await target.open();
    });
    afterEach(async () => {
      await target.dispose(db);
    });

    describe('data rules at the database edge', () => {
      it('stores the extremes the rules accept, exactly', async () => {
        await seed(db);
        const longest = 'x'.repeat(253) + '😀'; // 255 UTF-16 code units, the NVARCHAR(255) limit
        const result = await batch(db, hired, [
          hire(1, '0001-01-01T00:00:00.000Z', 1, 1, longest),
          hire(2, '9999-12-31T23:59:59.999Z'),
          hire(3, '2021-03-31T23:59:59.999-05:00', 2, 3, 'Zoë Ñúñez 山田'),
          hire(2147483647, '2021-07-01T00:00:00Z'),
        ]);
        expect(result).toMatchObject({ inserted: 4, rejected: 0 });
        expect(await all(db, hired)).toEqual([
          [1, longest, Date.parse('0001-01-01T00:00:00.000Z'), 1, 1],
          [2, 'Person 2', Date.parse('9999-12-31T23:59:59.999Z'), 1, 1],
          [3, 'Zoë Ñúñez 山田', Date.parse('2021-04-01T04:59:59.999Z'), 2, 3],
          [2147483647, 'Person 2147483647', Date.parse('2021-07-01T00:00:00Z'), 1, 1],
        ]);
      });

      it('never stores a row that breaks a rule, and records it with its reasons and text', async () => {
        await seed(db);
        const values = [
          hire(1, '2021-01-01T00:00:00Z'),
          hire(2, '2021-01-01T00:00:00Z', 9), // no department 9
          { ...hire(3, '2021-01-01T00:00:00Z'), name: 'y'.repeat(256) },
          { id: 4, name: 'No date', department_id: 1, job_id: 1 },
        ];
        const result = await batch(db, hired, values);
        expect(result).toMatchObject({ received: 4, inserted: 1, rejected: 3 });
        expect((await all(db, hired)).map((r) => r[0])).toEqual([1]);
        const rejections = await db.listRejections({ table: 'hired_employees', afterId: 0, limit: 10 });
        expect(rejections.map((r) => [r.position, r.format, r.rawText])).toEqual([
          [2, 'json', JSON.stringify(values[1])],
          [3, 'json', JSON.stringify(values[2])],
          [4, 'json', JSON.stringify(values[3])],
        ]);
        expect(rejections[0].reasons).toEqual([{ field: 'department_id', message: 'departments has no id 9' }]);
        expect(rejections.every((r) => r.runId === result.runId && r.reasons.length > 0)).toBe(true);
        // Paging and filters.
        const afterFirst = await db.listRejections({ runId: result.runId, afterId: rejections[0].id, limit: 1 });
        expect(afterFirst.map((r) => r.position)).toEqual([3]);
        expect(await db.listRejections({ table: 'jobs', afterId: 0, limit: 10 })).toEqual([]);
      });

      it('lists the open rejections: each distinct row once, the newest, until its id is inserted; conflicts stay', async () => {
        const file = '1,Analyst\n2,\n3,\n';
        await loadCsv(db, jobs, bytesOf(file), { source: 'csv', dryRun: false });
        await loadCsv(db, jobs, bytesOf(file), { source: 'csv', dryRun: false }); // re-run: rejected again
        await batch(db, jobs, [{ id: 1, job: 'Other' }]); // a conflict with the stored row 1
        const history = await db.listRejections({ table: 'jobs', afterId: 0, limit: 100 });
        expect(history.map((r) => r.rawText)).toEqual(['2,', '3,', '2,', '3,', '{"id":1,"job":"Other"}']);
        const open = () => db.listRejections({ table: 'jobs', afterId: 0, limit: 100, open: true });
        expect((await open()).map((r) => r.id)).toEqual(history.slice(2).map((r) => r.id));
        await batch(db, jobs, [{ id: 2, job: 'Fixed' }]);
        expect((await open()).map((r) => r.rawText)).toEqual(['3,', '{"id":1,"job":"Other"}']);
      });

      it('refuses, by itself, a row whose reference does not exist', async (context) => {
        if (!db.capabilities.bulkInsertChecksForeignKeys) context.skip(NO_BULK_FOREIGN_KEYS);
        await seed(db);
        const write = db.write(async (tx) => {
          await tx.insertRows(hired, [[1, 'Orphan', Date.parse('2021-01-01T00:00:00Z'), 99, 1]]);
        });
        await expect(write).rejects.toThrow();
        expect(await db.countRows(hired)).toBe(0);
      });
    });

    describe('skipped and conflicting ids', () => {
      it('skips a row sent again with the same values, and rejects one with different values', async () => {
        await seed(db);
        await batch(db, departments, [{ id: 4, department: 'Legal' }]);
        const again = await batch(db, departments, [
          { id: 4, department: 'Legal' },
          { id: 5, department: 'Sales' },
          { id: 1, department: 'Not Supply Chain' },
          { id: 5, department: 'Sales' }, // repeated within the batch: skipped too
          { id: 6, department: 'Ops' },
          { id: 6, department: 'Other Ops' }, // conflicts with the row accepted just before
        ]);
        expect(again).toMatchObject({ received: 6, inserted: 2, skipped: 2, rejected: 2 });
        expect(again.rejections.map((r) => [r.position, r.reasons])).toEqual([
          [3, [{ field: 'id', message: 'id 1 already exists with a different department' }]],
          [6, [{ field: 'id', message: 'id 6 already exists with a different department' }]],
        ]);
        expect(await all(db, departments)).toEqual([
          [1, 'Supply Chain'],
          [2, 'Maintenance'],
          [3, 'Staff'],
          [4, 'Legal'],
          [5, 'Sales'],
          [6, 'Ops'],
        ]);
      });

      it('loads a CSV file, then skips all of it when loaded again; a dry run changes nothing', async () => {
        await seed(db);
        const csv = '1,Ann,2021-01-01T00:00:00Z,1,1\r\n2,Bob,2021-02-01T00:00:00Z,2,2\r\n3,Cy,not a date,1,1\r\n';
        const first = await loadCsv(db, hired, bytesOf(csv), { source: 'csv', dryRun: false });
        expect(first).toMatchObject({ status: 'succeeded', received: 3, inserted: 2, rejected: 1 });
        const second = await loadCsv(db, hired, bytesOf(csv), { source: 'csv', dryRun: false });
        expect(second).toMatchObject({ received: 3, inserted: 0, skipped: 2, rejected: 1 });
        const dry = await loadCsv(
          db,
          hired,
          bytesOf('4,Di,2021-03-01T00:00:00Z,1,1\n4,Di,2021-03-01T00:00:00Z,1,1\n5,Ed,2021-03-01T00:00:00Z,1,1\n'),
          {
            source: 'csv',
            dryRun: true,
          },
        );
        expect(dry).toMatchObject({ received: 3, inserted: 2, skipped: 1, rejected: 0 });
        expect(await db.countRows(hired)).toBe(2);
        const run = await db.getRun(dry.runId);
        expect(run).toMatchObject({
          id: dry.runId,
          table: 'hired_employees',
          kind: 'load',
          source: 'csv',
          dryRun: true,
          status: 'succeeded',
          inserted: 2,
          skipped: 1,
        });
        expect(Date.parse(run!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(run!.startedAt));
      });
    });

    describe('transactions and concurrency', () => {
      it('rolls back everything a failed transaction did, and hides it from readers until commit', async () => {
        await seed(db);
        const run = newRun('departments', 'batch', 'json', false);
        let seenDuring: Row[] = [];
        const failing = db.write(async (tx) => {
          await tx.saveRun(run);
          await tx.insertRows(departments, [[10, 'Temp']]);
          expect([...(await tx.findRows(departments, [10])).values()]).toEqual([[10, 'Temp']]);
          seenDuring = await db.listRows(departments, 9, 10);
          throw new Error('stop');
        });
        await expect(failing).rejects.toThrow('stop');
        expect(seenDuring).toEqual([]);
        expect(await db.listRows(departments, 9, 10)).toEqual([]);
        expect(await db.getRun(run.id)).toBeUndefined();
      });

      it('tells a transaction when another write waits for it to end', async () => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let looked!: () => void;
        const firstLooked = new Promise<void>((resolve) => (looked = resolve));
        const seen: boolean[] = [];
        const first = db.write(async (tx) => {
          seen.push(tx.othersWaiting());
          looked();
          await held;
          seen.push(tx.othersWaiting());
          await tx.insertRows(departments, [[1, 'First']]);
        });
        await firstLooked; // the second is queued only once the first has begun and looked
        const second = db.write(async (tx) => {
          seen.push(tx.othersWaiting());
          await tx.insertRows(departments, [[2, 'Second']]);
        });
        release();
        await Promise.all([first, second]);
        expect(seen).toEqual([false, true, false]);
        expect(await all(db, departments)).toEqual([
          [1, 'First'],
          [2, 'Second'],
        ]);
      });

      it('serialises the writes of two independent stores over the same database', async () => {
        const other = await target.openAnother(db);
        try {
          let release!: () => void;
          const held = new Promise<void>((resolve) => (release = resolve));
          let begun!: () => void;
          const firstBegun = new Promise<void>((resolve) => (begun = resolve));
          const events: string[] = [];
          const first = db.write(async (tx) => {
            await tx.insertRows(departments, [[1, 'First']]);
            begun();
            await held;
            events.push('first ends');
          });
          await firstBegun;
          const second = other.write(async (tx) => {
            events.push('second begins');
            events.push((await tx.findRows(departments, [1])).size === 1 ? "second sees the first's row" : 'second sees nothing');
            await tx.insertRows(departments, [[2, 'Second']]);
          });
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(events).toEqual([]); // the second waits while the first holds the write lock
          release();
          await Promise.all([first, second]);
          expect(events).toEqual(['first ends', 'second begins', "second sees the first's row"]);
          expect(await all(other, departments)).toEqual([
            [1, 'First'],
            [2, 'Second'],
          ]);
        } finally {
          await other.close();
        }
      });

      it('empties only the tables a transaction declares it replaces', async () => {
        await seed(db);
        await expect(db.write((tx) => tx.clearTables([departments]))).rejects.toThrow(/replacing/);
        await expect(db.write((tx) => tx.clearTables([departments, jobs]), { replacing: [jobs] })).rejects.toThrow(/departments/);
        expect(await db.countRows(departments)).toBe(3);
        expect(await db.countRows(jobs)).toBe(3);
      });

      it("stores a load's checkpoint and lease with its run, in the same commit as its rows", async () => {
        const run: RunRecord = {
          ...newRun('departments', 'load', 'blob:2024/departments.csv', false),
          status: 'running',
          blobEtag: '"0x8DC1234567890AB"',
          bytesTotal: 123_456_789_012,
          checkpoint: { offset: 4_096, line: 101, first: false, fixFormat: false, skipping: false },
          leaseOwner: 'worker-a',
          leaseExpiresAt: new Date(Date.now() + 30_000).toISOString(),
          attempts: 2,
          cancelRequested: false,
        };
        const failed = db.write(async (tx) => {
          await tx.saveRun(run);
          await tx.insertRows(departments, [[1, 'One']]);
          throw new Error('the worker died');
        });
        await expect(failed).rejects.toThrow('the worker died');
        expect(await db.getRun(run.id)).toBeUndefined();
        await db.write(async (tx) => {
          await tx.saveRun(run);
          await tx.insertRows(departments, [[1, 'One']]);
        });
        expect(await db.getRun(run.id)).toEqual(run);
        // The next commit moves the checkpoint with its rows, or neither moves.
        const next = { ...run, checkpoint: { ...run.checkpoint!, offset: 8_192, line: 201 }, attempts: 3, cancelRequested: true };
        await expect(
          db.write(async (tx) => {
            await tx.insertRows(departments, [[2, 'Two']]);
            await tx.saveRun(next);
            throw new Error('again');
          }),
        ).rejects.toThrow('again');
        expect(await db.getRun(run.id)).toEqual(run);
        expect(await db.countRows(departments)).toBe(1);
        await db.write(async (tx) => {
          await tx.insertRows(departments, [[2, 'Two']]);
          await tx.saveRun(next);
        });
        expect(await db.getRun(run.id)).toEqual(next);
        expect(await db.countRows(departments)).toBe(2);
      });

      it('gives a run to one worker at a time: another worker is refused, and an expired lease shows the run interrupted', async () => {
        const run: RunRecord = { ...newRun('departments', 'load', 'blob:x.csv', false), blobEtag: '"e"', bytesTotal: 10 };
        const a = new Lease(db, run.id, 'worker-a', 2_000);
        const b = new Lease(db, run.id, 'worker-b', 2_000);
        a.hold(run);
        await db.write((tx) => tx.saveRun(run));
        await expect(db.write(() => b.mustStop({ ...run }))).rejects.toBeInstanceOf(LeaseLostError);
        expect(await db.write(() => a.mustStop({ ...run }))).toBe(false);
        expect(describeRun((await db.getRun(run.id))!).status).toBe('running');
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        expect(describeRun((await db.getRun(run.id))!).status).toBe('interrupted');
        // Renewed by its holder, it is live again; a cancel is seen at the holder's next commit.
        await a.renew({ ...run });
        expect(describeRun((await db.getRun(run.id))!).status).toBe('running');
        await db.write(async (tx) => tx.saveRun({ ...(await db.getRun(run.id))!, cancelRequested: true }));
        expect(await db.write(() => a.mustStop({ ...run }))).toBe(true);
      });

      it('lists runs newest first, by table and kind', async () => {
        // Runs are ordered by their start, to the millisecond: these start in different ones.
        const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
        await batch(db, departments, [{ id: 1, department: 'One' }]);
        await pause();
        await batch(db, jobs, [{ id: 1, job: 'One' }]);
        await pause();
        const load = await loadCsv(db, departments, bytesOf('7,Seven\n'), { source: 'csv', dryRun: false });
        const runs = await db.listRuns({ limit: 10 });
        expect(runs.map((r) => [r.table, r.kind])).toEqual([
          ['departments', 'load'],
          ['jobs', 'batch'],
          ['departments', 'batch'],
        ]);
        expect(runs[0]).toMatchObject({ id: load.runId, status: 'succeeded', received: 1, inserted: 1 });
        expect((await db.listRuns({ table: 'departments', limit: 10 })).map((r) => r.kind)).toEqual(['load', 'batch']);
        expect((await db.listRuns({ kind: 'batch', limit: 1 })).map((r) => r.table)).toEqual(['jobs']);
        expect(await db.listRuns({ table: 'hired_employees', limit: 10 })).toEqual([]);
        // Keyset pages, one run at a time, give the same runs in the same order; a status filter keeps its status only.
        const paged = [];
        for (let page = await db.listRuns({ limit: 1 }); page.length; page = await db.listRuns({ limit: 1, after: page[0] }))
          paged.push(page[0].id);
        expect(paged).toEqual(runs.map((r) => r.id));
        expect((await db.listRuns({ status: 'succeeded', limit: 10 })).length).toBe(3);
        expect(await db.listRuns({ status: 'failed', limit: 10 })).toEqual([]);
      });

      it('inserts each id once when concurrent batches overlap', async () => {
        await seed(db);
        const batches = Array.from({ length: 8 }, (_, b) =>
          Array.from({ length: 50 }, (_, i) => {
            const id = b * 25 + i + 1; // each id is in two batches, with the same values
            return hire(id, '2021-05-05T05:05:05Z', (id % 3) + 1, ((id + 1) % 3) + 1);
          }),
        );
        const results = await Promise.all(batches.map((values) => batch(db, hired, values)));
        const distinct = new Set(batches.flat().map((h) => h.id)).size;
        expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(distinct);
        expect(results.reduce((n, r) => n + r.inserted + r.skipped, 0)).toBe(400);
        expect(results.every((r) => r.rejected === 0)).toBe(true);
        expect(await db.countRows(hired)).toBe(distinct);
      });

      it('writes sharing a commit stay independent: one that fails is undone alone, its hires uncounted', async () => {
        await seed(db);
        const write = (id: number, fail: boolean) =>
          db.write(
            async (tx) => {
              await tx.insertRows(hired, [[id, `Person ${id}`, Date.parse('2021-02-01T00:00:00Z'), 1, 1]]);
              if (fail) throw new Error(`write ${id} fails`);
              return id;
            },
            { shareCommit: true },
          );
        const blocker = db.write(() => new Promise((resolve) => setTimeout(resolve, 200))); // the others queue behind it, together
        const writes = [write(1, false), write(2, true), write(3, false), write(4, true), write(5, false)];
        const settled = await Promise.allSettled(writes);
        await blocker;
        expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
          1,
          'write 2 fails',
          3,
          'write 4 fails',
          5,
        ]);
        expect((await all(db, hired)).map((r) => r[0])).toEqual([1, 3, 5]);
        expect(await db.hiresByQuarter(2021)).toEqual([{ department: 'Supply Chain', job: 'Recruiter', Q1: 3, Q2: 0, Q3: 0, Q4: 0 }]);
        const snapshotInShared = db.write((tx) => tx.readSnapshot([hired], async () => 0), { shareCommit: true });
        if (db.capabilities.sharedCommits) await expect(snapshotInShared).rejects.toThrow('reads no snapshot');
        else await expect(snapshotInShared).resolves.toBe(0);
      });
    });

    describe('snapshots and restore', () => {
      it('reads a snapshot as of one instant, while writes go on', async () => {
        const rows: Row[] = Array.from({ length: 12_000 }, (_, i) => [i + 1, `Dept ${i + 1}`]);
        await db.write((tx) => tx.insertRows(departments, rows));
        const snapshot = await db.openSnapshot([departments]);
        const seen: Row[] = [];
        try {
          const pages = snapshot.rows(departments)[Symbol.asyncIterator]();
          const first = await pages.next();
          expect(first.done).toBe(false);
          // Written after the snapshot began: not in it.
          await db.write(async (tx) => {
            await tx.insertRows(departments, [[20_000, 'Late']]);
          });
          seen.push(...first.value!);
          for (let page = await pages.next(); !page.done; page = await pages.next()) seen.push(...page.value);
        } finally {
          await snapshot.close();
        }
        expect(seen).toEqual(rows);
        expect(await db.countRows(departments)).toBe(12_001);
      });

      it('encodes a snapshot as Avro records at one instant, across many segments, while writes go on', async () => {
        // Even ids, so that rows written later can land between them in every part of the table.
        const rows: Row[] = Array.from({ length: 65_001 }, (_, i) => [2 * (i + 1), `Dept ${i}`]);
        await db.write((tx) => tx.insertRows(departments, rows));
        const pages = backupRecords(db, departments)[Symbol.asyncIterator]();
        const first = await pages.next();
        expect(first.done).toBe(false);
        await db.write((tx) =>
          tx.insertRows(
            departments,
            Array.from({ length: 130 }, (_, i): Row => [1000 * i + 1, `Late ${i}`]),
          ),
        );
        const collected = [first.value!];
        for (let page = await pages.next(); !page.done; page = await pages.next()) collected.push(page.value);
        expect(decodeRecords(departments, collected)).toEqual(rows);
        expect(await db.countRows(departments)).toBe(rows.length + 130);
      });

      it('encodes an empty table, and one that ends on a segment boundary, as exactly their rows', async () => {
        expect(decodeRecords(departments, await collect(backupRecords(db, departments)))).toEqual([]);
        const rows: Row[] = Array.from({ length: 40_000 }, (_, i) => [i + 1, `Dept ${i}`]);
        await db.write((tx) => tx.insertRows(departments, rows));
        expect(decodeRecords(departments, await collect(backupRecords(db, departments)))).toEqual(rows);
      });

      it('replaces a table atomically: a failure midway leaves the old rows, and references are checked', async () => {
        await seed(db);
        await batch(db, hired, [
          hire(1, '2021-01-01T00:00:00Z', 1),
          hire(2, '2021-01-01T00:00:00Z', 2),
          hire(3, '2021-01-01T00:00:00Z', 2),
        ]);
        const before = await all(db, departments);

        const failed = db.write(
          async (tx) => {
            await tx.clearTables([departments]);
            await tx.insertRows(departments, [[1, 'Only one']]);
            const orphans = await tx.orphans(hired, 'department_id', departments, 10);
            expect(orphans).toEqual({ ids: [{ id: 2, rows: 2 }], rows: 2 });
            throw new Error('refused');
          },
          { replacing: [departments] },
        );
        await expect(failed).rejects.toThrow('refused');
        expect(await all(db, departments)).toEqual(before);

        await db.write(
          async (tx) => {
            await tx.clearTables([departments]);
            await tx.insertRows(departments, [
              [1, 'Supply'],
              [2, 'Upkeep'],
            ]);
            expect(await tx.orphans(hired, 'department_id', departments, 10)).toEqual({ ids: [], rows: 0 });
          },
          { replacing: [departments] },
        );
        expect(await all(db, departments)).toEqual([
          [1, 'Supply'],
          [2, 'Upkeep'],
        ]);
        // The references are enforced again afterwards.
        await expectReferenceRefused(db, () => db.write((tx) => tx.insertRows(hired, [[9, 'Late', 0, 3, 1]])));
        expect(await db.countRows(hired)).toBe(3);
      });

      describe('through Blob Storage', () => {
        let azurite: Awaited<ReturnType<typeof startAzurite>>;
        let store: BackupStore;
        beforeAll(async () => {
          azurite = await startAzurite();
        });
        afterAll(async () => {
          await azurite?.stop();
        });
        beforeEach(() => {
          store = new BackupStore(
            blobServiceClient({ kind: 'connectionString', connectionString: azurite.connectionString }),
            `contract-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
          );
        });

        it('backs up and restores a table exactly, and refuses a restore that would orphan rows', async () => {
          await seed(db);
          const values = [hire(1, '2021-01-01T00:00:00.001Z', 1, 2), hire(2, '2021-06-30T23:59:59.999+02:00', 3, 3, 'Ünïcödé 😀')];
          await batch(db, hired, values);
          const backup = await backupTable(db, store, hired);
          expect(backup).toMatchObject({ table: 'hired_employees', rows: 2 });
          const original = await all(db, hired);

          await batch(db, hired, [hire(3, '2022-01-01T00:00:00Z')]);
          const restored = await restoreTable(db, store, hired, { backup: backup.backup }, { who: 'contract' });
          expect(restored).toMatchObject({ table: 'hired_employees', backup: backup.backup, rows: 2 });
          expect(restored.safetyBackup).toMatch(/^hired_employees\/hired_employees-\d{8}T\d{9}Z\.avro$/);
          expect(await all(db, hired)).toEqual(original);

          // A backup of departments without id 3, which a hire uses again by the time it is restored.
          const allDepartments = await all(db, departments);
          await db.write((tx) => tx.clearTables([hired]), { replacing: [hired] });
          await db.write(
            async (tx) => {
              await tx.clearTables([departments]);
              await tx.insertRows(departments, allDepartments.slice(0, 2));
            },
            { replacing: [departments] },
          );
          const departmentsBackup = await backupTable(db, store, departments);
          await db.write(
            async (tx) => {
              await tx.clearTables([departments]);
              await tx.insertRows(departments, allDepartments);
            },
            { replacing: [departments] },
          );
          await db.write((tx) => tx.insertRows(hired, original));
          const refusal = await restoreTable(
            db,
            store,
            departments,
            { backup: departmentsBackup.backup },
            { safety: false, who: 'contract' },
          ).catch((e: unknown) => e);
          expect(refusal).toBeInstanceOf(ServiceError);
          expect(refusal).toMatchObject({
            kind: 'conflict',
            details: { missing: [{ table: 'hired_employees', column: 'department_id', ids: [{ id: 3, rows: 1 }], rows: 1 }] },
          });
          expect(await all(db, hired)).toEqual(original);
          expect(await all(db, departments)).toEqual(allDepartments);
        });

        it('backs up every table as one set at one instant while writes go on, and restores the set in one transaction', async () => {
          await seed(db);
          await batch(db, hired, [
            hire(1, '2021-01-01T00:00:00Z', 1),
            hire(2, '2021-02-01T00:00:00Z', 2),
            hire(3, '2021-03-01T00:00:00Z', 3),
          ]);
          const before = { departments: await all(db, departments), jobs: await all(db, jobs), hired: await all(db, hired) };
          const snapshot = await db.openSnapshot(TABLES);
          // Committed after the snapshot began: in none of the set's files.
          await batch(db, departments, [{ id: 4, department: 'Late' }]);
          await batch(db, hired, [hire(4, '2021-04-01T00:00:00Z', 4)]);
          let set: BackupSet;
          try {
            set = await writeSet(snapshot, store, TABLES, 'backup');
          } finally {
            await snapshot.close();
          }
          expect(set.tables.map((t) => [t.table, t.rows])).toEqual([
            ['departments', 3],
            ['jobs', 3],
            ['hired_employees', 3],
          ]);
          expect((await store.listSets()).map((s) => s.set)).toEqual([set.set]);

          // A set restore that fails on its last file leaves every table as it was.
          const hiredFile = store['container'].getBlobClient(set.tables[2].backup);
          const metadata = (await hiredFile.getProperties()).metadata!;
          await hiredFile.setMetadata({ ...metadata, rows: '2' });
          const failed = await restoreSet(db, store, { set: set.set }, { who: 'contract' }).catch((e: unknown) => e);
          expect(failed).toMatchObject({ kind: 'unusable', code: 'backup_corrupted' });
          expect(await db.countRows(departments)).toBe(4);
          expect(await db.countRows(hired)).toBe(4);
          await hiredFile.setMetadata(metadata);

          const restored = await restoreSet(db, store, { set: set.set }, { who: 'contract' });
          expect(restored).toMatchObject({
            set: set.set,
            tables: [
              { table: 'departments', rows: 3, rowsBefore: 4 },
              { table: 'jobs', rows: 3 },
              { table: 'hired_employees', rows: 3, rowsBefore: 4 },
            ],
          });
          expect({ departments: await all(db, departments), jobs: await all(db, jobs), hired: await all(db, hired) }).toEqual(before);
          // The safety set holds what the restore replaced, late rows included.
          const safety = await store.readSet(restored.safetySet as string);
          expect(safety).toMatchObject({
            kind: 'safety',
            tables: [
              { table: 'departments', rows: 4 },
              { table: 'jobs', rows: 3 },
              { table: 'hired_employees', rows: 4 },
            ],
          });
          // {} restores the newest set that is not a safety set; references are enforced again afterwards.
          expect(await restoreSet(db, store, {}, { who: 'contract', safety: false })).toMatchObject({ set: set.set });
          await expectReferenceRefused(db, () => db.write((tx) => tx.insertRows(hired, [[9, 'Late', 0, 4, 1]])));
        });

        it('records each restore as a run; a retried Idempotency-Key returns the first result and restores nothing again', async () => {
          await seed(db);
          const backup = await backupTable(db, store, departments);
          await batch(db, departments, [{ id: 4, department: 'Added' }]);
          const options = { who: 'contract', idempotencyKey: 'retry-1' };
          const first = await restoreTable(db, store, departments, {}, options);
          expect(first).toMatchObject({ table: 'departments', backup: backup.backup, rows: 3, rowsBefore: 4 });
          await batch(db, departments, [{ id: 5, department: 'After' }]);
          const again = await restoreTable(db, store, departments, {}, options);
          expect(again).toEqual({ ...first, replayed: true });
          expect((await all(db, departments)).map((r) => r[0])).toEqual([1, 2, 3, 5]);
          const [run] = await db.listRuns({ kind: 'restore', limit: 10 });
          expect(run).toMatchObject({ id: first.runId, table: 'departments', status: 'succeeded', idempotencyKey: 'retry-1' });
          expect(run.detail).toMatchObject({
            who: 'contract',
            backup: backup.backup,
            rowsBefore: 4,
            rowsAfter: 3,
            safetyBackup: first.safetyBackup,
          });
          await backupTable(db, store, jobs);
          const reused = await restoreTable(db, store, jobs, {}, options).catch((e: unknown) => e);
          expect(reused).toMatchObject({ kind: 'unusable', code: 'idempotency_key_reused' });
        });

        it('refuses to restore a table while a load of it, or of a table that references it, is running', async () => {
          await seed(db);
          await backupTable(db, store, departments);
          const load = newRun('hired_employees', 'load', 'csv', false);
          await db.write((tx) => tx.saveRun(load));
          await batch(db, departments, [{ id: 4, department: 'Added' }]);
          const refusal = await restoreTable(db, store, departments, {}, { who: 'contract' }).catch((e: unknown) => e);
          expect(refusal).toMatchObject({ kind: 'conflict', code: 'load_running', details: { runId: load.id, table: 'hired_employees' } });
          expect(await db.countRows(departments)).toBe(4);
          const [audit] = await db.listRuns({ kind: 'restore', limit: 1 });
          expect(audit).toMatchObject({ status: 'failed', table: 'departments' });
        });
        it('refuses a restore under a load of this process even when its heartbeat has aged (it waited for the lock)', async () => {
          await seed(db);
          await backupTable(db, store, departments);
          let resume!: () => void;
          const paused = new Promise<void>((resolve) => (resume = resolve));
          async function* slowFile() {
            yield Buffer.from('1,Person 1,2021-01-01T00:00:00Z,1,1\n');
            await paused; // the client's next bytes are late
            yield Buffer.from('2,Person 2,2021-01-01T00:00:00Z,1,1\n');
          }
          const loading = loadCsv(db, hired, slowFile(), { source: 'csv', dryRun: false });
          let [run] = await db.listRuns({ kind: 'load', limit: 1 });
          for (let i = 0; !run && i < 100; i++) {
            await new Promise((r) => setTimeout(r, 10));
            [run] = await db.listRuns({ kind: 'load', limit: 1 });
          }
          // As if its heartbeats had waited behind a long transaction: older than the staleness limit.
          await db.write((tx) => tx.saveRun({ ...run, heartbeatAt: new Date(Date.now() - 3_600_000).toISOString() }));
          const refusal = await restoreTable(db, store, departments, {}, { who: 'contract' }).catch((e: unknown) => e);
          expect(refusal).toMatchObject({ kind: 'conflict', code: 'load_running', details: { runId: run.id, table: 'hired_employees' } });
          resume();
          expect(await loading).toMatchObject({ inserted: 2, status: 'succeeded' });
          expect(await restoreTable(db, store, departments, {}, { who: 'contract', safety: false })).toMatchObject({ rows: 3 });
        });
      });

      it("a transaction's snapshot holds the rows it replaces, and nothing of a write queued behind it", async () => {
        await seed(db);
        let queued: Promise<unknown> | undefined;
        const seen = await db.write(
          async (tx) => {
            queued = batch(db, departments, [{ id: 9, department: 'Queued' }]);
            await new Promise((resolve) => setTimeout(resolve, 50));
            const rows = await tx.readSnapshot([departments], async (snapshot) => {
              const read = decodeRecords(departments, await collect(snapshot.records(departments)));
              // A write while the snapshot is read could wait on the read's locks for ever: it is refused at once.
              await expect(tx.clearTables([departments])).rejects.toThrow(/snapshot/);
              return read;
            });
            await tx.clearTables([departments]);
            await tx.insertRows(departments, rows.slice(0, 2));
            // The snapshot holds what the transaction replaces: after its first write, there is none to read.
            await expect(tx.readSnapshot([departments], async () => undefined)).rejects.toThrow(/before its first write/);
            return rows;
          },
          { replacing: [departments] },
        );
        expect(seen.map((r) => r[0])).toEqual([1, 2, 3]);
        await queued;
        expect((await all(db, departments)).map((r) => r[0])).toEqual([1, 2, 9]);
      });
    });

    describe('metrics', () => {
      // Characters JSON must escape, and one beyond the BMP: the engine's JSON and the rows must still agree.
      const ZETA = 'Zeta "q" \\ \u0001\t\u2028 \u{1F600}';
      beforeEach(async () => {
        await batch(db, departments, [
          { id: 1, department: 'support' },
          { id: 2, department: 'Engineering' },
          { id: 3, department: 'Support' },
          { id: 4, department: 'Accounting' }, // no hires: counts 0 in the mean
        ]);
        await batch(db, jobs, [
          { id: 1, job: ZETA },
          { id: 2, job: 'alpha' },
          { id: 3, job: 'Beta' },
        ]);
        await batch(db, hired, [
          hire(1, '2021-01-01T00:00:00.000Z', 2, 1), // first instant of Q1
          hire(2, '2021-03-31T23:59:59.999Z', 2, 1), // last instant of Q1
          hire(3, '2021-04-01T00:00:00.000Z', 2, 2), // Q2
          hire(4, '2021-09-30T23:59:59.999Z', 2, 3), // Q3
          hire(5, '2021-10-01T01:00:00.000+02:00', 2, 3), // 2021-09-30T23:00Z: Q3
          hire(6, '2021-12-31T23:59:59.999Z', 3, 2), // Q4
          hire(7, '2022-01-01T00:30:00.000+01:00', 1, 1), // 2021-12-31T23:30Z: Q4 of 2021
          hire(8, '2020-12-31T23:59:59.999Z', 1, 1), // 2020
          hire(9, '2022-01-01T00:00:00.000Z', 1, 1), // 2022
          hire(10, '2021-05-05T00:00:00.000Z', 3, 2),
        ]);
      });

      it('counts hires by quarter, ordered by department and job case-insensitively', async () => {
        expect(await db.hiresByQuarter(2021)).toEqual([
          { department: 'Engineering', job: 'alpha', Q1: 0, Q2: 1, Q3: 0, Q4: 0 },
          { department: 'Engineering', job: 'Beta', Q1: 0, Q2: 0, Q3: 2, Q4: 0 },
          { department: 'Engineering', job: ZETA, Q1: 2, Q2: 0, Q3: 0, Q4: 0 },
          // "Support" and "support" compare equal without case: the exact text breaks the tie.
          { department: 'Support', job: 'alpha', Q1: 0, Q2: 1, Q3: 0, Q4: 1 },
          { department: 'support', job: ZETA, Q1: 0, Q2: 0, Q3: 0, Q4: 1 },
        ]);
        expect(await db.hiresByQuarter(2019)).toEqual([]);
      });

      it('serialises hires by quarter as JSON with the same rows, keys and order', async () => {
        const text = await db.hiresByQuarterJson(2021);
        expect(JSON.parse(text)).toEqual(await db.hiresByQuarter(2021));
        expect(Object.keys(JSON.parse(text)[0])).toEqual(['department', 'job', 'Q1', 'Q2', 'Q3', 'Q4']);
        expect(JSON.parse(await db.hiresByQuarterJson(2019))).toEqual([]);
      });

      it('lists the departments above the mean, exactly', async () => {
        // 2021: 8 hires over 4 departments, mean 2: Engineering 5 and Support 2 (not above), support 1.
        expect(await db.departmentsAboveMean(2021)).toEqual({
          hires: 8,
          departments: 4,
          mean: 2,
          rows: [{ id: 2, department: 'Engineering', hired: 5 }],
        });
        // 2022: 1 hire over 4 departments, mean 0.25: support (1) is above it.
        expect(await db.departmentsAboveMean(2022)).toEqual({
          hires: 1,
          departments: 4,
          mean: 0.25,
          rows: [{ id: 1, department: 'support', hired: 1 }],
        });
        // No hires: the totals still come, with no row.
        expect(await db.departmentsAboveMean(2019)).toEqual({ hires: 0, departments: 4, mean: 0, rows: [] });
      });

      it('lists the years that have hires, by their UTC instants', async () => {
        // 2022-01-01T00:30+01:00 is a hire of 2021; the 2020 and 2022 hires are one each.
        expect(await db.hireYears()).toEqual([
          { year: 2020, hired: 1 },
          { year: 2021, hired: 8 },
          { year: 2022, hired: 1 },
        ]);
      });

      it('counts only committed hires, and a replaced table afresh, whatever its indexes', async () => {
        const before = await db.hiresByQuarter(2021);
        const rolledBack = db.write(async (tx) => {
          await tx.insertRows(hired, [[11, 'Rolled back', Date.parse('2021-02-01T00:00:00Z'), 2, 1]]);
          throw new Error('abort');
        });
        await expect(rolledBack).rejects.toThrow('abort');
        expect(await db.hiresByQuarter(2021)).toEqual(before);
        await db.write(
          async (tx) => {
            await tx.clearTables([hired]);
            await tx.dropIndexes(hired);
            await tx.insertRows(hired, [[20, 'Only one', Date.parse('2021-08-01T00:00:00Z'), 3, 3]]);
            await tx.buildIndexes(hired);
          },
          { replacing: [hired] },
        );
        expect(await db.hiresByQuarter(2021)).toEqual([{ department: 'Support', job: 'Beta', Q1: 0, Q2: 0, Q3: 1, Q4: 0 }]);
        expect((await db.departmentsAboveMean(2021)).rows).toEqual([{ id: 3, department: 'Support', hired: 1 }]);
        expect(await db.departmentsAboveMean(2022)).toEqual({ hires: 0, departments: 4, mean: 0, rows: [] });
        expect(await db.hireYears()).toEqual([{ year: 2021, hired: 1 }]);
        // Indexes dropped by a load that then died: rows and counts stay right, and building them again is safe.
        await db.write((tx) => tx.dropIndexes(hired));
        await batch(db, hired, [hire(21, '2021-08-02T00:00:00Z', 3, 3)]);
        expect(await db.hiresByQuarter(2021)).toEqual([{ department: 'Support', job: 'Beta', Q1: 0, Q2: 0, Q3: 2, Q4: 0 }]);
        await db.write((tx) => tx.buildIndexes(hired));
        await db.write((tx) => tx.buildIndexes(hired));
        await db.migrate();
        expect((await all(db, hired)).map((r) => r[0])).toEqual([20, 21]);
      });

      it('answers with what another store committed since the last answer', async () => {
        const first = await db.hiresByQuarter(2021);
        expect(await db.hiresByQuarter(2021)).toEqual(first);
        expect(JSON.parse(await db.hiresByQuarterJson(2021))).toEqual(first);
        const other = await target.openAnother(db);
        try {
          await batch(other, hired, [hire(30, '2021-02-01T00:00:00Z', 2, 1)]);
        } finally {
          await other.close();
        }
        expect((await db.hiresByQuarter(2021)).find((r) => r.department === 'Engineering' && r.job === ZETA)).toMatchObject({ Q1: 3 });
        expect(JSON.parse(await db.hiresByQuarterJson(2021))).toEqual(await db.hiresByQuarter(2021));
        expect((await db.departmentsAboveMean(2021)).rows).toEqual([{ id: 2, department: 'Engineering', hired: 6 }]);
        expect(await db.hireYears()).toContainEqual({ year: 2021, hired: 9 });
      });
    });
  });
}
