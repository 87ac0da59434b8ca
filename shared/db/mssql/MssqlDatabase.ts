/**
 * The production database: Azure SQL (or SQL Server 2022) through mssql. The service's logic lives
 * above the Database interface; this class stores and fetches, with the same meaning as the SQLite
 * one. Where the engines differ, the place says why.
 *
 * Writes are serialised across every process and instance by an application lock held for the
 * transaction (sp_getapplock), as SQLite serialises its writers: a batch decides "skip, conflict
 * or insert" from what it reads inside its transaction, and that decision must not be raced by
 * another instance inserting the same ids. Reads run at SNAPSHOT isolation, so writers do not
 * block them; only a restore does, while it drops and adds foreign keys (ALTER TABLE takes a
 * schema lock on the tables involved until it commits).
 */
import sql from 'mssql';
import type { Database, Orphans, RejectionFilter, RejectionRecord, RunFilter, RunRecord, Snapshot, WriteTransaction } from '../Database';
import { encodedPages, type RecordPage } from '../../avro/recordEncoder';
import type { SqlConnection } from '../../config';
import type { Reason } from '../../rules';
import { getTable, type Row, type TableDef } from '../../tables';
import { ServiceError } from '../../errors';
import { yearBounds, type DepartmentHiresRow, type HiresByQuarterRow } from '../../metrics';
import { poolConfig } from './connectionConfig';
import { bulkTable, createTable, ifNoTable, MssqlNames, rejectionsBulkTable, schemaStatements } from './ddl';
import { withRetry, type RetryPolicy, DEFAULT_RETRY } from './retry';
import { fromStored } from './values';
import { MssqlStatements } from './statements';
import { SerialQueue } from '../SerialQueue';

const SNAPSHOT_PAGE_ROWS = 5_000;
/**
 * How long a writer waits for the write lock: far longer than a load's or a batch's transaction
 * (seconds), long enough for a restore of millions of rows; a writer stuck behind more is told so.
 */
export const WRITE_LOCK_TIMEOUT_MS = 5 * 60_000;
/** Scratch tables (dry runs) outlive a process that died; older ones are dropped at startup. */
const STALE_SCRATCH_MS = 24 * 60 * 60_000;

export interface MssqlOptions {
  /** The schema holding the service's tables: `dbo` in production, a throwaway one in tests. */
  readonly schema?: string;
  readonly retry?: RetryPolicy;
}

export class MssqlDatabase implements Database {
  readonly dialect = 'mssql' as const;
  /** SQL Server's bulk copy checks foreign keys with checkConstraints; Babelfish's skips the triggers that enforce them. */
  capabilities = { bulkInsertChecksForeignKeys: true };
  private readonly names: MssqlNames;
  private readonly sql: MssqlStatements;
  private readonly retry: RetryPolicy;
  private pool: Promise<sql.ConnectionPool> | undefined;
  private readonly writers = new SerialQueue();

