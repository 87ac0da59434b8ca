import { app, type HttpResponseInit } from '@azure/functions';
import { getServices, requireBackups } from '../shared/services';
import { json, jsonErrors } from './lib/http';

/** GET /api/backups — the backup sets, newest first, with each table's file, rows and SHA-256. */
export async function listBackupSets(): Promise<HttpResponseInit> {
  const services = await getServices();
  return json({ sets: await requireBackups(services).listSets() });
}

app.http('listBackupSets', {
  methods: ['GET'],
  route: 'backups',
  authLevel: 'function',
  handler: jsonErrors(listBackupSets, []),
});
