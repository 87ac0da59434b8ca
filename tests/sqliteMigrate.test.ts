/**
 * A database file written by an earlier version gains the columns added since, from the table
 * definitions, and keeps its rows.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { removeDir, tempDir } from './helpers/localHost';

describe('a runs table from before restores were audited', () => {
  it('gains the idempotency_key and detail columns, keeping its runs', async () => {
    const oldDir = tempDir('sqlite-runs-');
    const oldFile = path.join(oldDir, 'service.sqlite');
    try {
      const old = new BetterSqlite3(oldFile);
      old.exec(`CREATE TABLE runs (
        id TEXT NOT NULL PRIMARY KEY, table_name TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,
        dry_run INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
        finished_at TEXT, received INTEGER NOT NULL, inserted INTEGER NOT NULL, skipped INTEGER NOT NULL,
        rejected INTEGER NOT NULL, error TEXT) STRICT`);
      old.exec(
        `INSERT INTO runs VALUES ('r1', 'jobs', 'load', 'csv', 0, 'succeeded', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', NULL, 1, 1, 0, 0, NULL)`,
      );
      old.close();
      const db = new Store(new SqliteEngine(oldFile));
      await db.migrate();
      try {
        expect(await db.getRun('r1')).toMatchObject({ id: 'r1', idempotencyKey: null, detail: null });
        const run = { ...(await db.getRun('r1'))!, id: 'r2', kind: 'restore' as const, idempotencyKey: 'k', detail: { who: 'test' } };
        await db.write((tx) => tx.saveRun(run));
        expect(await db.listRuns({ idempotencyKey: 'k', limit: 5 })).toMatchObject([{ id: 'r2', detail: { who: 'test' } }]);
      } finally {
        await db.close();
      }
    } finally {
      removeDir(oldDir);
    }
  });
});
