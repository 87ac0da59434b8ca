/**
 * csv2sql, the command-line client, run as the data engineer runs it: the compiled binary
 * (dist/clients/cli/main.js) against a real local host with its own Azurite, stdin and stderr
 * not terminals (so progress comes as plain lines), every answer checked against the API's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset, type DatasetCounts } from '../tools/datagen';
import { freePort } from '../local/azurite';
import { container } from './helpers/backups';
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
  return container(host.storageConnection!, 'historic');
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

/** The block ids of the file's blocks by the README's formula, base64("<index, 5 digits>-<base64url of the SHA-256>"), not csv2sql's code. */
function blockIdsOf(file: string, blockSize: number): string[] {
  const bytes = fs.readFileSync(file);
  const ids: string[] = [];
  for (let offset = 0, index = 0; offset < bytes.length; offset += blockSize, index++) {
    const digest = createHash('sha256')
      .update(bytes.subarray(offset, offset + blockSize))
      .digest('base64url');
    ids.push(Buffer.from(`${String(index).padStart(5, '0')}-${digest}`).toString('base64'));
  }
  return ids;
}

interface StorageProxy {
  /** The host's storage connection string with its blob endpoint here. */
  readonly connection: string;
  /** Resolves once a Put Block is held. */
  readonly held: Promise<void>;
  /** Sends the held Put Blocks on, and every later one. */
  release(): void;
  /** Resolves once every request sent on has had its whole answer, so the blob's lists no longer change. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface ProxyOptions {
  /** Put Blocks sent on before the next ones are held until release(); all of them by default. */
  readonly pass?: number;
  /** The wait before each Put Block is sent on: a floor under the upload's length. */
  readonly delayMs?: number;
  /** Changes a byte of the first Put Block's body on the way, as a bad line would. */
  readonly corruptFirstBlock?: boolean;
}

