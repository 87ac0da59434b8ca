/**
 * Historical loads from the historic container, asynchronous and resumable: a request queues a
 * run, workers (queue-triggered) do it in shares of bounded time, each going on from the
 * checkpoint its predecessor committed. The queue's messages only name the run; where it stands is
 * read from the database, under a lease that lets one worker at a time work on it.
 */
import type { Database, LoadCheckpoint, RunRecord, WriteTransaction } from '../db';
import { START_OF_FILE } from '../csv';
import { ConflictError, ServiceError } from '../errors';
import { claimLoad } from '../backup/restoresInProgress';
import type { BlobStorage, BlobVersion } from '../storage/BlobStorage';
import type { LoadQueue } from '../storage/LoadQueue';
import { getTable, type TableDef } from '../tables';
import { applyFile, rowSlices, stoppedBecause, type ApplyEnd } from './loadCsv';
import type { RejectionLogger } from './applyRows';
import { heldUntil, Lease, leaseExpired, leaveUnheld } from './Lease';
import { LeaseLostError } from './LeaseLostError';
import { finishRun, isPendingLoad, newRun } from './runs';
import { assertSupportedCharset, charsetParam, toUtf8 } from './transcode';

/** How long an Idempotency-Key is remembered: a retry after that is a new load. */
const IDEMPOTENCY_MS = 24 * 60 * 60_000;

export interface BlobLoadRequest {
  readonly table: TableDef;
  readonly blob: string;
  readonly charset?: string;
  readonly dryRun: boolean;
  readonly idempotencyKey?: string;
}

export interface WorkerSettings {
  /** A worker stops after this long, at its next commit, and queues its continuation. */
  readonly budgetMs: number;
  readonly leaseMs: number;
  /** Names the worker in the lease: unique per invocation. */
  readonly workerId: string;
  readonly log?: RejectionLogger;
}

/**
 * Queues a load of a blob: the run is recorded as `queued` with the blob's ETag and size, then its
 * message sent. A request for the same table, blob version and mode while that load is queued or
 * running, or with the Idempotency-Key of an earlier request, gets the existing run (`created` false).
 */
export async function queueBlobLoad(
  db: Database,
  storage: BlobStorage,
  queue: LoadQueue,
  request: BlobLoadRequest,
  leaseMs: number,
): Promise<{ run: RunRecord; created: boolean }> {
  const version = await storage.historicVersion(request.blob);
  const charset = request.charset ?? charsetParam(version.contentType);
  assertSupportedCharset(charset);
  const source = `blob:${version.path}`;
  const found = await db.write(async (tx) => {
    const existing = await sameLoad(db, request, source, version);
    if (existing) return { run: existing, created: false };
    const run = newRun(request.table.name, 'load', source, request.dryRun);
    Object.assign(run, {
      status: 'queued',
      blobEtag: version.etag,
      bytesTotal: version.size,
      idempotencyKey: request.idempotencyKey ?? null,
      detail: charset ? { charset } : null,
      checkpoint: START_OF_FILE,
    } satisfies Partial<RunRecord>);
    // Not held by anyone: a message lost before it was sent is sent again once this expires (requeueStalledLoads).
    leaveUnheld(run, leaseMs);
    await tx.saveRun(run);
    return { run, created: true };
  });
  if (found.created) await queue.send({ runId: found.run.id });
  return found;
}

/** The run an identical request already made: by Idempotency-Key, or the same blob version still queued or running. */
async function sameLoad(db: Database, request: BlobLoadRequest, source: string, version: BlobVersion): Promise<RunRecord | undefined> {
  if (request.idempotencyKey) {
    const [first] = await db.listRuns({ kind: 'load', idempotencyKey: request.idempotencyKey, limit: 1 });
    if (first && Date.now() - Date.parse(first.startedAt) < IDEMPOTENCY_MS) return first;
  }
  for (const status of ['queued', 'running'] as const) {
    const runs = await db.listRuns({ table: request.table.name, kind: 'load', status, limit: 100 });
    const same = runs.find((r) => r.source === source && r.blobEtag === version.etag && r.dryRun === request.dryRun);
    if (same) return same;
  }
  return undefined;
}

/** How a worker's invocation ended. */
export type WorkOutcome = 'finished' | 'paused' | 'cancelled' | 'stale';

