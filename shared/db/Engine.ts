/**
 * What one database engine supplies to the store (Store.ts), and no more: transactions that hold
 * the database's write lock, parameterised statements, bulk insert, snapshot reads, its DDL and
 * the few statements only its SQL can say. Values cross this seam in the store's form (see
 * `StoredValue`); each engine converts them to and from its driver's, by the column's type.
 */
import type { RecordPage } from '../avro/recordEncoder';
import type { Row, StoredColumn, StoredTable, StoredType, TableDef } from '../tables';

/** A value as the store reads and writes it: `datetime` as epoch ms, `timestamp` as ISO 8601 text, `json` as its text. */
export type StoredValue = number | string | boolean | null;

/** A statement's parameter: its value and the column type it is compared with or written to. */
export interface Param {
  readonly type: StoredType;
  readonly value: StoredValue;
  readonly maxLength?: number;
  readonly length?: number;
}

/** Parameters by name: `@name` in the statement's text (both engines' drivers bind that form). */
export type Params = Readonly<Record<string, Param>>;

/** The SQL that differs between engines in the statements the store writes. */
export interface SqlSyntax {
  /** A table of the service's schema, quoted (and qualified where the engine has schemas). */
  table(name: string): string;
  /** A quoted column name. */
  column(name: string): string;
  /** `SELECT <columns> <rest>` returning at most `@<limitParam>` rows. */
  selectLimited(columns: string, rest: string, limitParam: string): string;
  /** A subquery of the integers of a parameter holding a JSON array. */
  idsOf(param: string): string;
}

/**
 * The statements only an engine's own SQL can say well: the metrics, with `@year` and the year's
 * bounds `@first`, `@last`, `@q2`, `@q3`, `@q4` (datetimes, see yearBounds), each using what it needs.
 */
export interface MetricsStatements {
  /** Columns: department, job, Q1, Q2, Q3, Q4. */
  readonly hiresByQuarter: string;
  /**
   * Column: rows, hiresByQuarter's answer as one JSON array of objects keyed by its column names,
   * in its order; null where the store serialises hiresByQuarter's rows instead.
   */
  readonly hiresByQuarterJson: string | null;
  /**
   * Columns: id, department, hired, departments, hires (the year's totals, on every row); one row
   * of totals with the first three null when no department is above the mean.
   */
  readonly departmentsAboveMean: string;
  /** Columns: year, hired; the years that have hires, in order (no year parameters). */
  readonly hireYears: string;
}

/** What an engine does beyond the contract every engine meets. */
export interface EngineCapabilities {
  /**
   * Whether the database itself refuses a bulk-inserted row whose reference does not exist. The
   * service checks references before it inserts either way (rule 5); this is the second line.
   */
  readonly bulkInsertChecksForeignKeys: boolean;
  /** Whether its snapshots encode Avro records themselves, on a thread beside their reads (`EngineSnapshot.records`). */
  readonly parallelSnapshot: boolean;
  /** Whether a snapshot begins only between this store's write transactions (beginSnapshot takes the write lock itself). */
  readonly snapshotBetweenWrites: boolean;
  /**
   * Whether its transactions have savepoints that undo a failed part and leave the rest able to
   * commit, so that writes can share a commit (the savepoint methods of EngineTransaction). Not on
   * Azure SQL, where a failed bulk insert can doom the whole transaction.
   */
  readonly sharedCommits: boolean;
  /**
   * Whether the metrics read counts per (year, quarter, department, job) that the database keeps
   * in each write's own transaction (SQLite: a table the write path keeps; Azure SQL: an indexed
   * view), at the same cost at any number of hires; without, they count the year's hires at each call.
   */
  readonly countsHiresAsWritten: boolean;
  /**
   * Whether a load into a small table may drop its indexes and build them at its end. Not on Azure
   * SQL: its index DDL would block snapshot readers until the load's transaction commits, and fail
   * a backup's snapshot that began before (error 3961). Restores drop them on every engine.
   */
  readonly loadsDropIndexes: boolean;
  /**
   * Rows a load checks and applies at a time, and a restore inserts at a time. SQLite: fewer, so
   * that fewer rows are alive on the main thread at each collection; Azure SQL: more, for fewer
   * round trips and bulk-load streams.
   */
  readonly bulkRows: number;
}

