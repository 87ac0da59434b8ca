import Papa from 'papaparse';
import type { Database, RejectionFilter, RejectionRecord } from '../db';
import type { TableDef } from '../tables';

const PAGE = 1000;

/**
 * The rejected rows of one table as a CSV file in the table's own format, with a header row (which
 * loads skip), so it can be fixed and sent again as it is. CSV rows are given exactly as received;
 * JSON rows are laid out in column order. Streams page by page: memory stays flat however many
 * rows were rejected.
 */
export async function* rejectionsCsv(db: Database, table: TableDef, filter: Omit<RejectionFilter, 'table'>): AsyncGenerator<string> {
  yield table.columns.map((c) => c.name).join(',') + '\r\n';
  let afterId = filter.afterId;
  let remaining = filter.limit;
  while (remaining > 0) {
    const page = await db.listRejections({ ...filter, table: table.name, afterId, limit: Math.min(PAGE, remaining) });
    if (page.length === 0) return;
    yield page.map((r) => csvLine(table, r) + '\r\n').join('');
    afterId = page[page.length - 1].id;
    remaining -= page.length;
  }
}

function csvLine(table: TableDef, rejection: RejectionRecord): string {
  if (rejection.format === 'csv') return rejection.rawText;
  let value: unknown;
  try {
    value = JSON.parse(rejection.rawText);
  } catch {
    value = undefined;
  }
  const record = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const fields = table.columns.map((c) => {
    const field = record[c.name];
    return field === undefined || field === null ? '' : typeof field === 'string' ? field : JSON.stringify(field);
  });
  return Papa.unparse([fields], { newline: '\r\n' });
}
