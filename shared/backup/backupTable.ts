import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import avro from 'avsc';
import type { Database } from '../db';
import { TABLES, type Row, type TableDef } from '../tables';
import { avroSchema } from './avroSchema';
import { backupName, type BackupInfo, type BackupStore } from './BackupStore';

/**
 * Snapshots a table into a new backup: rows stream from one consistent read of the database,
 * through the Avro encoder (deflate), into the blob's staged blocks. Memory stays bounded.
 */
export async function backupTable(db: Database, store: BackupStore, table: TableDef, at = new Date()): Promise<BackupInfo> {
  const name = backupName(table, at);
  const createdAt = at.toISOString();
  let rows = 0;
  async function* records() {
    for await (const page of db.snapshot(table)) {
      for (const row of page) {
        rows++;
        yield toRecord(table, row);
      }
    }
  }
  const encoder = new avro.streams.BlockEncoder(avroSchema(table), {
    codec: 'deflate',
    writeHeader: 'always', // an empty table still makes a valid file
    metadata: { table: Buffer.from(table.name), createdAt: Buffer.from(createdAt) },
  } as Partial<avro.EncoderOptions>);
  let written = { bytes: 0, sha256: '' };
  await pipeline(Readable.from(records()), encoder, async (bytes: AsyncIterable<Uint8Array>) => {
    written = await store.write(name, bytes, () => ({ table: table.name, rows: String(rows), createdat: createdAt }));
  });
  return { table: table.name, backup: name, rows, bytes: written.bytes, sha256: written.sha256, createdAt };
}

/** A row as an Avro record: keyed by column, datetimes as epoch milliseconds. */
export function toRecord(table: TableDef, row: Row): Record<string, number | string> {
  const record: Record<string, number | string> = {};
  for (let i = 0; i < table.columns.length; i++) record[table.columns[i].name] = row[i];
  return record;
}

/** Backs up every table, one after another, in dependency order. */
export async function backupAllTables(db: Database, store: BackupStore): Promise<BackupInfo[]> {
  const backups: BackupInfo[] = [];
  for (const table of TABLES) backups.push(await backupTable(db, store, table));
  return backups;
}
