import type { Database, LoadCheckpoint, RunRecord } from '../db';
import { readCsvFrom, START_OF_FILE, type CsvPosition } from '../csv';
import { claimLoad } from '../backup/restoresInProgress';
import { ServiceError } from '../errors';
import type { TableDef } from '../tables';
import { applyRows, type Rejection, type RejectionLogger } from './applyRows';
import { formatGuess } from './reasonSummary';
import { finishRun, newRun, runCounts } from './runs';
import { Lease } from './Lease';
import { LeaseLostError } from './LeaseLostError';
import { fromCsvRecord, type SourceRow } from './SourceRow';

/** A slice's characters, for rows far longer than any valid one (each may be up to MAX_RECORD_CHARS); its rows are the engine's `bulkRows`. */
const SLICE_CHARS = 16 * 1024 * 1024;
/**
 * A load's transaction commits after TRANSACTION_ROWS rows or TRANSACTION_MS, or after
 * WAITING_WRITE_MS when another write of this store waits for it (a batch, or a backup
 * beginning), or as soon as the input is not ready. Each commit rewrites the index pages it
 * touched, so commits must be few for throughput; the bounds keep the work a crash loses, and the
 * write-ahead log a transaction grows, in proportion. Writers of other processes or instances wait
 * unseen, up to TRANSACTION_MS.
 */
const TRANSACTION_ROWS = 1_000_000;
const TRANSACTION_MS = 10_000;
const WAITING_WRITE_MS = 2_000;

/** Whether a load's transaction commits now rather than take its next slice. */
export function transactionFull(rows: number, elapsedMs: number, othersWaiting: boolean): boolean {
  return rows >= TRANSACTION_ROWS || elapsedMs >= TRANSACTION_MS || (othersWaiting && elapsedMs >= WAITING_WRITE_MS);
}
/**
 * A load whose first slice is full, into a table of fewer rows than this, drops the table's indexes
 * and builds them when it ends: building an index once costs far less than keeping it row by row.
 */
const DROP_INDEXES_BELOW_ROWS = 100_000;
/** How long a transaction waits for more input before it commits instead. */
const INPUT_GRACE_MS = 20;

export interface LoadOptions {
  /** `csv` for an uploaded body, `blob:<path>` for a file in the historic container. */
  readonly source: string;
  /** Validate and count, store the run and its rejections, but leave the table untouched. */
  readonly dryRun: boolean;
  readonly log?: RejectionLogger;
  /** How long the run's lease lasts unless renewed (Lease.ts). */
  readonly leaseMs?: number;
}

/**
 * Loads a CSV file of any size from a byte stream, in one go. If the process dies midway, the
 * committed transactions stay and the database is consistent; loading the same file again skips
 * what is there and inserts the rest, giving exactly what one clean load gives.
 */
export async function loadCsv(db: Database, table: TableDef, body: AsyncIterable<Uint8Array>, options: LoadOptions) {
  const run = newRun(table.name, 'load', options.source, options.dryRun);
  // Claimed as the run is queued, in the same turn: a restore queued later sees this load running.
  const release = claimLoad(db, table, run.id);
  try {
    const lease = new Lease(db, run.id, `load:${run.id}`, options.leaseMs);
    lease.hold(run);
    await db.write((tx) => tx.saveRun(run));
    const scratch = options.dryRun ? await db.createScratch(table) : undefined;
    let failure: Error | undefined;
    let committed: RunRecord;
    try {
      ({ committed, failure } = await applyFile(db, table, run, rowSlices(table, body, START_OF_FILE, db.capabilities.bulkRows), {
        scratch,
        log: options.log,
        lease,
      }));
    } finally {
      if (scratch) await db.dropScratch(scratch);
    }
    const final = failure ? committed : run;
    finishRun(final, failure && new Error(stoppedBecause(failure, final)));
    lease.release(final);
    await db.write((tx) => tx.saveRun(final));
    if (failure instanceof ServiceError) {
      throw new ServiceError(failure.kind, failure.code, failure.message, { ...runCounts(final), status: final.status });
    }
    if (failure) throw failure;
    return { ...runCounts(final), dryRun: final.dryRun, status: final.status };
  } finally {
    release();
  }
}

