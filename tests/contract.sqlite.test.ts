/** The database contract on the embedded default: SQLite in a temporary folder, one database per test. */
import path from 'node:path';
import { SqliteDatabase } from '../shared/db/sqlite/SqliteDatabase';
import { describeDatabaseContract } from './contract/databaseContract';
import { removeDir, tempDir } from './helpers/localHost';

const folders = new Map<object, string>();

describeDatabaseContract('SQLite', {
  async open() {
    const dir = tempDir('contract-sqlite-');
    const db = new SqliteDatabase(path.join(dir, 'service.sqlite'));
    await db.migrate();
    folders.set(db, dir);
    return db;
  },
  async dispose(db) {
    await db.close();
    removeDir(folders.get(db));
    folders.delete(db);
  },
});
