import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { restoreTable as restore } from '../shared/backup/restore';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors, restoreOptions, restoreRequest, tableParam } from './lib/http';

/**
 * POST /api/tables/{table}/restore with {"backup":"<name>"}, or {} for the newest backup that is
 * not a safety backup; add "safety":false to skip the safety backup of the current rows. The
 * master key only: it replaces a table.
 */
export async function restoreTable(request: HttpRequest): Promise<HttpResponseInit> {
  const table = tableParam(request);
  const { safety, ...target } = await restoreRequest(request, 'backup');
  const services = await getServices();
  return json(
    await restore(services.db, requireBackups(services), table, { backup: target.backup }, { safety, ...restoreOptions(request) }),
  );
}

app.http('restoreTable', {
  methods: ['POST'],
  route: 'tables/{table}/restore',
  authLevel: 'admin',
  handler: jsonErrors(restoreTable, []),
});
