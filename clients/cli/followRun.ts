import { setTimeout as delay } from 'node:timers/promises';
import { isGoingOn } from '../../shared/ingest/runs';
import type { Api, Run } from './api';
import { CliError } from './CliError';
import { EXIT } from './exitCodes';
import { interruptSignal } from './interrupt';
import type { ProgressDisplay } from './progress';
import { UnreachableError } from './UnreachableError';

/** Often enough for a live bar; lines are printed at their own interval. */
const POLL_MS = 1_000;
/** A network blip while a long load runs is ridden out: the waits before each retry of a poll that got no answer. */
const POLL_RETRY_MS = [1_000, 2_000, 4_000, 8_000];

/** Polls the run until it has ended, showing its progress. Ctrl+C stops the polling, never the run. */
export async function followRun(api: Api, run: Run, display: ProgressDisplay, intervalMs: number): Promise<Run> {
  const signal = interruptSignal();
  try {
    for (;;) {
      display.load(run);
      if (!isGoingOn(run)) return run;
      await delay(Math.min(POLL_MS, intervalMs), undefined, { signal });
      run = await poll(api, run, signal);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
    throw new CliError(EXIT.interrupted, 'interrupted', `stopped following run ${run.runId}; ${howToFollow(run)}`, { runId: run.runId });
  } finally {
    display.stop();
  }
}

/** The run as it is now, asked again a few times with growing waits if the service does not answer. */
async function poll(api: Api, run: Run, signal: AbortSignal): Promise<Run> {
  for (let retry = 0; ; retry++) {
    try {
      return await api.get<Run>(`runs/${run.runId}`, signal);
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      if (retry === POLL_RETRY_MS.length) {
        throw new CliError(error.exitCode, error.code, `${error.message}; ${howToFollow(run)}`, { runId: run.runId });
      }
      await delay(POLL_RETRY_MS[retry], undefined, { signal });
    }
  }
}

function howToFollow(run: Run): string {
  return `the ${run.kind} goes on in the service: follow it with csv2sql status ${run.runId} --watch`;
}
