/** The Avro record schema of a table's backups, derived from the table definition like the DDL. */
import type { ColumnDef, TableDef } from '../tables';

export type AvroFieldType = 'int' | 'string' | { type: 'long'; logicalType: 'timestamp-millis' };

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace: string;
  fields: { name: string; type: AvroFieldType }[];
}

const NAMESPACE = 'csv_to_azure_sql';

function fieldType(column: ColumnDef): AvroFieldType {
  switch (column.type) {
    case 'id':
      return 'int';
    case 'text':
      return 'string';
    case 'datetime':
      return { type: 'long', logicalType: 'timestamp-millis' };
  }
}

export function avroSchema(table: TableDef): AvroRecordSchema {
  return {
    type: 'record',
    name: table.name,
    namespace: NAMESPACE,
    fields: table.columns.map((c) => ({ name: c.name, type: fieldType(c) })),
  };
}

/**
 * How a backup's writer schema differs from the table's, one sentence per difference; empty
 * when a restore can read it as the table's rows.
 */
export function schemaDifferences(table: TableDef, writer: unknown): string[] {
  const fields = (writer as { type?: unknown; fields?: unknown })?.fields;
  if ((writer as { type?: unknown })?.type !== 'record' || !Array.isArray(fields)) return ['the backup does not hold records'];
  const differences: string[] = [];
  const expected = avroSchema(table).fields;
  const written = new Map<string, unknown>(fields.map((f: { name: string; type: unknown }) => [f.name, f.type]));
  expected.forEach((field, i) => {
    if (!written.has(field.name)) return differences.push(`field "${field.name}" is missing`);
    const type = describe(written.get(field.name));
    if (type !== describe(field.type)) differences.push(`field "${field.name}" is ${type}, expected ${describe(field.type)}`);
    else if (fields[i]?.name !== field.name) differences.push(`field "${field.name}" is not in position ${i + 1}`);
  });
  for (const name of written.keys()) {
    if (!expected.some((f) => f.name === name)) differences.push(`field "${name}" is not a column of ${table.name}`);
  }
  return differences;
}

function describe(type: unknown): string {
  if (typeof type === 'string') return type;
  const { type: base, logicalType } = (type ?? {}) as { type?: unknown; logicalType?: unknown };
  if (typeof base === 'string') return logicalType ? `${base} (${String(logicalType)})` : base;
  return JSON.stringify(type);
}
