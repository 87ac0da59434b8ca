import path from 'node:path';
import fs from 'node:fs';
import type { Database } from './Database';
import type { SqlConnection } from '../config';
import { MssqlDatabase } from './mssql/MssqlDatabase';
import { SqliteDatabase } from './sqlite/SqliteDatabase';

export type { Database, WriteTransaction, RunKind, RunRecord, RunStatus, RejectionRecord, NewRejection, RejectionFilter, Orphans } from './Database';

export interface DatabaseSettings {
  /** Folder of the embedded SQLite database. */
  readonly dataDir: string;
  /** Azure SQL, when configured; the embedded SQLite database otherwise. */
  readonly sql: SqlConnection | undefined;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(settings: DatabaseSettings): Promise<Database> {
  let db: Database;
  if (settings.sql) {
    db = MssqlDatabase.fromConnection(settings.sql);
  } else {
    fs.mkdirSync(settings.dataDir, { recursive: true });
    db = new SqliteDatabase(path.join(settings.dataDir, 'service.sqlite'));
  }
  await db.migrate();
  return db;
}
