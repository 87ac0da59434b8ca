/**
 * Test helpers: start the compiled local host (`node dist/local/host.js`) as a child process on a
 * free port with a fresh data folder, and talk to it over real HTTP.
 *
 * The tests rely on `dist/` being built (`npm test` runs `tsc` first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { assertDocumented } from './openapi';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type * as AzuriteModule from '../../local/azurite';

export const ROOT = path.resolve(__dirname, '..', '..');
export const HOST_JS = path.join(ROOT, 'dist', 'local', 'host.js');

const READY = /Functions on (http:\/\/127\.0\.0\.1:\d+) \(data in (.*)\)/;
const STORAGE = /Storage: Azurite on http:\/\/127\.0\.0\.1:(\d+) \(blob\) and :(\d+) \(queue\)/;

export function requireDist(): void {
  if (!fs.existsSync(HOST_JS)) {
    throw new Error(`${HOST_JS} is missing: build first with \`npx tsc -p .\` (npm test does it) before running these tests`);
  }
}

export interface HostHandle {
  readonly url: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** The port of the Azurite that the host started itself, if it did. */
  readonly azuritePort: number | undefined;
  /** That Azurite's connection string. */
  readonly storageConnection: string | undefined;
  /** The host's stdout and stderr so far (bounded), for failure messages. */
  output(): string;
  /** SIGTERM: the host closes its server, database and Azurite; SIGKILL if it takes too long. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash; waits for the process and its Azurite to be gone. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Reuse this data folder instead of a fresh temp one. */
  readonly dataDir?: string;
  readonly env?: Record<string, string | undefined>;
}

const running = new Set<HostHandle>();
// If the test process ends without stopping a host (a crashed worker), take the hosts with it;
// their Azurite follows them (it exits when its parent's IPC channel closes).
process.once('exit', () => {
  for (const host of running) if (host.process.exitCode === null && host.process.signalCode === null) host.process.kill('SIGKILL');
});

/** Starts `node dist/local/host.js` with PORT=0 and a fresh DATA_DIR, and waits for its ready line. */
export async function startHost(options: StartOptions | Record<string, string | undefined> = {}): Promise<HostHandle> {
  requireDist();
  const opts: StartOptions =
    'env' in options || 'dataDir' in options ? (options as StartOptions) : { env: options as Record<string, string | undefined> };
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-test-'));
  // Any free ports: tests run hosts side by side.
  // Hosts sharing one Azurite do not share a load queue: each has its own database.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    AZURITE_BLOB_PORT: '0',
    AZURITE_QUEUE_PORT: '0',
    DATA_DIR: dataDir,
    LOAD_QUEUE: `loads-${Math.random().toString(36).slice(2, 10)}`,
    LOCAL_QUEUE_MAX_POLL_MS: '500',
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  if (!opts.env || !('AzureWebJobsStorage' in opts.env)) delete env.AzureWebJobsStorage;

  const child = spawn(process.execPath, [HOST_JS], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > 64 * 1024) log = log.slice(-32 * 1024); // keep a tail; rejections are logged per row
  };
  let stdoutText: string | undefined = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const ready = await new Promise<{ url: string; azuritePort?: number; queuePort?: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the host did not print its ready line within 30 s:\n${log}`));
    }, 30_000);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`the host exited (code ${code}, signal ${signal}) before it was ready:\n${log}`));
    };
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      append(chunk);
      if (stdoutText === undefined) return;
      stdoutText += chunk.toString('utf8');
      const m = READY.exec(stdoutText);
      // The Storage line follows the routes; wait for it so that we know Azurite's port.
      if (m && /Storage: .*\n/.test(stdoutText)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        const s = STORAGE.exec(stdoutText);
        stdoutText = undefined;
        resolve({ url: m[1], azuritePort: s ? Number(s[1]) : undefined, queuePort: s ? Number(s[2]) : undefined });
      }
    });
    child.stderr!.on('data', append);
  });

  let done: Promise<void> | undefined;
  const finish = (signal: NodeJS.Signals) => {
    done ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(force);
      }
      // Azurite ends with the host (on SIGTERM the host stops it; on SIGKILL its IPC channel closes).
      if (ready.azuritePort) await waitForPortClosed(ready.azuritePort, 15_000);
      if (ready.queuePort) await waitForPortClosed(ready.queuePort, 15_000);
      running.delete(handle);
    })();
    return done;
  };
  const handle: HostHandle = {
    url: ready.url,
    dataDir,
    process: child,
    azuritePort: ready.azuritePort,
    storageConnection:
      ready.azuritePort === undefined ? undefined : azuriteModule().connectionStringFor(ready.azuritePort, ready.queuePort!),
    output: () => log,
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
  running.add(handle);
  return handle;
}

export async function waitForPortClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await azuriteModule().isPortOpen(port))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} (Azurite) still open after ${timeoutMs} ms`);
}

/** Azurite from the compiled output (its child needs dist/local/exitWithParent.js). */
export function startAzurite(
  options: { location?: string; port?: number } = {},
): Promise<{ connectionString: string; port: number; stop(): Promise<void> }> {
  return azuriteModule().startAzurite(options);
}

function azuriteModule(): typeof AzuriteModule {
  requireDist();
  return createRequire(__filename)(path.join(ROOT, 'dist', 'local', 'azurite.js'));
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body, or undefined if the body is not JSON. */
  readonly body: T;
}

