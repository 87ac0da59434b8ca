import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { NotFoundError } from '../shared/errors';
import { cancelLoad } from '../shared/ingest/blobLoads';
import { describeRun } from '../shared/ingest/runs';
import { getServices } from '../shared/services';
import { json, jsonErrors, runIdParam } from './lib/http';

/**
 * DELETE /api/runs/{runId} — stops a queued or running load: a queued one at once, a running one
 * at its next commit. What was committed stays; a cancelled load from the historic container can
 * be resumed (POST /api/runs/{runId}/resume). The master key only.
 */
export async function cancelRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = runIdParam(request);
  const run = await cancelLoad((await getServices()).db, runId);
  if (!run) throw new NotFoundError(`no run ${runId}`, 'run_not_found');
  context.log(`[run ${runId}] ${run.status === 'cancelled' ? 'cancelled' : 'cancel asked: it stops at its next commit'}`);
  return json(describeRun(run), run.status === 'cancelled' ? 200 : 202);
}

app.http('cancelRun', { methods: ['DELETE'], route: 'runs/{runId}', authLevel: 'admin', handler: jsonErrors(cancelRun, []) });
