import path from 'node:path';
import fs from 'node:fs';
import type { Database } from './Database';
import type { Engine } from './Engine';
import { Store } from './Store';
import type { SqlConnection } from '../config';

export type {
  Database,
  WriteTransaction,
  WriteOptions,
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
  LoadCheckpoint,
} from './Database';

export interface DatabaseSettings {
  /** Folder of the embedded SQLite database. */
  readonly dataDir: string;
  /** Azure SQL, when configured; the embedded SQLite database otherwise. */
  readonly sql: SqlConnection | undefined;
}

/**
 * Opens the configured database and brings its schema up to date. Each engine is loaded only
 * when chosen: on Azure, the SQLite driver's native module is never loaded.
 */
export async function openDatabase(settings: DatabaseSettings): Promise<Database> {
  let engine: Engine;
  if (settings.sql) {
    const { MssqlEngine } = await import('./mssql/MssqlEngine');
    engine = MssqlEngine.fromConnection(settings.sql);
  } else {
    fs.mkdirSync(settings.dataDir, { recursive: true });
    const { SqliteEngine } = await import('./sqlite/SqliteEngine');
    engine = new SqliteEngine(path.join(settings.dataDir, 'service.sqlite'));
  }
  const db = new Store(engine);
  await db.migrate();
  return db;
}
