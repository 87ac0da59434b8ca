/**
 * SQLite's indexes and counts as the file holds them: a load into an empty table builds its
 * indexes once, after the rows; a file of an earlier version loses the retired hire-date index
 * and gains the metrics' counts, built from its hires; indexes a dead load dropped come back at
 * the next start.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { getTable } from '../shared/tables';
import { quarterIndex } from '../shared/metrics';
import { loadCsv } from '../shared/ingest/loadCsv';
import { WriteConnection } from '../shared/db/sqlite/WriteConnection';
import { QuarterlyHiresTally, tallyHash } from '../shared/db/sqlite/quarterlyHires';
import { removeDir, tempDir } from './helpers/localHost';
import { insertJsonBatch } from './helpers/batches';

const hired = getTable('hired_employees');

const HIRE_INDEXES = ['ix_hired_employees_department_id', 'ix_hired_employees_job_id'];

function indexes(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const rows = db
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'hired_employees' AND sql IS NOT NULL`)
      .all();
    return (rows as { name: string }[]).map((r) => r.name).sort();
  } finally {
    db.close();
  }
}

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
}

/** Hires 1..n across 2021's quarters, departments 1-3 and jobs 1-2. */
function hiresCsv(n: number): string {
  const lines = [];
  for (let id = 1; id <= n; id++) {
    const month = String(1 + (id % 12)).padStart(2, '0');
    lines.push(`${id},Person ${id},2021-${month}-15T10:00:00Z,${1 + (id % 3)},${1 + (id % 2)}`);
  }
  return lines.join('\n') + '\n';
}

async function seeded(file: string): Promise<Store> {
  const db = new Store(new SqliteEngine(file));
  await db.migrate();
  for (const [table, values] of [
    ['departments', [1, 2, 3].map((id) => ({ id, department: `D${id}` }))],
    ['jobs', [1, 2].map((id) => ({ id, job: `J${id}` }))],
  ] as const)
    await insertJsonBatch(db, table, values);
  return db;
}

