import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WriteConnection } from './WriteConnection';
import type { WriterOp, WriterRequest, WriterResponse } from './writerWorker';

type Result<K extends WriterOp> = ReturnType<WriteConnection[K]>;

/** The main thread's handle on the writer thread: each call is a message, answered in order. */
export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(file: string) {
    this.worker = new Worker(workerFile(), { workerData: { file } });
    this.worker.on('message', (response: WriterResponse) => {
      const call = this.pending.get(response.id)!;
      this.pending.delete(response.id);
      if ('error' in response) call.reject(Object.assign(new Error(response.error.message), { code: response.error.code }));
      else call.resolve(response.result);
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  call<K extends WriterOp>(op: K, ...args: Parameters<WriteConnection[K]>): Promise<Result<K>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, op, args } satisfies WriterRequest);
    });
  }
}

/**
 * The compiled worker script. Under the test runner this module is TypeScript source, and the
 * worker runs from the build (`npm test` builds first).
 */
function workerFile(): string {
  const beside = path.join(__dirname, 'writerWorker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '..', '..', '..', 'dist', 'shared', 'db', 'sqlite', 'writerWorker.js');
  if (fs.existsSync(built)) return built;
  throw new Error(`the SQLite writer thread's script is missing (${built}): run "npm run build"`);
}
