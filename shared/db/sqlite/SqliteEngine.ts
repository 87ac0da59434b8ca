/**
 * The embedded engine: SQLite through better-sqlite3, in WAL mode so that readers see only
 * committed data while a writer works. Writes run on a writer thread (writerWorker.ts), in the
 * order they are sent; reads run here on a read connection.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Row, StoredColumn, StoredTable, TableDef } from '../../tables';
import { WriteLockTimeoutError } from '../../errors';
import type { BeginOptions, Engine, EngineSnapshot, EngineTransaction, Params, StoredValue } from '../Engine';
import { WRITE_LOCK_TIMEOUT_MS } from '../Engine';
import { openConnection } from './connection';
import { QuarterlyHiresTally } from './quarterlyHires';
import { SqliteSnapshot } from './SqliteSnapshot';
import { SQLITE_METRICS, SQLITE_SYNTAX } from './statements';
import { bindings, fromStored } from './values';
import { WriterThread } from './WriterThread';

/** Rows per message to the writer thread: it starts on the first while the rest are sent. */
const INSERT_MESSAGE_ROWS = 1_000;
/** Metrics answers kept until the next commit: one per statement and year asked, at most this many, each of at most MAX_KEPT_CHARS. */
const MAX_KEPT_ANSWERS = 32;
const MAX_KEPT_CHARS = 1 << 20;
const METRICS_STATEMENTS: ReadonlySet<string> = new Set(Object.values(SQLITE_METRICS));

export class SqliteEngine implements Engine {
  readonly dialect = 'sqlite' as const;
  readonly capabilities = {
    bulkInsertChecksForeignKeys: true,
    parallelSnapshot: true,
    snapshotBetweenWrites: true,
    sharedCommits: true,
    countsHiresAsWritten: true,
    loadsDropIndexes: true,
    bulkRows: 2_000,
  };
  readonly syntax = SQLITE_SYNTAX;
  readonly metrics = SQLITE_METRICS;
  private readonly writer: WriterThread;
  private readConnection: BetterSqlite3.Database | undefined;
  private readonly readStatements = new Map<string, BetterSqlite3.Statement>();
  /** Metrics answers as of `keptAt`, SQLite's data_version: it changes with every commit of another connection, this one only reads. */
  private readonly kept = new Map<string, StoredValue[][]>();
  private keptAt: number | undefined;

  constructor(readonly file: string) {
    this.writer = new WriterThread(file);
  }

  async migrate(): Promise<void> {
    await this.writer.call('migrate');
  }

  async begin(options: BeginOptions): Promise<EngineTransaction> {
    await this.writer.call(options.replacing?.length ? 'beginReplacing' : 'begin').catch(busyAsLockTimeout);
    return new SqliteTransaction(this.file, this.writer);
  }

