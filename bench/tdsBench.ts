/**
 * The production code path (shared/db/mssql, TDS bulk inserts) measured on a real TDS server:
 * Babelfish for PostgreSQL, where one is installed (tools/babelfish.ts). The same file is loaded,
 * backed up and restored through a local host configured with SQL_CONNECTION, beside the SQLite
 * figures of the same run. Babelfish is not Azure SQL: these are the service's own costs over TDS
 * on this machine, not a forecast of Azure SQL's speed.
 */
import { babelfishConnectionString, babelfishMissing, ensureBabelfishRunning, onMaster, stopBabelfish } from '../tools/babelfish';
import { measureBackupRestore } from './backupBench';
import { peakRssKib } from './processMemory';

export interface TdsBenchDeps {
  startHost(dataDir: string, env: Record<string, string>): Promise<{ url: string; process: { pid?: number }; stop(): Promise<void> }>;
  upload(url: string, table: string, file: string): Promise<{ seconds: number; body: Record<string, unknown> }>;
}

export async function benchTds(
  deps: TdsBenchDeps,
  file: (name: string) => string,
  dataDir: string,
  rows: number,
  sqliteLoadSeconds: number,
): Promise<[string, string][]> {
  const missing = babelfishMissing();
  if (missing) return [['TDS (Babelfish)', `skipped: ${missing}`]];
  const started = await ensureBabelfishRunning();
  const database = `bench_${Date.now()}`;
  await onMaster(`CREATE DATABASE ${database}`);
  try {
    const host = await deps.startHost(dataDir, { SQL_CONNECTION: babelfishConnectionString(database) });
    try {
      await deps.upload(host.url, 'departments', file('departments'));
      await deps.upload(host.url, 'jobs', file('jobs'));
      const load = await deps.upload(host.url, 'hired_employees', file('hired_employees'));
      const loadPeak = peakRssKib(host.process.pid!);
      const figures = await measureBackupRestore(host.url, host.process.pid!, rows);
      const rate = (seconds: number) => `${Math.round(rows / seconds).toLocaleString('en')} rows/s`;
      return [
        [
          'TDS load (Babelfish, mssql bulk)',
          `${load.seconds.toFixed(2)} s (${rate(load.seconds)}); ${(sqliteLoadSeconds / load.seconds).toFixed(2)}x SQLite's rows/s; host peak RSS ${(loadPeak / 1024).toFixed(0)} MB`,
        ],
        [
          'TDS backup (Babelfish)',
          `${figures.backupSeconds.toFixed(2)} s (${rate(figures.backupSeconds)}); host peak RSS ${(figures.backupPeakKib / 1024).toFixed(0)} MB`,
        ],
        [
          'TDS restore (Babelfish)',
          `${figures.restoreSeconds.toFixed(2)} s (${rate(figures.restoreSeconds)}); host peak RSS ${(figures.restorePeakKib / 1024).toFixed(0)} MB`,
        ],
      ];
    } finally {
      await host.stop();
    }
  } finally {
    await onMaster(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    if (started) stopBabelfish();
  }
}