  constructor(
    private readonly config: sql.config,
    options: MssqlOptions = {},
  ) {
    this.names = new MssqlNames(options.schema ?? 'dbo');
    this.sql = new MssqlStatements(this.names);
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  static fromConnection(connection: SqlConnection, options?: MssqlOptions): MssqlDatabase {
    return new MssqlDatabase(poolConfig(connection), options);
  }

  async migrate(): Promise<void> {
    const pool = await this.connected();
    // SNAPSHOT isolation (backups) is on by default in Azure SQL, off in a new SQL Server database.
    await this.withRetry(() => pool.request().batch(this.sql.allowSnapshotIsolation));
    const server = await this.withRetry(() => pool.request().query(this.sql.isBabelfish));
    this.capabilities = { bulkInsertChecksForeignKeys: !server.recordset[0].babelfish };
    // Under the write lock, so that instances starting together do not race to create the same tables.
    await this.locked(async (state) => {
      for (const statement of schemaStatements(this.names)) await state.run((request) => request.batch(statement));
      await this.dropStaleScratchTables(state);
    });
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return this.locked(async (state) => {
      const result = await work(this.transaction(state));
      // Foreign keys dropped by clearTables are added again: the server validates every row
      // against them and trusts them again, or the transaction fails.
      for (const statement of state.reenable) await state.run((request) => request.batch(statement));
      return result;
    });
  }

  async createScratch(table: TableDef): Promise<string> {
    // A real table, not a #temp one: a pool gives each transaction whichever connection is free,
    // and a session's #temp table is visible on its own connection only.
    const name = `scratch_${table.name}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
    await this.ddl(ifNoTable(this.names, name, createTable(table, this.names, name)));
    return name;
  }

  async dropScratch(name: string): Promise<void> {
    await this.ddl(this.sql.dropTable(name));
  }

  async countRows(table: TableDef): Promise<number> {
    const result = await this.read(this.sql.countRows(table));
    return result.recordset[0].n as number;
  }

  /** The table's rows as of one instant: a snapshot of one table, as plain rows. */
  async *snapshot(table: TableDef): AsyncGenerator<Row[]> {
    const snapshot = await this.beginSnapshot();
    try {
      yield* snapshot.rows(table);
    } finally {
      await snapshot.close();
    }
  }

  openSnapshot(): Promise<Snapshot> {
    return this.beginSnapshot();
  }

  /**
   * One SNAPSHOT transaction: every table as of its first read, which happens here, without
   * blocking writers (row versions) or being blocked by them.
   */
  private async beginSnapshot(): Promise<MssqlSnapshot> {
    const pool = await this.connected();
    const transaction = new sql.Transaction(pool);
    await this.withRetry(() => transaction.begin(sql.ISOLATION_LEVEL.SNAPSHOT));
    try {
      await new sql.Request(transaction).query(this.sql.countRows(getTable('departments')));
    } catch (error) {
      await transaction.rollback().catch(() => undefined);
      throw error;
    }
    return new MssqlSnapshot(transaction, this.sql);
  }

  async listRows(table: TableDef, afterId: number, limit: number): Promise<Row[]> {
    const result = await this.read(
      this.sql.listRows(table),
      (request) => request.input('afterId', sql.Int, afterId).input('limit', sql.Int, limit),
      true,
    );
    return (result.recordset as unknown as unknown[][]).map((record) => fromStored(table, record));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const result = await this.read(this.sql.getRun(), (request) => request.input('id', sql.NVarChar(36), id));
    return (result.recordset as StoredRun[]).map(runFromStored)[0];
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const result = await this.read(
      this.sql.listRuns({
        table: !!filter.table,
        kind: !!filter.kind,
        status: !!filter.status,
        idempotencyKey: !!filter.idempotencyKey,
        after: !!filter.after,
      }),
      (request) =>
        request
          .input('table', sql.NVarChar(128), filter.table ?? null)
          .input('kind', sql.NVarChar(16), filter.kind ?? null)
          .input('status', sql.NVarChar(16), filter.status ?? null)
          .input('idempotencyKey', sql.NVarChar(200), filter.idempotencyKey ?? null)
          .input('afterStartedAt', sql.DateTime2(3), filter.after ? new Date(filter.after.startedAt) : null)
          .input('afterId', sql.NVarChar(36), filter.after?.id ?? null)
          .input('limit', sql.Int, filter.limit),
    );
    return (result.recordset as StoredRun[]).map(runFromStored);
  }

  async listRejections(filter: RejectionFilter): Promise<RejectionRecord[]> {
    const result = await this.read(
      this.sql.listRejections({ table: filter.table, runId: !!filter.runId, open: !!filter.open }),
      (request) =>
        request
          .input('afterId', sql.BigInt, filter.afterId)
          .input('limit', sql.Int, filter.limit)
          .input('table', sql.NVarChar(128), filter.table ?? null)
          .input('runId', sql.NVarChar(36), filter.runId ?? null),
    );
    return result.recordset.map((r) => ({
      // BIGINT arrives as a string; rejection ids stay far below 2^53.
      id: Number(r.id),
      runId: r.run_id,
      table: r.table_name,
      position: Number(r.position),
      rawText: r.raw_text,
      format: r.format,
      reasons: JSON.parse(r.reasons) as Reason[],
      createdAt: r.created_at.toISOString(),
    }));
  }

  async hiresByQuarter(year: number): Promise<HiresByQuarterRow[]> {
    const result = await this.read(this.sql.hiresByQuarter(), (request) => yearInputs(request, year));
    return result.recordset;
  }

  async departmentsAboveMean(year: number): Promise<DepartmentHiresRow[]> {
    const result = await this.read(this.sql.departmentsAboveMean(), (request) => yearInputs(request, year));
    return result.recordset;
  }

  async ping(): Promise<void> {
    await this.read('SELECT 1 AS ok');
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

  /**
   * A read, at SNAPSHOT isolation: the last committed rows, without waiting for a writer's locks.
   * (READ COMMITTED would wait wherever READ_COMMITTED_SNAPSHOT is off, as in a new SQL Server
   * database; Azure SQL has it on.) The level is set with each read because a pooled connection
   * keeps whatever level its last transaction used. Retried as a whole on transient errors.
   */
  private async read(text: string, bind: (request: sql.Request) => sql.Request = (request) => request, arrayRowMode = false) {
    const pool = await this.connected();
    return this.withRetry(() => {
      const request = bind(pool.request());
      request.arrayRowMode = arrayRowMode;
      return request.query(`SET TRANSACTION ISOLATION LEVEL SNAPSHOT; ${text}`);
    });
  }

  /** DDL outside a write transaction (scratch tables). Idempotent statements only: retried. */
  private async ddl(text: string): Promise<void> {
    const pool = await this.connected();
    await this.withRetry(() => pool.request().batch(text));
  }

  /**
   * A transaction holding the write lock. Beginning it is retried on transient errors (nothing
   * has happened yet); it commits if `work` resolves and rolls back if it throws.
   */
  private locked<T>(work: (state: TransactionState) => Promise<T>): Promise<T> {
    // One writer per process waits for the lock on the server; the others wait here, without
    // holding one of the pool's connections, which reads need.
    return this.writers.run(async () => {
      const pool = await this.connected();
      const transaction = new sql.Transaction(pool);
      await this.withRetry(() => transaction.begin(sql.ISOLATION_LEVEL.READ_COMMITTED));
      const state = new TransactionState(transaction);
      let result: T;
      try {
        const lock = await new sql.Request(transaction)
          .input('Resource', sql.NVarChar(255), `${this.names.schema}.writes`)
          .input('LockMode', sql.NVarChar(32), 'Exclusive')
          .input('LockOwner', sql.NVarChar(32), 'Transaction')
          .input('LockTimeout', sql.Int, WRITE_LOCK_TIMEOUT_MS)
          .execute('sp_getapplock');
        if (lock.returnValue < 0) {
          throw new ServiceError(
            503,
            'write_lock_timeout',
            `another write has held the database for over ${WRITE_LOCK_TIMEOUT_MS / 60_000} minutes (a restore, or a load on another instance); nothing was written: try again`,
          );
        }
        result = await work(state);
        // A request still queued would make the commit fail with "request in progress", leaving
        // the transaction and its write lock open.
        await state.idle();
        await transaction.commit();
      } catch (error) {
        await state.idle();
        await transaction.rollback().catch(() => undefined); // the original error is the one to report
        throw error;
      }
      return result;
    });
  }

  private async dropStaleScratchTables(state: TransactionState): Promise<void> {
    const result = await state.run((request) =>
      request.input('schema', sql.NVarChar(128), this.names.schema).query(this.sql.scratchTables()),
    );
    for (const { name } of result.recordset as { name: string }[]) {
      const created = Number(/_(\d+)_[a-z0-9]+$/.exec(name)?.[1]);
      if (created && Date.now() - created > STALE_SCRATCH_MS) await state.run((request) => request.batch(this.sql.dropTable(name)));
    }
  }

  private transaction(state: TransactionState): WriteTransaction {
    const { names, sql: statements } = this;
    return {
      findRows: async (table, ids, scratch) => {
        const result = await state.run((request) => {
          request.arrayRowMode = true;
          return request.input('ids', sql.NVarChar(sql.MAX), JSON.stringify(ids)).query(statements.findRows(table, scratch));
        });
        const found = new Map<number, Row>();
        for (const record of result.recordset as unknown as unknown[][]) {
          const row = fromStored(table, record);
          found.set(row[0] as number, row);
        }
        return found;
      },
      existingIds: async (table, ids) => {
        const result = await state.run((request) =>
          request.input('ids', sql.NVarChar(sql.MAX), JSON.stringify(ids)).query(statements.existingIds(table)),
        );
        return new Set(result.recordset.map((r: { id: number }) => r.id));
      },
      insertRows: async (table, rows, scratch) => {
        if (rows.length === 0) return;
        // The TDS bulk-load path, checking constraints (foreign keys) as a plain INSERT would.
        const bulk = bulkTable(table, names, scratch);
        for (const row of rows) bulk.rows.add(...row);
        await state.run((request) => request.bulk(bulk, { checkConstraints: true }));
      },
      insertRejections: async (rejections) => {
        if (rejections.length === 0) return;
        const bulk = rejectionsBulkTable(names);
        const now = new Date();
        for (const r of rejections)
          bulk.rows.add(r.runId, r.table, r.position, r.rawText, r.format, JSON.stringify(r.reasons), now, r.rawSha256, r.rowId);
        await state.run((request) => request.bulk(bulk, { checkConstraints: true }));
      },
      openSnapshot: () => this.beginSnapshot(), // its own connection: it sees what was committed before this transaction's lock
      clearTables: async (tables) => {
        // SQL Server checks a foreign key at each statement, so the keys to and from the tables
        // are dropped for this transaction and added again, checked, before commit (transactional
        // DDL: a rollback restores them). Babelfish refuses NOCHECK CONSTRAINT; both accept this.
        for (const key of statements.foreignKeysAround(tables)) {
          await state.run((request) => request.batch(statements.dropForeignKey(key)));
          state.reenable.push(statements.addForeignKey(key));
        }
        for (const table of [...tables].reverse()) await state.run((request) => request.batch(statements.deleteAll(table)));
      },
      orphans: async (child, column, parent, limit): Promise<Orphans> => {
        const result = await state.run((request) =>
          request.input('limit', sql.Int, limit).query(statements.orphans(child, column, parent)),
        );
        const [missing, [{ n }]] = result.recordsets as unknown as [{ id: number; row_count: number }[], { n: number }[]];
        const ids = missing.map((m) => ({ id: m.id, rows: m.row_count }));
        return { ids, rows: ids.length ? n : 0 };
      },
      saveRun: async (run) => {
        await state.run((request) =>
          request
            .input('id', sql.NVarChar(36), run.id)
            .input('table', sql.NVarChar(128), run.table)
            .input('kind', sql.NVarChar(16), run.kind)
            .input('source', sql.NVarChar(2000), run.source)
            .input('dryRun', sql.Bit, run.dryRun)
            .input('status', sql.NVarChar(16), run.status)
            .input('startedAt', sql.DateTime2(3), new Date(run.startedAt))
            .input('heartbeatAt', sql.DateTime2(3), new Date(run.heartbeatAt))
            .input('finishedAt', sql.DateTime2(3), run.finishedAt === null ? null : new Date(run.finishedAt))
            .input('received', sql.BigInt, run.received)
            .input('inserted', sql.BigInt, run.inserted)
            .input('skipped', sql.BigInt, run.skipped)
            .input('rejected', sql.BigInt, run.rejected)
            .input('error', sql.NVarChar(sql.MAX), run.error)
            .input('idempotencyKey', sql.NVarChar(200), run.idempotencyKey)
            .input('detail', sql.NVarChar(sql.MAX), run.detail === null ? null : JSON.stringify(run.detail))
            .query(statements.saveRun()),
        );
      },
      othersWaiting: () => this.writers.hasWaiting(),
    };
  }
}

/**
 * One write transaction's connection. mssql runs one request at a time on a transaction (a second
 * one fails with EREQINPROG), while the service issues some concurrently (reference lookups), so
 * requests are queued here.
 */
class TransactionState {
  /** Statements that add dropped foreign keys back, run before commit. */
  readonly reenable: string[] = [];
  private readonly requests = new SerialQueue();

  constructor(private readonly transaction: sql.Transaction) {}

  run<T>(operation: (request: sql.Request) => Promise<T>): Promise<T> {
    return this.requests.run(() => operation(new sql.Request(this.transaction)));
  }

  /** Waits for requests still running: a transaction cannot roll back while one is in progress. */
  idle(): Promise<void> {
    return this.requests.idle();
  }
}

/** A row of the runs table as mssql returns it: DATETIME2 as Date, BIT as boolean, BIGINT as string. */
interface StoredRun {
  id: string;
  table_name: RunRecord['table'];
  kind: RunRecord['kind'];
  source: string;
  dry_run: boolean;
  status: RunRecord['status'];
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  received: string;
  inserted: string;
  skipped: string;
  rejected: string;
  error: string | null;
  idempotency_key: string | null;
  detail: string | null;
}

function runFromStored(r: StoredRun): RunRecord {
  return {
    id: r.id,
    table: r.table_name,
    kind: r.kind,
    source: r.source,
    dryRun: r.dry_run,
    status: r.status,
    startedAt: r.started_at.toISOString(),
    heartbeatAt: r.heartbeat_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    // BIGINT arrives as a string; counts stay far below 2^53.
    received: Number(r.received),
    inserted: Number(r.inserted),
    skipped: Number(r.skipped),
    rejected: Number(r.rejected),
    error: r.error,
    idempotencyKey: r.idempotency_key,
    detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>),
  };
}

/**
 * A SNAPSHOT transaction's reads, one table at a time. The rows stream with backpressure: the
 * server is paused while the caller works on a page.
 */
class MssqlSnapshot implements Snapshot {
  constructor(
    private readonly transaction: sql.Transaction,
    private readonly statements: MssqlStatements,
  ) {}

  records(table: TableDef): AsyncIterable<RecordPage> {
    return encodedPages(table, this.rows(table));
  }

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
      let page: Row[] = [];
      for await (const record of stream) {
        page.push(fromStored(table, record as unknown[]));
        if (page.length === SNAPSHOT_PAGE_ROWS) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
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

function yearInputs(request: sql.Request, year: number): sql.Request {
  const bounds = yearBounds(year);
  for (const [name, value] of Object.entries(bounds)) request.input(name, sql.DateTime2(3), new Date(value));
  return request;
}
