/**
 * The one implementation of the Database port, over whichever engine is configured: write
 * serialisation, the transaction's lifecycle, the mapping of runs and rejections and their
 * filters, and the choice between an engine's own record encoding and the store's. Engines
 * (sqlite/, mssql/) supply only what their database needs (Engine.ts).
 */
import { encodedPages, type RecordPage } from '../avro/recordEncoder';
import {
  MAX_YEAR,
  MIN_YEAR,
  meanHires,
  yearBounds,
  type DepartmentHiresRow,
  type DepartmentsAboveMean,
  type HireYear,
  type HiresByQuarterRow,
} from '../metrics';
import { getTable, type Row, type StoredColumn, type TableDef, type TableName } from '../tables';
import { param, rejectionFromStored, rejectionValues, runFromStored, runParams } from './auditRecords';
import { columnOf, REJECTED_ROWS, RUNS } from './auditTables';
import type {
  Database,
  NewRejection,
  Orphans,
  RejectionFilter,
  RejectionRecord,
  RunFilter,
  RunRecord,
  Snapshot,
  WriteOptions,
  WriteTransaction,
} from './Database';
import type { Engine, EngineSnapshot, EngineTransaction, Params } from './Engine';
import { SerialQueue } from './SerialQueue';
import { LISTED_REJECTION_COLUMNS, StoreStatements } from './statements';

/**
 * Rows a transaction's inserts may have sent and not yet seen written: enough to keep the engine
 * busy while the caller prepares the next ones, and a caller that produces rows faster than they
 * are written (a restore) waits instead of queueing them all.
 */
const MAX_IN_FLIGHT_ROWS = 10_000;
/** A dry run's scratch table outlives a process that died; one older than this is dropped at startup. */
const STALE_SCRATCH_MS = 24 * 60 * 60_000;

const ID: StoredColumn = { name: 'id', type: 'id' };
const COUNT: StoredColumn = { name: 'n', type: 'bigint' };
const TEXT: StoredColumn = { name: 'text', type: 'text' };
const JSON_TEXT: StoredColumn = { name: 'ids', type: 'json' };
const DATETIME: StoredColumn = { name: 'datetime', type: 'datetime' };
const JSON_ROWS: StoredColumn = { name: 'rows', type: 'json' };
const HIRES_BY_QUARTER: readonly StoredColumn[] = [TEXT, TEXT, COUNT, COUNT, COUNT, COUNT];
const run = (name: string) => columnOf(RUNS, name);
const DEPARTMENTS_ABOVE_MEAN: readonly StoredColumn[] = [ID, TEXT, COUNT, COUNT, COUNT];
const HIRE_YEARS: readonly StoredColumn[] = [COUNT, COUNT];

/** A write waiting to share the next commit. */
interface SharedWrite {
  readonly work: (tx: WriteTransaction) => Promise<unknown>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class Store implements Database {
  private readonly writes = new SerialQueue();
  private readonly statements: StoreStatements;
  /** The writes that will share the commit queued next, joined by any that arrive before it begins. */
  private sharing: SharedWrite[] | undefined;

  constructor(private readonly engine: Engine) {
    this.statements = new StoreStatements(engine.syntax);
  }

  get dialect(): Engine['dialect'] {
    return this.engine.dialect;
  }

  get capabilities(): Engine['capabilities'] {
    return this.engine.capabilities;
  }

  migrate(): Promise<void> {
    return this.writes.run(async () => {
      await this.engine.migrate();
      // Scratch tables outlive a process that died; older ones are dropped at startup.
      for (const name of await this.engine.scratchTables()) {
        const created = Number(/^scratch_[a-z_]+_(\d+)_[a-z0-9]+$/.exec(name)?.[1]);
        if (created && Date.now() - created > STALE_SCRATCH_MS) await this.engine.dropScratch(name);
      }
    });
  }

  write<T>(work: (tx: WriteTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    if (options.shareCommit && !options.replacing && this.engine.capabilities.sharedCommits) return this.writeShared(work);
    return this.writes.run(async () => {
      const engineTx = await this.engine.begin(options);
      const replacing = new Set(options.replacing?.map((t) => t.name));
      const tx = new StoreTransaction(this.engine, engineTx, this.statements, replacing, () => this.writes.hasWaiting());
      try {
        const result = await work(tx);
        await tx.written();
        tx.end();
        await engineTx.commit();
        return result;
      } catch (error) {
        tx.end();
        await tx.settled();
        await engineTx.rollback().catch(() => undefined); // the original error is the one to report
        // A failed insert can abort the transaction on the server, and the next statement fail for that.
        throw tx.firstFailure ?? error;
      }
    });
  }

  private writeShared<T>(work: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const write: SharedWrite = { work, resolve: resolve as (result: unknown) => void, reject };
      if (this.sharing) return void this.sharing.push(write);
      const group = (this.sharing = [write]);
      void this.writes.run(() => {
        this.sharing = undefined; // writes arriving from now on share the commit after this one
        return this.commitShared(group);
      });
    });
  }

