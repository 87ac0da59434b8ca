/**
 * The fix-and-resend CSV format of rejection downloads: the table's columns, then a last column
 * `rejected_because`; every cell that a spreadsheet would run as a formula (beginning with = + -
 * @, a tab or a CR) is written with a leading apostrophe, which spreadsheets keep as text. Read
 * back (its header says so), the last column is dropped and those apostrophes removed, so what
 * reaches the rules is what was rejected, as fixed.
 */
import Papa from 'papaparse';

export const REASONS_COLUMN = 'rejected_because';

/** What escapeCell prefixes: a formula's start (= + - @, a tab or a CR), or an apostrophe of the value's own, so that reading back is exact. */
const ESCAPED = /^[=+\-@\t\r']/;

/** A cell as written: a would-be formula made text; a value's own leading apostrophe doubled. */
export function escapeCell(value: string): string {
  return ESCAPED.test(value) ? `'${value}` : value;
}

/** A cell as read back: the apostrophe escapeCell added removed. */
export function unescapeCell(value: string): string {
  return value.startsWith("'") && ESCAPED.test(value.slice(1)) ? value.slice(1) : value;
}

/** One line of the format, with its CRLF. */
export function fixLine(fields: readonly string[], reasons: string): string {
  return Papa.unparse([[...fields, reasons].map(escapeCell)], { newline: '\r\n' }) + '\r\n';
}

/** The header line for a table's columns, after a UTF-8 byte-order mark: how spreadsheets know the file is UTF-8. */
export function fixHeader(columns: readonly string[]): string {
  return '\uFEFF' + [...columns, REASONS_COLUMN].join(',') + '\r\n';
}

/** A record of the format as the table's own: its reasons dropped, its cells unescaped, and its text written anew. */
export function fromFixRecord(fields: readonly string[]): { fields: string[]; raw: string } {
  const own = fields.slice(0, -1).map(unescapeCell);
  return { fields: own, raw: Papa.unparse([own], { newline: '\r\n' }) };
}
