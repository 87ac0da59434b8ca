/**
 * The backup and restore figures: back up the loaded hired_employees table and restore it, timing
 * each and taking the host's peak RSS for each, against `sqlite3 -csv` exporting the same table.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { peakRssKib, resetPeakRss } from './processMemory';

export interface BackupRestoreFigures {
  readonly rows: number;
  readonly bytes: number;
  readonly backupSeconds: number;
  readonly backupPeakKib: number;
  readonly restoreSeconds: number;
  readonly restorePeakKib: number;
}

/** Backs the hired_employees table up and restores that backup, with each one's wall time and the host's peak RSS. */
export async function measureBackupRestore(url: string, pid: number, rows: number): Promise<BackupRestoreFigures> {
  resetPeakRss(pid);
  let start = performance.now();
  const backup = await post(`${url}/api/tables/hired_employees/backups`, undefined);
  const backupSeconds = (performance.now() - start) / 1000;
  const backupPeakKib = peakRssKib(pid);
  const info = (backup.backups as { backup: string; rows: number; bytes: number }[])[0];

  resetPeakRss(pid);
  start = performance.now();
  const restored = await post(`${url}/api/tables/hired_employees/restore`, { backup: info.backup, safety: false });
  const restoreSeconds = (performance.now() - start) / 1000;
  const restorePeakKib = peakRssKib(pid);
  if (restored.rows !== rows) throw new Error(`restore gave ${restored.rows} rows, expected ${rows}`);
  return { rows: info.rows, bytes: info.bytes, backupSeconds, backupPeakKib, restoreSeconds, restorePeakKib };
}

/**
 * The figures as printed: `afterLoad` measured in the host that has just loaded the table (its
 * writer cache full), `fresh` in a host started afresh on the same data, as a timer or a restore
 * on a newly started instance would run.
 */
export function backupRestoreResults(
  afterLoad: BackupRestoreFigures,
  fresh: BackupRestoreFigures,
  importSeconds: number | undefined,
  dbFile: string,
  work: string,
): [string, string][] {
  const { rows } = afterLoad;
  const mb = (kib: number) => `${(kib / 1024).toFixed(0)} MB`;
  const results: [string, string][] = [
    ['backup: rows', `${rows.toLocaleString('en')} (${(afterLoad.bytes / 1e6).toFixed(1)} MB Avro, deflate)`],
    [
      'backup: wall time',
      `${afterLoad.backupSeconds.toFixed(2)} s (${rate(rows, afterLoad.backupSeconds)} rows/s); fresh host ${fresh.backupSeconds.toFixed(2)} s`,
    ],
    ['backup: peak RSS', `${mb(afterLoad.backupPeakKib)} after the load, ${mb(fresh.backupPeakKib)} in a fresh host (target < 200 MB)`],
    [
      'restore: wall time',
      `${afterLoad.restoreSeconds.toFixed(2)} s (${rate(rows, afterLoad.restoreSeconds)} rows/s); fresh host ${fresh.restoreSeconds.toFixed(2)} s`,
    ],
    ['restore: peak RSS', `${mb(afterLoad.restorePeakKib)} after the load, ${mb(fresh.restorePeakKib)} in a fresh host (target < 200 MB)`],
    [
      'restore / (.import + CREATE INDEX)',
      importSeconds === undefined
        ? 'skipped: no sqlite3 command'
        : `${(afterLoad.restoreSeconds / importSeconds).toFixed(2)}x the time after the load, ${(fresh.restoreSeconds / importSeconds).toFixed(2)}x in a fresh host (target <= 1.00x)`,
    ],
  ];
  const exportSeconds = sqliteCsvExport(dbFile, path.join(work, 'export.csv'));
  if (exportSeconds === undefined) {
    results.push(['sqlite3 -csv export', 'skipped: no sqlite3 command']);
  } else {
    results.push(['sqlite3 -csv export: wall time', `${exportSeconds.toFixed(2)} s`]);
    const ratio = (seconds: number) => `${(seconds / exportSeconds).toFixed(2)}x`;
    results.push([
      'backup / export time',
      `${ratio(afterLoad.backupSeconds)} after the load, ${ratio(fresh.backupSeconds)} in a fresh host (target <= 1.50x)`,
    ]);
  }
  return results;
}

function rate(rows: number, seconds: number): string {
  return Math.round(rows / seconds).toLocaleString('en');
}

async function post(url: string, body: unknown): Promise<Record<string, unknown> & { rows?: number }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** `sqlite3 -csv` writing the whole table to a file; undefined without the sqlite3 command. */
function sqliteCsvExport(dbFile: string, out: string): number | undefined {
  try {
    execFileSync('sqlite3', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const start = performance.now();
  const fd = fs.openSync(out, 'w');
  try {
    execFileSync('sqlite3', ['-csv', dbFile, 'SELECT * FROM hired_employees ORDER BY id'], { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    fs.closeSync(fd);
  }
  return (performance.now() - start) / 1000;
}
