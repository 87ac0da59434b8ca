import { Worker } from 'node:worker_threads';
import { workerScript } from './workerScript';
import type { WriterOp, WriterOperations, WriterRequest, WriterResponse } from './writerWorker';

type Result<K extends WriterOp> = ReturnType<WriterOperations[K]>;

/** The main thread's handle on the writer thread: each call is a message, answered in order. */
export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(file: string) {
    this.worker = new Worker(workerScript('writerWorker'), { workerData: { file } });
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

  call<K extends WriterOp>(op: K, ...args: Parameters<WriterOperations[K]>): Promise<Result<K>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, op, args } satisfies WriterRequest);
    });
  }
}
