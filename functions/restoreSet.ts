import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { restoreSet as restore } from '../shared/backup/restore';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors, restoreOptions, restoreRequest } from './lib/http';

/**
 * POST /api/restore with {"set":"<name>"}, or {} for the newest set that is not a safety set:
 * every table, in one transaction. The master key only.
 */
export async function restoreSet(request: HttpRequest): Promise<HttpResponseInit> {
  const { safety, ...target } = await restoreRequest(request, 'set');
  const services = await getServices();
  return json(await restore(services.db, requireBackups(services), { set: target.set }, { safety, ...restoreOptions(request) }));
}

app.http('restoreSet', {
  methods: ['POST'],
  route: 'restore',
  authLevel: 'admin',
  handler: jsonErrors(restoreSet, []),
});