/** A proxy in front of the host's Azurite that csv2sql's storage goes through; each request's body is read whole before it is sent on. */
async function storageProxy(options: ProxyOptions = {}): Promise<StorageProxy> {
  let putBlocks = 0;
  let open = 0;
  const idleWaiters: (() => void)[] = [];
  let markHeld!: () => void;
  const held = new Promise<void>((resolve) => (markHeld = resolve));
  let heldRequests: (() => void)[] | undefined = options.pass === undefined ? undefined : [];
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    open++;
    const upstream = http.request(
      { host: '127.0.0.1', port: host.azuritePort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          if (--open === 0) for (const resolve of idleWaiters.splice(0)) resolve();
        });
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };
  const server = http.createServer(async (req, res) => {
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== 'PUT' || !/[?&]comp=block(&|$)/.test(req.url ?? '')) return forward(req, res, body);
    if (putBlocks++ === 0 && options.corruptFirstBlock) body[body.length >> 1] ^= 1;
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    if (heldRequests && putBlocks > options.pass!) {
      heldRequests.push(() => forward(req, res, body));
      markHeld();
      return;
    }
    forward(req, res, body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    connection: host.storageConnection!.replace(`127.0.0.1:${host.azuritePort}/`, `127.0.0.1:${port}/`),
    held,
    release() {
      const waiting = heldRequests ?? [];
      heldRequests = undefined;
      for (const send of waiting) send();
    },
    idle: () => (open === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A stand-in for the service on a port of its own: `answer` handles every request. */
async function fakeService(answer: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(answer);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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
    // 25 ms a block, four at a time: the upload lasts a second at least, ten intervals of 0.1 s.
    const proxy = await storageProxy({ delayMs: 25 });
    const loaded = await start(['load', 'hired_employees', file, '--blob', 'periodic.csv', '--block-size', '16K', '--interval', '0.1'], {
      AZURE_STORAGE_CONNECTION_STRING: proxy.connection,
    }).done;
    await proxy.close();
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
    // Five blocks reach the storage; the sixth is held until Ctrl+C, so the interrupt lands mid-upload.
    const proxy = await storageProxy({ pass: 5 });
    const first = start(args, { AZURE_STORAGE_CONNECTION_STRING: proxy.connection });
    await proxy.held;
    first.child.kill('SIGINT');
    const stopped = await first.done;
    await proxy.idle();
    await proxy.close();
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/upload interrupted with at least [0-5] blocks in the storage: run the same command again to resume/);

    const blob = historic().getBlockBlobClient('resume/hired_employees.csv');
    const lists = await blob.getBlockList('all');
    expect(lists.committedBlocks ?? []).toHaveLength(0);
    const staged = (lists.uncommittedBlocks ?? []).map((block) => block.name);
    expect(staged).toHaveLength(5);
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

describe('csv2sql load: what the blob ends up holding', () => {
  it('a file changed in one byte sends that one block again; the blob then holds the new file', async () => {
    const file = await employeesFile('one-byte', 3_000, 700_001);
    const args = ['load', 'hired_employees', file, '--blob', 'one-byte.csv', '--block-size', '16K', '--dry-run'];
    expect((await csv2sql(...args)).code).toBe(0);
    const blob = historic().getBlockBlobClient('one-byte.csv');
    const etag = (await blob.getProperties()).etag;
    const bytes = fs.readFileSync(file);
    const blocks = blockIdsOf(file, BLOCK).length;
    expect(blocks).toBeGreaterThan(3);
    // A letter of a name in the second block, so that the row stays valid.
    let at = BLOCK + 100;
    while (!/[a-y]/.test(String.fromCharCode(bytes[at]))) at++;
    bytes[at]++;
    fs.writeFileSync(file, bytes);

    const again = await csv2sql(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`1 of ${blocks} blocks sent; resumed: ${blocks - 1} blocks the storage already held were skipped`);
    expect(((await blob.getBlockList('committed')).committedBlocks ?? []).map((block) => block.name)).toEqual(blockIdsOf(file, BLOCK));
    expect((await blob.getProperties()).etag).not.toBe(etag);
    expect((await blob.downloadToBuffer()).equals(bytes)).toBe(true);
  });

  it('a blob written by something else during the upload is not overwritten (4)', async () => {
    const file = await employeesFile('raced', 2_000, 710_001);
    const proxy = await storageProxy({ pass: 0 });
    const running = start(['load', 'hired_employees', file, '--blob', 'raced.csv', '--block-size', '16K'], {
      AZURE_STORAGE_CONNECTION_STRING: proxy.connection,
    });
    await proxy.held;
    const blob = historic().getBlockBlobClient('raced.csv');
    await blob.upload('written meanwhile\n', 18);
    proxy.release();
    const raced = await running.done;
    await proxy.close();
    expect(raced.code, raced.stderr).toBe(4);
    expect(raced.stderr).toMatch(/^error: blob_changed: the blob changed while uploading/m);
    expect((await blob.downloadToBuffer()).toString()).toBe('written meanwhile\n');
  });

  it('a file changed in place during the upload is not committed (2)', async () => {
    const file = await employeesFile('changed', 2_000, 720_001);
    const proxy = await storageProxy({ pass: 0 });
    const running = start(['load', 'hired_employees', file, '--blob', 'changed.csv', '--block-size', '16K'], {
      AZURE_STORAGE_CONNECTION_STRING: proxy.connection,
    });
    await proxy.held;
    const bytes = fs.readFileSync(file);
    bytes[10] = bytes[10] === 0x61 ? 0x62 : 0x61;
    fs.writeFileSync(file, bytes); // the same size
    proxy.release();
    const changed = await running.done;
    await proxy.close();
    expect(changed.code, changed.stderr).toBe(2);
    expect(changed.stderr).toMatch(/^error: file_changed: /m);
    expect(await historic().getBlockBlobClient('changed.csv').exists()).toBe(false);
  });

  it('a block corrupted on the way to the storage is refused, not committed', async () => {
    const file = await employeesFile('corrupted', 2_000, 730_001);
    const proxy = await storageProxy({ corruptFirstBlock: true });
    const corrupted = await start(['load', 'hired_employees', file, '--blob', 'corrupted.csv', '--block-size', '16K'], {
      AZURE_STORAGE_CONNECTION_STRING: proxy.connection,
    }).done;
    await proxy.close();
    expect(corrupted.code, corrupted.stderr).toBe(4);
    // Azure's code is Md5Mismatch, Azurite's InvalidOperation.
    expect(corrupted.stderr).toMatch(/^error: \w+: the storage at .* answered 400: .*md5/im);
    expect(await historic().getBlockBlobClient('corrupted.csv').exists()).toBe(false);
  });

  it('an empty file, a folder, a bad --charset or connection string are refused (2) before anything is uploaded', async () => {
    const empty = path.join(data, 'empty.csv');
    fs.writeFileSync(empty, '');
    const refusedEmpty = await csv2sql('load', 'jobs', empty, '--blob', 'empty.csv');
    expect(refusedEmpty.code).toBe(2);
    expect(refusedEmpty.stderr).toMatch(/^error: empty_file: /);
    expect(await historic().getBlockBlobClient('empty.csv').exists()).toBe(false);
    const folder = await csv2sql('load', 'jobs', data);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^error: no_such_file: /);
    const charset = await csv2sql('load', 'jobs', path.join(data, 'jobs.csv'), '--blob', 'charset/jobs.csv', '--charset', 'klingon');
    expect(charset.code).toBe(2);
    expect(charset.stderr).toMatch(/^error: unsupported_charset: --charset: charset "klingon" is not one of /);
    expect(await historic().getBlockBlobClient('charset/jobs.csv').exists()).toBe(false);
    const connection = await start(['load', 'jobs', path.join(data, 'jobs.csv')], { AZURE_STORAGE_CONNECTION_STRING: 'not one' }).done;
    expect(connection.code).toBe(2);
    expect(connection.stderr).toBe(
      'error: bad_connection_string: --storage-connection-string (AZURE_STORAGE_CONNECTION_STRING) is not a storage connection string: Invalid URL\n',
    );
  });

  it('a SAS token of the connection string is never printed, whether the storage refuses it or cannot be reached', async () => {
    const sas = 'sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig=NotTheSignature0123456789abcdefghijklmnopq%3D';
    const account = `http://127.0.0.1:${host.azuritePort}/devstoreaccount1`;
    const refused = await start(['load', 'jobs', path.join(data, 'jobs.csv'), '--blob', 'sas/jobs.csv'], {
      AZURE_STORAGE_CONNECTION_STRING: `BlobEndpoint=${account};SharedAccessSignature=${sas}`,
    }).done;
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain(`the storage at ${account}/historic answered 403`);
    const unreachable = `http://127.0.0.1:${await freePort()}/devstoreaccount1`;
    const unanswered = await start(['load', 'jobs', path.join(data, 'jobs.csv'), '--blob', 'sas/jobs.csv'], {
      AZURE_STORAGE_CONNECTION_STRING: `BlobEndpoint=${unreachable};SharedAccessSignature=${sas}`,
    }).done;
    expect(unanswered.code, unanswered.stderr).toBe(3);
    expect(unanswered.stderr).toContain(`cannot reach the storage at ${unreachable}/historic: `);
    for (const { stderr } of [refused, unanswered]) expect(stderr).not.toMatch(/NotTheSignature|sig=|sv=/);
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

  it('a redirect is not followed, so the key does not go to another origin (4)', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const elsewhere = await fakeService((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"tables":[]}');
    });
    const redirecting = await fakeService((req, res) => res.writeHead(302, { location: `${elsewhere.url}${req.url}` }).end());
    const redirected = await start(['tables'], { CSV2SQL_URL: redirecting.url, CSV2SQL_KEY: 'the-function-key' }).done;
    await Promise.all([elsewhere.close(), redirecting.close()]);
    expect(seen).toEqual([]);
    expect(redirected.code, redirected.stderr).toBe(4);
    expect(redirected.stderr).toBe(
      `error: redirected: the service at ${redirecting.url} answered 302, a redirect to ${elsewhere.url}/api/tables: csv2sql does not follow redirects (they would take the key along); pass the URL it should use as --url\n`,
    );
  });

  it('a 2xx that is not JSON exits 4 naming its type; a connection cut midway exits 3, for a download too', async () => {
    const service = await fakeService((req, res) => {
      if (req.url === '/api/tables') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a sign-in page</html>');
      // Headers and part of the body, then the connection is cut.
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': '1000' });
      res.write('department,job,Q1\n', () => res.destroy());
    });
    const html = await start(['tables'], { CSV2SQL_URL: service.url }).done;
    const cutJson = await start(['runs'], { CSV2SQL_URL: service.url }).done;
    const cutDownload = await start(['metrics', 'hires-by-quarter', '--csv'], { CSV2SQL_URL: service.url }).done;
    await service.close();
    expect(html.code, html.stderr).toBe(4);
    expect(html.stderr).toBe(
      `error: not_json: the service at ${service.url} answered 200 with text/html, not JSON: check --url (CSV2SQL_URL), which should be the function app's base URL\n`,
    );
    for (const cut of [cutJson, cutDownload]) {
      expect(cut.code, cut.stderr).toBe(3);
      expect(cut.stderr).toMatch(new RegExp(`^error: unreachable: cannot reach the service at ${service.url}: `));
    }
  });

  it('status --watch ends on a run interrupted for good (5); an interrupted blob load is still going on (0)', async () => {
    const runs: Record<string, object> = {
      csv: { ...rejectedRun, runId: 'csv', source: 'csv', status: 'interrupted', finishedAt: null, rejected: 0 },
      blob: { ...rejectedRun, runId: 'blob', source: 'blob:hired_employees/x.csv', status: 'interrupted', finishedAt: null, rejected: 0 },
    };
    const service = await fakeService((req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(runs[req.url!.split('/').at(-1)!])),
    );
    const watching = start(['status', 'csv', '--watch', '--interval', '0.1'], { CSV2SQL_URL: service.url });
    const givenUp = setTimeout(() => watching.child.kill('SIGKILL'), 10_000);
    const watched = await watching.done;
    clearTimeout(givenUp);
    const blob = await start(['status', 'blob'], { CSV2SQL_URL: service.url }).done;
    await service.close();
    expect(watched.code, watched.stderr).toBe(5);
    expect(blob.code, blob.stderr).toBe(0);
  });

  it('an output that cannot be written, --csv with --json, or --url with a query exit 2; help exits 0', async () => {
    const output = await csv2sql('rejections', rejectedRun.runId, '--csv', '--output', path.join(data, 'no-such-folder', 'x.csv'));
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/^error: cannot_write: --output .* cannot be written: ENOENT/);
    const both = await csv2sql('--json', 'metrics', 'hires-by-quarter', '--csv');
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stderr)).toMatchObject({ error: { code: 'usage', message: expect.stringContaining('--csv') }, exitCode: 2 });
    const query = await start(['tables'], { CSV2SQL_URL: `${host.url}/?code=secret` }).done;
    expect(query.code).toBe(2);
    expect(query.stderr).toMatch(/^error: usage: .*no user, query/);
    for (const args of [['help'], ['help', 'load']]) {
      const help = await csv2sql(...args);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain('Usage: csv2sql');
    }
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