  async query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]> {
    if (!METRICS_STATEMENTS.has(text)) return this.read(text, params, columns);
    // The metrics read counts kept as hires are written; the same answer is read once per commit.
    const version = this.read('PRAGMA data_version', {}, [{ name: 'data_version', type: 'bigint' }])[0][0] as number;
    if (version !== this.keptAt) {
      this.kept.clear();
      this.keptAt = version;
    }
    const key = `${text}\n${JSON.stringify(bindings(params))}`;
    const kept = this.kept.get(key);
    if (kept) return kept.map((row) => [...row]);
    const rows = this.read(text, params, columns);
    if (this.kept.size < MAX_KEPT_ANSWERS && charsOf(rows) <= MAX_KEPT_CHARS)
      this.kept.set(
        key,
        rows.map((row) => [...row]),
      );
    return rows;
  }

  private read(text: string, params: Params, columns: readonly StoredColumn[]): StoredValue[][] {
    let statement = this.readStatements.get(text);
    if (!statement) this.readStatements.set(text, (statement = this.reader().prepare(text).raw()));
    return fromStored(columns, statement.all(bindings(params)) as StoredValue[][]);
  }

  async beginSnapshot(tables: readonly TableDef[]): Promise<EngineSnapshot> {
    // Every read of the snapshot begins while this holds the write lock: no commit falls between them.
    const transaction = await this.begin({});
    let snapshot: EngineSnapshot | undefined;
    try {
      snapshot = await transaction.beginSnapshot(tables);
      await transaction.rollback();
      return snapshot;
    } catch (error) {
      await snapshot?.close();
      await transaction.rollback().catch(() => undefined); // the original error is the one to report
      throw error;
    }
  }

  async createScratch(table: TableDef, name: string): Promise<void> {
    await this.writer.call('createScratch', table.name, name);
  }

  async scratchTables(): Promise<string[]> {
    const found = await this.query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'scratch\\_%' ESCAPE '\\'`, {}, [
      { name: 'name', type: 'string' },
    ]);
    return found.map(([name]) => name as string);
  }

  async dropScratch(name: string): Promise<void> {
    await this.writer.call('dropScratch', name);
  }

  async close(): Promise<void> {
    this.readConnection?.close();
    await this.writer.call('close');
  }

  /** Opened on first use, after migrate() has created the file's schema. */
  private reader(): BetterSqlite3.Database {
    if (!this.readConnection) {
      this.readConnection = openConnection(this.file, true);
      // SQLite's default 2 MB page cache, not better-sqlite3's 16 MB: the cache also bounds the
      // GROUP BY sorter's in-memory runs, and the metrics' sorts are faster with the smaller one.
      // This connection only reads, and WAL invalidates its cache at every commit anyway.
      this.readConnection.pragma('cache_size = -2000');
    }
    return this.readConnection;
  }
}

/**
 * A write transaction on the writer thread: every call is a message, run in the order sent. It
 * tallies the hires it inserts here, where a load or restore leaves time to spare, not on the
 * writer thread, which inserts the rows. Each call changes the tallies as it sends its message,
 * before the answer: in the order the writer runs them, whatever the caller sends meanwhile.
 */
class SqliteTransaction implements EngineTransaction {
  /** The transaction's tally, then one per open savepoint: a savepoint rolled back drops its own. */
  private readonly tallies = [new QuarterlyHiresTally()];

  constructor(
    private readonly file: string,
    private readonly writer: WriterThread,
  ) {}

  async query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]> {
    return fromStored(columns, await this.writer.call('query', text, bindings(params)));
  }

  execute(text: string, params: Params): Promise<number> {
    return this.writer.call('execute', text, bindings(params));
  }

  async insertRows(table: StoredTable, rows: readonly (readonly StoredValue[])[] | readonly Row[], target?: string): Promise<void> {
    const counted = table.name === 'hired_employees' && target === undefined;
    const messages = [];
    for (let start = 0; start < rows.length; start += INSERT_MESSAGE_ROWS) {
      // One flat array per message: a clone of one array, not of one per row.
      const values: StoredValue[] = [];
      for (let i = start; i < Math.min(rows.length, start + INSERT_MESSAGE_ROWS); i++) for (const value of rows[i]) values.push(value);
      messages.push(this.writer.call('insertRows', table.name, values, target));
      if (counted) this.tally().tally(values, rows[start].length);
    }
    if (this.tally().full) messages.push(this.writer.call('addHireCounts', this.tally().take()));
    await Promise.all(messages);
  }

  async dropIndexes(table: TableDef): Promise<void> {
    await this.writer.call('dropIndexes', table.name);
  }

  async buildIndexes(table: TableDef): Promise<void> {
    await this.writer.call('buildIndexes', table.name);
  }

  async clearTables(tables: readonly TableDef[]): Promise<void> {
    const cleared = this.writer.call(
      'clearTables',
      tables.map((t) => t.name),
    );
    if (tables.some((t) => t.name === 'hired_employees')) for (const tally of this.tallies) tally.clear();
    await cleared;
  }

  beginSnapshot(tables: readonly TableDef[]): Promise<EngineSnapshot> {
    return SqliteSnapshot.begin(this.file, this.writer, tables);
  }

  async savepoint(name: string): Promise<void> {
    const begun = this.writer.call('savepoint', name);
    this.tallies.push(new QuarterlyHiresTally());
    await begun;
  }

  async release(name: string): Promise<void> {
    const messages: Promise<void>[] = [this.writer.call('release', name)];
    this.tallies.pop()!.addTo(this.tally());
    if (this.tally().full) messages.push(this.writer.call('addHireCounts', this.tally().take()));
    await Promise.all(messages);
  }

  async rollbackTo(name: string): Promise<void> {
    const undone = this.writer.call('rollbackTo', name);
    this.tallies.pop();
    await undone;
  }

  async commit(): Promise<void> {
    while (this.tallies.length > 1) this.tallies.pop()!.addTo(this.tally()); // a savepoint still open commits with the transaction
    await this.writer.call('commit', this.tally().take());
  }

  private tally(): QuarterlyHiresTally {
    return this.tallies[this.tallies.length - 1];
  }

  async rollback(): Promise<void> {
    await this.writer.call('rollback');
  }
}

/** An answer's size: its strings' characters, and one for every other value. */
function charsOf(rows: readonly (readonly StoredValue[])[]): number {
  let chars = 0;
  for (const row of rows) for (const value of row) chars += typeof value === 'string' ? value.length : 1;
  return chars;
}

/** SQLITE_BUSY once busy_timeout has passed: another connection's write transaction held the lock all that time. */
function busyAsLockTimeout(error: Error & { code?: string }): never {
  throw error.code === 'SQLITE_BUSY' ? new WriteLockTimeoutError(WRITE_LOCK_TIMEOUT_MS) : error;
}
