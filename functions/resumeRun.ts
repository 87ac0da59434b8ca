import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { NotFoundError } from '../shared/errors';
import { resumeLoad } from '../shared/ingest/blobLoads';
import { getServices, requireLoadQueue } from '../shared/services';
import { acceptedRun, jsonErrors, runIdParam } from './lib/http';

/** POST /api/runs/{runId}/resume — queues a cancelled load from the historic container again, from its last commit. The master key only. */
export async function resumeRun(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = runIdParam(request);
  const services = await getServices();
  const run = await resumeLoad(services.db, requireLoadQueue(services).queue, runId, services.config.loadLeaseMs);
  if (!run) throw new NotFoundError(`no run ${runId}`, 'run_not_found');
  context.log(`[run ${runId}] resumed from byte ${run.checkpoint?.offset ?? 0}`);
  return acceptedRun(run, true);
}

app.http('resumeRun', { methods: ['POST'], route: 'runs/{runId}/resume', authLevel: 'admin', handler: jsonErrors(resumeRun, []) });