/**
 * One worker's share of a load: takes the run's lease, reads the blob from the committed
 * checkpoint, commits until the file ends or the time budget is spent (then queues its
 * continuation), and gives the lease up. A message for a run that is finished, cancelled or held
 * by a live worker does nothing. An unexpected failure is recorded on the run and thrown, for the
 * queue to retry the message; one that retrying cannot fix (the blob replaced) fails the run.
 */
export async function workOnLoad(
  db: Database,
  storage: BlobStorage,
  queue: LoadQueue,
  runId: string,
  settings: WorkerSettings,
): Promise<WorkOutcome> {
  const lease = new Lease(db, runId, settings.workerId, settings.leaseMs);
  const run = await takeLease(db, lease, runId, settings.leaseMs);
  if (!run) return 'stale';
  const table = getTable(run.table);
  let release: () => void;
  try {
    release = claimLoad(db, table, run.id);
  } catch (error) {
    // A restore of the table is running here: try again once it has had time to end.
    await lease.giveUp(run);
    await queue.send({ runId }, Math.ceil(settings.leaseMs / 1000));
    if (error instanceof ServiceError) return 'paused';
    throw error;
  }
  try {
    const { committed, failure, end } = await shareOfLoad(db, storage, table, run, lease, settings);
    if (failure instanceof LeaseLostError) return 'stale';
    if (failure && !(failure instanceof ServiceError)) {
      // Retried by the queue: the run keeps its state, with the error that stopped this attempt.
      committed.error = stoppedBecause(failure, committed);
      await lease.giveUp(committed);
      throw failure;
    }
    if (end === 'cancelled') return 'cancelled';
    if (end === 'paused') {
      await lease.giveUp(committed);
      await queue.send({ runId });
      return 'paused';
    }
    finishRun(committed, failure && new Error(stoppedBecause(failure, committed)));
    lease.release(committed);
    await db.write((tx) => tx.saveRun(committed));
    if (committed.checkpoint?.scratch) await db.dropScratch(committed.checkpoint.scratch);
    return 'finished';
  } finally {
    release();
  }
}

/** Reads the blob from the run's checkpoint and applies it until the file ends or the time budget is spent; any failure is returned. */
async function shareOfLoad(
  db: Database,
  storage: BlobStorage,
  table: TableDef,
  run: RunRecord,
  lease: Lease,
  settings: WorkerSettings,
): Promise<{ committed: RunRecord; failure?: Error; end?: ApplyEnd }> {
  try {
    const checkpoint: LoadCheckpoint = run.checkpoint ?? START_OF_FILE;
    const scratch = run.dryRun ? (checkpoint.scratch ?? (await db.createScratch(table))) : undefined;
    let transcoded = checkpoint.transcoded;
    const version: BlobVersion = {
      path: run.source.slice('blob:'.length),
      etag: run.blobEtag!,
      size: run.bytesTotal!,
      contentType: undefined,
    };
    const charset = run.detail?.charset as string | undefined;
    let body: AsyncIterable<Uint8Array>;
    if (checkpoint.offset === 0 || transcoded) {
      // From the start: the charset is decided on the first bytes; a transcoded file is skipped to its offset.
      body = skipBytes(
        toUtf8(await storage.readVersion(version, 0), charset, (label) => (transcoded = label !== undefined)),
        checkpoint.offset,
      );
    } else {
      body = await storage.readVersion(version, checkpoint.offset);
    }
    return await applyFile(db, table, run, rowSlices(table, body, checkpoint, db.capabilities.bulkRows), {
      scratch,
      log: settings.log,
      lease,
      until: Date.now() + settings.budgetMs,
      checkpoint: {
        get transcoded() {
          return transcoded;
        },
        scratch,
      },
    });
  } catch (error) {
    return { committed: { ...run }, failure: error as Error };
  }
}

/**
 * Takes the run's lease, under the write lock: the run must be queued or running, not asked to
 * stop, and not held by a worker whose lease is still running (it is waited for, once, as long as
 * a lease lasts: a dead worker's lease expires meanwhile, a live one's is renewed).
 */
