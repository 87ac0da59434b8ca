/**
 * SQLite's write connection: every statement that changes the database. It runs on the writer
 * thread (writerWorker.ts), so that inserting a large load overlaps with reading and checking the
 * next rows on the main thread, and never blocks the event loop. Methods are synchronous and take
 * tables by name: they are called through messages.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { getTable, type TableName } from '../../tables';
import type { StoredValue } from '../Engine';
import { WRITE_LOCK_TIMEOUT_MS } from '../Engine';
import { writtenColumns } from '../auditTables';
import { openConnection } from './connection';
import {
  addColumn,
  createTable,
  dropIndexStatements,
  indexStatements,
  insertStatement,
  quote,
  retiredIndexStatements,
  schemaStatements,
  STORED_TABLES,
} from './ddl';
import {
  addQuarterlyHires,
  CLEAR_QUARTERLY_HIRES,
  COUNTS_AGREE,
  CREATE_QUARTERLY_HIRES,
  DROP_RETIRED_COUNTS,
  QUARTERLY_HIRES_WIDTH,
  REBUILD_QUARTERLY_HIRES,
} from './quarterlyHires';
import type { Bindings } from './values';

type Statement = BetterSqlite3.Statement;

/**
 * The writer's page cache. Rows are appended in id order, and a bulk insert into a small table
 * builds its index once after the rows; an insert into a large table updates the index at random
 * places, which the OS's file cache serves about as fast. The rest of the host's memory budget is
 * left to a backup or restore run right after a load (SQLite frees the pages, but the allocator
 * keeps them for the thread).
 */
const WRITER_CACHE_KIB = 8 * 1024;
/**
 * The page cache while indexes are built: it also sizes the sorter's runs, and runs of SQLite's
 * smallest size (about 1 MB) sort within the CPU's caches.
 */
const SORTER_CACHE_KIB = 1024;
/** Threads that sort the runs meanwhile: the writer reads the table on, and a build leaves the main thread idle. */
const SORTER_THREADS = 2;
/**
 * Where writes keep their statement and savepoint journals and their own sorts: in memory, not
 * spilled to a temp file past 64 KiB. Each journal holds the pages one statement or batch changed,
 * and the writer's sorts are bounded as its reads are, by one batch.
 */
const WRITES_TEMP_STORE = 'MEMORY';
/** Rows per statement, a batch's all: a statement copies each page it changes to its journal first, once. */
const ROWS_PER_STATEMENT = 1000;

export class WriteConnection {
  private readonly connection: BetterSqlite3.Database;
  private readonly statements = new Map<string, Statement>();
  /** Set while a transaction begun by beginReplacing runs. */
  private replacing = false;

  constructor(file: string) {
    this.connection = openConnection(file, false);
    this.connection.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    // A large load's commits each rewrite many index pages; fewer checkpoints copy each page back fewer times.
    this.connection.pragma('wal_autocheckpoint = 10000');
    // BEGIN IMMEDIATE waits this long for another connection's write transaction, in this process or another.
    this.connection.pragma(`busy_timeout = ${WRITE_LOCK_TIMEOUT_MS}`);
    // The writer must create no temp tables: SQLite then refuses to change this setting inside a transaction, as sorting() does.
    this.connection.pragma(`temp_store = ${WRITES_TEMP_STORE}`);
  }

  migrate(): void {
    // IMMEDIATE: holding the write lock before it reads the schema, two processes migrating at once take turns.
    // It builds the indexes a dead load dropped.
    this.sorting(() =>
      this.connection
        .transaction(() => {
          this.addColumns();
          for (const sql of schemaStatements()) this.connection.exec(sql);
          for (const sql of retiredIndexStatements()) this.connection.exec(sql);
          this.connection.exec(DROP_RETIRED_COUNTS);
          this.connection.exec(CREATE_QUARTERLY_HIRES);
          // New, or written to by a version that did not keep it: counted again from the hires.
          const [hires, counted] = this.connection.prepare(COUNTS_AGREE).raw().get() as [number, number];
          if (hires !== counted) {
            this.connection.exec(CLEAR_QUARTERLY_HIRES);
            this.connection.exec(REBUILD_QUARTERLY_HIRES);
          }
        })
        .immediate(),
    );
  }

  /** Adds the columns that tables of an earlier version lack (their indexes follow in the schema statements). */
  private addColumns(): void {
    for (const table of STORED_TABLES) {
      const existing = (this.connection.pragma(`table_info(${quote(table.name)})`) as { name: string }[]).map((c) => c.name);
      // No table yet: the schema statements create it whole.
      if (existing.length === 0) continue;
      for (const column of table.columns)
        if (column.added && !existing.includes(column.name)) this.connection.exec(addColumn(table, column));
    }
  }

  /** Begins a transaction holding the database's write lock (RESERVED), for every connection of every process. */
  begin(): void {
    this.connection.exec('BEGIN IMMEDIATE');
  }

  /**
   * Begins a transaction that empties and refills tables (a restore), with foreign keys off until
   * it ends. With them on, SQLite deletes the rows one by one, checking the references of each and
   * first collecting every rowid in memory; off, it empties a table in one step. The caller checks
   * the references before it commits. SQLite changes the setting only outside a transaction.
   */
  beginReplacing(): void {
    this.replacing = true;
    try {
      this.connection.pragma('foreign_keys = OFF');
      // A restore builds again the indexes it dropped in the same transaction, journaling every page they reuse: as large as the indexes.
      this.connection.pragma('temp_store = FILE');
      this.begin();
    } catch (error) {
      this.endReplacing();
      throw error;
    }
  }

