/** What a run means to a person and to a script: its summary, and the exit status of how it ended. */
import { isGoingOn } from '../../shared/ingest/runs';
import type { Api, Run } from './api';
import { EXIT, type ExitCode } from './exitCodes';
import { formatCount } from './output';

/** Failed, cancelled or interrupted for good (5), succeeded with rejected rows (6), else 0: a run still going on has not failed. */
export function runOutcome(run: Run): ExitCode {
  if (run.status === 'failed' || run.status === 'cancelled' || (run.status === 'interrupted' && !isGoingOn(run))) return EXIT.runFailed;
  return run.status === 'succeeded' && run.rejected > 0 ? EXIT.rowsRejected : EXIT.ok;
}

export function countsText(run: Run): string {
  return `received ${formatCount(run.received)}, inserted ${formatCount(run.inserted)}, skipped ${formatCount(run.skipped)}, rejected ${formatCount(run.rejected)}`;
}

/** The route of the run's rejected rows as CSV: the file to fix and send again. */
export function rejectionsCsvRoute(runId: string): string {
  return `rejections?runId=${runId}&format=csv`;
}

/** Where to download the run's rejected rows, for a person. */
export function rejectionsCsvUrl(api: Api, runId: string): string {
  return api.url(rejectionsCsvRoute(runId));
}

export function runText(run: Run, api: Api): string {
  const lines = [
    `run ${run.runId}: ${run.kind}${run.dryRun ? ' (dry run)' : ''} of ${run.table} from ${run.source}: ${run.status}`,
    `started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
    countsText(run),
  ];
  if ('reasons' in run && run.reasons.length > 0) {
    lines.push('reasons:', ...run.reasons.map((r) => `  ${formatCount(r.rows).padStart(9)} × ${r.reason}`));
  }
  if ('warning' in run && run.warning) lines.push(`warning: ${run.warning}`);
  if (run.error) lines.push(`error: ${run.error}`);
  if (run.rejected > 0) {
    lines.push(
      `rejected rows, to fix and send again: csv2sql rejections ${run.runId} --csv --output ${run.table}-rejections.csv`,
      `  or download ${rejectionsCsvUrl(api, run.runId)}`,
    );
  }
  return lines.join('\n');
}