  /** One transaction for the group, each write in its own savepoint: one that fails is undone alone, the rest commit together. */
  private async commitShared(group: readonly SharedWrite[]): Promise<void> {
    const done: { write: SharedWrite; result: unknown }[] = [];
    let engineTx: EngineTransaction | undefined;
    try {
      engineTx = await this.engine.begin({});
      // Savepoints and releases are awaited only at the end: the engine runs a transaction's calls in the order sent.
      const releases: Promise<void>[] = [];
      for (const write of group) {
        const begun = handledLater(engineTx.savepoint!('shared_write'));
        const tx = new StoreTransaction(this.engine, engineTx, this.statements, new Set(), () => this.writes.hasWaiting(), true);
        try {
          const result = await write.work(tx);
          await tx.written();
          await begun;
          tx.end();
          releases.push(handledLater(engineTx.release!('shared_write')));
          done.push({ write, result });
        } catch (error) {
          tx.end();
          await tx.settled();
          write.reject(tx.firstFailure ?? error); // its own error, whatever happens to the others
          await begun;
          await engineTx.rollbackTo!('shared_write');
        }
      }
      await Promise.all(releases);
      await engineTx.commit();
    } catch (error) {
      await engineTx?.rollback().catch(() => undefined); // the original error is the one to report
      for (const write of group) write.reject(error); // a write already rejected keeps its own error
      return;
    }
    for (const { write, result } of done) write.resolve(result);
  }

