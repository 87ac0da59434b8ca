/**
 * The WAL checkpoint thread (WalCheckpoints.ts): after commits, copies the committed pages from the
 * WAL into the database file on a connection of its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openConnection } from './connection';

/** At most one checkpoint per interval: each copies a page once, however often commits rewrote it meanwhile. */
const CHECKPOINT_INTERVAL_MS = 250;

const { file } = workerData as { file: string };
const connection = openConnection(file, false);
let last = 0;
let timer: NodeJS.Timeout | undefined;

function checkpoint(): void {
  timer = undefined;
  last = Date.now();
  try {
    // PASSIVE: it waits for no reader or writer and holds no lock they wait for; it copies what it can.
    connection.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    console.error('a WAL checkpoint failed; the writer checkpoints itself meanwhile:', (error as Error).message);
  }
}

parentPort!.on('message', (message: 'committed' | 'close') => {
  if (message === 'close') {
    clearTimeout(timer);
    connection.close();
    parentPort!.close();
  } else if (!timer) {
    timer = setTimeout(checkpoint, Math.max(0, last + CHECKPOINT_INTERVAL_MS - Date.now()));
  }
});
