import { app, type HttpResponseInit } from '@azure/functions';
import { backupSet } from '../shared/backup/backupTable';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors } from './lib/http';

/** POST /api/backups — snapshots every table at one instant, as one backup set, now. */
export async function backupTables(): Promise<HttpResponseInit> {
  const services = await getServices();
  return json(await backupSet(services.db, requireBackups(services)));
}

app.http('backupTables', {
  methods: ['POST'],
  route: 'backups',
  authLevel: 'function',
  handler: jsonErrors(backupTables, []),
});
