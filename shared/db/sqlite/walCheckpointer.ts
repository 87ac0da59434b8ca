/**
 * The WAL checkpoint thread (WalCheckpointThread.ts): after commits, copies the committed pages from
 * the WAL into the database file on a connection of its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openConnection } from './connection';

/**
 * A checkpoint this long after the first commit since the last one: each copies a page once, however
 * often commits rewrote it meanwhile, and none competes with the requests that follow a commit at once.
 */
const CHECKPOINT_DELAY_MS = 250;

const { file } = workerData as { file: string };
const connection = openConnection(file, false);
let nextCheckpoint: NodeJS.Timeout | undefined;

function checkpoint(): void {
  nextCheckpoint = undefined;
  try {
    // PASSIVE: it waits on no reader or writer and none waits on it (the writer's own checkpoint skips while it runs).
    connection.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    console.error('a WAL checkpoint failed; the writer checkpoints itself meanwhile:', (error as Error).message);
  }
}

parentPort!.on('message', (message: 'committed' | 'close') => {
  if (message === 'close') {
    clearTimeout(nextCheckpoint);
    connection.close();
    parentPort!.close();
  } else if (!nextCheckpoint) {
    nextCheckpoint = setTimeout(checkpoint, CHECKPOINT_DELAY_MS);
  }
});
