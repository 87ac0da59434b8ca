import type { Database } from '../db';
import { InvalidInputError, TooLargeError } from '../errors';
import type { TableDef } from '../tables';
import { applyRows, type RejectionLogger } from './applyRows';
import { finishRun, newRun, runCounts } from './runs';
import type { SourceRow } from './SourceRow';

export const MAX_BATCH_ROWS = 1000;

/**
 * Inserts one batch: its valid rows commit together in one transaction, with the run and its
 * rejections, or nothing is written at all.
 */
export async function insertBatch(
  db: Database,
  table: TableDef,
  rows: readonly SourceRow[],
  source: 'json' | 'csv',
  log?: RejectionLogger,
) {
  if (rows.length === 0) throw new InvalidInputError(`the batch has no rows: send 1 to ${MAX_BATCH_ROWS}`, 'empty_batch');
  if (rows.length > MAX_BATCH_ROWS) {
    throw new TooLargeError(
      `the batch has ${rows.length} rows: at most ${MAX_BATCH_ROWS} per batch (a file of any size is loaded instead)`,
    );
  }
  const run = newRun(table.name, 'batch', source, false);
  // Batches sent together share one commit, each still all or nothing.
  const rejections = await db.write(
    async (tx) => {
      // Saved first, as the rejections refer to it; not awaited first, as the transaction runs its calls in order.
      const [, rejected] = await Promise.all([tx.saveRun(run), applyRows(tx, table, run, rows, { log })]);
      finishRun(run);
      await tx.saveRun(run);
      return rejected;
    },
    { shareCommit: true },
  );
  return {
    ...runCounts(run),
    rejections: rejections.map((r) => ({ position: r.source.position, reasons: r.reasons, data: r.source.value })),
  };
}
