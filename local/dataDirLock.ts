/**
 * One local host per data folder: a lock file holding the process id, taken with an exclusive
 * create. A host killed without cleaning up leaves it behind; the next one sees that process is
 * gone and takes the lock over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataDirInUseError } from './DataDirInUseError';

/** Takes the folder's lock, or throws DataDirInUseError; returns the function that releases it. */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'host.lock');
  for (;;) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(file, 'utf8'));
    if (holder > 0 && holder !== process.pid && isRunning(holder)) throw new DataDirInUseError(dataDir, holder);
    fs.rmSync(file, { force: true }); // left by a host that died
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
