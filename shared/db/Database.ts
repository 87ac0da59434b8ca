/**
 * The service's database port: what the logic above it (what to insert, skip or reject; what a
 * run is) may ask of a database, as contracts that every engine meets. One store implements it
 * (Store.ts) over the engine configured: SQLite (`sqlite/`), the embedded default, or Azure SQL
 * (`mssql/`), the production one.
 */
import type { Reason } from '../rules';
import type { Row, TableDef, TableName } from '../tables';
import type { DepartmentsAboveMean, HireYear, HiresByQuarterRow } from '../metrics';
import type { RecordPage } from '../avro/recordEncoder';
import type { EngineCapabilities } from './Engine';

export const RUN_KINDS = ['batch', 'load', 'restore'] as const;
export type RunKind = (typeof RUN_KINDS)[number];
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One ingest request (a batch), one file (a load) or one table's restore, as stored. */
export interface RunRecord {
  readonly id: string;
  readonly table: TableName;
  readonly kind: RunKind;
  /** Where the rows came from: `json`, `csv`, or `blob:<path>`. */
  readonly source: string;
  readonly dryRun: boolean;
  status: RunStatus;
  readonly startedAt: string;
  /** Updated with every committed chunk, so a run whose process died can be told apart from a slow one. */
  heartbeatAt: string;
  finishedAt: string | null;
  received: number;
  inserted: number;
  skipped: number;
  rejected: number;
  error: string | null;
  /** The client's Idempotency-Key, for a request that must not run twice (a restore). */
  readonly idempotencyKey: string | null;
  /** What a restore did (its backup, safety backup, rows before and after, who asked, its response), as JSON. */
  detail: Record<string, unknown> | null;
  /** A load from a blob: the ETag of the version it reads, and its size in bytes. */
  readonly blobEtag: string | null;
  readonly bytesTotal: number | null;
  /** Where a load stands as of its last commit, written in the same commit as its rows. */
  checkpoint: LoadCheckpoint | null;
  /** The worker that holds the run, until when: a run is worked on by one worker at a time. */
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  /** Invocations of workers that took the run. */
  attempts: number | null;
  /** Asked to stop: the worker stops at its next commit. */
  cancelRequested: boolean | null;
}

/** What a load needs to go on from its last commit exactly as one pass would (see shared/csv.ts CsvPosition). */
export interface LoadCheckpoint {
  readonly offset: number;
  readonly line: number;
  readonly first: boolean;
  readonly fixFormat: boolean;
  readonly skipping: boolean;
  /** The file was decoded from another charset: a resumed read decodes it from its start and skips `offset` bytes. */
  readonly transcoded?: boolean;
  /** A dry run's scratch table, kept between invocations. */
  readonly scratch?: string;
}

export interface NewRejection {
  readonly runId: string;
  readonly table: TableName;
  /** The CSV line, or the 1-based index in a JSON array. */
  readonly position: number;
  /** The row exactly as received. */
  readonly rawText: string;
  /** How `rawText` is written: a CSV line, or a JSON value. */
  readonly format: 'csv' | 'json';
  readonly reasons: readonly Reason[];
  /** SHA-256 of `rawText`: rejections of the same row text are one open rejection. */
  readonly rawSha256: string;
  /** The row's id, where it had a valid one that its table did not hold yet: a later insert of it resolves the rejection. */
  readonly rowId: number | null;
}

export interface Orphans {
  readonly ids: { id: number; rows: number }[];
  /** Rows of the child table, in all, whose reference has no parent. */
  readonly rows: number;
}

export interface RunFilter {
  readonly table?: TableName;
  readonly kind?: RunKind;
  readonly status?: RunStatus;
  readonly idempotencyKey?: string;
  /** Keyset paging: the runs listed after this one (older, or as old with a larger id). */
  readonly after?: { readonly startedAt: string; readonly id: string };
  readonly limit: number;
}

export interface RejectionRecord extends Omit<NewRejection, 'rawSha256' | 'rowId'> {
  readonly id: number;
  readonly createdAt: string;
}

export interface RejectionFilter {
  readonly table?: TableName;
  readonly runId?: string;
  /** Keyset paging: rejections with a larger id than this. */
  readonly afterId: number;
  /**
   * Only the open ones: the newest rejection of each distinct row text of the table, unless its
   * id has since been inserted (with `table`).
   */
  readonly open?: boolean;
  readonly limit: number;
}

/** Several tables read as of one instant, each table once, one table at a time, while writes go on; close() ends the reads. */
export interface Snapshot {
  /** The table's rows in id order, page by page. */
  rows(table: TableDef): AsyncIterable<Row[]>;
  /** The table's rows in id order, encoded as Avro records of its backup schema (shared/avro/recordEncoder.ts). */
  records(table: TableDef): AsyncIterable<RecordPage>;
  close(): Promise<void>;
}

/**
 * What a write transaction can do. Everything in one transaction commits or rolls back together.
 * A call's first statement is queued as the call is made, and statements run in the order queued.
 */
