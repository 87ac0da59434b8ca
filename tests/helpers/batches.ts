import type { Database } from '../../shared/db';
import { insertBatch } from '../../shared/ingest/insertBatch';
import { fromJsonElement } from '../../shared/ingest/SourceRow';
import { getTable, type TableName } from '../../shared/tables';

/** A batch of JSON objects through the store, as POST /rows sends it, without the host. */
export function insertJsonBatch(db: Database, table: TableName, values: readonly Record<string, unknown>[]) {
  const def = getTable(table);
  return insertBatch(
    db,
    def,
    values.map((v, i) => fromJsonElement(def, i, JSON.stringify(v), v)),
    'json',
  );
}
