/**
 * A write whose one call fails while its others are still to come is undone whole: none of its
 * later calls runs, on its own or inside the write after it. SQLite, with the failure injected by
 * a trigger that refuses the batch's run.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { WriteConnection } from '../shared/db/sqlite/WriteConnection';
import type { TableName } from '../shared/tables';
import { removeDir, tempDir } from './helpers/localHost';
import { insertJsonBatch } from './helpers/batches';

function ids(file: string, table: TableName): number[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

describe('a batch whose run cannot be saved', () => {
  let dir: string;
  let file: string;
  let db: Store;
  beforeEach(async () => {
    dir = tempDir('failed-writes-');
    file = path.join(dir, 'service.sqlite');
    db = new Store(new SqliteEngine(file));
    await db.migrate();
    await insertJsonBatch(db, 'departments', [{ id: 1, department: 'D1' }]);
    // Saving a jobs batch's run fails; its rows themselves would insert.
    const side = new BetterSqlite3(file);
    side.exec(
      `CREATE TRIGGER refuse_jobs_runs BEFORE INSERT ON runs WHEN NEW.table_name = 'jobs' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    side.close();
  });
  afterEach(async () => {
    await db.close();
    removeDir(dir);
  });

  it('is refused, and none of its rows is written', async () => {
    await expect(
      insertJsonBatch(db, 'jobs', [
        { id: 7, job: 'J7' },
        { id: 8, job: 'J8' },
      ]),
    ).rejects.toThrow(/injected/);
    // The writer runs calls in the order sent: once the next write has committed, any call the failed one still had has run.
    await insertJsonBatch(db, 'departments', [{ id: 2, department: 'D2' }]);
    expect(ids(file, 'jobs')).toEqual([]);
    expect(ids(file, 'departments')).toEqual([1, 2]);
  });

  it('is undone alone among writes that share its commit, and none of its rows lands in theirs', async () => {
    // A write holds the queue, so that the next three are queued together and share one commit.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let started!: () => void;
    const holding = db.write(() => (started(), held));
    await new Promise<void>((resolve) => (started = resolve));
    const shared = [
      insertJsonBatch(db, 'departments', [{ id: 2, department: 'D2' }]),
      insertJsonBatch(db, 'jobs', [
        { id: 7, job: 'J7' },
        { id: 8, job: 'J8' },
      ]),
      insertJsonBatch(db, 'departments', [{ id: 3, department: 'D3' }]),
    ];
    letGo();
    await holding;
    const settled = await Promise.allSettled(shared);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(ids(file, 'jobs')).toEqual([]);
    expect(ids(file, 'departments')).toEqual([1, 2, 3]);
  });
});

describe('the SQLite writer', () => {
  it('refuses a write sent when no transaction is open (SQLite rolled it back on an error), rather than run it on its own', () => {
    const dir = tempDir('sqlite-no-transaction-');
    const file = path.join(dir, 'service.sqlite');
    const connection = new WriteConnection(file);
    try {
      connection.migrate();
      expect(() => connection.insertRows('departments', [1, 'D1'])).toThrow(/no write transaction is open/);
      expect(() => connection.savepoint('shared_write')).toThrow(/no write transaction is open/);
      expect(() => connection.execute(`DELETE FROM departments`, {})).toThrow(/no write transaction is open/);
      expect(ids(file, 'departments')).toEqual([]);
    } finally {
      connection.close();
      removeDir(dir);
    }
  });
});
