import { checkFields, checkObject, type Checked } from '../rules';
import type { CsvRecord } from '../csv';
import type { TableDef } from '../tables';

/** A row as received, with the verdict of the row-level rules. */
export interface SourceRow {
  /** The CSV line, or the 1-based index in a JSON array. */
  readonly position: number;
  /** The row's text exactly as received, for the rejection log. */
  readonly text: string;
  readonly format: 'csv' | 'json';
  /** The row as the client sent it, to show in a response: the JSON value, or the CSV line. */
  readonly value: unknown;
  readonly checked: Checked;
}

/** A CSV row; its original text is the record's, taken only when needed (for most rows, never). */
class CsvSourceRow implements SourceRow {
  readonly format = 'csv';
  readonly checked: Checked;

  constructor(
    table: TableDef,
    private readonly record: CsvRecord,
  ) {
    this.checked = record.malformed ? { reasons: [{ field: null, message: record.malformed }] } : checkFields(table, record.fields);
  }

  get position(): number {
    return this.record.line;
  }

  get text(): string {
    return this.record.raw;
  }

  get value(): string {
    return this.record.raw;
  }
}

export function fromCsvRecord(table: TableDef, record: CsvRecord): SourceRow {
  return new CsvSourceRow(table, record);
}

export function fromJsonElement(table: TableDef, index: number, text: string, value: unknown): SourceRow {
  return { position: index + 1, text, format: 'json', value, checked: checkObject(table, value) };
}
