import { app, type HttpResponseInit } from '@azure/functions';
import { checkHealth } from '../shared/health';
import { json, jsonErrors } from './lib/http';

/** GET /api/health/details — with a function key: which dependency fails, and its error. */
export async function healthDetails(): Promise<HttpResponseInit> {
  const { ok, database, storage } = await checkHealth();
  return json({ status: ok ? 'ok' : 'unavailable', database, storage }, ok ? 200 : 503);
}

app.http('healthDetails', {
  methods: ['GET'],
  route: 'health/details',
  authLevel: 'function',
  handler: jsonErrors(healthDetails, []),
});
