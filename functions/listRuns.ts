import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { describeRun } from '../shared/ingest/runs';
import { getServices } from '../shared/services';
import { InvalidInputError } from '../shared/errors';
import { json, jsonErrors, queryChoice, queryInt, requireTable, UUID } from './lib/http';

/**
 * GET /api/runs?table=&kind=batch|load|restore&status=queued|running|interrupted|succeeded|failed|cancelled&limit= — the newest runs first. How a client finds a
 * load whose response it never got (a gateway cut the request off while the load went on), and
 * where every restore is audited.
 */
export async function listRuns(request: HttpRequest): Promise<HttpResponseInit> {
  const tableName = request.query.get('table');
  const table = tableName ? requireTable(tableName) : undefined;
  const kind = request.query.get('kind') ? queryChoice(request, 'kind', ['batch', 'load', 'restore'], 'load') : undefined;
  const status = request.query.get('status')
    ? queryChoice(request, 'status', ['queued', 'running', 'interrupted', 'succeeded', 'failed', 'cancelled'], 'running')
    : undefined;
  const limit = queryInt(request, 'limit', { min: 1, max: 1000, default: 20 });
  const after = parseCursor(request.query.get('after'));
  const { db } = await getServices();
  // An interrupted run is stored as running: its process died before it could say otherwise.
  const runs = await db.listRuns({ table: table?.name, kind, status: status === 'interrupted' ? 'running' : status, after, limit });
  const last = runs.at(-1);
  return json({
    runs: runs.map((run) => describeRun(run)).filter((run) => !status || run.status === status),
    nextAfter: runs.length === limit && last ? Buffer.from(`${last.startedAt}|${last.id}`).toString('base64url') : null,
  });
}

/** The `after` cursor a previous page gave (nextAfter): where the next page starts. */
function parseCursor(text: string | null): { startedAt: string; id: string } | undefined {
  if (!text) return undefined;
  const [startedAt, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (!id || !UUID.test(id) || Number.isNaN(Date.parse(startedAt)))
    throw new InvalidInputError('query parameter "after" must be the nextAfter of a previous page', 'bad_query');
  return { startedAt, id };
}

app.http('listRuns', {
  methods: ['GET'],
  route: 'runs',
  authLevel: 'function',
  handler: jsonErrors(listRuns, ['table', 'kind', 'status', 'after', 'limit']),
});
