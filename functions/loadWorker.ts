import { app, type InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { failPoisonedLoad, workOnLoad } from '../shared/ingest/blobLoads';
import { LOAD_QUEUE_BINDING, runIdOf } from '../shared/storage/LoadQueue';
import { getServices, requireLoadQueue } from '../shared/services';
import { logRejections } from './lib/http';

/**
 * Queue trigger on the LOAD_QUEUE queue (`loads`): one worker's share of a load from the historic
 * container (see shared/ingest/blobLoads.ts). A failure is thrown, for the host to retry the
 * message and, after maxDequeueCount attempts, move it to `<queue>-poison`; on that last attempt
 * the run fails, with the error.
 */
export async function loadWorker(message: unknown, context: InvocationContext): Promise<void> {
  const runId = runIdOf(message);
  if (!runId) return context.warn(`ignored a message that names no run: ${JSON.stringify(message).slice(0, 200)}`);
  const services = await getServices();
  const { storage, queue } = requireLoadQueue(services);
  const attempt = context.triggerMetadata?.dequeueCount;
  try {
    const outcome = await workOnLoad(services.db, storage, queue, runId, {
      budgetMs: services.config.loadWorkerMs,
      leaseMs: services.config.loadLeaseMs,
      workerId: `${context.invocationId}:${randomUUID().slice(0, 8)}`,
      log: logRejections(context, runId),
    });
    const run = await services.db.getRun(runId);
    context.log(
      `[run ${runId}] ${outcome} (message attempt ${attempt ?? '?'})` +
        (run ? `: ${run.status}, ${run.received} received, ${run.inserted} inserted, ${run.checkpoint?.offset ?? 0} bytes` : ''),
    );
  } catch (error) {
    context.error(`[run ${runId}] attempt ${attempt ?? '?'} failed:`, error);
    if (attempt !== undefined && Number(attempt) >= MAX_DEQUEUE_COUNT) {
      await failPoisonedLoad(services.db, runId);
      context.warn(`[run ${runId}] failed: its message failed ${attempt} attempts and goes to the poison queue`);
    }
    throw error;
  }
}

/** host.json's extensions.queues.maxDequeueCount (the host's default 5): the attempts before a message goes to the poison queue. */
const MAX_DEQUEUE_COUNT = readMaxDequeueCount();

function readMaxDequeueCount(): number {
  // host.json is at the app's root: beside package.json, above this file in the source and in dist/.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'host.json');
    if (fs.existsSync(file)) return Number(JSON.parse(fs.readFileSync(file, 'utf8')).extensions?.queues?.maxDequeueCount ?? 5);
  }
  return 5;
}

app.storageQueue('loadWorker', { queueName: LOAD_QUEUE_BINDING, connection: 'AzureWebJobsStorage', handler: loadWorker });
