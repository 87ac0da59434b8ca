import { createHash } from 'node:crypto';
import type { RunRecord, WriteTransaction } from '../db';
import { differingColumns, type Reason } from '../rules';
import { foreignKeys, type Row, type TableDef } from '../tables';
import type { NewRejection } from '../db';
import { tallyReasons } from './reasonSummary';
import type { SourceRow } from './SourceRow';

/** A rejected row's text is kept up to this many characters: far more than any valid row, and bounded. */
export const MAX_STORED_CHARS = 64 * 1024;

export interface Rejection {
  readonly source: SourceRow;
  readonly reasons: readonly Reason[];
}

const NO_REASONS: readonly Reason[] = [];

/** Called for each rejected row, so that it reaches the function's log too. */
export type RejectionLogger = (table: TableDef, rejection: Rejection) => void;

/**
 * Applies the rules that need the database to rows already checked on their own, inside the
 * caller's transaction: references must exist (rule 5); an id already stored, or accepted earlier
 * in the same run, is skipped if every value is equal and rejected as a conflict otherwise (rule
 * 7). Inserts the accepted rows, stores the rejections, and adds to the run's counts.
 *
 * `scratch` (dry runs) redirects inserts to a scratch table that later chunks consult as well.
 */
export async function applyRows(
  tx: WriteTransaction,
  table: TableDef,
  run: RunRecord,
  rows: readonly SourceRow[],
  options: { scratch?: string; log?: RejectionLogger } = {},
): Promise<Rejection[]> {
  const candidates: { source: SourceRow; row: Row }[] = [];
  const invalid: { source: SourceRow; reasons: Reason[]; partial: Partial<Row> }[] = [];
  for (const source of rows) {
    const { checked } = source;
    if (checked.row) candidates.push({ source, row: checked.row });
    else invalid.push({ source, reasons: [...checked.reasons], partial: checked.partial ?? [] });
  }

  const ids = candidates.map((c) => c.row[0] as number);
  // The stored rows and the references are asked for at once: one round trip, not two.
  const [stored, references] = await Promise.all([
    storedRows(tx, table, ids, options.scratch),
    // References are checked for invalid rows too, where the value itself was valid: all reasons at once.
    Promise.all(
      foreignKeys(table).map(async (fk) => {
        const values = new Set<number>();
        for (const c of candidates) values.add(c.row[fk.index] as number);
        for (const r of invalid) if (typeof r.partial[fk.index] === 'number') values.add(r.partial[fk.index] as number);
        return { fk, present: await tx.existingIds(fk.target, [...values]) };
      }),
    ),
  ]);
  // Most rows miss nothing: they share one empty list, and no list is made for them.
  const missingReferences = (values: Partial<Row>): readonly Reason[] => {
    let missing: Reason[] | undefined;
    for (const { fk, present } of references) {
      const value = values[fk.index];
      if (typeof value === 'number' && !present.has(value))
        (missing ??= []).push({ field: fk.column.name, message: `${fk.target.name} has no id ${value}` });
    }
    return missing ?? NO_REASONS;
  };

  const rejections: Rejection[] = invalid.map(({ source, reasons, partial }) => ({
    source,
    reasons: [...reasons, ...missingReferences(partial)],
  }));
  const accepted = new Map<number, Row>();
  for (const { source, row } of candidates) {
    let reasons = missingReferences(row);
    const id = row[0] as number;
    const earlier = stored.get(id) ?? accepted.get(id);
    if (earlier) {
      const differing = differingColumns(table, earlier, row);
      if (differing.length === 0 && reasons.length === 0) {
        run.skipped++;
        continue;
      }
      if (differing.length)
        reasons = [...reasons, { field: 'id', message: `id ${id} already exists with a different ${differing.join(', ')}` }];
    }
    if (reasons.length) rejections.push({ source, reasons });
    else accepted.set(id, row);
  }

  await tx.insertRows(table, [...accepted.values()], options.scratch);
  if (rejections.length) {
    rejections.sort((a, b) => a.source.position - b.source.position);
    const newIds = await idsNotStored(tx, table, rejections, stored, accepted);
    await tx.insertRejections(rejections.map((r) => storedRejection(run, table, r, newIds)));
    tallyReasons(run, rejections);
    for (const rejection of rejections) options.log?.(table, rejection);
  }
  run.received += rows.length;
  run.inserted += accepted.size;
  run.rejected += rejections.length;
  return rejections;
}

/** The rows stored under these ids, and in a dry run's scratch table too. */
async function storedRows(tx: WriteTransaction, table: TableDef, ids: readonly number[], scratch?: string): Promise<Map<number, Row>> {
  const stored = await tx.findRows(table, ids);
  if (scratch) for (const [id, row] of await tx.findRows(table, ids, scratch)) stored.set(id, row);
  return stored;
}

/** The valid ids of rejected rows that the table does not hold, nor this run accepted: a later insert of one resolves its rejection. */
async function idsNotStored(
  tx: WriteTransaction,
  table: TableDef,
  rejections: readonly Rejection[],
  stored: Map<number, Row>,
  accepted: Map<number, Row>,
): Promise<Set<number>> {
  const ids = new Set<number>();
  for (const { source } of rejections) {
    const id = idOf(source);
    if (id !== undefined && !stored.has(id) && !accepted.has(id)) ids.add(id);
  }
  if (ids.size === 0) return ids;
  for (const id of await tx.existingIds(table, [...ids])) ids.delete(id);
  return ids;
}

function idOf(source: SourceRow): number | undefined {
  const { checked } = source;
  const id = checked.row ? checked.row[0] : checked.partial?.[0];
  return typeof id === 'number' ? id : undefined;
}

/** The rejection as stored: its text cut at MAX_STORED_CHARS, with a reason saying so. */
function storedRejection(run: RunRecord, table: TableDef, { source, reasons }: Rejection, newIds: Set<number>): NewRejection {
  const cut = source.text.length > MAX_STORED_CHARS;
  const id = idOf(source);
  return {
    runId: run.id,
    table: table.name,
    position: source.position,
    rawText: cut ? source.text.slice(0, MAX_STORED_CHARS) : source.text,
    format: source.format,
    reasons: cut
      ? [...reasons, { field: null, message: `only the first ${MAX_STORED_CHARS} of its ${source.text.length} characters are kept` }]
      : reasons,
    rawSha256: createHash('sha256').update(source.text).digest('hex'),
    rowId: id !== undefined && newIds.has(id) ? id : null,
  };
}
