import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { NotFoundError } from '../shared/errors';
import { describeRun } from '../shared/ingest/runs';
import { getServices } from '../shared/services';
import { json, jsonErrors, runIdParam } from './lib/http';

/**
 * GET /api/runs/{runId} — a batch's or a load's summary: table, kind, times, counts, status; for a
 * load from the historic container, its progress (bytes, percent, line, rows/s, ETA, attempts).
 */
export async function getRun(request: HttpRequest): Promise<HttpResponseInit> {
  const runId = runIdParam(request);
  const { db } = await getServices();
  const run = await db.getRun(runId);
  if (!run) throw new NotFoundError(`no run ${runId}`, 'run_not_found');
  return json(describeRun(run));
}

app.http('getRun', {
  methods: ['GET'],
  route: 'runs/{runId}',
  authLevel: 'function',
  handler: jsonErrors(getRun, []),
});
