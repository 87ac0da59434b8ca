import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { InvalidInputError, NotFoundError } from '../shared/errors';
import { describeRun } from '../shared/ingest/runs';
import { getServices } from '../shared/services';
import { json, jsonErrors, UUID } from './lib/http';

/** GET /api/runs/{runId} — a batch's or a load's summary: table, kind, times, counts, status. */
export async function getRun(request: HttpRequest): Promise<HttpResponseInit> {
  const runId = request.params.runId ?? '';
  if (!UUID.test(runId)) throw new InvalidInputError(`runId must be a UUID; got "${runId}"`, 'bad_run_id');
  const { db } = await getServices();
  const run = await db.getRun(runId.toLowerCase());
  if (!run) throw new NotFoundError(`no run ${runId}`, 'run_not_found');
  return json(describeRun(run));
}

app.http('getRun', {
  methods: ['GET'],
  route: 'runs/{runId}',
  authLevel: 'function',
  handler: jsonErrors(getRun, []),
});