/** Tables read as of one instant. */
export interface EngineSnapshot {
  /** The table's rows in id order, page by page. */
  rows(table: TableDef): AsyncIterable<Row[]>;
  /** The same rows as Avro records, where the engine declares `parallelSnapshot`. */
  records?(table: TableDef): AsyncIterable<RecordPage>;
  close(): Promise<void>;
}

/**
 * A write transaction: it holds the database's write lock from its beginning to its end. A call
 * queues its statements as it is made (one that awaits between them, the rest as it goes on), and
 * they run in the order queued: a caller may make a call before the last one has answered.
 */
export interface EngineTransaction {
  /** Rows of a statement, each value converted to the store's form by the type of the column at its position. */
  query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  execute(text: string, params: Params): Promise<number>;
  /** Inserts rows of `table`'s written columns, in order, into the table or into the scratch table `target`. */
  insertRows(table: StoredTable, rows: readonly (readonly StoredValue[])[], target?: string): Promise<void>;
  /** Drops `table`'s secondary indexes: buildIndexes, or the next migrate, creates them again. */
  dropIndexes(table: TableDef): Promise<void>;
  /** Creates whichever of `table`'s secondary indexes are missing. */
  buildIndexes(table: TableDef): Promise<void>;
  /** Deletes every row of `tables`, which begin's `replacing` named. */
  clearTables(tables: readonly TableDef[]): Promise<void>;
  /** The tables as they were when this transaction began: nothing else can have committed since. */
  beginSnapshot(tables: readonly TableDef[]): Promise<EngineSnapshot>;
  /** Where `rollbackTo` returns; present where the engine declares `sharedCommits`. */
  savepoint?(name: string): Promise<void>;
  /** Keeps the work since the savepoint in the transaction. */
  release?(name: string): Promise<void>;
  /** Undoes the work since the savepoint, and the savepoint itself. */
  rollbackTo?(name: string): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface BeginOptions {
  /**
   * Tables the transaction will empty and refill (a restore): references to and from them are
   * not enforced until it commits, and the caller checks them before it does.
   */
  readonly replacing?: readonly TableDef[];
}

export interface Engine {
  readonly dialect: 'sqlite' | 'mssql';
  /** Known once migrate() has run. */
  readonly capabilities: EngineCapabilities;
  readonly syntax: SqlSyntax;
  readonly metrics: MetricsStatements;
  /** Creates what is missing of the schema, from the table definitions. Idempotent. */
  migrate(): Promise<void>;
  /**
   * Begins a write transaction once the database's write lock is held, waiting for it as long as
   * WRITE_LOCK_TIMEOUT_MS. The store calls it with none of its own transactions open.
   */
  begin(options: BeginOptions): Promise<EngineTransaction>;
  /** Reads the last committed rows, without waiting for writers. */
  query(text: string, params: Params, columns: readonly StoredColumn[]): Promise<StoredValue[][]>;
  /** Tables as of one instant; with `snapshotBetweenWrites`, the store calls it with none of its transactions open. */
  beginSnapshot(tables: readonly TableDef[]): Promise<EngineSnapshot>;
  /** Creates the table `name` with the columns of `table`, without constraints beyond its key. */
  createScratch(table: TableDef, name: string): Promise<void>;
  dropScratch(name: string): Promise<void>;
  /** The names of the scratch tables that exist (`scratch_` and more). */
  scratchTables(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * How long a writer waits for the write lock: far longer than a load's or a batch's transaction
 * (seconds), long enough for a restore of millions of rows; a writer stuck behind more is told so.
 */
export const WRITE_LOCK_TIMEOUT_MS = 5 * 60_000;
