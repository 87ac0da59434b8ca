import type { Database } from '../db';
import { TABLES, type TableDef } from '../tables';
import { avroFile } from './avroFile';
import { avroSchema } from './avroSchema';
import { backupName, type BackupInfo, type BackupStore } from './BackupStore';

/**
 * Snapshots a table into a new backup: rows stream from one consistent read of the database,
 * through the Avro encoder, into the blob's staged blocks. Memory stays bounded: the next rows
 * are read only when the encoded blocks before them have been handed to the upload.
 */
export async function backupTable(db: Database, store: BackupStore, table: TableDef, at = new Date()): Promise<BackupInfo> {
  const name = backupName(table, at);
  const createdAt = at.toISOString();
  let rows = 0;
  async function* counted() {
    for await (const page of db.snapshot(table)) {
      rows += page.length;
      yield page;
    }
  }
  const file = avroFile(avroSchema(table), { table: table.name, createdAt }, counted());
  const written = await store.write(name, file, () => ({ table: table.name, rows: String(rows), createdat: createdAt }));
  return { table: table.name, backup: name, rows, bytes: written.bytes, sha256: written.sha256, createdAt };
}

/** Backs up every table, one after another, in dependency order. */
export async function backupAllTables(db: Database, store: BackupStore): Promise<BackupInfo[]> {
  const backups: BackupInfo[] = [];
  for (const table of TABLES) backups.push(await backupTable(db, store, table));
  return backups;
}