async function toApiResponse(method: string, url: string, response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  assertDocumented(method, url, response.status, response.headers.get('content-type'), body);
  return { status: response.status, headers: response.headers, text, body };
}

/** Every response is checked against the OpenAPI document. */
export async function request(url: string, init: RequestInit = {}): Promise<ApiResponse> {
  return toApiResponse(init.method ?? 'GET', url, await fetch(url, init));
}

export function get(base: string, route: string): Promise<ApiResponse> {
  return request(base + route);
}

/** POSTs `value` as JSON (a string is sent as is, for malformed bodies). */
export function postJson(base: string, route: string, value: unknown, contentType = 'application/json'): Promise<ApiResponse> {
  return request(base + route, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof value === 'string' ? value : JSON.stringify(value),
  });
}

/** Queues a load of a blob of the historic container and waits for its run to end: the run as GET /api/runs/{id} gives it. */
export async function loadBlob(base: string, table: string, body: unknown, query = '', timeoutMs = 120_000): Promise<ApiResponse> {
  const queued = await postJson(base, `/api/tables/${table}/load${query}`, body);
  if (queued.status !== 202 && queued.status !== 200) return queued;
  return waitForRun(base, queued.body.runId, timeoutMs);
}

/** Polls a run until it has ended: not queued or running, nor interrupted (its worker died; it is queued again). */
export async function waitForRun(base: string, runId: string, timeoutMs = 120_000): Promise<ApiResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await get(base, `/api/runs/${runId}`);
    if (run.status !== 200 || !['queued', 'running', 'interrupted'].includes(run.body.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.body.status} after ${timeoutMs} ms: ${run.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function postCsv(base: string, route: string, text: string | Buffer, contentType = 'text/csv'): Promise<ApiResponse> {
  return request(base + route, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof text === 'string' ? text : new Uint8Array(text),
  });
}

/** Reads a node:http response into an ApiResponse (the body parsed as JSON where it is JSON). */
export function readApiResponse(res: http.IncomingMessage): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
      const sent = (res as http.IncomingMessage & { req?: http.ClientRequest }).req;
      try {
        if (sent) assertDocumented(sent.method, `http://${sent.host}${sent.path}`, res.statusCode ?? 0, headers.get('content-type'), body);
      } catch (error) {
        reject(error);
        return;
      }
      resolve({ status: res.statusCode ?? 0, headers, text, body });
    });
  });
}

/**
 * Streams a file as the request body (chunked, never read whole). Resolves with the response;
 * rejects if the connection breaks (e.g. the host is killed midway). With `pace`, it sends
 * `pace.bytes` at a time with `pace.ms` between them: a load then commits at each pause, as it
 * does when a slow client's bytes stop coming, and cannot finish sooner than the pauses add up to.
 */
export function postFile(
  base: string,
  route: string,
  file: string,
  contentType = 'text/csv',
  pace?: { bytes: number; ms: number },
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + route, { method: 'POST', headers: { 'content-type': contentType } }, (res) => {
      readApiResponse(res).then(resolve, reject);
    });
    req.on('error', reject);
    if (!pace) {
      const stream = fs.createReadStream(file);
      stream.on('error', (e) => req.destroy(e));
      stream.pipe(req);
      return;
    }
    (async () => {
      for await (const chunk of fs.createReadStream(file, { highWaterMark: pace.bytes })) {
        if (req.destroyed) return; // the connection broke: nothing will drain any more
        if (!req.write(chunk)) await Promise.race([once(req, 'drain'), once(req, 'close')]);
        await delay(pace.ms);
      }
      req.end();
    })().catch((e) => req.destroy(e));
  });
}

/** Row counts per table from GET /api/tables. */
export async function tableCounts(base: string): Promise<Record<string, number>> {
  const res = await get(base, '/api/tables');
  if (res.status !== 200) throw new Error(`GET /api/tables: ${res.status} ${res.text}`);
  return Object.fromEntries(res.body.tables.map((t: { name: string; rows: number }) => [t.name, t.rows]));
}

/** Every row of a table, paging through GET /api/tables/{table}/rows with limit=1000. */
export async function allRows(base: string, table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let after = 0;
  for (;;) {
    const res = await get(base, `/api/tables/${table}/rows?afterId=${after}&limit=1000`);
    if (res.status !== 200) throw new Error(`GET rows: ${res.status} ${res.text}`);
    rows.push(...res.body.rows);
    if (res.body.nextAfterId === null) return rows;
    after = res.body.nextAfterId;
  }
}

/** A fresh temp folder (removed by the caller, or left in os.tmpdir()). */
/** Every rejection a query of GET /api/rejections lists, page by page. */
export async function allRejections(base: string, query: string): Promise<any[]> {
  const out: any[] = [];
  let after = 0;
  for (;;) {
    const res = await get(base, `/api/rejections?${query}&afterId=${after}&limit=1000`);
    if (res.status !== 200) throw new Error(`GET /api/rejections answered ${res.status}: ${res.text}`);
    out.push(...res.body.rejections);
    if (res.body.nextAfterId === null) return out;
    after = res.body.nextAfterId;
  }
}

export function tempDir(prefix = 'ingest-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
