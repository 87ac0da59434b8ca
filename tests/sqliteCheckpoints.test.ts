/**
 * The writer's commits are checkpointed on a thread of their own (WalCheckpointThread): their pages
 * reach the database file soon after each commit, long before the WAL holds the pages at which the
 * writer would checkpoint them itself, in a commit that every queued write waits for.
 */
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { removeDir, tempDir } from './helpers/localHost';
import { insertJsonBatch } from './helpers/batches';

let dir: string | undefined;
afterEach(() => removeDir(dir));

/** The departments the database file holds by itself, without its WAL: what checkpoints have copied into it. */
function departmentsInFile(file: string): number {
  const copy = `${file}.alone`;
  fs.copyFileSync(file, copy);
  try {
    const db = new BetterSqlite3(copy, { readonly: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM departments').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0; // no schema in the file yet, or copied while a checkpoint wrote it
  } finally {
    for (const name of [copy, `${copy}-wal`, `${copy}-shm`]) fs.rmSync(name, { force: true });
  }
}

describe('the WAL checkpoint thread', () => {
  it("copies a commit's pages into the database file soon after, and ends with the store", { timeout: 20_000 }, async () => {
    dir = tempDir();
    const file = path.join(dir, 'service.sqlite');
    const db = new Store(new SqliteEngine(file));
    await db.migrate();
    await insertJsonBatch(
      db,
      'departments',
      [1, 2, 3].map((id) => ({ id, department: `D${id}` })),
    );
    // A few pages in the WAL, far from the writer's own threshold (wal_autocheckpoint).
    let copied = 0;
    for (const until = Date.now() + 10_000; copied < 3 && Date.now() < until;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      copied = departmentsInFile(file);
    }
    expect(copied).toBe(3);
    await db.close();
    // Every connection has closed, the checkpoint thread's too: the last one to close removes the WAL.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });
});
