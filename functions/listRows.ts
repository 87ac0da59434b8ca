import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { MAX_ID, rowToObject } from '../shared/rules';
import { getServices } from '../shared/services';
import { json, jsonErrors, queryInt, tableParam } from './lib/http';

/** GET /api/tables/{table}/rows?afterId=&limit= — rows ordered by id, keyset-paged. */
export async function listRows(request: HttpRequest): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const afterId = queryInt(request, 'afterId', { min: 0, max: MAX_ID, default: 0 });
  const limit = queryInt(request, 'limit', { min: 1, max: 1000, default: 100 });
  const { db } = await getServices();
  const rows = await db.listRows(table, afterId, limit);
  return json({
    table: table.name,
    rows: rows.map((row) => rowToObject(table, row)),
    nextAfterId: rows.length === limit ? rows[rows.length - 1][0] : null,
  });
}

app.http('listRows', {
  methods: ['GET'],
  route: 'tables/{table}/rows',
  authLevel: 'function',
  handler: jsonErrors(listRows, ['afterId', 'limit']),
});