  clearTables(tableNames: readonly TableName[]): void {
    this.assertTransaction();
    if (!this.replacing) throw new Error('clearTables needs a transaction begun by beginReplacing');
    for (const name of tableNames) this.connection.exec(`DELETE FROM ${quote(name)}`);
    if (tableNames.includes('hired_employees')) this.connection.exec(CLEAR_QUARTERLY_HIRES);
  }

  dropIndexes(tableName: TableName): void {
    this.assertTransaction();
    for (const sql of dropIndexStatements(getTable(tableName))) this.connection.exec(sql);
  }

  buildIndexes(tableName: TableName): void {
    this.assertTransaction();
    this.sorting(() => {
      for (const sql of indexStatements(getTable(tableName))) this.connection.exec(sql);
    });
  }

  /**
   * Runs `build` with the sorter's page cache, threads and temp files, and sets them back after.
   * The journals stay where the transaction began them: SQLite chooses at BEGIN.
   */
  private sorting(build: () => void): void {
    const tempStore = this.connection.pragma('temp_store', { simple: true }) as number;
    try {
      this.connection.pragma(`cache_size = -${SORTER_CACHE_KIB}`);
      this.connection.pragma(`threads = ${SORTER_THREADS}`);
      // In memory, the sorter would hold every run of the index at once, on one thread.
      this.connection.pragma('temp_store = FILE');
      build();
    } finally {
      this.connection.pragma(`temp_store = ${tempStore}`);
      this.connection.pragma('threads = 0');
      this.connection.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
    }
  }

  savepoint(name: string): void {
    this.assertTransaction();
    this.connection.exec(`SAVEPOINT ${quote(name)}`);
  }

  release(name: string): void {
    this.assertTransaction();
    this.connection.exec(`RELEASE ${quote(name)}`);
  }

  rollbackTo(name: string): void {
    this.assertTransaction();
    this.connection.exec(`ROLLBACK TO ${quote(name)}`);
    this.connection.exec(`RELEASE ${quote(name)}`);
  }

  /** Commits, adding first the hires' counts the transaction has not added yet (QuarterlyHiresTally.take's values). */
  commit(hireCounts: readonly number[] = []): void {
    this.addHireCounts(hireCounts);
    this.connection.exec('COMMIT');
    this.endReplacing();
  }

  rollback(): void {
    if (this.connection.inTransaction) this.connection.exec('ROLLBACK');
    this.endReplacing();
  }

  /** Adds hires' counts to those stored (QuarterlyHiresTally.take's values). */
  addHireCounts(values: readonly number[]): void {
    this.assertTransaction();
    this.runRows(addQuarterlyHires, values, QUARTERLY_HIRES_WIDTH);
  }

  query(sql: string, bindings: Bindings): StoredValue[][] {
    return this.prepared(sql).raw().all(bindings) as StoredValue[][];
  }

  execute(sql: string, bindings: Bindings): number {
    this.assertTransaction();
    return this.prepared(sql).run(bindings).changes;
  }

  /** Rows of the table's written columns, their values in one flat array, into the table or into the scratch table `target`. */
  insertRows(tableName: string, values: readonly StoredValue[], target?: string): void {
    this.assertTransaction();
    const table = STORED_TABLES.find((t) => t.name === tableName)!;
    const columns = writtenColumns(table).map((c) => c.name);
    this.runRows((rows) => insertStatement(target ?? table.name, columns, rows), values, columns.length);
  }

  /**
   * Runs the statement `sql(rows)` over rows of `width` values in one flat array: ROWS_PER_STATEMENT
   * rows per call, the rest in calls of decreasing powers of two, so that few statements of each
   * kind are prepared and kept, whatever the row counts.
   */
  private runRows(sql: (rows: number) => string, values: readonly unknown[], width: number): void {
    const rows = values.length / width;
    for (let at = 0; at < rows;) {
      const left = rows - at;
      const size = left >= ROWS_PER_STATEMENT ? ROWS_PER_STATEMENT : 2 ** Math.floor(Math.log2(left));
      // Spread, not one array: better-sqlite3 binds arguments directly, an array's elements each through a property lookup.
      this.prepared(sql(size)).run(...values.slice(at * width, (at + size) * width));
      at += size;
    }
  }

  createScratch(tableName: TableName, name: string): void {
    this.connection.exec(createTable(getTable(tableName), name));
  }

  dropScratch(name: string): void {
    this.connection.exec(`DROP TABLE IF EXISTS ${quote(name)}`);
    for (const key of this.statements.keys()) if (key.includes(quote(name))) this.statements.delete(key);
  }

  close(): void {
    this.connection.close();
  }

  /**
   * Every write runs in a transaction begun for it. SQLite rolls a transaction back itself on some
   * errors (a full disk, an I/O error); a statement the caller had already sent must then fail, not
   * run and commit on its own.
   */
  private assertTransaction(): void {
    if (!this.connection.inTransaction) throw new Error('no write transaction is open: it was rolled back, or never begun');
  }

  private endReplacing(): void {
    if (!this.replacing) return;
    this.connection.pragma('foreign_keys = ON');
    this.connection.pragma(`temp_store = ${WRITES_TEMP_STORE}`);
    this.replacing = false;
  }

  /** Statements are prepared once per text: a load runs the same few for every slice. */
  private prepared(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.connection.prepare(sql)));
    return statement;
  }
}