export interface WriteTransaction {
  /**
   * The stored rows of `table` whose ids are among `ids`, normalised. With `scratch`, the rows of
   * that scratch table instead (see `Database.createScratch`).
   */
  findRows(table: TableDef, ids: readonly number[], scratch?: string): Promise<Map<number, Row>>;
  /** Which of `ids` exist in `table`. */
  existingIds(table: TableDef, ids: readonly number[]): Promise<Set<number>>;
  /**
   * Inserts normalised rows that the caller has checked: new ids, existing references. May resolve
   * before the rows are written, so that the caller prepares the next rows meanwhile; later calls
   * in the transaction see them, and a failure surfaces when the transaction ends (write() then
   * rolls back and rejects).
   */
  insertRows(table: TableDef, rows: readonly Row[], scratch?: string): Promise<void>;
  insertRejections(rejections: readonly NewRejection[]): Promise<void>;
  /**
   * Reads `tables` exactly as they are before this transaction writes anything, no other write
   * committing meanwhile: what a restore replaces, for its safety backup. Before the first write
   * only; the transaction cannot write until `read` has ended.
   */
  readSnapshot<T>(tables: readonly TableDef[], read: (snapshot: Snapshot) => Promise<T>): Promise<T>;
  /**
   * Deletes every row of `tables`, for a restore to refill them; the tables must be declared in
   * write()'s `replacing`. References to and from them are not enforced again until the
   * transaction ends, so the caller checks them before it commits (see `orphans`).
   */
  clearTables(tables: readonly TableDef[]): Promise<void>;
  /**
   * Drops `table`'s secondary indexes before many rows are inserted into it: building an index
   * once, after, costs far less than keeping it row by row. Reads stay correct, only slower;
   * `buildIndexes`, or the next migrate, creates them again.
   */
  dropIndexes(table: TableDef): Promise<void>;
  /** Creates whichever of `table`'s secondary indexes are missing. */
  buildIndexes(table: TableDef): Promise<void>;
  /** Values of `child.column` with no row in `parent`: up to `limit` of them with how many rows use each, and the total. */
  orphans(child: TableDef, column: string, parent: TableDef, limit: number): Promise<Orphans>;
  /** Inserts or updates the run. */
  saveRun(run: RunRecord): Promise<void>;
  /** Whether another write of this store waits for this transaction to end: a long one (a load) commits early to let it in. */
  othersWaiting(): boolean;
}

export interface WriteOptions {
  /** Tables the transaction empties and refills (a restore), with clearTables. */
  readonly replacing?: readonly TableDef[];
  /**
   * The work is short and may share its commit with other such writes queued meanwhile, each in
   * a savepoint of its own: it still commits all or nothing, and its failure undoes only its own
   * work. Where the engine has no `sharedCommits`, it runs as a write of its own.
   */
  readonly shareCommit?: boolean;
}

export type DatabaseCapabilities = EngineCapabilities;

export interface Database {
  readonly dialect: 'sqlite' | 'mssql';
  /** Known once migrate() has run. */
  readonly capabilities: DatabaseCapabilities;
  /** Creates what is missing of the schema. Idempotent: runs at every start. */
  migrate(): Promise<void>;
  /**
   * Runs `work` in one write transaction: committed if it resolves, rolled back if it throws.
   * Write transactions run one at a time, whichever store of the database runs them, and never
   * see each other's uncommitted rows.
   */
  write<T>(work: (tx: WriteTransaction) => Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * A new table with the columns of `table`, for a dry run to remember the rows it would have
   * inserted without touching the real table. It lasts until dropped, across processes (a dry
   * run resumed elsewhere goes on with it), or a day if its process died.
   */
  createScratch(table: TableDef): Promise<string>;
  dropScratch(name: string): Promise<void>;
  countRows(table: TableDef): Promise<number>;
  /** Begins a read of `tables` as of one instant between write transactions, for a backup: rows are read as the caller asks for them. */
  openSnapshot(tables: readonly TableDef[]): Promise<Snapshot>;
  /** Rows ordered by id, with ids greater than `afterId`. */
  listRows(table: TableDef, afterId: number, limit: number): Promise<Row[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /**
   * The newest runs first (by start time, ties by id). How a client finds a load whose response it
   * never received, e.g. one cut off by a gateway's timeout while the load went on.
   */
  listRuns(filter: RunFilter): Promise<RunRecord[]>;
  listRejections(filter: RejectionFilter): Promise<RejectionRecord[]>;
  /**
   * Hires in `year` per department and job, by quarter, counted in SQL. The year and quarter of a
   * hire are those of its UTC instant. One row per (department id, job id) with at least one hire
   * that year, ordered by department then job name, case-insensitively, ties by exact text.
   */
  hiresByQuarter(year: number): Promise<HiresByQuarterRow[]>;
  /** hiresByQuarter's rows as a JSON array, serialised by the engine where it can. */
  hiresByQuarterJson(year: number): Promise<string>;
  /**
   * The departments whose hires in `year` are strictly more than the mean over all departments
   * (those without hires that year count as 0), computed exactly in SQL. Ordered by hires
   * descending, then id; with the year's hires and the number of departments that make the mean,
   * read in the same statement.
   */
  departmentsAboveMean(year: number): Promise<DepartmentsAboveMean>;
  /** The years that have hires (of the hires' UTC instants), in order, with their number of hires. */
  hireYears(): Promise<HireYear[]>;
  /** Throws if the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
