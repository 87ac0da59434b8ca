import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors, tableParam } from './lib/http';

/** GET /api/tables/{table}/backups — the table's backups, newest first. */
export async function listBackups(request: HttpRequest): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const services = await getServices();
  return json({ table: table.name, backups: await requireBackups(services).list(table) });
}

app.http('listBackups', {
  methods: ['GET'],
  route: 'tables/{table}/backups',
  authLevel: 'function',
  handler: jsonErrors(listBackups, []),
});
