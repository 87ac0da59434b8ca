/**
 * csv2sql, the command-line client, run as the data engineer runs it: the compiled binary
 * (dist/clients/cli/main.js) against a real local host with its own Azurite, stdin and stderr
 * not terminals (so progress comes as plain lines), every answer checked against the API's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset, type DatasetCounts } from '../tools/datagen';
import { blockId } from '../clients/cli/upload';
import { freePort } from '../local/azurite';
import { get, postJson, removeDir, ROOT, startHost, tableCounts, tempDir, type HostHandle } from './helpers/localHost';

const CLI = path.join(ROOT, 'dist', 'clients', 'cli', 'main.js');
const BLOCK = 16 * 1024;

let host: HostHandle;
let data: string;
let counts: DatasetCounts;
/** The load of hired_employees with bad rows, as the API gives its run. */
let rejectedRun: any;

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

interface Running {
  readonly child: ChildProcess;
  /** Resolves with the first match in stderr so far or to come; rejects if the process ends first. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  readonly done: Promise<Finished>;
}

/** Starts the binary with the host's URL and storage in its environment, and nothing of the test's own csv2sql settings. */
function start(args: readonly string[], env: Record<string, string> = {}): Running {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CSV2SQL_') && name !== 'HISTORIC_CONTAINER'),
  );
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...inherited, CSV2SQL_URL: host.url, AZURE_STORAGE_CONNECTION_STRING: host.storageConnection!, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end();
  const stdout: Buffer[] = [];
  let stderr = '';
  const waiters: { pattern: RegExp; resolve(match: RegExpMatchArray): void; reject(error: Error): void }[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(stderr);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  const done = new Promise<Finished>((resolve) =>
    child.once('close', (code) => {
      for (const waiter of waiters) waiter.reject(new Error(`csv2sql ended (${code}) before printing ${waiter.pattern}:\n${stderr}`));
      const bytes = Buffer.concat(stdout);
      resolve({ code, stdout: bytes.toString('utf8'), stdoutBytes: bytes, stderr });
    }),
  );
  return {
    child,
    done,
    waitForStderr: (pattern) =>
      new Promise((resolve, reject) => {
        const match = pattern.exec(stderr);
        if (match) resolve(match);
        else waiters.push({ pattern, resolve, reject });
      }),
  };
}

function csv2sql(...args: string[]): Promise<Finished> {
  return start(args).done;
}

function historic() {
  return BlobServiceClient.fromConnectionString(host.storageConnection!).getContainerClient('historic');
}

/** The counts as csv2sql prints them. */
function countsLine(run: { received: number; inserted: number; skipped: number; rejected: number }): string {
  const n = (value: number) => value.toLocaleString('en-US');
  return `received ${n(run.received)}, inserted ${n(run.inserted)}, skipped ${n(run.skipped)}, rejected ${n(run.rejected)}`;
}

/** The id of the run csv2sql printed. */
function runIdIn(text: string): string {
  const match = /^run ([0-9a-f-]{36}):/m.exec(text);
  expect(match, text).not.toBeNull();
  return match![1];
}

/** The block ids csv2sql gives the file's blocks: index and content, so a test can tell its blocks from any others. */
function blockIdsOf(file: string, blockSize: number): string[] {
  const bytes = fs.readFileSync(file);
  const ids: string[] = [];
  for (let offset = 0, index = 0; offset < bytes.length; offset += blockSize, index++) {
    ids.push(blockId(index, bytes.subarray(offset, offset + blockSize)));
  }
  return ids;
}

/** A hired_employees file of `rows` valid rows from `firstId`, in a folder of its own. */
async function employeesFile(name: string, rows: number, firstId: number): Promise<string> {
  const dir = path.join(data, name);
  await writeDataset(dir, { rows, seed: firstId, firstId });
  return path.join(dir, 'hired_employees.csv');
}

async function bytesOf(url: string): Promise<Buffer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

beforeAll(async () => {
  expect(fs.existsSync(CLI), `${CLI} is missing: build first with npx tsc -p .`).toBe(true);
  host = await startHost();
  data = tempDir('cli-test-');
  counts = await writeDataset(data, { rows: 20_000, seed: 17, invalidRate: 0.02 });
});

afterAll(async () => {
  await host?.stop();
  removeDir(host?.dataDir);
  removeDir(data);
});

describe('csv2sql load', () => {
  it('loads departments, jobs, then employees with bad rows: exit 6, the run counts, reasons and where to download the rejections', async () => {
    for (const [table, rows] of [
      ['departments', counts.departments],
      ['jobs', counts.jobs],
    ] as const) {
      const loaded = await csv2sql('load', table, path.join(data, `${table}.csv`), '--interval', '0.2');
      expect(loaded.code, loaded.stderr).toBe(0);
      expect(loaded.stdout).toContain(countsLine({ received: rows, inserted: rows, skipped: 0, rejected: 0 }));
    }
    const loaded = await csv2sql(
      'load',
      'hired_employees',
      path.join(data, 'hired_employees.csv'),
      '--block-size',
      '64K',
      '--interval',
      '0.2',
    );
    expect(loaded.code, loaded.stderr).toBe(6);
    const runId = runIdIn(loaded.stdout);
    rejectedRun = (await get(host.url, `/api/runs/${runId}`)).body;
    // The generator knows which rows break a rule: the load rejected exactly those.
    expect(rejectedRun).toMatchObject({
      status: 'succeeded',
      received: counts.employees,
      rejected: counts.invalid,
      inserted: counts.employees - counts.invalid,
    });
    expect(loaded.stdout).toContain(countsLine(rejectedRun));
    expect(rejectedRun.reasons.length).toBeGreaterThan(0);
    for (const { reason, rows } of rejectedRun.reasons) expect(loaded.stdout).toContain(`${rows.toLocaleString('en-US')} × ${reason}`);
    const csvUrl = `${host.url}/api/rejections?runId=${runId}&format=csv`;
    expect(loaded.stdout).toContain(csvUrl);
    // The default blob name is the table's folder and the file's name.
    expect(await historic().getBlockBlobClient('hired_employees/hired_employees.csv').exists()).toBe(true);

    const download = path.join(data, 'fix.csv');
    const saved = await csv2sql('rejections', runId, '--csv', '--output', download);
    expect(saved.code, saved.stderr).toBe(0);
    const expected = await bytesOf(csvUrl);
    expect(fs.readFileSync(download).equals(expected)).toBe(true);
    expect(expected.toString('utf8').trimEnd().split('\r\n')).toHaveLength(1 + counts.invalid);
    const streamed = await csv2sql('rejections', runId, '--csv');
    expect(streamed.stdoutBytes.equals(expected)).toBe(true);
  });

  it('without a terminal, prints a plain progress line every --interval and at each change of phase', async () => {
    const file = await employeesFile('periodic', 50_000, 300_001);
    const blocks = blockIdsOf(file, BLOCK).length;
    const loaded = await csv2sql('load', 'hired_employees', file, '--blob', 'periodic.csv', '--block-size', '16K', '--interval', '0.1');
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stderr).not.toContain('\x1b['); // no bar's escape sequences
    const lines = loaded.stderr.trimEnd().split('\n');
    const uploads = lines.filter((line) => /^upload: \d+% \(/.test(line));
    expect(uploads[0]).toMatch(/^upload: 0% \(0 B of /);
    expect(uploads.at(-1)).toMatch(/^upload: 100% /);
    // Periodic: several lines while the blocks go, far fewer than one per block.
    expect(uploads.length).toBeGreaterThanOrEqual(4);
    expect(uploads.length).toBeLessThan(blocks / 3);
    const percents = uploads.map((line) => Number(/(\d+)%/.exec(line)![1]));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const runId = runIdIn(loaded.stdout);
    const loads = lines.filter((line) => line.startsWith(`load ${runId}: `));
    expect(loads[0]).toMatch(/: (queued|running) /);
    expect(loads.at(-1)).toContain(`: succeeded 100% `);
    expect(loads.at(-1)).toContain(countsLine((await get(host.url, `/api/runs/${runId}`)).body));
  });

  it('an upload interrupted by Ctrl+C exits 130 and resumes when the same command runs again, skipping the blocks staged', async () => {
    const file = await employeesFile('resume', 100_000, 100_001);
    const fileIds = blockIdsOf(file, BLOCK);
    const args = ['load', 'hired_employees', file, '--blob', 'resume/hired_employees.csv', '--block-size', '16K', '--interval', '0.1'];
    const first = start(args);
    await first.waitForStderr(/^upload: [1-9]\d*% /m);
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/upload interrupted with \d+ blocks in the storage: run the same command again to resume/);

    const blob = historic().getBlockBlobClient('resume/hired_employees.csv');
    const lists = await blob.getBlockList('all');
    expect(lists.committedBlocks ?? []).toHaveLength(0);
    const staged = (lists.uncommittedBlocks ?? []).map((block) => block.name);
    expect(staged.length).toBeGreaterThan(0);
    expect(staged.length).toBeLessThan(fileIds.length);
    expect(fileIds).toEqual(expect.arrayContaining(staged));
    const runs = (await get(host.url, '/api/runs?table=hired_employees&kind=load&limit=100')).body.runs;
    expect(runs.map((run: any) => run.source)).not.toContain('blob:resume/hired_employees.csv');

    const before = (await tableCounts(host.url)).hired_employees;
    const resumed = await csv2sql(...args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `${fileIds.length - staged.length} of ${fileIds.length} blocks sent; resumed: ${staged.length} blocks the storage already held were skipped`,
    );
    expect(((await blob.getBlockList('committed')).committedBlocks ?? []).map((block) => block.name)).toEqual(fileIds);
    const run = (await get(host.url, `/api/runs/${runIdIn(resumed.stdout)}`)).body;
    expect(run).toMatchObject({ status: 'succeeded', received: 100_000, inserted: 100_000, rejected: 0 });
    expect((await tableCounts(host.url)).hired_employees).toBe(before + 100_000);
    const [firstRow] = (await get(host.url, '/api/tables/hired_employees/rows?afterId=100000&limit=1')).body.rows;
    expect(firstRow.id).toBe(100_001);
  });

  it('--json: one document on stdout; a file the blob already holds is not uploaded again', async () => {
    const blob = historic().getBlockBlobClient('jobs/jobs.csv');
    const etag = (await blob.getProperties()).etag;
    const loaded = await csv2sql('--json', 'load', 'jobs', path.join(data, 'jobs.csv'), '--dry-run', '--interval', '0.2');
    expect(loaded.code, loaded.stderr).toBe(0);
    const document = JSON.parse(loaded.stdout);
    expect(document.upload).toMatchObject({ unchanged: true, staged: 0, reused: 1, blocks: 1 });
    expect((await blob.getProperties()).etag).toBe(etag);
    expect(document.run).toEqual((await get(host.url, `/api/runs/${document.run.runId}`)).body);
    expect(document.run).toMatchObject({ dryRun: true, status: 'succeeded', skipped: counts.jobs, inserted: 0 });
    expect(document.rejectionsCsv).toBe(`${host.url}/api/rejections?runId=${document.run.runId}&format=csv`);

    const tables = await csv2sql('--json', 'tables');
    expect(JSON.parse(tables.stdout)).toEqual((await get(host.url, '/api/tables')).body);
    const listing = await csv2sql('rejections', rejectedRun.runId, '--json');
    const rejections = JSON.parse(listing.stdout).rejections;
    expect(rejections).toHaveLength(counts.invalid);
    expect(rejections[0]).toEqual((await get(host.url, `/api/rejections?runId=${rejectedRun.runId}&limit=1`)).body.rejections[0]);
  });
});

describe('csv2sql status, metrics, backup and restore', () => {
  it("status prints the run, exits 6 for rejected rows and 5 for a failed run; --json is the API's run", async () => {
    const shown = await csv2sql('status', rejectedRun.runId);
    expect(shown.code).toBe(6);
    expect(shown.stdout).toContain(`run ${rejectedRun.runId}: load of hired_employees from ${rejectedRun.source}: succeeded`);
    expect(shown.stdout).toContain(countsLine(rejectedRun));
    const json = await csv2sql('--json', 'status', rejectedRun.runId);
    expect(JSON.parse(json.stdout)).toEqual((await get(host.url, `/api/runs/${rejectedRun.runId}`)).body);

    // A load whose client goes away midway fails.
    const cut = http.request(`${host.url}/api/tables/jobs/load`, { method: 'POST', headers: { 'content-type': 'text/csv' } });
    cut.on('error', () => undefined);
    cut.write('970,Cut off\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    cut.destroy();
    let failed: any;
    for (let i = 0; i < 50 && !failed; i++, await new Promise((resolve) => setTimeout(resolve, 100)))
      [failed] = (await get(host.url, '/api/runs?table=jobs&status=failed&limit=1')).body.runs;
    const watched = await csv2sql('status', failed.runId, '--watch');
    expect(watched.code).toBe(5);
    expect(watched.stdout).toContain(`error: ${failed.error}`);
  });

  it("metrics: a table on the terminal, the service's CSV with --csv, its JSON with --json", async () => {
    for (const metric of ['hires-by-quarter', 'departments-above-mean']) {
      const api = (await get(host.url, `/api/metrics/${metric}?year=2021`)).body;
      expect(api.rows.length).toBeGreaterThan(0);
      const table = await csv2sql('metrics', metric, '--year', '2021');
      expect(table.code, table.stderr).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3 + api.rows.length); // title, header, rule, rows
      expect(lines[1].split(/\s+/)).toEqual(Object.keys(api.rows[0]));
      expect(lines[3].trim().split(/\s{2,}/)).toEqual(
        Object.values(api.rows[0]).map((value) => (typeof value === 'number' ? value.toLocaleString('en-US') : value)),
      );
      const csv = await csv2sql('metrics', metric, '--year', '2021', '--csv');
      expect(csv.stdoutBytes.equals(await bytesOf(`${host.url}/api/metrics/${metric}?year=2021&format=csv`))).toBe(true);
      expect(JSON.parse((await csv2sql('--json', 'metrics', metric, '--year', '2021')).stdout)).toEqual(api);
    }
  });

  it('backup writes a set of every table, or one table', async () => {
    const set = await csv2sql('--json', 'backup');
    expect(set.code, set.stderr).toBe(0);
    const written = JSON.parse(set.stdout);
    const rows = await tableCounts(host.url);
    expect(written.tables.map((t: any) => [t.table, t.rows])).toEqual(Object.entries(rows));
    expect((await get(host.url, '/api/backups')).body.sets.map((s: any) => s.set)).toContain(written.set);

    const one = await csv2sql('backup', 'jobs');
    expect(one.code, one.stderr).toBe(0);
    const name = /jobs\/jobs-\d{8}T\d{9}Z\.avro/.exec(one.stdout)![0];
    const listed = (await get(host.url, '/api/tables/jobs/backups')).body.backups.find((b: any) => b.backup === name);
    expect(listed).toMatchObject({ rows: rows.jobs, kind: 'backup', set: null });
    const backups = await csv2sql('backups', 'jobs');
    expect(backups.stdout).toMatch(new RegExp(`^jobs +${name.replace(/\./g, '\\.')} +backup +${rows.jobs} `, 'm'));
    expect(JSON.parse((await csv2sql('--json', 'backups')).stdout)).toEqual((await get(host.url, '/api/backups')).body);
  });

  it('restore refuses without --yes when there is no terminal (2); with --yes it restores and prints the safety backup', async () => {
    const [newest] = (await get(host.url, '/api/tables/jobs/backups')).body.backups.filter((b: any) => b.kind === 'backup');
    const audits = () => get(host.url, '/api/runs?kind=restore&limit=1000').then((res) => res.body.runs.length);
    const auditsBefore = await audits();
    const refused = await csv2sql('restore', 'jobs');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: confirmation_needed: .*pass --yes/);
    expect(await audits()).toBe(auditsBefore);

    expect((await postJson(host.url, '/api/tables/jobs/rows', [{ id: 9001, job: 'Added after the backup' }])).status).toBe(200);
    const restored = await csv2sql('restore', 'jobs', newest.backup, '--yes');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored jobs from ${newest.backup}: ${newest.rows} rows (${newest.rows + 1} before)`);
    const safety = /safety backup of the rows replaced: (\S+)/.exec(restored.stdout)![1];
    const backups = (await get(host.url, '/api/tables/jobs/backups')).body.backups;
    expect(backups.find((b: any) => b.backup === safety)).toMatchObject({ kind: 'safety', rows: newest.rows + 1 });
    expect((await tableCounts(host.url)).jobs).toBe(newest.rows);

    const set = await csv2sql('--json', 'restore', '--set', '--yes');
    expect(set.code, set.stderr).toBe(0);
    const answer = JSON.parse(set.stdout);
    expect(answer.set).toBe((await get(host.url, '/api/backups')).body.sets.find((s: any) => s.kind === 'backup').set);
    expect(answer.safetySet).toMatch(/^\d{8}T\d{9}Z$/);
  });
});

describe('csv2sql exit statuses', () => {
  it("a request the service refuses exits 4 with the service's code and message; nothing is uploaded first", async () => {
    const expected = (await get(host.url, '/api/tables/nope/rows')).body.error;
    const load = await csv2sql('load', 'nope', path.join(data, 'departments.csv'));
    expect(load.code).toBe(4);
    expect(load.stderr).toBe(`error: table_not_found: ${expected.message}\n`);
    expect(await historic().getBlockBlobClient('nope/departments.csv').exists()).toBe(false);

    const unknown = '00000000-0000-4000-8000-000000000000';
    const status = await csv2sql('status', unknown);
    expect(status.code).toBe(4);
    expect(status.stderr).toBe(`error: run_not_found: no run ${unknown}\n`);
    const json = await csv2sql('--json', 'rejections', unknown);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'run_not_found', status: 404 }, exitCode: 4 });
  });

  it('a service that does not answer exits 3', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await start(['tables'], { CSV2SQL_URL: url }).done;
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(new RegExp(`^error: unreachable: cannot reach the service at ${url}: .*ECONNREFUSED`));
  });

  it('bad arguments exit 2, as JSON with --json', async () => {
    const missing = await csv2sql('status');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: usage: missing required argument 'runId'/);
    const tooSmall = await csv2sql('--json', 'load', 'jobs', path.join(data, 'jobs.csv'), '--block-size', '1K');
    expect(tooSmall.code).toBe(2);
    expect(JSON.parse(tooSmall.stderr)).toMatchObject({ error: { code: 'usage' }, exitCode: 2 });
    expect((await csv2sql('load', 'jobs', path.join(data, 'no-such-file.csv'))).code).toBe(2);
    const help = await csv2sql('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit status:[\s\S]* 6 {2}the load \(or the run shown\) succeeded but rejected rows/);
  });
});
