/**
 * `npm run bench`: the service's benchmark on the embedded default, each figure beside its anchor
 * measured in the same run (this machine is noisy: a time alone proves nothing).
 *
 * Generates a hired_employees file (BENCH_ROWS rows, default 2,000,000) with its departments and
 * jobs, loads it through POST /load on a local host running in its own process, and reports rows/s,
 * wall time and the host's peak RSS; backs the table up and restores it (bench/backupBench.ts),
 * in that host and again in a host started afresh on the same data; then 1000-row JSON batches
 * from one client and from 8 concurrent ones, with the CPU time each batch took and the ceiling
 * that sets on 8 clients' throughput, and the metrics (bench/metricsBench.ts). The
 * anchors, where the `sqlite3` command exists: `.import` of the same file into a bare table, then
 * `CREATE INDEX` for the schema's indexes (the load's end state), and into the indexed schema;
 * `sqlite3 -csv` export for the backup; the plain SQL for the metrics. Last, where a Babelfish
 * install exists, the load, backup and restore through the Azure SQL code path over TDS
 * (bench/tdsBench.ts; BENCH_TDS=0 skips it). Then the asynchronous load from the historic
 * container against the synchronous one (bench/asyncBench.ts, BENCH_ASYNC_ROWS rows;
 * BENCH_ASYNC=0 skips it, BENCH_PART=async runs it alone).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createTable, indexStatements } from '../shared/db/sqlite/ddl';
import { getTable, TABLES } from '../shared/tables';
import { HOST_NODE_FLAGS } from '../local/host';
import { employeeObjects, writeDataset } from '../tools/datagen';
import { benchMetrics } from './metricsBench';
import { backupRestoreResults, measureBackupRestore, type BackupRestoreFigures } from './backupBench';
import { peakRssKib, resetPeakRss } from './processMemory';
import { ownCpuMs, processCpuMs } from './processCpu';
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
    let batches: BatchFigures;
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
      resetPeakRss(fresh.process.pid!);
      batches = await batchFigures(fresh.url, fresh.process.pid!, ROWS + 1);
      batches.peakKib = peakRssKib(fresh.process.pid!);
      metrics = await benchMetrics(fresh.url, path.join(work, 'host', 'service.sqlite'), work);
    } finally {
      await fresh.stop();
    }
    const anchors = sqliteImports(work, file);
    const loadRate = ROWS / load.seconds;
    const rate = (seconds: number) => `${Math.round(ROWS / seconds).toLocaleString('en')} rows/s`;
    const results: [string, string][] = [
      ['file', `${ROWS.toLocaleString('en')} rows, ${(bytes / 1e6).toFixed(0)} MB`],
      ['load: inserted', String(load.body.inserted)],
      ['load: wall time', `${load.seconds.toFixed(2)} s (${rate(load.seconds)})`],
      ['load: host peak RSS', `${(host.peakRss / 1024).toFixed(0)} MB (target < 200 MB)`],
    ];
    if (!anchors) {
      results.push(['sqlite3 .import', 'skipped: no sqlite3 command']);
    } else {
      const ratio = (seconds: number) => `${(loadRate / (ROWS / seconds)).toFixed(2)}x`;
      const { bare, indexes, indexed } = anchors;
      results.push(
        ['.import, bare table', `${bare.toFixed(2)} s (${rate(bare)})`],
        [
          '.import, then CREATE INDEX',
          `${(bare + indexes).toFixed(2)} s (${bare.toFixed(2)} + ${indexes.toFixed(2)} s; ${rate(bare + indexes)})`,
        ],
        ['.import into the indexed schema', `${indexed.toFixed(2)} s (${rate(indexed)})`],
        ['load / (.import + CREATE INDEX)', `${ratio(bare + indexes)} throughput (target >= 0.60x)`],
        ['load / .import bare', `${ratio(bare)} throughput`],
        ['load / .import indexed', `${ratio(indexed)} throughput`],
      );
    }
    results.push(
      ...backupRestoreResults(
        afterLoad,
        freshFigures,
        anchors && anchors.bare + anchors.indexes,
        path.join(work, 'host', 'service.sqlite'),
        work,
      ),
    );
    results.push(...batchResults(batches));
    results.push(...metrics);
    if (process.env.BENCH_TDS !== '0') {
      // Babelfish now and then refuses a bulk load's stream (BulkLoadBCP): the figures so far are printed all the same.
      const tds = await benchTds({ startHost, upload }, file, path.join(work, 'tds-host'), ROWS, load.seconds).catch(
        (error: Error): [string, string][] => [['TDS (Babelfish)', `failed: ${error.message.slice(0, 200)}`]],
      );
      results.push(...tds);
    }
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

interface BatchFigures {
  readonly one: BatchRun;
  readonly eight: BatchRun;
  peakKib: number;
}

interface BatchRun {
  readonly latencies: number[];
  readonly rowsPerSecond: number;
  /** CPU time per batch, in ms, of the host's threads and of the clients' process. */
  readonly hostCpuMs: number;
  readonly clientCpuMs: number;
}

const BATCH_ROWS = 1000;
const BATCHES_PER_CLIENT = 25;

/**
 * One client, then 8 concurrent ones, each sending BATCHES_PER_CLIENT 1000-row batches of new rows
 * back to back, after one batch untimed: the first request's preparation is neither run's.
 */
