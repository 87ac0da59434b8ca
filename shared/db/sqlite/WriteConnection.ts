/**
 * SQLite's write connection: every statement that changes the database. It runs on the writer
 * thread (writerWorker.ts), so that inserting a large load overlaps with reading and checking the
 * next rows on the main thread, and never blocks the event loop. Methods are synchronous and take
 * tables by name: they are called through messages.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { NewRejection, Orphans, RunRecord } from '../Database';
import { getTable, type Row, type TableDef, type TableName } from '../../tables';
import { openConnection } from './connection';
import { ADDED_COLUMNS, columnDefinitions, quote, schemaStatements, selectList } from './ddl';
import { upgradeTextDatetimes } from './upgrade';

type Statement = BetterSqlite3.Statement;

/**
 * The writer's page cache. A load inserts into the hire-date index at random places, so the index
 * pages must stay cached between commits. 32 MiB holds most of a 2M-row table's index (about
 * 40 MB) and leaves room in the host's 200 MB budget for a backup or restore run right after a
 * load (SQLite frees the pages, but the allocator keeps them for the thread). 48 MiB made a 2M-row
 * load 5-10% faster, and left too little room.
 */
const WRITER_CACHE_KIB = 32 * 1024;

export class WriteConnection {
  private readonly connection: BetterSqlite3.Database;
  private readonly statements = new Map<string, Statement>();
  private scratchCount = 0;
  /** Set while a transaction begun by beginClearing runs. */
  private foreignKeysOff = false;

  constructor(file: string) {
    this.connection = openConnection(file, false);
    this.connection.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    // Checkpoint every ~40 MB of WAL rather than 4 MB: a large load's commits each rewrite many
    // index pages, and fewer checkpoints copy each page back to the database fewer times.
    this.connection.pragma('wal_autocheckpoint = 10000');
  }

  migrate(): void {
    upgradeTextDatetimes(this.connection);
    this.connection.transaction(() => {
      this.addColumns();
      for (const sql of schemaStatements()) this.connection.exec(sql);
    })();
  }

