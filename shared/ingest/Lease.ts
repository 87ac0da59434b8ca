/**
 * A worker's hold on a load's run, in the runs table: one worker at a time works on a run, and a
 * run whose worker died is known by its lease's expiry, not by a guess. Every commit of the
 * worker renews it, and so does a timer while the worker waits for input.
 */
import type { Database, RunRecord } from '../db';
import { LeaseLostError } from './LeaseLostError';

/** How long a lease lasts unless renewed. */
export const LEASE_MS = 30_000;

export class Lease {
  readonly renewEveryMs: number;

  constructor(
    private readonly db: Database,
    private readonly runId: string,
    readonly owner: string,
    private readonly leaseMs = LEASE_MS,
  ) {
    this.renewEveryMs = Math.max(100, Math.floor(leaseMs / 3));
  }

  /** Marks `run` as held by this worker from now for a lease's length; saved with the run. */
  hold(run: RunRecord): void {
    const now = Date.now();
    run.leaseOwner = this.owner;
    run.leaseExpiresAt = new Date(now + this.leaseMs).toISOString();
    run.heartbeatAt = new Date(now).toISOString();
  }

  /** Gives the run up; it stays live for a lease's length, for a continuation to take it. */
  release(run: RunRecord): void {
    leaveUnheld(run, this.leaseMs);
  }

  /** Saves the run as of its last commit with the lease renewed, unless another worker holds it now. */
  renew(committed: RunRecord): Promise<void> {
    return this.saveIfHeld(committed, (run) => this.hold(run));
  }

  /** Saves the run as of its last commit with the lease given up, unless another worker holds it now. */
  giveUp(committed: RunRecord): Promise<void> {
    return this.saveIfHeld(committed, (run) => this.release(run));
  }

  private async saveIfHeld(committed: RunRecord, mark: (run: RunRecord) => void): Promise<void> {
    await this.db.write(async (tx) => {
      const stored = await this.db.getRun(this.runId);
      if (stored?.leaseOwner !== this.owner) return;
      mark(committed);
      committed.cancelRequested = stored.cancelRequested;
      await tx.saveRun(committed);
    });
  }

  /**
   * Inside a write transaction, before it writes: throws LeaseLostError if another worker holds the
   * run now; resolves to whether a cancel has been asked for (noted on `run`).
   */
  async mustStop(run: RunRecord): Promise<boolean> {
    const stored = await this.db.getRun(this.runId);
    if (stored?.leaseOwner !== this.owner) throw new LeaseLostError(this.runId);
    run.cancelRequested = stored.cancelRequested;
    return !!stored.cancelRequested;
  }
}

/** Marks `run` as held by no worker, live for `leaseMs`: for a continuation, or a first worker, to take it. */
export function leaveUnheld(run: RunRecord, leaseMs: number): void {
  const now = Date.now();
  run.leaseOwner = null;
  run.leaseExpiresAt = new Date(now + leaseMs).toISOString();
  run.heartbeatAt = new Date(now).toISOString();
}

/** Until when (epoch ms) a worker holds the run; 0 if none does. */
export function heldUntil(run: RunRecord): number {
  return run.leaseOwner && run.leaseExpiresAt ? Date.parse(run.leaseExpiresAt) : 0;
}

/** Whether the run's lease, held or not, has run out (or it never had one). */
export function leaseExpired(run: RunRecord, now = Date.now()): boolean {
  return !run.leaseExpiresAt || Date.parse(run.leaseExpiresAt) < now;
}
