import { app, type HttpResponseInit } from '@azure/functions';
import { backupAllTables } from '../shared/backup/backupTable';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors } from './lib/http';

/** POST /api/backups — snapshots every table to Avro in the backups container, now. */
export async function backupTables(): Promise<HttpResponseInit> {
  const services = await getServices();
  return json({ backups: await backupAllTables(services.db, requireBackups(services)) });
}

app.http('backupTables', {
  methods: ['POST'],
  route: 'backups',
  authLevel: 'function',
  handler: jsonErrors(backupTables),
});
