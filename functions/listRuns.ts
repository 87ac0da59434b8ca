import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { describeRun } from '../shared/ingest/runs';
import { getServices } from '../shared/services';
import { json, jsonErrors, queryChoice, queryInt, requireTable } from './lib/http';

/**
 * GET /api/runs?table=&kind=batch|load|restore&limit= — the newest runs first. How a client finds a
 * load whose response it never got (a gateway cut the request off while the load went on), and
 * where every restore is audited.
 */
export async function listRuns(request: HttpRequest): Promise<HttpResponseInit> {
  const tableName = request.query.get('table');
  const table = tableName ? requireTable(tableName) : undefined;
  const kind = request.query.get('kind') ? queryChoice(request, 'kind', ['batch', 'load', 'restore'], 'load') : undefined;
  const limit = queryInt(request, 'limit', { min: 1, max: 1000, default: 20 });
  const { db } = await getServices();
  const runs = await db.listRuns({ table: table?.name, kind, limit });
  return json({ runs: runs.map((run) => describeRun(run)) });
}

app.http('listRuns', {
  methods: ['GET'],
  route: 'runs',
  authLevel: 'function',
  handler: jsonErrors(listRuns),
});
