/**
 * The production engine: Azure SQL (or SQL Server 2022) through mssql.
 *
 * A write transaction holds an application lock (sp_getapplock) until it ends, which serialises
 * writers across every process and instance, as SQLite's write lock does: a batch decides "skip,
 * conflict or insert" from what it reads inside its transaction, and that decision must not be
 * raced by another instance inserting the same ids. Reads run at SNAPSHOT isolation, so writers do
 * not block them; only a restore does, while it drops and adds foreign keys (ALTER TABLE takes a
 * schema lock on the tables involved until it commits).
 */
import sql from 'mssql';
import type { SqlConnection } from '../../config';
import { WriteLockTimeoutError } from '../../errors';
import { getTable, type Row, type StoredColumn, type StoredTable, type TableDef } from '../../tables';
import {
  WRITE_LOCK_TIMEOUT_MS,
  type BeginOptions,
  type Engine,
  type EngineSnapshot,
  type EngineTransaction,
  type Params,
  type StoredValue,
} from '../Engine';
import { SerialQueue } from '../SerialQueue';
import { poolConfig } from './connectionConfig';
import {
  bulkTable,
  createTable,
  dropIndexStatements,
  ifNoTable,
  indexStatements,
  MssqlNames,
  quarterlyHiresView,
  schemaStatements,
} from './ddl';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry';
import { MssqlStatements } from './statements';
import { bind, fromStored } from './values';

const SNAPSHOT_PAGE_ROWS = 5_000;

export interface MssqlOptions {
  /** The schema holding the service's tables: `dbo` in production, a throwaway one in tests. */
  readonly schema?: string;
  readonly retry?: RetryPolicy;
}

export class MssqlEngine implements Engine {
  readonly dialect = 'mssql' as const;
  /**
   * SQL Server's bulk copy checks foreign keys with checkConstraints; Babelfish's skips the
   * triggers that enforce them. Babelfish has no indexed views.
   */
  capabilities = {
    bulkInsertChecksForeignKeys: true,
    parallelSnapshot: false,
    snapshotBetweenWrites: false,
    sharedCommits: false,
    countsHiresAsWritten: true,
    loadsDropIndexes: false,
    bulkRows: 5_000,
  };
  readonly syntax: Engine['syntax'];
  private readonly names: MssqlNames;
  private readonly statements: MssqlStatements;
  private readonly retry: RetryPolicy;
  private pool: Promise<sql.ConnectionPool> | undefined;

  constructor(
    private readonly config: sql.config,
    options: MssqlOptions = {},
  ) {
    this.names = new MssqlNames(options.schema ?? 'dbo');
    this.statements = new MssqlStatements(this.names);
    this.syntax = this.statements.syntax;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  static fromConnection(connection: SqlConnection, options?: MssqlOptions): MssqlEngine {
    return new MssqlEngine(poolConfig(connection), options);
  }

  get metrics(): Engine['metrics'] {
    return this.capabilities.countsHiresAsWritten ? this.statements.countedMetrics : this.statements.scannedMetrics;
  }

  async migrate(): Promise<void> {
    const pool = await this.connected();
    // SNAPSHOT isolation (snapshots, reads) is on by default in Azure SQL, off in a new SQL Server database.
    await this.withRetry(() => pool.request().batch(this.statements.allowSnapshotIsolation));
    const server = await this.withRetry(() => pool.request().query(this.statements.isBabelfish));
    const babelfish = !!server.recordset[0].babelfish;
    this.capabilities = { ...this.capabilities, bulkInsertChecksForeignKeys: !babelfish, countsHiresAsWritten: !babelfish };
    // Under the write lock, so that instances starting together do not race to create the same tables.
    const transaction = await this.begin({});
    try {
      for (const statement of schemaStatements(this.names)) await transaction.batch(statement);
      if (this.capabilities.countsHiresAsWritten)
        for (const statement of quarterlyHiresView(this.names)) await transaction.batch(statement);
      await transaction.commit();
    } catch (error) {
      await transaction.rollback().catch(() => undefined); // the original error is the one to report
      throw error;
    }
  }

  /** Begins a transaction and takes the write lock. Beginning is retried on transient errors: nothing has happened yet. */
  async begin(_options: BeginOptions): Promise<MssqlTransaction> {
    const pool = await this.connected();
    const transaction = new sql.Transaction(pool);
    await this.withRetry(() => transaction.begin(sql.ISOLATION_LEVEL.READ_COMMITTED));
    const locked = new MssqlTransaction(transaction, this.names, this.statements, () => this.beginSnapshot());
    try {
      const lock = await new sql.Request(transaction)
        .input('Resource', sql.NVarChar(255), `${this.names.schema}.writes`)
        .input('LockMode', sql.NVarChar(32), 'Exclusive')
        .input('LockOwner', sql.NVarChar(32), 'Transaction')
        .input('LockTimeout', sql.Int, WRITE_LOCK_TIMEOUT_MS)
        .execute('sp_getapplock');
      if (lock.returnValue < 0) throw new WriteLockTimeoutError(WRITE_LOCK_TIMEOUT_MS);
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      throw error;
    }
    return locked;
  }

  /**
   * A read, at SNAPSHOT isolation: the last committed rows, without waiting for a writer's locks.
   * (READ COMMITTED would wait wherever READ_COMMITTED_SNAPSHOT is off, as in a new SQL Server
   * database; Azure SQL has it on.) The level is set with each read because a pooled connection
   * keeps whatever level its last transaction used. Retried as a whole on transient errors.
   */
  async query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]> {
    const pool = await this.connected();
    const result = await this.withRetry(() => {
      const request = bind(pool.request(), params);
      request.arrayRowMode = true;
      return request.query(`SET TRANSACTION ISOLATION LEVEL SNAPSHOT; ${text}`);
    });
    return fromStored(columns, result.recordset as unknown as unknown[][]);
  }

