import { app, type HttpResponseInit } from '@azure/functions';
import { getServices } from '../shared/services';
import { TABLES } from '../shared/tables';
import { json, jsonErrors } from './lib/http';

/** GET /api/tables — each table with its columns and row count. */
export async function listTables(): Promise<HttpResponseInit> {
  const { db } = await getServices();
  const tables = await Promise.all(
    TABLES.map(async (table) => ({
      name: table.name,
      columns: table.columns.map((c) => c.name),
      rows: await db.countRows(table),
    })),
  );
  return json({ tables });
}

app.http('listTables', {
  methods: ['GET'],
  route: 'tables',
  authLevel: 'function',
  handler: jsonErrors(listTables, []),
});
