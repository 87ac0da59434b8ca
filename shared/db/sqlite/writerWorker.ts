/** The writer thread: owns the WriteConnection and runs its methods in the order they are sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { WriteConnection } from './WriteConnection';

export type WriterOp = Exclude<keyof WriteConnection, 'constructor'>;
export interface WriterRequest {
  readonly id: number;
  readonly op: WriterOp;
  readonly args: unknown[];
}
export type WriterResponse = { id: number; result: unknown } | { id: number; error: { message: string; code?: string } };

const connection = new WriteConnection((workerData as { file: string }).file);

parentPort!.on('message', ({ id, op, args }: WriterRequest) => {
  let response: WriterResponse;
  try {
    response = { id, result: (connection[op] as (...a: unknown[]) => unknown)(...args) };
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    response = { id, error: { message, code } };
  }
  parentPort!.postMessage(response);
  if (op === 'close') parentPort!.close();
});
