import { app, type InvocationContext, type Timer } from '@azure/functions';
import { requeueStalledLoads } from '../shared/ingest/blobLoads';
import { getServices } from '../shared/services';

/** Every minute: loads whose worker died (or whose message was lost) are queued again, from their last commit. */
export async function requeueLoads(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = await getServices();
  if (!services.loads) return;
  const requeued = await requeueStalledLoads(services.db, services.loads);
  for (const runId of requeued) context.log(`[run ${runId}] queued again: its lease expired`);
}

app.timer('requeueLoads', { schedule: '0 * * * * *', handler: requeueLoads });
