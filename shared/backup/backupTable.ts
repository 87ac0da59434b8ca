import type { Database, Snapshot } from '../db';
import { TABLES, type TableDef } from '../tables';
import { avroFile } from '../avro/containerWriter';
import { avroSchema } from '../avro/schema';
import { backupName, setName, type BackupInfo, type BackupKind, type BackupSet, type BackupStore } from './BackupStore';

/**
 * Snapshots a table into a new backup. The backup is named and dated when its snapshot has
 * begun: on SQLite that may be after a write transaction in progress has ended.
 */
export async function backupTable(db: Database, store: BackupStore, table: TableDef): Promise<BackupInfo> {
  const snapshot = await db.openSnapshot([table]);
  try {
    return await writeBackup(snapshot, store, table, new Date(), 'backup', null);
  } finally {
    await snapshot.close();
  }
}

/** Snapshots every table at one instant into a new backup set, named by that instant. */
export async function backupSet(db: Database, store: BackupStore): Promise<BackupSet> {
  const snapshot = await db.openSnapshot(TABLES);
  try {
    return await writeSet(snapshot, store, TABLES, 'backup');
  } finally {
    await snapshot.close();
  }
}

/** Writes the tables of an open snapshot as one set: their files first, then the manifest that makes the set exist. */
export async function writeSet(snapshot: Snapshot, store: BackupStore, tables: readonly TableDef[], kind: BackupKind): Promise<BackupSet> {
  const at = new Date();
  const set = setName(at);
  const files: BackupInfo[] = [];
  for (const table of tables) files.push(await writeBackup(snapshot, store, table, at, kind, set));
  const manifest: BackupSet = { set, kind, createdAt: at.toISOString(), tables: files };
  await store.writeManifest(manifest);
  return manifest;
}

/**
 * Writes one table of an open snapshot as a backup file: records stream from the snapshot,
 * through the Avro file's blocks, into the blob's staged blocks. Memory stays bounded: the next
 * rows are read only when the blocks before them have been handed to the upload.
 */
export async function writeBackup(
  snapshot: Snapshot,
  store: BackupStore,
  table: TableDef,
  at: Date,
  kind: BackupKind,
  set: string | null,
): Promise<BackupInfo> {
  const name = backupName(table, at);
  const createdAt = at.toISOString();
  let rows = 0;
  async function* counted() {
    for await (const page of snapshot.records(table)) {
      rows += page.rows;
      yield page;
    }
  }
  const file = avroFile(avroSchema(table), { table: table.name, createdAt }, counted());
  const metadata = () => ({ table: table.name, rows: String(rows), createdat: createdAt, kind, ...(set && { set }) });
  const written = await store.write(name, file, metadata);
  return { table: table.name, backup: name, rows, bytes: written.bytes, sha256: written.sha256, createdAt, kind, set };
}
