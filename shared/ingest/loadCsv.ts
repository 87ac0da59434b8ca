import type { Database, RunRecord } from '../db';
import { readCsv } from '../csv';
import { claimLoad } from '../backup/restoresInProgress';
import { ServiceError } from '../errors';
import type { TableDef } from '../tables';
import { applyRows, type Rejection, type RejectionLogger } from './applyRows';
import { formatGuess } from './reasonSummary';
import { finishRun, HEARTBEAT_MS, newRun, runCounts } from './runs';
import { fromCsvRecord, type SourceRow } from './SourceRow';

/** Rows checked and applied together: bounds the memory a load holds, whatever the file size. */
const SLICE_ROWS = 5_000;
/** ...and their characters, for rows far longer than any valid one (each may be up to MAX_RECORD_CHARS). */
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
/** How long a transaction waits for more input before it commits instead. */
const INPUT_GRACE_MS = 20;

export interface LoadOptions {
  /** `csv` for an uploaded body, `blob:<path>` for a file in the historic container. */
  readonly source: string;
  /** Validate and count, store the run and its rejections, but leave the table untouched. */
  readonly dryRun: boolean;
  readonly log?: RejectionLogger;
}

/**
 * Loads a CSV file of any size from a byte stream. If the process dies midway, the committed
 * transactions stay and the database is consistent; loading the same file again skips what is
 * there and inserts the rest, giving exactly what one clean load gives.
 */
export async function loadCsv(db: Database, table: TableDef, body: AsyncIterable<Uint8Array>, options: LoadOptions) {
  const run = newRun(table.name, 'load', options.source, options.dryRun);
  // Claimed as the run is queued, in the same turn: a restore queued later sees this load running.
  const release = claimLoad(db, table, run.id);
  try {
    return await load(db, table, body, options, run);
  } finally {
    release();
  }
}

async function load(db: Database, table: TableDef, body: AsyncIterable<Uint8Array>, options: LoadOptions, run: RunRecord) {
  await db.write((tx) => tx.saveRun(run));
  /** The run as of its last commit: what a heartbeat or a failure may record. */
  let committed: RunRecord = { ...run };
  let inTransaction = false;
  const heartbeat = setInterval(() => {
    // A transaction's commit saves the heartbeat; a write queued meanwhile would only end it early.
    if (inTransaction) return;
    committed.heartbeatAt = new Date().toISOString();
    db.write((tx) => tx.saveRun(committed)).catch(() => undefined); // a missed heartbeat only ages the run
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const scratch = options.dryRun ? await db.createScratch(table) : undefined;

  let failure: Error | undefined;
  try {
    const slices = rowSlices(table, body)[Symbol.asyncIterator]();
    let pending = nextSlice(slices);
    for (let first = await pending; !first.done; first = await pending) {
      // Input is awaited here, outside any transaction: the write lock is never held for the network.
      let rows = first.value;
      await db
        .write(async (tx) => {
          inTransaction = true;
          const started = Date.now();
          let applied = 0;
          for (;;) {
            const rejected = await applyRows(tx, table, run, rows, { scratch, log: options.log });
            if (applied === 0 && run.received === rows.length) warnIfNotThisFormat(run, table, rows, rejected);
            applied += rows.length;
            // Read and check the next rows while the database is still inserting these.
            pending = nextSlice(slices);
            if (transactionFull(applied, Date.now() - started, tx.othersWaiting())) break;
            // Let other requests read their bodies and queue for the lock meanwhile, then go on if input is ready.
            if (!(await settlesWithin(pending, INPUT_GRACE_MS))) break;
            const following = await pending;
            if (following.done) break;
            rows = following.value;
          }
          run.heartbeatAt = new Date().toISOString();
          await tx.saveRun(run);
        })
        .finally(() => (inTransaction = false));
      committed = { ...run };
    }
  } catch (error) {
    failure = error as Error;
  } finally {
    clearInterval(heartbeat);
    if (scratch) await db.dropScratch(scratch);
  }
  const final = failure ? committed : run;
  finishRun(final, failure && new Error(stoppedBecause(failure, final)));
  await db.write((tx) => tx.saveRun(final));
  if (failure instanceof ServiceError) {
    throw new ServiceError(failure.kind, failure.code, failure.message, { ...runCounts(final), status: final.status });
  }
  if (failure) throw failure;
  return { ...runCounts(final), dryRun: final.dryRun, status: final.status };
}

/**
 * What a failed load's run says: why it stopped, in words for a person (a driver's message can
 * name servers and SQL: it goes to the log only), and that what it committed is kept.
 */
function stoppedBecause(failure: Error, committed: RunRecord): string {
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

/** The file's rows in slices of about SLICE_ROWS, checked against the row-level rules. */
async function* rowSlices(table: TableDef, body: AsyncIterable<Uint8Array>): AsyncGenerator<SourceRow[]> {
  let slice: SourceRow[] = [];
  let chars = 0;
  for await (const records of readCsv(body, { header: table.columns.map((c) => c.name) })) {
    for (const record of records) {
      slice.push(fromCsvRecord(table, record));
      for (const field of record.fields) chars += field.length;
    }
    if (slice.length >= SLICE_ROWS || chars >= SLICE_CHARS) {
      yield slice;
      slice = [];
      chars = 0;
    }
  }
  if (slice.length) yield slice;
}

/** The next slice; a failure (malformed input) is kept for whoever awaits it, never left unhandled meanwhile. */
function nextSlice(slices: AsyncIterator<SourceRow[]>): Promise<IteratorResult<SourceRow[]>> {
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