export interface ApplyOptions {
  readonly scratch?: string;
  readonly log?: RejectionLogger;
  readonly lease: Lease;
  /** Stop after the first commit past this instant (epoch ms): a worker's time budget. */
  readonly until?: number;
  /** What the checkpoint records beyond the CSV position. */
  readonly checkpoint?: Pick<LoadCheckpoint, 'transcoded' | 'scratch'>;
}

/** How a share of a load ended: the file read to its end, a stop asked for, or the time budget spent. */
export type ApplyEnd = 'end' | 'cancelled' | 'paused';

/** The run as of a share's last commit, and how the share ended. */
export interface ApplyOutcome {
  committed: RunRecord;
  failure?: Error;
  end?: ApplyEnd;
}

/**
 * Applies a file's slices in transactions, each committing its rows, rejections, counts and the
 * checkpoint after them together. Before each transaction's first row, under the write lock, the
 * lease is checked (LeaseLostError if another worker holds the run now) and a cancel honoured.
 * Resolves to the run as of its last commit, and the failure that stopped it, if any. A load
 * into a small table drops its indexes first, and whichever share ends the load builds them (a
 * crash leaves that to the load's next share, or to the next migrate).
 */
export async function applyFile(
  db: Database,
  table: TableDef,
  run: RunRecord,
  slices: AsyncIterable<Slice>,
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  /** The run as of its last commit: what a heartbeat or a failure may record. */
  let committed: RunRecord = { ...run };
  let inTransaction = false;
  /** Whether the share's first transaction has decided on the indexes, and whether it dropped them. */
  let sizedUp = false;
  let droppedIndexes = false;
  const dropsIndexes = !options.scratch && db.capabilities.loadsDropIndexes;
  /** An earlier share committed rows: it may have dropped the indexes, for the share that ends the load to build. */
  const resumed = run.received > 0;
  const heartbeat = setInterval(() => {
    // A transaction's commit renews the lease; a write queued meanwhile would only end it early.
    if (!inTransaction) void options.lease.renew(committed).catch(() => undefined); // a missed renewal only ages the lease
  }, options.lease.renewEveryMs);
  heartbeat.unref();
  let outcome: ApplyOutcome;
  try {
    const iterator = slices[Symbol.asyncIterator]();
    let pending = nextSlice(iterator);
    let end: ApplyEnd | undefined;
    for (let first = await pending; !first.done; first = await pending) {
      // Input is awaited here, outside any transaction: the write lock is never held for the network.
      let slice = first.value;
      await db
        .write(async (tx) => {
          inTransaction = true;
          if (await options.lease.mustStop(run)) {
            end = 'cancelled';
            finishRun(run, undefined, 'cancelled');
            options.lease.release(run);
            await tx.saveRun(run);
            return;
          }
          if (
            !sizedUp &&
            dropsIndexes &&
            slice.rows.length >= db.capabilities.bulkRows &&
            (await db.countRows(table)) < DROP_INDEXES_BELOW_ROWS
          ) {
            await tx.dropIndexes(table);
            droppedIndexes = true;
          }
          sizedUp = true;
          const started = Date.now();
          let applied = 0;
          for (;;) {
            const rejected = await applyRows(tx, table, run, slice.rows, { scratch: options.scratch, log: options.log });
            if (applied === 0 && slice.rows.length && run.received === slice.rows.length)
              warnIfNotThisFormat(run, table, slice.rows, rejected);
            applied += slice.rows.length;
            run.checkpoint = { ...slice.next, ...options.checkpoint };
            // Read and check the next rows while the database is still inserting these.
            pending = nextSlice(iterator);
            if (transactionFull(applied, Date.now() - started, tx.othersWaiting())) break;
            if (options.until !== undefined && Date.now() >= options.until) break;
            // Let other requests read their bodies and queue for the lock meanwhile, then go on if input is ready.
            if (!(await settlesWithin(pending, INPUT_GRACE_MS))) break;
            const following = await pending;
            if (following.done) break;
            slice = following.value;
          }
          options.lease.hold(run);
          await tx.saveRun(run);
        })
        .finally(() => (inTransaction = false));
      committed = { ...run };
      end ??= options.until !== undefined && Date.now() >= options.until ? 'paused' : undefined;
      if (end) break;
    }
    outcome = { committed, end: end ?? 'end' };
  } catch (error) {
    outcome = { committed, failure: error as Error };
  }
  try {
    // Built while the lease is renewed.
    const mayLackIndexes = droppedIndexes || (dropsIndexes && resumed);
    if (mayLackIndexes && outcome.end !== 'paused' && !(outcome.failure instanceof LeaseLostError)) {
      // The rows are committed either way: an index that fails to build is built by the next load's end or the next start.
      await db.write((tx) => tx.buildIndexes(table)).catch(() => undefined);
    }
  } finally {
    clearInterval(heartbeat);
  }
  return outcome;
}

