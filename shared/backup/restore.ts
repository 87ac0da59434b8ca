/**
 * Restores: a table from one of its backups, or every table from a backup set. A restore makes
 * the tables' contents exactly the backup's rows, or changes nothing. One write transaction does
 * everything that must see one instant: it refuses while a load of the tables runs, takes the
 * safety backup (the rows it is about to replace, read while it holds the write lock, so no
 * write can fall between the two), empties the tables and streams each backup into them, checks
 * every row against the data rules, the checksum and row count against the metadata, and the
 * references both ways, and records the restore's run. Any failure, or the process dying, rolls
 * it back: the old rows stay.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Database, RunRecord, WriteTransaction } from '../db';
import { ConflictError, NotFoundError, ServiceError, UnusableError } from '../errors';
import { finishRun, isLive, newRun } from '../ingest/runs';
import { checkStored, describeReasons } from '../rules';
import { referencesAround, referencingTables, TABLES, type Row, type TableDef } from '../tables';
import { AvroFileReader } from '../avro/containerReader';
import { AvroFormatError } from '../avro/AvroFormatError';
import { schemaDifferences } from '../avro/schema';
import { writeBackup, writeSet } from './backupTable';
import { validBackupName, validSetName, type BackupInfo, type BackupSet, type BackupStore } from './BackupStore';
import { claimRestore, loadRunning } from './restoresInProgress';

/** How many missing ids a refusal names. */
const ORPHANS_NAMED = 100;
/** How long an Idempotency-Key is remembered. */
const IDEMPOTENCY_MS = 24 * 60 * 60_000;

export interface RestoreOptions {
  /** Take a safety backup of the current rows first (default true). */
  readonly safety?: boolean;
  /** The same key within 24 hours returns the first restore's result and does nothing again. */
  readonly idempotencyKey?: string;
  /** Who asked: an identity, or the kind of key, for the audit record. */
  readonly who: string;
}

/** One backup file to restore, checked to exist and to fit its table. */
interface RestoreFile {
  readonly table: TableDef;
  readonly info: BackupInfo & { etag: string };
}

export interface TableRestored {
  readonly table: string;
  readonly backup: string;
  readonly rows: number;
  readonly rowsBefore: number;
}

/** What a restore of one table answers: the table restored, and the safety backup of the rows it replaced. */
export type TableRestoreResponse = TableRestored & { readonly safetyBackup: string | null; readonly runId: string };
/** What a restore of a set answers. */
export interface SetRestoreResponse {
  readonly set: string | null;
  readonly tables: TableRestored[];
  readonly safetySet: string | null;
  readonly runIds: string[];
}

/** POST /restore of one table: `backup` names one of its backups; absent, the newest that is not a safety backup. */
export async function restoreTable(
  db: Database,
  store: BackupStore,
  table: TableDef,
  request: { backup?: unknown },
  options: RestoreOptions,
) {
  const target: RestoreRequest = { kind: 'table', table: table.name, backup: request.backup ?? null };
  // A retry whose first restore succeeded gets its response, even once retention has pruned the backup.
  const replayed = options.idempotencyKey && (await replay(db, options.idempotencyKey, target));
  if (replayed) return replayed;
  const name = request.backup === undefined ? await store.newest(table) : validBackupName(table, request.backup);
  const file = await checkedFile(store, table, await store.info(table, name));
  return replaceTables(db, store, [file], target, options);
}