async function batchFigures(url: string, pid: number, firstId: number): Promise<BatchFigures> {
  await batchRun(url, pid, 1, firstId, 1);
  const one = await batchRun(url, pid, 1, firstId + BATCH_ROWS);
  const eight = await batchRun(url, pid, 8, firstId + (1 + BATCHES_PER_CLIENT) * BATCH_ROWS);
  return { one, eight, peakKib: 0 };
}

/** The bodies are made before the clock starts: the clients share this process's one thread, so only sending and waiting are timed. */
async function batchRun(url: string, pid: number, clients: number, firstId: number, batches = BATCHES_PER_CLIENT): Promise<BatchRun> {
  const bodies = Array.from({ length: clients }, (_, client) =>
    Array.from({ length: batches }, (_, i) => {
      const start = firstId + (client * batches + i) * BATCH_ROWS;
      return JSON.stringify(employeeObjects(start, BATCH_ROWS, client * 1000 + i));
    }),
  );
  const latencies: number[] = [];
  const [hostCpuAtStart, clientCpuAtStart] = [processCpuMs(pid), ownCpuMs()];
  const start = performance.now();
  await Promise.all(
    bodies.map(async (own) => {
      for (const body of own) {
        const sent = performance.now();
        const res = await fetch(`${url}/api/tables/hired_employees/rows`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const answer = (await res.json()) as { inserted: number };
        latencies.push(performance.now() - sent);
        if (res.status !== 200 || answer.inserted !== BATCH_ROWS) throw new Error(`batch failed: ${res.status} ${JSON.stringify(answer)}`);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const sent = clients * batches;
  return {
    latencies: latencies.sort((a, b) => a - b),
    rowsPerSecond: (sent * BATCH_ROWS) / seconds,
    hostCpuMs: (processCpuMs(pid) - hostCpuAtStart) / sent,
    clientCpuMs: (ownCpuMs() - clientCpuAtStart) / sent,
  };
}

function batchResults({ one, eight, peakKib }: BatchFigures): [string, string][] {
  const pct = (run: BatchRun, p: number) =>
    run.latencies[Math.min(run.latencies.length - 1, Math.floor((p / 100) * run.latencies.length))].toFixed(0);
  const line = (run: BatchRun) =>
    `p50 ${pct(run, 50)} ms, p99 ${pct(run, 99)} ms, ${Math.round(run.rowsPerSecond).toLocaleString('en')} rows/s (${run.latencies.length} requests)`;
  const cpu = (run: BatchRun) => `host ${run.hostCpuMs.toFixed(1)} ms, clients ${run.clientCpuMs.toFixed(1)} ms`;
  // All cores busy, with no wait at all, 8 clients' batches could go no faster than this.
  const cores = os.availableParallelism();
  const ceiling = (cores * 1000) / (eight.hostCpuMs + eight.clientCpuMs) / (one.rowsPerSecond / BATCH_ROWS);
  return [
    ['1000-row JSON batches, 1 client', line(one)],
    ['1000-row JSON batches, 8 clients', `${line(eight)} (target p99 < 150 ms)`],
    ['8 clients / 1 client throughput', `${(eight.rowsPerSecond / one.rowsPerSecond).toFixed(2)}x (target >= 3x)`],
    ['batches: CPU per batch', `1 client: ${cpu(one)}; 8 clients: ${cpu(eight)}`],
    ['batches: ceiling of 8 clients', `${ceiling.toFixed(2)}x one client: ${cores} cores over 8 clients' CPU per batch`],
    ['batches: host peak RSS', `${(peakKib / 1024).toFixed(0)} MB`],
  ];
}

/**
 * `sqlite3 .import` of the same file into the service's tables, as a bare table then CREATE INDEX
 * for the schema's indexes, and into the indexed schema; undefined without the sqlite3 command.
 * Without STRICT: the command stores each field as the file's text, datetimes included, where the
 * service converts them to integers.
 */
function sqliteImports(work: string, file: (name: string) => string): { bare: number; indexes: number; indexed: number } | undefined {
  try {
    execFileSync('sqlite3', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const timed = (run: () => void) => {
    const start = process.hrtime.bigint();
    run();
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  const tables = TABLES.map((table) => createTable(table).replace(/\) STRICT$/, ')'));
  const indexes = indexStatements(getTable('hired_employees'));
  const importInto = (dbFile: string, schema: string[]) => {
    execFileSync('sqlite3', [dbFile, schema.join(';\n')], { stdio: 'inherit' });
    const run = (table: string) => execFileSync('sqlite3', [dbFile, '.mode csv', `.import ${file(table)} ${table}`], { stdio: 'inherit' });
    run('departments');
    run('jobs');
    return timed(() => run('hired_employees'));
  };
  const bareFile = path.join(work, 'import-bare.sqlite');
  const bare = importInto(bareFile, tables);
  const indexTime = timed(() => execFileSync('sqlite3', [bareFile, indexes.join(';\n') || 'SELECT 1'], { stdio: 'inherit' }));
  const indexedFile = path.join(work, 'import-indexed.sqlite');
  const indexed = importInto(indexedFile, [...tables, ...indexes]);
  for (const f of [bareFile, indexedFile]) fs.rmSync(f, { force: true });
  return { bare, indexes: indexTime, indexed };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