  /** Adds the columns that tables of an earlier version lack (their indexes follow in the schema statements). */
  private addColumns(): void {
    for (const [table, name, type] of ADDED_COLUMNS) {
      const existing = (this.connection.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      // No table yet: the schema statements create it whole.
      if (existing.length && !existing.includes(name)) this.connection.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    }
  }

  begin(): void {
    this.connection.exec('BEGIN IMMEDIATE');
  }

  /**
   * Begins a transaction by emptying tables, for a restore to refill them, with foreign keys off
   * until the transaction ends. With them on, SQLite deletes the rows one by one, checking the
   * references of each and first collecting every rowid in memory (24 bytes a row: 240 MB for 10
   * million rows); off, it empties a table in one step. The caller checks the references before
   * it commits (see orphans). SQLite changes the setting only outside a transaction, hence here.
   */
  beginClearing(tableNames: readonly TableName[]): void {
    this.connection.pragma('foreign_keys = OFF');
    this.foreignKeysOff = true;
    try {
      this.begin();
    } catch (error) {
      this.restoreForeignKeys();
      throw error;
    }
    for (const name of tableNames) this.connection.exec(`DELETE FROM ${quote(name)}`);
  }

  commit(): void {
    this.connection.exec('COMMIT');
    this.restoreForeignKeys();
  }

  rollback(): void {
    if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
    this.restoreForeignKeys();
  }

  /** Normalised rows of `table`, or of a scratch table, among `ids`. */
  findRows(tableName: TableName, ids: readonly number[], scratch?: string): Row[] {
    const table = getTable(tableName);
    const statement = this.prepared(
      `find\0${scratch ?? table.name}`,
      () => `SELECT ${selectList(table)} FROM ${target(table, scratch)} WHERE id IN (SELECT value FROM json_each(?))`,
    );
    return statement.raw().all(JSON.stringify(ids)) as Row[];
  }

  existingIds(tableName: TableName, ids: readonly number[]): number[] {
    const statement = this.prepared(
      `ids\0${tableName}`,
      () => `SELECT id FROM ${quote(tableName)} WHERE id IN (SELECT value FROM json_each(?))`,
    );
    return statement.pluck().all(JSON.stringify(ids)) as number[];
  }

  insertRows(tableName: TableName, rows: readonly Row[], scratch?: string): void {
    const table = getTable(tableName);
    const statement = this.prepared(
      `insert\0${scratch ?? table.name}`,
      () => `INSERT INTO ${target(table, scratch)} (${selectList(table)}) VALUES (${table.columns.map(() => '?').join(', ')})`,
    );
    for (const row of rows) statement.run(row);
  }

  insertRejections(rejections: readonly NewRejection[]): void {
    const statement = this.prepared(
      'insertRejection',
      () =>
        'INSERT INTO rejected_rows (run_id, table_name, position, raw_text, format, reasons, created_at, raw_sha256, row_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const now = new Date().toISOString();
    for (const r of rejections)
      statement.run(r.runId, r.table, r.position, r.rawText, r.format, JSON.stringify(r.reasons), now, r.rawSha256, r.rowId);
  }

  orphans(childName: TableName, column: string, parentName: TableName, limit: number): Orphans {
    const missing = `${quote(column)} NOT IN (SELECT id FROM ${quote(parentName)})`;
    const ids = this.connection
      .prepare(`SELECT ${quote(column)} AS id, COUNT(*) AS rows FROM ${quote(childName)} WHERE ${missing} GROUP BY 1 ORDER BY 1 LIMIT ?`)
      .all(limit) as { id: number; rows: number }[];
    const rows = ids.length
      ? (this.connection
          .prepare(`SELECT COUNT(*) FROM ${quote(childName)} WHERE ${missing}`)
          .pluck()
          .get() as number)
      : 0;
    return { ids, rows };
  }

  saveRun(run: RunRecord): void {
    this.prepared(
      'saveRun',
      () =>
        `INSERT INTO runs (id, table_name, kind, source, dry_run, status, started_at, heartbeat_at, finished_at,
         received, inserted, skipped, rejected, error, idempotency_key, detail)
       VALUES (@id, @table, @kind, @source, @dryRun, @status, @startedAt, @heartbeatAt, @finishedAt,
         @received, @inserted, @skipped, @rejected, @error, @idempotencyKey, @detail)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, heartbeat_at = excluded.heartbeat_at,
         finished_at = excluded.finished_at, received = excluded.received, inserted = excluded.inserted,
         skipped = excluded.skipped, rejected = excluded.rejected, error = excluded.error, detail = excluded.detail`,
    ).run({ ...run, dryRun: run.dryRun ? 1 : 0, detail: run.detail === null ? null : JSON.stringify(run.detail) });
  }

  createScratch(tableName: TableName): string {
    const name = `scratch_${tableName}_${++this.scratchCount}`;
    this.connection.exec(`CREATE TEMP TABLE ${quote(name)} (${columnDefinitions(getTable(tableName), false)})`);
    return name;
  }

  dropScratch(name: string): void {
    this.connection.exec(`DROP TABLE IF EXISTS temp.${quote(name)}`);
    for (const key of this.statements.keys()) if (key.endsWith(`\0${name}`)) this.statements.delete(key);
  }

  close(): void {
    this.connection.close();
  }

  private restoreForeignKeys(): void {
    if (!this.foreignKeysOff) return;
    this.connection.pragma('foreign_keys = ON');
    this.foreignKeysOff = false;
  }

  private prepared(key: string, sql: () => string): Statement {
    let statement = this.statements.get(key);
    if (!statement) this.statements.set(key, (statement = this.connection.prepare(sql())));
    return statement;
  }
}

function target(table: TableDef, scratch: string | undefined): string {
  return scratch ? `temp.${quote(scratch)}` : quote(table.name);
}