describe('SQLite indexes and counts', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('sqlite-indexes-');
    file = path.join(dir, 'service.sqlite');
  });
  afterEach(() => removeDir(dir));

  it('a load into an empty table ends with its indexes and the counts of every hire', async () => {
    const db = await seeded(file);
    try {
      const result = await loadCsv(db, hired, bytes(hiresCsv(12_000)), { source: 'csv', dryRun: false });
      expect(result).toMatchObject({ inserted: 12_000, rejected: 0 });
      expect(indexes(file)).toEqual(HIRE_INDEXES);
      const rows = await db.hiresByQuarter(2021);
      expect(rows.reduce((n, r) => n + r.Q1 + r.Q2 + r.Q3 + r.Q4, 0)).toBe(12_000);
      // id % 6 === 0 is department 1 and job 1, in months 1 and 7 (id % 12 is 0 or 6): 1000 hires in each of Q1 and Q3.
      expect(rows.find((r) => r.department === 'D1' && r.job === 'J1')).toEqual({
        department: 'D1',
        job: 'J1',
        Q1: 1000,
        Q2: 0,
        Q3: 1000,
        Q4: 0,
      });
    } finally {
      await db.close();
    }
  });

  it('a file of an earlier version drops its hire-date and department-and-job indexes and its counts by quarter, and counts its hires', async () => {
    const db = await seeded(file);
    await loadCsv(db, hired, bytes(hiresCsv(30)), { source: 'csv', dryRun: false });
    const expected = await db.hiresByQuarter(2021);
    await db.close();
    const old = new BetterSqlite3(file);
    // The earlier version's counts, one row per quarter, and one of them stale: they are not read again.
    old.exec(
      `DROP TABLE hires_by_quarter; DROP INDEX ix_hired_employees_department_id; DROP INDEX ix_hired_employees_job_id;
       CREATE INDEX ix_hired_employees_datetime ON hired_employees (datetime, department_id, job_id);
       CREATE INDEX ix_hired_employees_department_job ON hired_employees (department_id, job_id);
       CREATE TABLE quarterly_hires (year INTEGER NOT NULL, department_id INTEGER NOT NULL, job_id INTEGER NOT NULL,
         quarter INTEGER NOT NULL, hired INTEGER NOT NULL, PRIMARY KEY (year, department_id, job_id, quarter)) STRICT, WITHOUT ROWID;
       INSERT INTO quarterly_hires VALUES (2021, 1, 1, 1, 99)`,
    );
    old.close();
    const upgraded = new Store(new SqliteEngine(file));
    await upgraded.migrate();
    try {
      expect(indexes(file)).toEqual(HIRE_INDEXES);
      const tables = new BetterSqlite3(file, { readonly: true });
      expect(tables.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE '%quarter%'`).pluck().all()).toEqual(['hires_by_quarter']);
      tables.close();
      expect(await upgraded.hiresByQuarter(2021)).toEqual(expected);
      expect(expected.reduce((n, r) => n + r.Q1 + r.Q2 + r.Q3 + r.Q4, 0)).toBe(30);
    } finally {
      await upgraded.close();
    }
  });

  it('counts again at start the hires that a writer without the counts added', async () => {
    const db = await seeded(file);
    await loadCsv(db, hired, bytes(hiresCsv(30)), { source: 'csv', dryRun: false });
    await db.close();
    const other = new BetterSqlite3(file);
    other.exec(`INSERT INTO hired_employees VALUES (31, 'Added elsewhere', ${Date.parse('2021-11-11T00:00:00Z')}, 1, 1)`);
    other.close();
    const restarted = new Store(new SqliteEngine(file));
    await restarted.migrate();
    try {
      const rows = await restarted.hiresByQuarter(2021);
      expect(rows.reduce((n, r) => n + r.Q1 + r.Q2 + r.Q3 + r.Q4, 0)).toBe(31);
    } finally {
      await restarted.close();
    }
  });

  it('writes that share a commit count their own hires, and none of a write that failed', async () => {
    const db = await seeded(file);
    try {
      // A write holds the queue, so that the next three are queued together and share one commit.
      let letGo!: () => void;
      const held = new Promise<void>((resolve) => (letGo = resolve));
      let started!: () => void;
      const holding = db.write(() => (started(), held));
      await new Promise<void>((resolve) => (started = resolve));
      const hires = (first: number, n: number) =>
        Array.from({ length: n }, (_, i) => [first + i, `Person ${first + i}`, Date.parse('2021-05-01T00:00:00Z'), 1, 1]);
      const shared = [
        db.write((tx) => tx.insertRows(hired, hires(1, 2)), { shareCommit: true }),
        db.write(
          async (tx) => {
            await tx.insertRows(hired, hires(3, 4));
            throw new Error('this batch fails');
          },
          { shareCommit: true },
        ),
        db.write((tx) => tx.insertRows(hired, hires(7, 3)), { shareCommit: true }),
      ];
      letGo();
      await holding;
      const settled = await Promise.allSettled(shared);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await db.hiresByQuarter(2021)).toEqual([{ department: 'D1', job: 'J1', Q1: 0, Q2: 5, Q3: 0, Q4: 0 }]);
    } finally {
      await db.close();
    }
  });

  it('a transaction of more counts than a tally holds adds them as it goes, each once', async () => {
    const db = new Store(new SqliteEngine(file));
    await db.migrate();
    try {
      // 317 × 317 department-and-job pairs: more than the 100,000 counts a tally holds in memory.
      const ids = Array.from({ length: 317 }, (_, i) => i + 1);
      const hires = ids.flatMap((department) =>
        ids.map((job) => [department * 1000 + job, 'P', Date.parse('2021-01-01T00:00:00Z') + job, department, job]),
      );
      await db.write(async (tx) => {
        await tx.insertRows(
          getTable('departments'),
          ids.map((id) => [id, `D${id}`]),
        );
        await tx.insertRows(
          getTable('jobs'),
          ids.map((id) => [id, `J${id}`]),
        );
        for (let at = 0; at < hires.length; at += 2000) await tx.insertRows(hired, hires.slice(at, at + 2000));
      });
      const rows = await db.hiresByQuarter(2021);
      expect(rows).toHaveLength(hires.length);
      expect(rows.every((r) => r.Q1 === 1 && r.Q2 + r.Q3 + r.Q4 === 0)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('counts the hires of each savepoint as the writer runs the calls, even when the caller sends them without waiting', async () => {
    const db = await seeded(file);
    await db.close();
    const engine = new SqliteEngine(file);
    try {
      await engine.migrate();
      const tx = await engine.begin({});
      const hire = (id: number) => [id, `Person ${id}`, Date.parse('2021-05-01T00:00:00Z'), 1, 1];
      const sent = [
        tx.insertRows(hired, [hire(1)]),
        tx.savepoint!('a'),
        tx.insertRows(hired, [hire(2), hire(3)]),
        tx.rollbackTo!('a'),
        tx.savepoint!('b'),
        tx.insertRows(hired, [hire(4)]),
        tx.release!('b'),
      ];
      await Promise.all(sent);
      await tx.commit();
    } finally {
      await engine.close();
    }
    const check = new BetterSqlite3(file, { readonly: true });
    const [hires, counted] = check
      .prepare('SELECT (SELECT COUNT(*) FROM hired_employees), (SELECT SUM(q1 + q2 + q3 + q4) FROM hires_by_quarter)')
      .raw()
      .get() as number[];
    check.close();
    expect([hires, counted]).toEqual([2, 2]);
  });

  it('indexes a load dropped before it died are built again at the next start', async () => {
    const db = await seeded(file);
    await db.write((tx) => tx.dropIndexes(hired));
    await db.close();
    expect(indexes(file)).toEqual([]);
    const restarted = new Store(new SqliteEngine(file));
    await restarted.migrate();
    await restarted.close();
    expect(indexes(file)).toEqual(HIRE_INDEXES);
  });
});

describe('SQLite write connection', () => {
  const pragma = (connection: WriteConnection, name: string) => connection.query(`PRAGMA ${name}`, {})[0][0];

  it('builds indexes with a page cache and threads of their own, and gives the writes their settings back after', () => {
    const dir = tempDir('sqlite-cache-');
    const connection = new WriteConnection(path.join(dir, 'service.sqlite'));
    const settings = () => ['cache_size', 'threads', 'temp_store'].map((name) => pragma(connection, name));
    try {
      connection.migrate();
      const before = settings();
      connection.begin();
      connection.dropIndexes('hired_employees');
      connection.buildIndexes('hired_employees');
      expect(settings()).toEqual(before);
      connection.commit();
      expect(indexes(path.join(dir, 'service.sqlite'))).toEqual(HIRE_INDEXES);
    } finally {
      connection.close();
      removeDir(dir);
    }
  });

  it('keeps the journals of writes in memory, and those of a restore in files', () => {
    const dir = tempDir('sqlite-journals-');
    const connection = new WriteConnection(path.join(dir, 'service.sqlite'));
    const tempStore = () => pragma(connection, 'temp_store');
    const [FILE, MEMORY] = [1, 2];
    try {
      connection.migrate();
      connection.begin();
      expect(tempStore()).toBe(MEMORY);
      connection.commit();
      connection.beginReplacing();
      expect(tempStore()).toBe(FILE);
      connection.clearTables(['hired_employees']);
      connection.buildIndexes('hired_employees');
      expect(tempStore()).toBe(FILE);
      connection.commit();
      expect(tempStore()).toBe(MEMORY);
      connection.beginReplacing();
      connection.rollback();
      expect(tempStore()).toBe(MEMORY);
    } finally {
      connection.close();
      removeDir(dir);
    }
  });

  it('inserts and counts any number of rows with a few statements prepared, whatever the counts', () => {
    const dir = tempDir('sqlite-statements-');
    const connection = new WriteConnection(path.join(dir, 'service.sqlite'));
    try {
      connection.migrate();
      connection.begin();
      connection.insertRows('departments', [1, 'D1', 2, 'D2']);
      connection.insertRows('jobs', [1, 'J1']);
      let id = 0;
      const hires = (n: number) =>
        Array.from({ length: n }, () => [++id, `Person ${id}`, Date.UTC(2021, id % 12, 15), 1 + (id % 2), 1]).flat();
      const tally = new QuarterlyHiresTally();
      for (let n = 1; n <= 1100; n++) {
        const values = hires(n);
        connection.insertRows('hired_employees', values);
        tally.tally(values, 5);
        // Counts of every size too: up to 24 quarter, department and job keys, most of them new each time.
        if (n % 100 === 0) connection.addHireCounts(tally.take());
      }
      connection.commit(tally.take());
      const [[rows, counted]] = connection.query(
        'SELECT (SELECT COUNT(*) FROM hired_employees), (SELECT SUM(q1 + q2 + q3 + q4) FROM hires_by_quarter)',
        {},
      );
      expect([rows, counted]).toEqual([id, id]);
      expect(id).toBe((1100 * 1101) / 2);
      // Each kind of statement in at most 11 sizes (1,000 rows, then 512 down to 1), not one per count.
      const prepared = (connection as unknown as { statements: Map<string, unknown> }).statements;
      expect(prepared.size).toBeLessThanOrEqual(3 * 11 + 5);
    } finally {
      connection.close();
      removeDir(dir);
    }
  });
});

describe('the quarterly tally', () => {
  it('spreads keys over its slots even when the ids differ only in their high bits', () => {
    const homes = new Set<number>();
    for (let department = 1; department <= 64; department++)
      for (let job = 1; job <= 64; job++) homes.add(tallyHash(2021, department * 2 ** 20, job * 2 ** 20) & 8191);
    // 4,096 keys in 8,192 slots: about 3,200 distinct when spread at random; one when only the low bits count.
    expect(homes.size).toBeGreaterThan(3000);
  });

  it('counts every key once, through growth, savepoints merged and taken', () => {
    const tally = new QuarterlyHiresTally();
    const inner = new QuarterlyHiresTally();
    const values: number[] = [];
    for (let i = 0; i < 5000; i++) values.push(i + 1, 0, Date.UTC(2020 + (i % 2), (i % 4) * 3, 1), 1 + (i % 50), (1 + (i % 70)) * 2 ** 20);
    tally.tally(values.slice(0, 12_500), 5);
    inner.tally(values.slice(12_500), 5);
    inner.addTo(tally);
    const taken = tally.take();
    const rows = Array.from({ length: taken.length / 7 }, (_, r) => taken.slice(r * 7, r * 7 + 7));
    expect(new Set(rows.map((r) => r.slice(0, 3).join())).size).toBe(rows.length);
    expect(rows.reduce((n, r) => n + r[3] + r[4] + r[5] + r[6], 0)).toBe(5000);
    expect(tally.take()).toEqual([]);
  });
});

describe('quarterIndex', () => {
  it('gives each instant the year and quarter of its UTC date, as Date does, from 0001 to 9999', () => {
    const edges = [Date.parse('0001-01-01T00:00:00.000Z'), Date.parse('9999-12-31T23:59:59.999Z'), -1, 0];
    for (let year = 1; year <= 9999; year += 37)
      for (const month of [0, 2, 3, 11]) {
        const start = new Date(0);
        start.setUTCFullYear(year, month, 1);
        edges.push(start.getTime(), start.getTime() - 1);
      }
    for (let i = 0; i < 20_000; i++) edges.push(Math.floor(-62135596800000 + Math.random() * 315537897599999));
    for (const ms of edges) {
      const date = new Date(ms);
      expect(quarterIndex(ms), date.toISOString()).toBe(date.getUTCFullYear() * 4 + Math.floor(date.getUTCMonth() / 3));
    }
  });
});
