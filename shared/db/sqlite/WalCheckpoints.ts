import { Worker } from 'node:worker_threads';
import { workerScript } from './workerScript';

/**
 * The writer thread's handle on the WAL checkpoint thread (walCheckpointer.ts). SQLite's own
 * checkpoint runs in the commit that fills the WAL to `wal_autocheckpoint` pages, and every write
 * queued behind that commit waits for it; with the pages copied meanwhile on another thread, it
 * finds little left to copy.
 */
export class WalCheckpoints {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string) {
    this.worker = new Worker(workerScript('walCheckpointer'), { workerData: { file } });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // Without it the writer's own checkpoints copy every page, as SQLite does by default.
    this.worker.on('error', (error) => console.error('the WAL checkpoint thread stopped:', error.message));
  }

  /** A transaction has committed: its pages are to be copied. */
  committed(): void {
    this.worker.postMessage('committed');
  }

  /** Resolves once the thread has closed its connection and ended, or had already ended. */
  close(): Promise<void> {
    this.worker.postMessage('close');
    return this.exited;
  }
}
