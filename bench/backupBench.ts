/**
 * The backup and restore figures: back up the loaded hired_employees table and restore it, timing
 * each and taking the host's peak RSS for each, against `sqlite3 -csv` exporting the same table.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { peakRssKib, resetPeakRss } from './processMemory';

export async function benchBackupRestore(url: string, pid: number, dbFile: string, rows: number, loadSeconds: number, work: string): Promise<[string, string][]> {
  resetPeakRss(pid);
  let start = performance.now();
  const backup = await post(`${url}/api/tables/hired_employees/backups`, undefined);
  const backupSeconds = (performance.now() - start) / 1000;
  const backupPeak = peakRssKib(pid);
  const info = (backup.backups as { backup: string; rows: number; bytes: number }[])[0];

  resetPeakRss(pid);
  start = performance.now();
  const restored = await post(`${url}/api/tables/hired_employees/restore`, { backup: info.backup, safety: false });
  const restoreSeconds = (performance.now() - start) / 1000;
  const restorePeak = peakRssKib(pid);
  if (restored.rows !== rows) throw new Error(`restore gave ${restored.rows} rows, expected ${rows}`);

  const results: [string, string][] = [
    ['backup: rows', `${info.rows.toLocaleString('en')} (${(info.bytes / 1e6).toFixed(1)} MB Avro, deflate)`],
    ['backup: wall time', `${backupSeconds.toFixed(2)} s (${rate(rows, backupSeconds)} rows/s), peak RSS ${(backupPeak / 1024).toFixed(0)} MB`],
    ['restore: wall time', `${restoreSeconds.toFixed(2)} s (${rate(rows, restoreSeconds)} rows/s), peak RSS ${(restorePeak / 1024).toFixed(0)} MB`],
    ['restore / load time', `${(restoreSeconds / loadSeconds).toFixed(2)}x (target <= 1.50x)`],
  ];
  const exportSeconds = sqliteCsvExport(dbFile, path.join(work, 'export.csv'));
  if (exportSeconds === undefined) {
    results.push(['sqlite3 -csv export', 'skipped: no sqlite3 command']);
  } else {
    results.push(['sqlite3 -csv export: wall time', `${exportSeconds.toFixed(2)} s`]);
    results.push(['backup / export time', `${(backupSeconds / exportSeconds).toFixed(2)}x (target <= 2.00x)`]);
  }
  return results;
}

function rate(rows: number, seconds: number): string {
  return Math.round(rows / seconds).toLocaleString('en');
}

async function post(url: string, body: unknown): Promise<Record<string, unknown> & { rows?: number }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
