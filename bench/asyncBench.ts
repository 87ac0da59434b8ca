/**
 * The asynchronous load from the historic container against the synchronous load of the same file,
 * in the same run and on hosts given the same Azurite: wall time from the request to the run's
 * end, the ratio of their rows/s, the worker host's peak RSS, and the extra seconds one SIGKILL
 * midway costs (with the lease and invisibility shortened as stated). BENCH_ASYNC_ROWS rows
 * (default 10,000,000).
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../local/azurite';
import { writeDataset } from '../tools/datagen';
import { peakRssKib } from './processMemory';

interface Host {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

interface Deps {
  startHost(dataDir: string, env?: Record<string, string>): Promise<Host>;
  upload(url: string, table: string, file: string): Promise<{ seconds: number; body: Record<string, unknown> }>;
}

/** Settings of the kill-and-resume measure: a dead worker's lease expires after 10 s, its message reappears after 20 s. */
const KILL_ENV = { LOAD_LEASE_SECONDS: '10', LOCAL_QUEUE_INVISIBLE_SECONDS: '20' };

export async function benchAsync(deps: Deps, work: string, rows: number): Promise<[string, string][]> {
  const data = path.join(work, 'async-data');
  console.log(`Async: generating ${rows.toLocaleString('en')} rows ...`);
  await writeDataset(data, { rows, seed: 43 });
  const file = (table: string) => path.join(data, `${table}.csv`);
  const azurite = await startAzurite({ location: path.join(work, 'async-azurite') });
  try {
    const historic = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('historic');
    await historic.createIfNotExists();
    await historic.getBlockBlobClient('bench/hired_employees.csv').uploadFile(file('hired_employees'), { blockSize: 8 * 1024 * 1024 });

    const env = { AzureWebJobsStorage: azurite.connectionString };
    // Configured as the asynchronous loads' hosts are, so that the ratio is the path's alone.
    const syncHost = await deps.startHost(path.join(work, 'async-sync'), env);
    let sync: { seconds: number; body: Record<string, unknown> };
    try {
      await deps.upload(syncHost.url, 'departments', file('departments'));
      await deps.upload(syncHost.url, 'jobs', file('jobs'));
      console.log('Async: the synchronous load ...');
      sync = await deps.upload(syncHost.url, 'hired_employees', file('hired_employees'));
    } finally {
      await syncHost.stop();
    }

    const clean = await asyncLoad(deps, path.join(work, 'async-clean'), env, file);
    const killed = await asyncLoad(deps, path.join(work, 'async-killed'), { ...env, ...KILL_ENV }, file, 0.5);
    const same = ['received', 'inserted', 'skipped', 'rejected'].every(
      (k) => clean.run[k] === sync.body[k] && killed.run[k] === sync.body[k],
    );
    const rate = (seconds: number) => Math.round(rows / seconds).toLocaleString('en');
    return [
      ['async load: wall time', `${clean.seconds.toFixed(2)} s (${rate(clean.seconds)} rows/s), ${clean.run.attempts} invocations`],
      ['sync load, same file: wall time', `${sync.seconds.toFixed(2)} s (${rate(sync.seconds)} rows/s)`],
      ['async / sync throughput', `${(sync.seconds / clean.seconds).toFixed(2)}x (target >= 0.90x)`],
      ['async: worker host peak RSS', `${(clean.peakRssKib / 1024).toFixed(0)} MB (target < 200 MB)`],
      [
        'async: one SIGKILL at 50%',
        `${killed.seconds.toFixed(2)} s in all: +${(killed.seconds - clean.seconds).toFixed(1)} s (lease ${KILL_ENV.LOAD_LEASE_SECONDS} s, invisibility ${KILL_ENV.LOCAL_QUEUE_INVISIBLE_SECONDS} s)`,
      ],
      [
        'async: counts equal the sync load',
        same ? 'yes' : `NO: ${JSON.stringify({ sync: sync.body, clean: clean.run, killed: killed.run })}`,
      ],
    ];
  } finally {
    await azurite.stop();
  }
}

/** Queues the load and polls it to its end; with `killAt`, kills the host once that share of the file is committed and starts it again. */
async function asyncLoad(deps: Deps, dataDir: string, env: Record<string, string>, file: (table: string) => string, killAt?: number) {
  let host = await deps.startHost(dataDir, env);
  try {
    await deps.upload(host.url, 'departments', file('departments'));
    await deps.upload(host.url, 'jobs', file('jobs'));
    console.log(`Async: the queued load${killAt ? `, killed at ${killAt * 100}%` : ''} ...`);
    const start = process.hrtime.bigint();
    const queued = await fetch(`${host.url}/api/tables/hired_employees/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'bench/hired_employees.csv' }),
    });
    if (queued.status !== 202) throw new Error(`async load: ${queued.status} ${await queued.text()}`);
    const location = queued.headers.get('location')!;
    let peakRssKib = 0;
    let killed = false;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      peakRssKib = Math.max(peakRssKib, safePeak(host.process.pid!));
      const run = (await (await fetch(`${host.url}${location}`)).json()) as {
        status: string;
        error: string | null;
        bytesDone: number;
        bytesTotal: number;
        attempts: number;
      } & Record<string, unknown>;
      if (killAt !== undefined && !killed && run.bytesDone / run.bytesTotal >= killAt) {
        host.process.kill('SIGKILL');
        await new Promise((resolve) => host.process.once('exit', resolve));
        killed = true;
        host = await deps.startHost(dataDir, env);
        continue;
      }
      if (!['queued', 'running', 'interrupted'].includes(run.status)) {
        if (run.status !== 'succeeded') throw new Error(`async load ended ${run.status}: ${run.error}`);
        return { seconds: Number(process.hrtime.bigint() - start) / 1e9, run, peakRssKib };
      }
    }
  } finally {
    await host.stop();
  }
}

function safePeak(pid: number): number {
  try {
    return peakRssKib(pid);
  } catch {
    return 0; // the process has just ended
  }
}
