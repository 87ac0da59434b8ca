import type { Database } from '../db';
import { TABLES, type TableDef } from '../tables';
import { avroFile } from './avroFile';
import { encodedPages } from './avroRecords';
import { avroSchema } from './avroSchema';
import { backupName, type BackupInfo, type BackupStore } from './BackupStore';

/**
 * Snapshots a table into a new backup: records stream from one consistent read of the database,
 * encoded (by the database itself where it can spread the work over threads), through the Avro
 * file's blocks, into the blob's staged blocks. Memory stays bounded: the next rows are read only
 * when the blocks before them have been handed to the upload. The backup is named and dated when
 * its snapshot has begun: on SQLite that may be after a write transaction in progress has ended.
 */
export async function backupTable(db: Database, store: BackupStore, table: TableDef): Promise<BackupInfo> {
  const pages = (db.snapshotRecords?.(table) ?? encodedPages(table, db.snapshot(table)))[Symbol.asyncIterator]();
  try {
    let page = await pages.next(); // the snapshot begins with its first read
    const at = new Date();
    const name = backupName(table, at);
    const createdAt = at.toISOString();
    let rows = 0;
    async function* counted() {
      for (; !page.done; page = await pages.next()) {
        rows += page.value.rows;
        yield page.value;
      }
    }
    const file = avroFile(avroSchema(table), { table: table.name, createdAt }, counted());
    const written = await store.write(name, file, () => ({ table: table.name, rows: String(rows), createdat: createdAt }));
    return { table: table.name, backup: name, rows, bytes: written.bytes, sha256: written.sha256, createdAt };
  } finally {
    await pages.return?.(); // ends the snapshot's read if the upload failed before the last rows
  }
}

/** Backs up every table, one after another, in dependency order. */
export async function backupAllTables(db: Database, store: BackupStore): Promise<BackupInfo[]> {
  const backups: BackupInfo[] = [];
  for (const table of TABLES) backups.push(await backupTable(db, store, table));
  return backups;
}
