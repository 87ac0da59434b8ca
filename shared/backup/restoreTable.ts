import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import avro from 'avsc';
import type { Database, WriteTransaction } from '../db';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors';
import { checkObject, describeReasons, formatInstant } from '../rules';
import { referencesAround, type Row, type TableDef } from '../tables';
import { schemaDifferences } from './avroSchema';
import { backupTable } from './backupTable';
import { checkBackupName, type BackupStore } from './BackupStore';

const PAGE_ROWS = 5_000;
/** How many missing ids a refusal names. */
const ORPHANS_NAMED = 100;

export interface RestoreOptions {
  /** The backup's name; the newest backup of the table when absent. */
  readonly backup?: unknown;
  /** Take a safety backup of the current rows first (default true). */
  readonly safety?: boolean;
}

/**
 * Makes the table's contents exactly the backup's rows, or changes nothing. The backup is
 * checked first (it exists, its SHA-256 matches its metadata, its schema is the table's), then a
 * safety backup of the current rows is taken, then one transaction empties the table, inserts the
 * backup's rows checking each against the data rules, and checks references both ways before it
 * commits. Any failure, or the process dying, rolls it back: the old rows stay.
 */
export async function restoreTable(db: Database, store: BackupStore, table: TableDef, options: RestoreOptions) {
  const name = options.backup === undefined ? await newest(store, table) : checkBackupName(table, options.backup);
  const info = await store.info(table, name);

  const { sha256, writerSchema } = await inspect(await store.read(name, info.etag));
  if (sha256 !== info.sha256) {
    throw new UnprocessableError(`backup ${name} is corrupted: its SHA-256 is ${sha256}, its metadata says ${info.sha256}`, 'backup_corrupted');
  }
  const differences = writerSchema === undefined ? ['it is not an Avro object container file'] : schemaDifferences(table, writerSchema);
  if (differences.length) {
    throw new UnprocessableError(`backup ${name} does not fit ${table.name}: ${differences.join('; ')}`, 'schema_mismatch', { differences });
  }

  const safetyBackup = options.safety === false ? null : (await backupTable(db, store, table)).backup;
  const rows = await db.write(async (tx) => {
    await tx.clearTable(table);
    const count = await insertBackupRows(tx, table, name, await store.read(name, info.etag));
    if (count !== info.rows) {
      throw new UnprocessableError(`backup ${name} holds ${count} rows, its metadata says ${info.rows}`, 'backup_corrupted');
    }
    await checkReferences(tx, table);
    return count;
  });
  return { table: table.name, backup: name, rows, safetyBackup };
}

async function newest(store: BackupStore, table: TableDef): Promise<string> {
  const [latest] = await store.list(table);
  if (!latest) throw new NotFoundError(`there is no backup of ${table.name}`, 'backup_not_found');
  return latest.backup;
}

/** Hashes the whole file, and reads its writer schema from the header. */
async function inspect(bytes: AsyncIterable<Uint8Array>): Promise<{ sha256: string; writerSchema: unknown }> {
  const hash = createHash('sha256');
  const header = new avro.streams.BlockDecoder();
  let writerSchema: unknown;
  let readingHeader = true;
  // The schema as written in the header: avsc's parsed type drops logical types it has no class for.
  header.once('metadata', (_type: avro.Type, _codec: string, fileHeader: { meta: Record<string, Buffer> }) => {
    writerSchema = JSON.parse(fileHeader.meta['avro.schema'].toString('utf8'));
    readingHeader = false;
  });
  header.on('error', () => (readingHeader = false)); // not Avro: writerSchema stays undefined
  header.resume();
  for await (const chunk of bytes) {
    hash.update(chunk);
    if (readingHeader) header.write(chunk);
  }
  header.destroy();
  return { sha256: hash.digest('hex'), writerSchema };
}

/** Decodes the backup into the emptied table, page by page; every row must pass the data rules, ids strictly increasing. */
async function insertBackupRows(tx: WriteTransaction, table: TableDef, name: string, bytes: AsyncIterable<Uint8Array>): Promise<number> {
  const decoder = new avro.streams.BlockDecoder();
  const source = Readable.from(bytes);
  source.on('error', (error) => decoder.destroy(error));
  source.pipe(decoder);
  await once(decoder, 'metadata');
  let page: Row[] = [];
  let count = 0;
  let lastId = 0;
  for await (const record of decoder as AsyncIterable<Record<string, unknown>>) {
    count++;
    const checked = checkObject(table, asJsonRow(table, record));
    if (!checked.row) {
      throw new UnprocessableError(`row ${count} of backup ${name} breaks the data rules: ${describeReasons(checked.reasons)}`, 'backup_invalid_row');
    }
    const id = checked.row[0] as number;
    if (id <= lastId) throw new UnprocessableError(`row ${count} of backup ${name} repeats or reorders id ${id}`, 'backup_invalid_row');
    lastId = id;
    page.push(checked.row);
    if (page.length === PAGE_ROWS) {
      await tx.insertRows(table, page);
      page = [];
    }
  }
  if (page.length) await tx.insertRows(table, page);
  return count;
}

/** The record as the JSON row the rules read: datetimes as ISO text. */
function asJsonRow(table: TableDef, record: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = { ...record };
  for (const column of table.columns) {
    if (column.type === 'datetime' && typeof row[column.name] === 'number') row[column.name] = formatInstant(row[column.name] as number);
  }
  return row;
}

/** Refuses (409) a restore after which some row would reference a row that does not exist. */
async function checkReferences(tx: WriteTransaction, table: TableDef): Promise<void> {
  const broken = [];
  for (const link of referencesAround(table)) {
    const orphans = await tx.orphans(link.child, link.column, link.parent, ORPHANS_NAMED);
    if (orphans.rows > 0) broken.push({ table: link.child.name, column: link.column, references: link.parent.name, ...orphans });
  }
  if (broken.length) {
    const summary = broken
      .map((b) => `${b.rows} ${b.table} rows would reference ${b.references} ids that do not exist (${b.column} ${b.ids.map((i) => `${i.id}: ${i.rows} rows`).join(', ')}${b.ids.length === ORPHANS_NAMED ? ', …' : ''})`)
      .join('; ');
    throw new ConflictError(`restoring ${table.name} would break references: ${summary}; nothing was changed`, 'restore_breaks_references', { missing: broken });
  }
}
