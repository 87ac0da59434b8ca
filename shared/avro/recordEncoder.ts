/**
 * Rows encoded as Avro binary records (the body of an object container file's blocks), by avsc's
 * compiled writer for the table's schema. Pure: a database may run it on another thread, next to
 * its reads (see Database.snapshotRecords).
 */
import avro from 'avsc';
import type { Row, TableDef } from '../tables';
import { avroSchema } from './schema';

/** Consecutive records: their bytes, and how many they are. */
export interface RecordPage {
  readonly bytes: Uint8Array;
  readonly rows: number;
}

/** Bytes a page's buffer starts with per row; it grows when records are longer. */
const INITIAL_BYTES_PER_ROW = 64;

/** An encoder for the table's rows (arrays in column order). */
export function recordEncoder(table: TableDef): (rows: readonly Row[]) => RecordPage {
  const type = avro.Type.forSchema(avroSchema(table));
  const names = table.columns.map((c) => c.name);
  // One record object, refilled for each row: what avsc's writer reads, without an allocation per row.
  const record: Record<string, unknown> = {};
  return (rows) => {
    // Its own ArrayBuffer (not the shared pool's), so that it can be transferred between threads.
    let buffer = Buffer.allocUnsafeSlow(Math.max(1024, rows.length * INITIAL_BYTES_PER_ROW));
    let length = 0;
    for (const row of rows) {
      for (let i = 0; i < names.length; i++) record[names[i]] = row[i];
      let end = type.encode(record, buffer, length);
      while (end < 0) {
        // Too small: avsc says by how much. Double it at least, so that growing stays linear.
        const larger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, buffer.length - end));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
        end = type.encode(record, buffer, length);
      }
      length = end;
    }
    return { bytes: buffer.subarray(0, length), rows: rows.length };
  };
}

/** Pages of rows encoded one by one, as they are read: for a database that does not encode them itself. */
export async function* encodedPages(table: TableDef, pages: AsyncIterable<readonly Row[]>): AsyncGenerator<RecordPage> {
  const encode = recordEncoder(table);
  for await (const page of pages) if (page.length > 0) yield encode(page);
}