/** POST /api/restore: every table of the set `set`; absent, of the newest set that is not a safety set. */
export async function restoreSet(db: Database, store: BackupStore, request: { set?: unknown }, options: RestoreOptions) {
  const target: RestoreRequest = { kind: 'set', set: request.set ?? null };
  const replayed = options.idempotencyKey && (await replay(db, options.idempotencyKey, target));
  if (replayed) return replayed;
  const set = request.set === undefined ? await newestSet(store) : validSetName(request.set);
  const manifest = await store.readSet(set);
  const files: RestoreFile[] = [];
  for (const table of TABLES) {
    const entry = Array.isArray(manifest?.tables) ? manifest.tables.find((t) => t?.table === table.name) : undefined;
    if (!entry || typeof entry.backup !== 'string')
      throw new UnusableError(`backup set ${set} has no file for ${table.name}`, 'backup_invalid');
    const info = await store.info(table, validBackupName(table, entry.backup));
    if (info.sha256 !== entry.sha256) {
      throw new UnusableError(
        `backup ${entry.backup} is not the file of set ${set}: its SHA-256 is ${info.sha256}, the manifest says ${entry.sha256}`,
        'backup_corrupted',
      );
    }
    files.push(await checkedFile(store, table, info));
  }
  return replaceTables(db, store, files, target, options);
}

/** What the client asked for, as given: a retry with the same Idempotency-Key must ask for the same. */
type RestoreRequest = { kind: 'table'; table: string; backup: unknown } | { kind: 'set'; set: unknown };

/**
 * The restore itself (see the top of this file). Its response: for a table, what was restored
 * and the safety backup's name; for a set, each table's and the safety set's name.
 */
async function replaceTables(
  db: Database,
  store: BackupStore,
  files: readonly RestoreFile[],
  request: RestoreRequest,
  options: RestoreOptions,
): Promise<Record<string, unknown>> {
  const tables = files.map((f) => f.table);
  const release = claimRestore(db, tables);
  const runs = files.map((f) => ({
    ...newRun(f.table.name, 'restore', `backup:${f.info.backup}`, false),
    idempotencyKey: options.idempotencyKey ?? null,
  }));
  const detail: Record<string, unknown> = { request, who: options.who, set: files[0].info.set, safetyBackup: null };
  let began = false;
  try {
    return await db.write(
      async (tx) => {
        if (options.idempotencyKey) {
          const response = await replay(db, options.idempotencyKey, request);
          if (response) return response;
        }
        began = true;
        await refuseDuringLoads(db, tables);
        const rowsBefore = await Promise.all(tables.map((t) => db.countRows(t)));
        const safety = options.safety === false ? null : await safetyBackup(tx, store, tables, request.kind === 'set');
        const safetyName = request.kind === 'set' ? (safety?.set ?? null) : (safety?.tables[0].backup ?? null);
        detail.safetyBackup = safetyName;
        await tx.clearTables(tables);
        // The tables are empty: their indexes are built once, after the rows, not kept row by row.
        for (const table of tables) await tx.dropIndexes(table);
        const restored: TableRestored[] = [];
        for (const [i, file] of files.entries()) {
          const rows = await refill(tx, store, file, db.capabilities.bulkRows);
          restored.push({ table: file.table.name, backup: file.info.backup, rows, rowsBefore: rowsBefore[i] });
        }
        for (const table of tables) await tx.buildIndexes(table);
        await refuseBrokenReferences(tx, tables);
        const runIds = runs.map((r) => r.id);
        const response =
          request.kind === 'set'
            ? ({ set: files[0].info.set, tables: restored, safetySet: safetyName, runIds } satisfies SetRestoreResponse)
            : ({ ...restored[0], safetyBackup: safetyName, runId: runIds[0] } satisfies TableRestoreResponse);
        for (const [i, run] of runs.entries()) {
          run.received = run.inserted = restored[i].rows;
          run.detail = { ...detail, backup: restored[i].backup, rowsBefore: restored[i].rowsBefore, rowsAfter: restored[i].rows, response };
          finishRun(run);
          await tx.saveRun(run);
        }
        return response;
      },
      { replacing: tables },
    );
  } catch (error) {
    if (began) await recordFailure(db, runs, detail, error as Error);
    throw error;
  } finally {
    release();
  }
}

