import { app, type HttpResponseInit } from '@azure/functions';
import { getServices } from '../shared/services';
import { json, jsonErrors } from './lib/http';

/** GET /api/metrics/years — the years that have hires, in order, with their number of hires: `{"years":[{"year","hired"}]}`. */
export async function hireYears(): Promise<HttpResponseInit> {
  const { db } = await getServices();
  return json({ years: await db.hireYears() });
}

app.http('hireYears', {
  methods: ['GET'],
  route: 'metrics/years',
  authLevel: 'function',
  handler: jsonErrors(hireYears, []),
});