  /**
   * One SNAPSHOT transaction: every table as of its first read, which happens here, without
   * blocking writers (row versions) or being blocked by them.
   */
  async beginSnapshot(): Promise<EngineSnapshot> {
    const pool = await this.connected();
    const transaction = new sql.Transaction(pool);
    await this.withRetry(() => transaction.begin(sql.ISOLATION_LEVEL.SNAPSHOT));
    try {
      await new sql.Request(transaction).query(`SELECT COUNT(*) AS n FROM ${this.names.table(getTable('departments').name)}`);
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      throw error;
    }
    return new MssqlSnapshot(transaction, this.statements);
  }

  async createScratch(table: TableDef, name: string): Promise<void> {
    // A real table, not a #temp one: a pool gives each transaction whichever connection is free,
    // and a session's #temp table is visible on its own connection only.
    await this.ddl(ifNoTable(this.names, name, createTable(table, this.names, name)));
  }

  async scratchTables(): Promise<string[]> {
    const found = await this.query(
      this.statements.scratchTables(),
      { schema: { type: 'string', value: this.names.schema, maxLength: 128 } },
      [{ name: 'name', type: 'string' }],
    );
    return found.map(([name]) => name as string);
  }

  async dropScratch(name: string): Promise<void> {
    await this.ddl(this.statements.dropTable(name));
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.close();
  }

  /** The pool, connected on first use and kept for the life of the process. */
  private connected(): Promise<sql.ConnectionPool> {
    this.pool ??= this.withRetry(() => {
      const pool = new sql.ConnectionPool(this.config);
      // The pool re-emits some driver errors as events; unheard, an 'error' event would end the process.
      pool.on('error', (error) => console.error('SQL connection pool error:', error));
      return pool.connect();
    }).catch((error) => {
      this.pool = undefined; // the next call tries again
      throw error;
    });
    return this.pool;
  }

  private withRetry<T>(operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, this.retry);
  }

  /** DDL outside a write transaction (scratch tables). Idempotent statements only: retried. */
  private async ddl(text: string): Promise<void> {
    const pool = await this.connected();
    await this.withRetry(() => pool.request().batch(text));
  }
}

/**
 * A write transaction holding the write lock. mssql runs one request at a time on a transaction
 * (a second one fails with EREQINPROG), while the store pipelines its inserts, so requests are
 * queued here, in the order they are made.
 */
class MssqlTransaction implements EngineTransaction {
  /** Statements that add dropped foreign keys back, run before commit. */
  private readonly reenable: string[] = [];
  private readonly requests = new SerialQueue();
  /** Tables whose indexes this transaction dropped: a bulk insert into them follows. */
  private readonly bulkInto = new Set<string>();

  constructor(
    private readonly transaction: sql.Transaction,
    private readonly names: MssqlNames,
    private readonly statements: MssqlStatements,
    private readonly beginSnapshotOutside: () => Promise<EngineSnapshot>,
  ) {}

