/** The database contract on the embedded default: SQLite in a temporary folder, one database per test. */
import path from 'node:path';
import { Store } from '../shared/db/Store';
import { SqliteEngine } from '../shared/db/sqlite/SqliteEngine';
import { describeDatabaseContract } from './contract/databaseContract';
import { removeDir, tempDir } from './helpers/localHost';

const folders = new Map<object, string>();

describeDatabaseContract('SQLite', {
  async open() {
    const dir = tempDir('contract-sqlite-');
    const db = new Store(new SqliteEngine(path.join(dir, 'service.sqlite')));
    await db.migrate();
    folders.set(db, dir);
    return db;
  },
  async openAnother(db) {
    const another = new Store(new SqliteEngine(path.join(folders.get(db)!, 'service.sqlite')));
    await another.migrate();
    return another;
  },
  async dispose(db) {
    await db.close();
    removeDir(folders.get(db));
    folders.delete(db);
  },
});