/** The rows the restore replaces, as a backup of kind `safety`: one file, or a set. */
async function safetyBackup(tx: WriteTransaction, store: BackupStore, tables: readonly TableDef[], asSet: boolean): Promise<BackupSet> {
  return tx.readSnapshot(tables, async (snapshot) => {
    if (asSet) return writeSet(snapshot, store, tables, 'safety');
    const file = await writeBackup(snapshot, store, tables[0], new Date(), 'safety', null);
    return { set: '', kind: 'safety', createdAt: file.createdAt, tables: [file] };
  });
}

/** The audit record of a restore that changed nothing: its runs, failed, with the reason. */
async function recordFailure(db: Database, runs: RunRecord[], detail: Record<string, unknown>, error: Error): Promise<void> {
  await db
    .write(async (tx) => {
      for (const run of runs) {
        run.detail = { ...detail, backup: run.source.slice('backup:'.length), ...(error instanceof ServiceError && { code: error.code }) };
        finishRun(run, error instanceof ServiceError ? error : new Error('the restore failed; nothing was changed'));
        await tx.saveRun(run);
      }
    })
    .catch(() => undefined); // the restore's own error is the one to report
}

/** The first restore's response for this key, if it succeeded within 24 hours; 422 if it asked for something else. */
async function replay(db: Database, key: string, request: RestoreRequest): Promise<Record<string, unknown> | undefined> {
  const [first] = await db.listRuns({ kind: 'restore', idempotencyKey: key, status: 'succeeded', limit: 1 });
  if (!first || Date.now() - Date.parse(first.startedAt) > IDEMPOTENCY_MS) return undefined;
  if (JSON.stringify(first.detail?.request) !== JSON.stringify(request)) {
    throw new UnusableError(
      `Idempotency-Key ${JSON.stringify(key)} was used for another restore (run ${first.id}); use a new key for a new request`,
      'idempotency_key_reused',
    );
  }
  return { ...(first.detail?.response as Record<string, unknown>), replayed: true };
}

/** 409 if a load of the tables, or of a table that references them, is running: it would go on writing into the restored rows. */
async function refuseDuringLoads(db: Database, tables: readonly TableDef[]): Promise<void> {
  const involved = [...new Set([...tables, ...tables.flatMap(referencingTables)])];
  let running = loadRunning(db, involved);
  for (const table of involved) {
    if (running) break;
    const live = (await db.listRuns({ table: table.name, kind: 'load', status: 'running', limit: 100 })).find((run) => isLive(run));
    if (live) running = { runId: live.id, table: table.name };
  }
  if (running) {
    throw new ConflictError(
      `a load of ${running.table} is running (run ${running.runId}): restore when it has ended, or once it shows as interrupted`,
      'load_running',
      running,
    );
  }
}

async function newestSet(store: BackupStore): Promise<string> {
  const latest = (await store.listAll()).find((b) => b.table === null && b.kind !== 'safety');
  if (!latest) throw new NotFoundError('there is no backup set (safety sets are restored only by name)', 'backup_not_found');
  return latest.set!;
}

/** The file, once its header shows the table's schema (422 otherwise). Reads only as far as the header. */
async function checkedFile(store: BackupStore, table: TableDef, info: BackupInfo & { etag: string }): Promise<RestoreFile> {
  const reader = new AvroFileReader(await store.read(info.backup, info.etag));
  let differences: string[];
  try {
    differences = schemaDifferences(table, (await reader.header()).schema);
  } catch (error) {
    if (!(error instanceof AvroFormatError)) throw error;
    differences = [error.message];
  } finally {
    await reader.close();
  }
  if (differences.length) {
    throw new UnusableError(`backup ${info.backup} does not fit ${table.name}: ${differences.join('; ')}`, 'schema_mismatch', {
      differences,
    });
  }
  return { table, info };
}

/**
 * Streams the backup into its emptied table, hashing the bytes as they come: the file is
 * downloaded once, not once to hash and again to insert. A corrupted file fails in many ways
 * (undecodable blocks, rows that break the rules): the checksum tells which failures are
 * corruption, and says so.
 */
