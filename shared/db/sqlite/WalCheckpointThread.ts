import { Worker } from 'node:worker_threads';
import { workerScript } from './workerScript';

/**
 * The writer thread's handle on the WAL checkpoint thread (walCheckpointer.ts). SQLite's own
 * checkpoint runs in the commit that fills the WAL to `wal_autocheckpoint` pages, and every write
 * queued behind that commit waits for it; with the pages copied meanwhile on another thread, it
 * finds little left to copy.
 */
export class WalCheckpointThread {
  private readonly worker: Worker | undefined;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    try {
      this.worker = new Worker(workerScript('walCheckpointer'), { workerData: { file } });
    } catch (error) {
      console.error('the WAL checkpoint thread could not start:', (error as Error).message);
    }
    const worker = this.worker;
    this.exited = worker ? new Promise((resolve) => worker.once('exit', () => resolve())) : Promise.resolve();
    // Only logged: without the thread, the writer's own checkpoints copy every page, as SQLite does by default.
    worker?.on('error', (error) => console.error('the WAL checkpoint thread stopped:', error.message));
  }

  /** A write has committed: its pages are to be copied. */
  committed(): void {
    this.worker?.postMessage('committed');
  }

  /** Resolves once the thread has closed its connection and ended, or had already ended. */
  close(): Promise<void> {
    this.worker?.postMessage('close');
    return this.exited;
  }
}
