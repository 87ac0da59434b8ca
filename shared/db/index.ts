import path from 'node:path';
import fs from 'node:fs';
import type { Database } from './Database';
import { SqliteDatabase } from './sqlite/SqliteDatabase';

export type { Database, WriteTransaction, RunKind, RunRecord, RunStatus, RejectionRecord, NewRejection, RejectionFilter, Orphans } from './Database';

export interface DatabaseSettings {
  /** Folder of the embedded SQLite database. */
  readonly dataDir: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(settings: DatabaseSettings): Promise<Database> {
  fs.mkdirSync(settings.dataDir, { recursive: true });
  const db = new SqliteDatabase(path.join(settings.dataDir, 'service.sqlite'));
  await db.migrate();
  return db;
}