async function refill(tx: WriteTransaction, store: BackupStore, { table, info }: RestoreFile, pageRows: number): Promise<number> {
  const hash = createHash('sha256');
  let count: number;
  try {
    count = await insertBackupRows(tx, table, info, new AvroFileReader(hashed(await store.read(info.backup, info.etag), hash)), pageRows);
  } catch (error) {
    if (!(error instanceof AvroFormatError || error instanceof ServiceError)) throw error;
    const actual = await sha256Of(await store.read(info.backup, info.etag));
    if (actual !== info.sha256) throw corrupted(info.backup, actual, info.sha256);
    if (error instanceof ServiceError) throw error;
    throw new UnusableError(`backup ${info.backup} cannot be decoded: ${error.message}`, 'backup_invalid');
  }
  const actual = hash.digest('hex');
  if (actual !== info.sha256) throw corrupted(info.backup, actual, info.sha256);
  if (count !== info.rows) throw rowCountDiffers(info, `${count}`);
  return count;
}

function corrupted(name: string, actual: string, expected: string): UnusableError {
  return new UnusableError(`backup ${name} is corrupted: its SHA-256 is ${actual}, its metadata says ${expected}`, 'backup_corrupted');
}

function rowCountDiffers(info: BackupInfo, count: string): UnusableError {
  return new UnusableError(`backup ${info.backup} holds ${count} rows, its metadata says ${info.rows}`, 'backup_corrupted');
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

/**
 * Decodes the backup into the emptied table, `pageRows` rows at a time; every row must pass the
 * data rules, ids strictly increasing, and the file may hold no more rows than its metadata says.
 */
async function insertBackupRows(
  tx: WriteTransaction,
  table: TableDef,
  info: BackupInfo,
  reader: AvroFileReader,
  pageRows: number,
): Promise<number> {
  let page: Row[] = [];
  let count = 0;
  let lastId = 0;
  for await (const block of reader.blocks()) {
    if (count + block.count > info.rows) throw rowCountDiffers(info, `more than ${count + block.count - 1}`);
    for (const record of block.records) {
      count++;
      const checked = checkStored(table, record);
      if (!checked.row) {
        throw new UnusableError(
          `row ${count} of backup ${info.backup} breaks the data rules: ${describeReasons(checked.reasons)}`,
          'backup_invalid_row',
        );
      }
      const id = checked.row[0] as number;
      if (id <= lastId) throw new UnusableError(`row ${count} of backup ${info.backup} repeats or reorders id ${id}`, 'backup_invalid_row');
      lastId = id;
      page.push(checked.row);
      if (page.length === pageRows) {
        await tx.insertRows(table, page);
        page = [];
      }
    }
  }
  if (page.length) await tx.insertRows(table, page);
  return count;
}

/** Refuses (409) a restore after which some row would reference a row that does not exist. */
async function refuseBrokenReferences(tx: WriteTransaction, tables: readonly TableDef[]): Promise<void> {
  const links = new Map(tables.flatMap(referencesAround).map((link) => [`${link.child.name}.${link.column}`, link]));
  const broken = [];
  for (const link of links.values()) {
    const orphans = await tx.orphans(link.child, link.column, link.parent, ORPHANS_NAMED);
    if (orphans.rows > 0) broken.push({ table: link.child.name, column: link.column, references: link.parent.name, ...orphans });
  }
  if (broken.length) {
    const summary = broken
      .map(
        (b) =>
          `${b.rows} ${b.table} rows would reference ${b.references} ids that do not exist (${b.column} ${b.ids.map((i) => `${i.id}: ${i.rows} rows`).join(', ')}${b.ids.length === ORPHANS_NAMED ? ', …' : ''})`,
      )
      .join('; ');
    const restored = tables.map((t) => t.name).join(', ');
    throw new ConflictError(`restoring ${restored} would break references: ${summary}; nothing was changed`, 'restore_breaks_references', {
      missing: broken,
    });
  }
}
