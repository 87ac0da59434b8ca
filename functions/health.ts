import { app, type HttpResponseInit } from '@azure/functions';
import { getServices } from '../shared/services';
import { json, jsonErrors } from './lib/http';

/** GET /api/health — whether the database and the storage account answer. 503 if either does not. */
export async function health(): Promise<HttpResponseInit> {
  const database = await probe(async () => (await getServices()).db.ping());
  const storage = await probe(async () => {
    const { storage } = await getServices();
    if (!storage) throw new Error('no storage connection is configured');
    await storage.ping();
  });
  const ok = database.ok && storage.ok;
  return json({ status: ok ? 'ok' : 'unavailable', database, storage }, ok ? 200 : 503);
}

async function probe(check: () => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'anonymous',
  handler: jsonErrors(health, []),
});
