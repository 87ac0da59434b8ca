import { randomUUID } from 'node:crypto';
import type { RunKind, RunRecord } from '../db';
import type { TableName } from '../tables';
import { topReasons } from './reasonSummary';

/** A running load saves its heartbeat at least this often, even while it waits for the client's bytes. */
export const HEARTBEAT_MS = 15_000;
/** A run still marked running whose heartbeat is older than this died with its process. */
const STALE_AFTER_MS = 4 * HEARTBEAT_MS;

export function newRun(table: TableName, kind: RunKind, source: string, dryRun: boolean): RunRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    table,
    kind,
    source,
    dryRun,
    status: 'running',
    startedAt: now,
    heartbeatAt: now,
    finishedAt: null,
    received: 0,
    inserted: 0,
    skipped: 0,
    rejected: 0,
    error: null,
    idempotencyKey: null,
    detail: null,
  };
}

export function finishRun(run: RunRecord, error?: Error): void {
  run.status = error ? 'failed' : 'succeeded';
  run.error = error ? error.message : null;
  run.finishedAt = run.heartbeatAt = new Date().toISOString();
}

/** The run as clients see it. A run whose process died is reported as `interrupted`, not `running` forever. */
export function describeRun(run: RunRecord, now = Date.now()) {
  const stale = run.status === 'running' && now - Date.parse(run.heartbeatAt) > STALE_AFTER_MS;
  return {
    runId: run.id,
    table: run.table,
    kind: run.kind,
    source: run.source,
    dryRun: run.dryRun,
    status: stale ? 'interrupted' : run.status,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    lastActivityAt: run.heartbeatAt,
    received: run.received,
    inserted: run.inserted,
    skipped: run.skipped,
    rejected: run.rejected,
    error: stale
      ? `the process running it stopped; the ${run.inserted} rows it had committed are kept, and running it again is safe`
      : run.error,
    ...(run.kind === 'restore'
      ? { detail: run.detail }
      : { reasons: topReasons(run), ...(run.detail?.warning ? { warning: run.detail.warning } : {}) }),
  };
}

/** Whether the run is still going on: marked running, and its process has not died. */
export function isLive(run: RunRecord, now = Date.now()): boolean {
  return describeRun(run, now).status === 'running';
}

/** The counts every ingest response carries. */
export function runCounts(run: RunRecord) {
  return {
    runId: run.id,
    table: run.table,
    received: run.received,
    inserted: run.inserted,
    skipped: run.skipped,
    rejected: run.rejected,
    reasons: topReasons(run),
    ...(run.detail?.warning ? { warning: run.detail.warning as string } : {}),
  };
}