  async query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]> {
    const result = await this.run((request) => {
      request.arrayRowMode = true;
      return bind(request, params).query(text);
    });
    return fromStored(columns, result.recordset as unknown as unknown[][]);
  }

  async execute(text: string, params: Params): Promise<number> {
    const result = await this.run((request) => bind(request, params).query(text));
    return result.rowsAffected.reduce((sum, n) => sum + n, 0);
  }

  async batch(text: string): Promise<void> {
    await this.run((request) => request.batch(text));
  }

  async insertRows(table: StoredTable, rows: readonly (readonly StoredValue[])[] | readonly Row[], target?: string): Promise<void> {
    // The TDS bulk-load path, checking constraints (foreign keys) as a plain INSERT would; the
    // rows are copied into it now, before the caller can reuse them.
    const bulk = bulkTable(table, this.names, target);
    for (const row of rows) bulk.rows.add(...row);
    // TABLOCK where a restore dropped the indexes: one table lock instead of many row locks.
    const lockTable = target === undefined && this.bulkInto.has(table.name);
    await this.run((request) => request.bulk(bulk, { checkConstraints: true, lockTable } as sql.IBulkOptions));
  }

  async dropIndexes(table: TableDef): Promise<void> {
    for (const statement of dropIndexStatements(this.names, table)) await this.batch(statement);
    this.bulkInto.add(table.name);
  }

  async buildIndexes(table: TableDef): Promise<void> {
    for (const statement of indexStatements(this.names, table)) await this.batch(statement);
  }

  async clearTables(tables: readonly TableDef[]): Promise<void> {
    // SQL Server checks a foreign key at each statement, so the keys to and from the tables are
    // dropped for this transaction and added again, checked, before commit (transactional DDL: a
    // rollback restores them). Babelfish refuses NOCHECK CONSTRAINT; both accept this.
    for (const key of this.statements.foreignKeysAround(tables)) {
      await this.batch(this.statements.dropForeignKey(key));
      this.reenable.push(this.statements.addForeignKey(key));
    }
    for (const table of [...tables].reverse()) await this.batch(this.statements.deleteAll(table));
  }

  /** Its own connection: begun while this transaction holds the lock, it sees what was committed before. */
  beginSnapshot(): Promise<EngineSnapshot> {
    return this.beginSnapshotOutside();
  }

  async commit(): Promise<void> {
    // The server validates every row against the foreign keys added back, and trusts them again, or the commit fails.
    for (const statement of this.reenable) await this.batch(statement);
    // A request still queued would make the commit fail with "request in progress", leaving the
    // transaction and its write lock open.
    await this.requests.idle();
    await this.transaction.commit();
  }

  async rollback(): Promise<void> {
    await this.requests.idle(); // a transaction cannot roll back while a request is in progress
    await this.transaction.rollback();
  }

  private run<T>(operation: (request: sql.Request) => Promise<T>): Promise<T> {
    return this.requests.run(() => operation(new sql.Request(this.transaction)));
  }
}

/**
 * A SNAPSHOT transaction's reads, one table at a time. The rows stream with backpressure: the
 * server is paused while the caller works on a page.
 */
class MssqlSnapshot implements EngineSnapshot {
  constructor(
    private readonly transaction: sql.Transaction,
    private readonly statements: MssqlStatements,
  ) {}

  async *rows(table: TableDef): AsyncGenerator<Row[]> {
    const request = new sql.Request(this.transaction);
    request.arrayRowMode = true;
    const stream = request.toReadableStream({ highWaterMark: SNAPSHOT_PAGE_ROWS });
    // 'done' comes last, after the connection is released, even after an error: only then can
    // the transaction go on or roll back (before, it fails with "request in progress").
    const ended = new Promise((resolve) => request.once('done', resolve));
    void request.query(this.statements.allRows(table)).catch(() => undefined); // errors arrive on the stream
    let finished = false;
    try {
      let page: unknown[][] = [];
      for await (const record of stream) {
        page.push(record as unknown[]);
        if (page.length === SNAPSHOT_PAGE_ROWS) {
          yield fromStored(table.columns, page) as Row[];
          page = [];
        }
      }
      if (page.length) yield fromStored(table.columns, page) as Row[];
      finished = true;
    } finally {
      if (!finished) {
        // The caller stopped early, or the query failed: stop it, and let it end before the transaction goes on.
        request.cancel();
        stream.destroy();
      }
      await ended;
    }
  }

  async close(): Promise<void> {
    await this.transaction.rollback().catch(() => undefined); // read only: nothing to keep
  }
}
