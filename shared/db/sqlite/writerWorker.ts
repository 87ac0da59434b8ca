/**
 * The writer thread: owns the WriteConnection and runs its methods in the order they are sent,
 * reads its half of snapshots read on two threads (SnapshotSegments), and has its commits'
 * pages checkpointed on a thread of its own (WalCheckpointThread).
 */
import { parentPort, workerData, type TransferListItem } from 'node:worker_threads';
import { WriteConnection } from './WriteConnection';
import { SnapshotSegments } from './SnapshotSegments';
import { WalCheckpointThread } from './WalCheckpointThread';

/** Every operation the thread runs, by name. */
export type WriterOperations = WriteConnection & SnapshotSegments;
export type WriterOp = keyof WriterOperations;
export interface WriterRequest {
  readonly id: number;
  readonly op: WriterOp;
  readonly args: unknown[];
}
export type WriterResponse = { id: number; result: unknown } | { id: number; error: { message: string; code?: string } };

const { file } = workerData as { file: string };
const connection = new WriteConnection(file);
const snapshots = new SnapshotSegments(file);
const checkpointThread = new WalCheckpointThread(file);
/** Set by `close`: the operations sent after it are refused while the checkpoint thread ends. */
let closing = false;

parentPort!.on('message', ({ id, op, args }: WriterRequest) => {
  if (closing) return reply({ id, error: { message: 'the SQLite writer is closing' } });
  let response: WriterResponse;
  try {
    const target = op in snapshots ? snapshots : connection;
    response = { id, result: (target[op as keyof typeof target] as (...a: unknown[]) => unknown).apply(target, args) };
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    response = { id, error: { message, code } };
  }
  if ((op === 'commit' || op === 'migrate') && 'result' in response) checkpointThread.committed();
  if (op !== 'close') return reply(response);
  closing = true;
  snapshots.closeAll();
  // Answered once the checkpoint thread has closed its connection too: the database file is then free.
  void checkpointThread.close().then(() => {
    reply(response);
    parentPort!.close();
  });
});

function reply(response: WriterResponse): void {
  parentPort!.postMessage(response, transferable('result' in response ? response.result : undefined));
}

/** An encoded page's bytes move to the main thread rather than being copied. */
function transferable(result: unknown): TransferListItem[] {
  const bytes = (result as { bytes?: unknown } | undefined)?.bytes;
  return bytes instanceof Uint8Array ? [bytes.buffer as ArrayBuffer] : [];
}
