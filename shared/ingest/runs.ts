import { randomUUID } from 'node:crypto';
import type { RunKind, RunRecord } from '../db';
import { RUN_STATUSES } from '../db/Database';
import type { TableName } from '../tables';
import { topReasons } from './reasonSummary';
import { leaseExpired } from './Lease';

/** A running load saves its heartbeat at least this often, even while it waits for the client's bytes. */
export const HEARTBEAT_MS = 15_000;
/** A run still marked running whose heartbeat is older than this died with its process. */
const STALE_AFTER_MS = 4 * HEARTBEAT_MS;

/** The statuses clients see: the stored ones, and `interrupted` for a run whose process died. */
export const DESCRIBED_RUN_STATUSES = [...RUN_STATUSES, 'interrupted'] as const;

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
    blobEtag: null,
    bytesTotal: null,
    checkpoint: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    attempts: null,
    cancelRequested: null,
  };
}

export function finishRun(run: RunRecord, error?: Error, status: 'succeeded' | 'cancelled' = 'succeeded'): void {
  run.status = error ? 'failed' : status;
  run.error = error ? error.message : null;
  run.finishedAt = run.heartbeatAt = new Date().toISOString();
}

/** The run as clients see it. A run whose process died is reported as `interrupted`, not `running` forever. */
export function describeRun(run: RunRecord, now = Date.now()) {
  // A load's lease says whether its worker is alive; runs from before leases, their heartbeat.
  const stale =
    run.status === 'running' && (run.leaseExpiresAt ? leaseExpired(run, now) : now - Date.parse(run.heartbeatAt) > STALE_AFTER_MS);
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
    ...(run.kind === 'load' && loadProgress(run, now)),
    error: stale ? interruptedBecause(run) : run.error,
    ...(run.kind === 'restore'
      ? { detail: run.detail }
      : { reasons: topReasons(run), ...(run.detail?.warning ? { warning: run.detail.warning } : {}) }),
  };
}

function resumable(run: RunRecord): boolean {
  return isBlobSource(run.source) && run.blobEtag !== null;
}

/** Only a load of a blob is queued again by the service when its worker stops; any other run's source is gone with its process. */
function isBlobSource(source: string): boolean {
  return source.startsWith('blob:');
}

/** Whether a run, as clients see it, has more to come: queued or running, or interrupted and a blob load, which is queued again. */
export function isGoingOn(run: { readonly status: string; readonly source: string }): boolean {
  return run.status === 'queued' || run.status === 'running' || (run.status === 'interrupted' && isBlobSource(run.source));
}

function interruptedBecause(run: RunRecord): string {
  return resumable(run)
    ? `its worker stopped; the ${run.inserted} rows it had committed are kept, and it goes on from there when queued again (within a minute)`
    : `the process running it stopped; the ${run.inserted} rows it had committed are kept, and running it again is safe`;
}

/** A load's progress as of its last commit: bytes and lines read, speed and, while it runs, the time left. */
function loadProgress(run: RunRecord, now: number) {
  const offset = run.checkpoint?.offset;
  // A checkpoint that is no position in the file (a damaged run) tells no progress.
  const bytesDone = Number.isInteger(offset) && offset! >= 0 ? offset! : null;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : Math.min(now, Date.parse(run.heartbeatAt));
  const seconds = Math.max(0.001, (end - Date.parse(run.startedAt)) / 1000);
  const total = run.bytesTotal;
  const live = run.status === 'running' || run.status === 'queued';
  return {
    bytesTotal: total,
    bytesDone,
    percent:
      total && bytesDone !== null ? Math.min(100, Math.floor((bytesDone / total) * 1000) / 10) : run.status === 'succeeded' ? 100 : null,
    line: run.checkpoint?.line ?? null,
    rowsPerSecond: run.received > 0 ? Math.round(run.received / seconds) : 0,
    etaSeconds: live && total && bytesDone ? Math.max(0, Math.round(((total - bytesDone) * seconds) / bytesDone)) : null,
    attempts: run.attempts ?? 0,
    updatedAt: run.heartbeatAt,
  };
}

/** A load that a worker is to do or doing: queued or running (however its lease stands). */
export function isPendingLoad(run: RunRecord): boolean {
  return run.kind === 'load' && (run.status === 'queued' || run.status === 'running');
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
