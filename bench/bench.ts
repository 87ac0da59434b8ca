/**
 * `npm run bench`: the service's benchmark on the embedded default.
 *
 * Generates a hired_employees file (BENCH_ROWS rows, default 2,000,000) with its departments and
 * jobs, loads it through POST /load on a local host running in its own process, and reports rows/s,
 * wall time and the host's peak RSS; backs the table up and restores it (bench/backupBench.ts),
 * in that host and again in a host started afresh on the same data; then, where the `sqlite3`
 * command exists, times `.import` of the same file into the same tables and indexes (see
 * sqliteImport) and prints the ratio.
 * Then the latency of 1000-row JSON batches sent by 8 concurrent clients, and the metrics. Last,
 * where a Babelfish install exists, the load, backup and restore through the Azure SQL code path
 * over TDS (bench/tdsBench.ts; BENCH_TDS=0 skips it). Then the asynchronous load from the historic
 * container against the synchronous one (bench/asyncBench.ts, BENCH_ASYNC_ROWS rows; BENCH_ASYNC=0
 * skips it, BENCH_PART=async runs it alone).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { schemaStatements } from '../shared/db/sqlite/ddl';
import { HOST_NODE_FLAGS } from '../local/host';
import { employeeObjects, writeDataset } from '../tools/datagen';
import { benchMetrics } from './metricsBench';
import { backupRestoreResults, measureBackupRestore, type BackupRestoreFigures } from './backupBench';
import { peakRssKib } from './processMemory';
import { benchTds } from './tdsBench';
import { benchAsync } from './asyncBench';

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const ASYNC_ROWS = Number(process.env.BENCH_ASYNC_ROWS ?? 10_000_000);
const ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-bench-'));
  if (process.env.BENCH_PART === 'async') {
    try {
      const results = await benchAsync({ startHost, upload }, work, ASYNC_ROWS);
      console.log('\nIngest benchmark: asynchronous loads');
      for (const [name, value] of results) console.log(`  ${name.padEnd(34)} ${value}`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  try {
    console.log(`Generating ${ROWS.toLocaleString('en')} hired_employees rows in ${work} ...`);
    await writeDataset(path.join(work, 'data'), { rows: ROWS, seed: 42 });
    const file = (name: string) => path.join(work, 'data', `${name}.csv`);
    const bytes = fs.statSync(file('hired_employees')).size;

    const host = await startHost(path.join(work, 'host'));
    let load: { seconds: number; body: Record<string, unknown> };
    let batch: number[];
    let metrics: [string, string][] = [];
    let afterLoad: BackupRestoreFigures;
    try {
      await upload(host.url, 'departments', file('departments'));
      await upload(host.url, 'jobs', file('jobs'));
      load = await upload(host.url, 'hired_employees', file('hired_employees'));
      host.peakRss = peakRssKib(host.process.pid!);
      afterLoad = await measureBackupRestore(host.url, host.process.pid!, ROWS);
    } finally {
      await host.stop();
    }
    const fresh = await startHost(path.join(work, 'host'));
    let freshFigures: BackupRestoreFigures;
    try {
      freshFigures = await measureBackupRestore(fresh.url, fresh.process.pid!, ROWS);
      batch = await batchLatencies(fresh.url, ROWS + 1);
      metrics = await benchMetrics(fresh.url, path.join(work, 'host', 'service.sqlite'));
    } finally {
      await fresh.stop();
    }
    const backupResults = backupRestoreResults(afterLoad, freshFigures, load.seconds, path.join(work, 'host', 'service.sqlite'), work);
    const loadRate = ROWS / load.seconds;
    const results: [string, string][] = [
      ['file', `${ROWS.toLocaleString('en')} rows, ${(bytes / 1e6).toFixed(0)} MB`],
      ['load: inserted', String(load.body.inserted)],
      ['load: wall time', `${load.seconds.toFixed(2)} s`],
      ['load: throughput', `${Math.round(loadRate).toLocaleString('en')} rows/s`],
      ['load: host peak RSS', `${(host.peakRss / 1024).toFixed(0)} MB (target < 200 MB)`],
    ];

    const importSeconds = sqliteImport(path.join(work, 'import.sqlite'), file);
    if (importSeconds === undefined) {
      results.push(['sqlite3 .import', 'skipped: no sqlite3 command']);
    } else {
      const importRate = ROWS / importSeconds;
      results.push(['sqlite3 .import: wall time', `${importSeconds.toFixed(2)} s (${Math.round(importRate).toLocaleString('en')} rows/s)`]);
      results.push(['load / .import throughput', `${(loadRate / importRate).toFixed(2)}x (target >= 0.80x)`]);
    }
    results.push(...backupResults);
    batch.sort((a, b) => a - b);
    const pct = (p: number) => batch[Math.min(batch.length - 1, Math.floor((p / 100) * batch.length))];
    results.push([
      '1000-row JSON batches, 8 clients',
      `${batch.length} requests: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms`,
    ]);
    results.push(...metrics);
    if (process.env.BENCH_TDS !== '0')
      results.push(...(await benchTds({ startHost, upload }, file, path.join(work, 'tds-host'), ROWS, load.seconds)));
    if (process.env.BENCH_ASYNC !== '0') results.push(...(await benchAsync({ startHost, upload }, work, ASYNC_ROWS)));

    console.log('\nIngest benchmark');
    for (const [name, value] of results) console.log(`  ${name.padEnd(34)} ${value}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

interface Host {
  url: string;
  process: ChildProcess;
  peakRss: number;
  stop(): Promise<void>;
}

/** The local host in its own process, so that its peak RSS is its own. */
async function startHost(dataDir: string, env: Record<string, string> = {}): Promise<Host> {
  const child = spawn(process.execPath, [...HOST_NODE_FLAGS, path.join(ROOT, 'dist', 'local', 'host.js')], {
    env: { ...process.env, PORT: '0', AZURITE_BLOB_PORT: '0', AZURITE_QUEUE_PORT: '0', DATA_DIR: dataDir, AzureWebJobsStorage: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Functions on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the host exited with ${code} before it was ready`)));
  });
  child.stdout!.resume();
  return {
    url,
    process: child,
    peakRss: 0,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Streams a file to POST /load; returns the wall time and the response. */
async function upload(url: string, table: string, file: string): Promise<{ seconds: number; body: Record<string, unknown> }> {
  const start = process.hrtime.bigint();
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.request(`${url}/api/tables/${table}/load`, { method: 'POST', headers: { 'content-type': 'text/csv' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`load ${table}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    pipeline(fs.createReadStream(file, { highWaterMark: 256 * 1024 }), req).catch(reject);
  });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, body: JSON.parse(body) };
}

