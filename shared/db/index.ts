import path from 'node:path';
import fs from 'node:fs';
import type { Database } from './Database';
import type { SqlConnection } from '../config';

export type {
  Database,
  WriteTransaction,
  RunKind,
  RunRecord,
  RunStatus,
  RejectionRecord,
  NewRejection,
  RejectionFilter,
  RunFilter,
  Orphans,
  Snapshot,
  DatabaseCapabilities,
} from './Database';

export interface DatabaseSettings {
  /** Folder of the embedded SQLite database. */
  readonly dataDir: string;
  /** Azure SQL, when configured; the embedded SQLite database otherwise. */
  readonly sql: SqlConnection | undefined;
}

/**
 * Opens the configured database and brings its schema up to date. Each implementation is loaded
 * only when chosen: on Azure, the SQLite driver's native module is never loaded.
 */
export async function openDatabase(settings: DatabaseSettings): Promise<Database> {
  let db: Database;
  if (settings.sql) {
    const { MssqlDatabase } = await import('./mssql/MssqlDatabase');
    db = MssqlDatabase.fromConnection(settings.sql);
  } else {
    fs.mkdirSync(settings.dataDir, { recursive: true });
    const { SqliteDatabase } = await import('./sqlite/SqliteDatabase');
    db = new SqliteDatabase(path.join(settings.dataDir, 'service.sqlite'));
  }
  await db.migrate();
  return db;
}