  async createScratch(table: TableDef): Promise<string> {
    const name = `scratch_${table.name}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
    await this.writes.run(() => this.engine.createScratch(table, name));
    return name;
  }

  dropScratch(name: string): Promise<void> {
    return this.writes.run(() => this.engine.dropScratch(name));
  }

  async countRows(table: TableDef): Promise<number> {
    const [[n]] = await this.engine.query(this.statements.countRows(table), {}, [COUNT]);
    return n as number;
  }

  async openSnapshot(tables: readonly TableDef[]): Promise<Snapshot> {
    const begin = () => this.engine.beginSnapshot(tables);
    return snapshotOf(this.engine, await (this.engine.capabilities.snapshotBetweenWrites ? this.writes.run(begin) : begin()));
  }

  async listRows(table: TableDef, afterId: number, limit: number): Promise<Row[]> {
    const rows = await this.engine.query(
      this.statements.listRows(table),
      { afterId: param(ID, afterId), limit: param(COUNT, limit) },
      table.columns,
    );
    return rows as Row[];
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const rows = await this.engine.query(this.statements.getRun(), { id: param(run('id'), id) }, RUNS.columns);
    return rows.map(runFromStored)[0];
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const text = this.statements.listRuns({
      table: !!filter.table,
      kind: !!filter.kind,
      status: !!filter.status,
      idempotencyKey: !!filter.idempotencyKey,
      after: !!filter.after,
    });
    const rows = await this.engine.query(
      text,
      {
        table_name: param(run('table_name'), filter.table ?? null),
        kind: param(run('kind'), filter.kind ?? null),
        status: param(run('status'), filter.status ?? null),
        idempotency_key: param(run('idempotency_key'), filter.idempotencyKey ?? null),
        after_started_at: param(run('started_at'), filter.after?.startedAt ?? null),
        after_id: param(run('id'), filter.after?.id ?? null),
        limit: param(COUNT, filter.limit),
      },
      RUNS.columns,
    );
    return rows.map(runFromStored);
  }

  async listRejections(filter: RejectionFilter): Promise<RejectionRecord[]> {
    const openIn = filter.open && filter.table ? getTable(filter.table) : undefined;
    const text = this.statements.listRejections({ table: !!filter.table, runId: !!filter.runId, openIn });
    const rows = await this.engine.query(
      text,
      {
        after_id: param(COUNT, filter.afterId),
        table_name: param(run('table_name'), filter.table ?? null),
        run_id: param(run('id'), filter.runId ?? null),
        limit: param(COUNT, filter.limit),
      },
      LISTED_REJECTION_COLUMNS,
    );
    return rows.map(rejectionFromStored);
  }

  async hiresByQuarter(year: number): Promise<HiresByQuarterRow[]> {
    const rows = await this.engine.query(this.engine.metrics.hiresByQuarter, yearParams(year), HIRES_BY_QUARTER);
    return rows.map(([department, job, Q1, Q2, Q3, Q4]) => ({ department, job, Q1, Q2, Q3, Q4 }) as HiresByQuarterRow);
  }

  async hiresByQuarterJson(year: number): Promise<string> {
    const statement = this.engine.metrics.hiresByQuarterJson;
    if (statement === null) return JSON.stringify(await this.hiresByQuarter(year));
    const [[text]] = await this.engine.query(statement, yearParams(year), [JSON_ROWS]);
    return text as string;
  }

  async departmentsAboveMean(year: number): Promise<DepartmentsAboveMean> {
    const rows = await this.engine.query(this.engine.metrics.departmentsAboveMean, yearParams(year), DEPARTMENTS_ABOVE_MEAN);
    const [, , , departments, hires] = rows[0] as number[];
    return {
      hires,
      departments,
      mean: meanHires(hires, departments),
      rows: rows.filter(([id]) => id !== null).map(([id, department, hired]) => ({ id, department, hired }) as DepartmentHiresRow),
    };
  }

  async hireYears(): Promise<HireYear[]> {
    const rows = await this.engine.query(this.engine.metrics.hireYears, {}, HIRE_YEARS);
    // The rules take hires from year 1; the metrics answer for MIN_YEAR to MAX_YEAR only.
    return rows.map(([year, hired]) => ({ year, hired }) as HireYear).filter((y) => y.year >= MIN_YEAR && y.year <= MAX_YEAR);
  }

  async ping(): Promise<void> {
    await this.engine.query('SELECT 1 AS ok', {}, [COUNT]);
  }

  close(): Promise<void> {
    return this.writes.run(() => this.engine.close());
  }
}

/** The promise itself, marked as handled: it is awaited later, and a rejection meanwhile is not an unhandled one. */
function handledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function yearParams(year: number): Params {
  const bounds = yearBounds(year);
  return { year: param(COUNT, year), ...Object.fromEntries(Object.entries(bounds).map(([name, value]) => [name, param(DATETIME, value)])) };
}

function jsonIds(ids: readonly number[]): Params {
  return { ids: param(JSON_TEXT, JSON.stringify(ids)) };
}

/** The port's snapshot over an engine's: records as the engine encodes them, or encoded here from its rows. */
function snapshotOf(engine: Engine, snapshot: EngineSnapshot): Snapshot {
  return {
    rows: (table: TableDef) => snapshot.rows(table),
    records: (table: TableDef): AsyncIterable<RecordPage> =>
      engine.capabilities.parallelSnapshot && snapshot.records ? snapshot.records(table) : encodedPages(table, snapshot.rows(table)),
    close: () => snapshot.close(),
  };
}

/** One write transaction of the store: the port's operations over the engine's, with its inserts pipelined. */
class StoreTransaction implements WriteTransaction {
  /** Inserts sent and not yet settled, with their row counts. */
  private readonly inFlight = new Map<Promise<void>, number>();
  private inFlightRows = 0;
  private failure: { error: unknown } | undefined;
  /** readSnapshot scopes open now. */
  private reading = 0;
  private hasWritten = false;
  private ended = false;

  constructor(
    private readonly engine: Engine,
    private readonly engineTx: EngineTransaction,
    private readonly statements: StoreStatements,
    private readonly replacing: ReadonlySet<TableName>,
    readonly othersWaiting: () => boolean,
    /** Whether it shares its commit: earlier writes of the group are in the transaction, uncommitted. */
    private readonly shared = false,
  ) {}

  async findRows(table: TableDef, ids: readonly number[], scratch?: string): Promise<Map<number, Row>> {
    const found = new Map<number, Row>();
    let lowest = Infinity;
    for (const id of ids) if (id < lowest) lowest = id;
    // A file in id order brings ids above every stored one: a single key lookup answers for them all.
    const [[highest]] = await this.tx.query(this.statements.maxId(table, scratch), {}, [ID]);
    if (highest === null || lowest > (highest as number)) return found;
    for (const row of await this.tx.query(this.statements.findRows(table, scratch), jsonIds(ids), table.columns)) {
      found.set(row[0] as number, row as Row);
    }
    return found;
  }

  async existingIds(table: TableDef, ids: readonly number[]): Promise<Set<number>> {
    const rows = await this.tx.query(this.statements.existingIds(table), jsonIds(ids), [ID]);
    return new Set(rows.map((r) => r[0] as number));
  }

  async insertRows(table: TableDef, rows: readonly Row[], scratch?: string): Promise<void> {
    this.writing();
    if (rows.length === 0) return;
    while (this.inFlightRows >= MAX_IN_FLIGHT_ROWS) await Promise.race(this.inFlight.keys());
    if (this.failure) throw this.failure.error;
    const settled = this.tx.insertRows(table, rows, scratch).then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.inFlight.set(settled, rows.length);
    this.inFlightRows += rows.length;
    void settled.then(() => {
      this.inFlight.delete(settled);
      this.inFlightRows -= rows.length;
    });
  }

  async insertRejections(rejections: readonly NewRejection[]): Promise<void> {
    this.writing();
    if (rejections.length === 0) return;
    const createdAt = new Date().toISOString();
    await this.tx.insertRows(
      REJECTED_ROWS,
      rejections.map((r) => rejectionValues(r, createdAt)),
    );
  }

  async readSnapshot<T>(tables: readonly TableDef[], read: (snapshot: Snapshot) => Promise<T>): Promise<T> {
    if (this.hasWritten) throw new Error("a transaction's snapshot is read before its first write");
    if (this.shared) throw new Error('a write that shares its commit reads no snapshot: the writes before it in the group are not in it');
    this.reading++;
    try {
      const snapshot = await this.tx.beginSnapshot(tables);
      try {
        return await read(snapshotOf(this.engine, snapshot));
      } finally {
        await snapshot.close();
      }
    } finally {
      this.reading--;
    }
  }

  async clearTables(tables: readonly TableDef[]): Promise<void> {
    const undeclared = tables.filter((t) => !this.replacing.has(t.name));
    if (undeclared.length) throw new Error(`clearTables: ${undeclared.map((t) => t.name).join(', ')} not declared in write()'s replacing`);
    this.writing();
    await this.tx.clearTables(tables);
  }

