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
  // The lock appears with its process id already in it: written aside, then linked into place (which fails if one exists).
  const mine = `${file}.${process.pid}`;
  fs.writeFileSync(mine, String(process.pid));
  try {
    for (;;) {
      try {
        fs.linkSync(mine, file);
        return () => fs.rmSync(file, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (holder !== process.pid && isRunning(holder)) throw new DataDirInUseError(dataDir, holder);
      // Left by a host that died: taken over by renaming ours onto it, so two hosts taking it over cannot both win.
      const taken = `${file}.stale.${process.pid}`;
      try {
        fs.renameSync(file, taken);
      } catch {
        continue; // another host took it over first
      }
      if (Number(fs.readFileSync(taken, 'utf8')) !== holder) {
        // It was no longer the dead host's: put it back (unless a lock exists again), and look again.
        try {
          fs.linkSync(taken, file);
        } catch {
          // a lock exists again: the loop looks at it
        }
      }
      fs.rmSync(taken, { force: true });
    }
  } finally {
    fs.rmSync(mine, { force: true });
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
