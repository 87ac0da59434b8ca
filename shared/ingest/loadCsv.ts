import type { Database, RunRecord } from '../db';
import { readCsv } from '../csv';
import { ServiceError } from '../errors';
import type { TableDef } from '../tables';
import { applyRows, type RejectionLogger } from './applyRows';
import { finishRun, HEARTBEAT_MS, newRun, runCounts } from './runs';
import { fromCsvRecord, type SourceRow } from './SourceRow';

/** Rows per transaction: large enough that commits cost little, small enough to bound memory and lock time. */
export const LOAD_CHUNK_ROWS = 5000;

export interface LoadOptions {
  /** `csv` for an uploaded body, `blob:<path>` for a file in the historic container. */
  readonly source: string;
  /** Validate and count, store the run and its rejections, but leave the table untouched. */
  readonly dryRun: boolean;
  readonly log?: RejectionLogger;
}

/**
 * Loads a CSV file of any size from a byte stream, in transactions of LOAD_CHUNK_ROWS rows. If the
 * process dies midway, the committed chunks stay and the database is consistent; loading the same
 * file again skips what is there and inserts the rest, giving exactly what one clean load gives.
 */
export async function loadCsv(db: Database, table: TableDef, body: AsyncIterable<Uint8Array>, options: LoadOptions) {
  const run = newRun(table.name, 'load', options.source, options.dryRun);
  await db.write((tx) => tx.saveRun(run));
  /** The run as of its last commit: what a heartbeat or a failure may record. */
  let committed: RunRecord = { ...run };
  const heartbeat = setInterval(() => {
    committed.heartbeatAt = new Date().toISOString();
    db.write((tx) => tx.saveRun(committed)).catch(() => undefined); // a missed heartbeat only ages the run
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const scratch = options.dryRun ? await db.createScratch(table) : undefined;

  let pending: SourceRow[] = [];
  const flush = async () => {
    const rows = pending;
    pending = [];
    await db.write(async (tx) => {
      await applyRows(tx, table, run, rows, { scratch, log: options.log });
      run.heartbeatAt = new Date().toISOString();
      await tx.saveRun(run);
    });
    committed = { ...run };
  };

  let failure: Error | undefined;
  try {
    for await (const records of readCsv(body, { header: table.columns.map((c) => c.name) })) {
      for (const record of records) pending.push(fromCsvRecord(table, record));
      if (pending.length >= LOAD_CHUNK_ROWS) await flush();
    }
    if (pending.length) await flush();
  } catch (error) {
    failure = error as Error;
  } finally {
    clearInterval(heartbeat);
    if (scratch) await db.dropScratch(scratch);
  }
  const final = failure ? committed : run;
  finishRun(final, failure);
  await db.write((tx) => tx.saveRun(final));
  if (failure instanceof ServiceError) {
    throw new ServiceError(failure.status, failure.code, failure.message, { ...runCounts(final), status: final.status });
  }
  if (failure) throw failure;
  return { ...runCounts(final), dryRun: final.dryRun, status: final.status };
}
