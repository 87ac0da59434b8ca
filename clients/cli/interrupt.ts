/**
 * Ctrl+C. A command that can stop cleanly (an upload, the following of a load) listens with
 * `interruptSignal()` and says how to go on; elsewhere, and at a second Ctrl+C, the process ends
 * at once with status 130.
 */
import { EXIT } from './exitCodes';

const interrupted = new AbortController();
let listened = false;

export function handleInterrupts(): void {
  process.on('SIGINT', () => {
    if (!listened || interrupted.signal.aborted) process.exit(EXIT.interrupted);
    interrupted.abort();
  });
}

/** Aborted at the first Ctrl+C. */
export function interruptSignal(): AbortSignal {
  listened = true;
  return interrupted.signal;
}