/**
 * What a failed load's run says: why it stopped, in words for a person (a driver's message can
 * name servers and SQL: it goes to the log only), and that what it committed is kept.
 */
export function stoppedBecause(failure: Error, committed: RunRecord): string {
  const cause =
    failure instanceof ServiceError
      ? failure.message
      : /abort|ECONNRESET|premature close/i.test(`${failure.message} ${(failure as { code?: string }).code ?? ''}`)
        ? 'the upload was cut off before the end of the file'
        : 'the load stopped on an unexpected error (see the function log)';
  const kept = committed.dryRun
    ? 'a dry run changes no table'
    : `the ${committed.inserted} rows it had committed are kept, and running the same load again is safe: rows already there are skipped`;
  return `${cause}; ${kept}`;
}

/** Rows of a file's start that tell its format. */
const SAMPLE_ROWS = 20;

/**
 * When every one of the file's first rows was rejected for its number of fields, the run says
 * what the file looks like (another separator, a trailing comma): it loaded, but not as meant.
 */
function warnIfNotThisFormat(run: RunRecord, table: TableDef, rows: readonly SourceRow[], rejected: readonly Rejection[]): void {
  const first = rows.slice(0, SAMPLE_ROWS);
  const fieldCount = new Set(
    rejected
      .filter((r) => r.reasons.some((reason) => reason.field === null && reason.message.startsWith('expected ')))
      .map((r) => r.source),
  );
  if (!first.every((row) => fieldCount.has(row))) return;
  const guess = formatGuess(
    table.columns.length,
    first.map((row) => row.text),
  );
  if (guess) (run.detail ??= {}).warning = `the first ${first.length} rows were all rejected for their number of fields: ${guess}`;
}

/** Rows checked on their own, and where reading stands after them. */
export interface Slice {
  readonly rows: SourceRow[];
  readonly next: CsvPosition;
}

/**
 * The file's rows in slices of about `sliceRows` (fewer where they are long), checked against the
 * row-level rules; `body` holds its bytes from `from` on. A slice bounds the memory a load holds,
 * whatever the file's size.
 */
export async function* rowSlices(
  table: TableDef,
  body: AsyncIterable<Uint8Array>,
  from: CsvPosition,
  sliceRows: number,
): AsyncGenerator<Slice> {
  let rows: SourceRow[] = [];
  let chars = 0;
  let next = from;
  for await (const chunk of readCsvFrom(body, from, { header: table.columns.map((c) => c.name) })) {
    for (const record of chunk.records) {
      rows.push(fromCsvRecord(table, record));
      for (const field of record.fields) chars += field.length;
    }
    next = chunk.next;
    if (rows.length >= sliceRows || chars >= SLICE_CHARS) {
      yield { rows, next };
      rows = [];
      chars = 0;
    }
  }
  // The last slice may hold no rows: it carries the position at the end of the file.
  if (rows.length || next.offset !== from.offset) yield { rows, next };
}

/** The next slice; a failure (malformed input) is kept for whoever awaits it, never left unhandled meanwhile. */
function nextSlice(slices: AsyncIterator<Slice>): Promise<IteratorResult<Slice>> {
  const next = slices.next();
  next.catch(() => undefined);
  return next;
}

/** Whether `promise` settles within `ms`; always yields to the event loop first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}
