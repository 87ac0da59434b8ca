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
    this.hold(run);
    run.leaseOwner = null;
  }

  /** Saves the run as of its last commit with the lease renewed, unless another worker holds it now. */
  async renew(committed: RunRecord): Promise<void> {
    await this.db.write(async (tx) => {
      const stored = await this.db.getRun(this.runId);
      if (stored?.leaseOwner !== this.owner) return;
      this.hold(committed);
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
