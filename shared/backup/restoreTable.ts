import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import avro from 'avsc';
import type { Database, WriteTransaction } from '../db';
import { ConflictError, NotFoundError, ServiceError, UnprocessableError } from '../errors';
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
 * Makes the table's contents exactly the backup's rows, or changes nothing. Before anything is
 * written, the backup must exist and its header must carry the table's schema. Then a safety
 * backup of the current rows is taken, and one transaction empties the table and streams the
 * backup into it, hashing the bytes and checking every row against the data rules as they go;
 * it commits only if the SHA-256 and the row count match the blob's metadata and references hold
 * both ways. Any failure, or the process dying, rolls it back: the old rows stay.
 *
 * The file is downloaded once, not once to hash and again to insert: a hashing pass holds up to
 * 32 MB of network buffers that V8 frees late (they create almost no garbage to trigger a
 * collection), which alone took a restore past its memory budget. The price is that a corrupted
 * backup is found after the safety backup is taken, which it leaves behind.
 */
export async function restoreTable(db: Database, store: BackupStore, table: TableDef, options: RestoreOptions) {
  const name = options.backup === undefined ? await newest(store, table) : checkBackupName(table, options.backup);
  const info = await store.info(table, name);

  const writerSchema = await readWriterSchema(await store.read(name, info.etag));
  const differences = writerSchema === undefined ? ['it is not an Avro object container file'] : schemaDifferences(table, writerSchema);
  if (differences.length) {
    throw new UnprocessableError(`backup ${name} does not fit ${table.name}: ${differences.join('; ')}`, 'schema_mismatch', { differences });
  }

  const safetyBackup = options.safety === false ? null : (await backupTable(db, store, table)).backup;
  const rows = await db.write(async (tx) => {
    await tx.clearTable(table);
    const hash = createHash('sha256');
    let count: number;
    try {
      count = await insertBackupRows(tx, table, name, hashed(await store.read(name, info.etag), hash));
    } catch (error) {
      // A corrupted file fails in many ways (undecodable blocks, rows that break the rules): the
      // checksum tells which failures are corruption, and says so.
      const actual = await sha256Of(await store.read(name, info.etag));
      if (actual !== info.sha256) throw corrupted(name, actual, info.sha256);
      if (error instanceof ServiceError) throw error;
      throw new UnprocessableError(`backup ${name} cannot be decoded: ${(error as Error).message}`, 'backup_invalid');
    }
    const actual = hash.digest('hex');
    if (actual !== info.sha256) throw corrupted(name, actual, info.sha256);
    if (count !== info.rows) {
      throw new UnprocessableError(`backup ${name} holds ${count} rows, its metadata says ${info.rows}`, 'backup_corrupted');
    }
    await checkReferences(tx, table);
    return count;
  });
  return { table: table.name, backup: name, rows, safetyBackup };
}

function corrupted(name: string, actual: string, expected: string): UnprocessableError {
  return new UnprocessableError(`backup ${name} is corrupted: its SHA-256 is ${actual}, its metadata says ${expected}`, 'backup_corrupted');
}

async function newest(store: BackupStore, table: TableDef): Promise<string> {
  const [latest] = await store.list(table);
  if (!latest) throw new NotFoundError(`there is no backup of ${table.name}`, 'backup_not_found');
  return latest.backup;
}

/**
 * The writer schema from the file's header, as written (avsc's parsed type drops logical types it
 * has no class for); undefined if the file is not Avro. Reads only as far as the header.
 */
async function readWriterSchema(bytes: AsyncIterable<Uint8Array>): Promise<unknown> {
  const header = new avro.streams.BlockDecoder();
  let writerSchema: unknown;
  let done = false;
  header.once('metadata', (_type: avro.Type, _codec: string, fileHeader: { meta: Record<string, Buffer> }) => {
    writerSchema = JSON.parse(fileHeader.meta['avro.schema'].toString('utf8'));
    done = true;
  });
  header.on('error', () => (done = true)); // not Avro: writerSchema stays undefined
  header.resume();
  for await (const chunk of bytes) {
    header.write(chunk);
    if (done) break; // the rest of the download is cancelled
  }
  header.destroy();
  return writerSchema;
}

async function* hashed(bytes: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of bytes) {
    hash.update(chunk);
    yield chunk;
  }
}

async function sha256Of(bytes: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of hashed(bytes, hash)) void chunk;
  return hash.digest('hex');
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
