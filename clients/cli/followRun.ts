import { setTimeout as delay } from 'node:timers/promises';
import type { Api, Run } from './api';
import { CliError } from './CliError';
import { EXIT } from './exitCodes';
import { interruptSignal } from './interrupt';
import type { ProgressDisplay } from './progress';

/** Often enough for a live bar; lines are printed at their own interval. */
const POLL_MS = 1_000;

/** A run that is not over yet: an interrupted load is queued again by the service itself. */
export function hasEnded(run: Run): boolean {
  return !['queued', 'running', 'interrupted'].includes(run.status);
}

/** Polls the run until it has ended, showing its progress. Ctrl+C stops the polling, never the run. */
export async function followRun(api: Api, run: Run, display: ProgressDisplay, intervalMs: number): Promise<Run> {
  const signal = interruptSignal();
  try {
    for (;;) {
      display.load(run);
      if (hasEnded(run)) return run;
      await delay(Math.min(POLL_MS, intervalMs), undefined, { signal });
      run = await api.get<Run>(`runs/${run.runId}`, signal);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    throw new CliError(
      EXIT.interrupted,
      'interrupted',
      `stopped following run ${run.runId}; the ${run.kind} goes on in the service: follow it with csv2sql status ${run.runId} --watch`,
      { runId: run.runId },
    );
  } finally {
    display.stop();
  }
}
