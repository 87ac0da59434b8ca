import Papa from 'papaparse';
import type { Database, RejectionFilter, RejectionRecord } from '../db';
import { describeReasons } from '../rules';
import type { TableDef } from '../tables';
import { fixHeader, fixLine } from './fixFormat';

const PAGE = 1000;

/**
 * The rejected rows of one table as a CSV file in the fix-and-resend format (fixFormat.ts): the
 * table's columns and each row's reasons, well-formed whatever was received, safe to open in a
 * spreadsheet, and loadable as it is once fixed. Streams page by page: memory stays flat however
 * many rows were rejected.
 */
export async function* rejectionsCsv(db: Database, table: TableDef, filter: Omit<RejectionFilter, 'table'>): AsyncGenerator<string> {
  yield fixHeader(table.columns.map((c) => c.name));
  let afterId = filter.afterId;
  let remaining = filter.limit;
  while (remaining > 0) {
    const page = await db.listRejections({ ...filter, table: table.name, afterId, limit: Math.min(PAGE, remaining) });
    if (page.length === 0) return;
    yield page.map((r) => fixLine(fieldsOf(table, r), describeReasons(r.reasons))).join('');
    afterId = page[page.length - 1].id;
    remaining -= page.length;
  }
}

/**
 * The rejected row's fields: a CSV line's as it was split (all of them, however many), a JSON
 * row's in column order; a line that cannot be split as CSV (a quote never closed) is one field.
 */
function fieldsOf(table: TableDef, rejection: RejectionRecord): string[] {
  if (rejection.format === 'csv') {
    const parsed = Papa.parse<string[]>(rejection.rawText, { delimiter: ',', newline: '\n', quoteChar: '"' });
    return parsed.errors.length === 0 && parsed.data.length === 1 ? parsed.data[0] : [rejection.rawText];
  }
  let value: unknown;
  try {
    value = JSON.parse(rejection.rawText);
  } catch {
    value = undefined;
  }
  const record = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  return table.columns.map((c) => {
    const field = record[c.name];
    if (field === undefined || field === null) return '';
    return typeof field === 'string' ? field : JSON.stringify(field);
  });
}
