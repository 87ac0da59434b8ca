import { app, type HttpResponseInit } from '@azure/functions';
import { checkHealth } from '../shared/health';
import { json, jsonErrors } from './lib/http';

/** GET /api/health — anonymous: whether the service can work (200) or not (503); no names, no errors. */
export async function health(): Promise<HttpResponseInit> {
  const { ok } = await checkHealth();
  return json({ status: ok ? 'ok' : 'unavailable' }, ok ? 200 : 503);
}

app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'anonymous',
  handler: jsonErrors(health, []),
});