/** 8 clients, each sending 1000-row JSON batches of new rows back to back; per-request latency in ms. */
async function batchLatencies(url: string, firstId: number): Promise<number[]> {
  const clients = 8;
  const perClient = 25;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; i < perClient; i++) {
        const rows = employeeObjects(firstId + (client * perClient + i) * 1000, 1000, client * 1000 + i);
        const start = performance.now();
        const res = await fetch(`${url}/api/tables/hired_employees/rows`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(rows),
        });
        const body = (await res.json()) as { inserted: number };
        latencies.push(performance.now() - start);
        if (res.status !== 200 || body.inserted !== 1000) throw new Error(`batch failed: ${res.status} ${JSON.stringify(body)}`);
      }
    }),
  );
  return latencies;
}

/** `sqlite3 .import` of the same files into the service's tables; undefined without the sqlite3 command. */
function sqliteImport(dbFile: string, file: (name: string) => string): number | undefined {
  try {
    execFileSync('sqlite3', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  // The service's tables and indexes, without STRICT: the CLI stores each field as the file's text,
  // datetimes included, where the service converts them to integers.
  const tables = schemaStatements().map((sql) => sql.replace(/\) STRICT$/, ')'));
  execFileSync('sqlite3', [dbFile, tables.join(';\n')], { stdio: 'inherit' });
  const run = (table: string) => execFileSync('sqlite3', [dbFile, '.mode csv', `.import ${file(table)} ${table}`], { stdio: 'inherit' });
  run('departments');
  run('jobs');
  const start = process.hrtime.bigint();
  run('hired_employees');
  return Number(process.hrtime.bigint() - start) / 1e9;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