async function takeLease(db: Database, lease: Lease, runId: string, leaseMs: number): Promise<RunRecord | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const taken = await db.write(async (tx) => {
      const run = await db.getRun(runId);
      if (!run || !isPendingLoad(run)) return { run: undefined };
      if (run.cancelRequested) {
        finishRun(run, undefined, 'cancelled');
        lease.release(run);
        await tx.saveRun(run);
        await buildDroppedIndexes(db, tx, run);
        return { run: undefined };
      }
      const until = heldUntil(run);
      if (until > Date.now()) return { run: undefined, heldUntil: until };
      run.status = 'running';
      run.attempts = (run.attempts ?? 0) + 1;
      run.error = null;
      lease.hold(run);
      await tx.saveRun(run);
      return { run };
    });
    if (taken.run || !taken.heldUntil) return taken.run;
    if (attempt === 0) await new Promise((resolve) => setTimeout(resolve, Math.min(leaseMs, taken.heldUntil - Date.now()) + 50));
  }
  return undefined;
}

/** Drops the first `count` bytes of a stream. */
async function* skipBytes(bytes: AsyncIterable<Uint8Array>, count: number): AsyncGenerator<Uint8Array> {
  let left = count;
  for await (const chunk of bytes) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left ? chunk.subarray(left) : chunk;
    left = 0;
  }
}

/**
 * Stops a load: a queued one at once, a running one at its next commit (its worker sees the
 * request). What was committed stays. A run that is not a queued or running load is a conflict.
 */
export async function cancelLoad(db: Database, runId: string): Promise<RunRecord | undefined> {
  return db.write(async (tx) => {
    const run = await db.getRun(runId);
    if (!run) return undefined;
    if (!isPendingLoad(run)) {
      throw new ConflictError(
        `run ${runId} is a ${run.kind} that is ${run.status}: only a queued or running load can be cancelled`,
        'not_cancellable',
      );
    }
    if (heldUntil(run) > Date.now()) run.cancelRequested = true;
    else {
      finishRun(run, undefined, 'cancelled');
      await buildDroppedIndexes(db, tx, run);
    }
    await tx.saveRun(run);
    return run;
  });
}

/** Queues a cancelled load from the historic container again: it goes on from its last commit. */
export async function resumeLoad(db: Database, queue: LoadQueue, runId: string, leaseMs: number): Promise<RunRecord | undefined> {
  const run = await db.write(async (tx) => {
    const stored = await db.getRun(runId);
    if (!stored) return undefined;
    if (stored.kind !== 'load' || stored.status !== 'cancelled' || !stored.source.startsWith('blob:')) {
      throw new ConflictError(
        `run ${runId} is a ${stored.kind} from ${stored.source} that is ${stored.status}: only a cancelled load from the historic container can be resumed`,
        'not_resumable',
      );
    }
    Object.assign(stored, { status: 'queued', cancelRequested: false, finishedAt: null, error: null } satisfies Partial<RunRecord>);
    leaveUnheld(stored, leaseMs);
    await tx.saveRun(stored);
    return stored;
  });
  if (run) await queue.send({ runId });
  return run;
}

/** A message that failed on its last attempt (it goes to the poison queue): its run fails, with the last error. */
export async function failPoisonedLoad(db: Database, runId: string): Promise<void> {
  await db.write(async (tx) => {
    const run = await db.getRun(runId);
    if (!run || !isPendingLoad(run)) return;
    finishRun(run, new Error(run.error ?? 'the load failed on every attempt (see the function log)'));
    await tx.saveRun(run);
    await buildDroppedIndexes(db, tx, run);
  });
}

/** A load that ends between two of its shares builds the indexes an earlier share may have dropped for the rest of it. */
async function buildDroppedIndexes(db: Database, tx: WriteTransaction, run: RunRecord): Promise<void> {
  if (!run.dryRun && db.capabilities.loadsDropIndexes) await tx.buildIndexes(getTable(run.table));
}

/**
 * Queues again the loads from the historic container whose lease has expired while queued or
 * running: their worker died, or their message was lost. A duplicate message does nothing.
 */
export async function requeueStalledLoads(db: Database, queue: LoadQueue): Promise<string[]> {
  const stalled: string[] = [];
  for (const status of ['queued', 'running'] as const) {
    for (const run of await db.listRuns({ kind: 'load', status, limit: 100 })) {
      if (run.source.startsWith('blob:') && run.blobEtag && leaseExpired(run)) stalled.push(run.id);
    }
  }
  for (const runId of stalled) await queue.send({ runId });
  return stalled;
}