  async dropIndexes(table: TableDef): Promise<void> {
    this.writing();
    await this.tx.dropIndexes(table);
  }

  async buildIndexes(table: TableDef): Promise<void> {
    this.writing();
    await this.tx.buildIndexes(table);
  }

  async orphans(child: TableDef, column: string, parent: TableDef, limit: number): Promise<Orphans> {
    const missing = await this.tx.query(this.statements.orphanIds(child, column, parent), { limit: param(COUNT, limit) }, [ID, COUNT]);
    const ids = missing.map(([id, rows]) => ({ id: id as number, rows: rows as number }));
    if (ids.length === 0) return { ids, rows: 0 };
    const [[rows]] = await this.tx.query(this.statements.orphanRows(child, column, parent), {}, [COUNT]);
    return { ids, rows: rows as number };
  }

  async saveRun(run: RunRecord): Promise<void> {
    this.writing();
    const params = runParams(run);
    await Promise.all([
      this.tx.execute(this.statements.updateRun(), params),
      this.tx.execute(this.statements.insertRunIfMissing(), params),
    ]);
  }

  /** The error of the first insert that failed, if one has. */
  get firstFailure(): unknown {
    return this.failure?.error;
  }

  /** Resolves once every insert has been written; rejects with the first that failed. */
  async written(): Promise<void> {
    await this.settled();
    if (this.failure) throw this.failure.error;
  }

  /** Resolves once every insert has settled, written or not. */
  async settled(): Promise<void> {
    await Promise.all(this.inFlight.keys());
  }

  /**
   * Refuses every call from now on, as the store commits or undoes the write: work that went on
   * after one of its calls failed must not run its next statements in whatever follows.
   */
  end(): void {
    this.ended = true;
  }

  /** The engine's transaction, while the write lasts. */
  private get tx(): EngineTransaction {
    if (this.ended) throw new Error('the write has ended: a call made after it committed or failed is not run');
    return this.engineTx;
  }

  private writing(): void {
    if (this.reading > 0) throw new Error("a transaction writes only once its snapshot has been read (readSnapshot's read has not ended)");
    this.hasWritten = true;
  }
}
