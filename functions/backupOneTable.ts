import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { backupTable } from '../shared/backup/backupTable';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors, tableParam } from './lib/http';

/** POST /api/tables/{table}/backups — snapshots one table now. */
export async function backupOneTable(request: HttpRequest): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const services = await getServices();
  return json({ backups: [await backupTable(services.db, requireBackups(services), table)] });
}

app.http('backupOneTable', {
  methods: ['POST'],
  route: 'tables/{table}/backups',
  authLevel: 'function',
  handler: jsonErrors(backupOneTable, []),
});
