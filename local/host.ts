/**
 * The local host behind `npm start`: serves the function app's own handlers at the routes Azure
 * gives them, over SQLite in DATA_DIR and an Azurite it starts itself, without Azure Functions Core
 * Tools. Bound to 127.0.0.1; request and response bodies stream.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { closeServices, getServices } from '../shared/services';
import { AZURITE_STANDARD_PORTS, isPortOpen, startAzurite, type Azurite } from './azurite';
import { captureRegistrations, type Registration } from './functionsCore';
import { newInvocationContext, sendJsonError, sendResponse, toHttpRequest } from './httpAdapter';
import { Router } from './router';
import { startTimers } from './timers';
import { queueSettings, startQueueTriggers } from './queues';
import { lockDataDir } from './dataDirLock';
import { DataDirInUseError } from './DataDirInUseError';
import { LOCAL_HOST_PORT } from './hostPort';

const ROOT = path.resolve(__dirname, '..', '..');

/** How long requests still running at Ctrl+C may take to finish. */
const STOP_GRACE_MS = 5_000;

/**
 * V8 settings the host runs with (`npm start` passes them too). A smaller young generation and an
 * old generation that grows by 30% rather than up to 4x between collections keep a backup, a
 * restore and concurrent batches within the host's 200 MB budget; a load, which fits without them,
 * pays for them in collections.
 */
export const HOST_NODE_FLAGS = ['--heap-growing-percent=30', '--max-semi-space-size=8'];

export interface LocalHostOptions {
  /** 0 picks a free port. Default: PORT, else 7071 (the Functions host's). */
  readonly port?: number;
  /** Default: DATA_DIR, else `.data`. */
  readonly dataDir?: string;
  /** Print the banner and routes (default true). */
  readonly quiet?: boolean;
}

export interface LocalHost {
  readonly url: string;
  readonly registrations: readonly Registration[];
  close(): Promise<void>;
}

export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const dataDir = path.resolve(options.dataDir ?? (process.env.DATA_DIR || '.data'));
  process.env.DATA_DIR = dataDir;
  const unlock = lockDataDir(dataDir);
  try {
    return await start(dataDir, options, unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

async function start(dataDir: string, options: LocalHostOptions, unlock: () => void): Promise<LocalHost> {
  let azurite: Azurite | undefined;
  if (!process.env.AzureWebJobsStorage) {
    azurite = await startAzurite({ location: path.join(dataDir, 'azurite'), ...(await azuritePorts()) });
    process.env.AzureWebJobsStorage = azurite.connectionString;
  }

  const registrations = captureRegistrations();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded as the Functions host loads package.json's main files
  for (const file of functionFiles()) require(file);
  const prefix = routePrefix();
  const router = new Router(registrations, prefix);

  const services = await getServices(); // creates or migrates the schema now, not on the first request
  await services.storage?.ensureContainers();
  const timers = startTimers(registrations);
  const storageConnection = process.env.AzureWebJobsStorage;
  const queues = storageConnection
    ? await startQueueTriggers(registrations, storageConnection, queueSettings(path.join(ROOT, 'host.json')))
    : undefined;

  // No limit on how long a request may take to arrive: a historical load of gigabytes streams for minutes.
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    const answered = dispatch(router, req, res).catch((error) => {
      if (stopping) return; // its connection was closed on purpose
      console.error('local host: failed to answer a request:', error);
      sendJsonError(req, res, 500, 'internal', 'the local host failed to answer');
    });
    inFlight.add(answered);
    void answered.finally(() => inFlight.delete(answered));
  });
  // Keep idle connections longer than clients do (undici: 4 s), so a client never reuses one the host is closing.
  server.keepAliveTimeout = 65_000;
  const port = options.port ?? (process.env.PORT ? Number(process.env.PORT) : LOCAL_HOST_PORT);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  if (!options.quiet) {
    console.log(`Functions on ${url} (data in ${dataDir})`);
    for (const route of router.describe()) console.log(`  ${route.methods.join(',').padEnd(9)} ${url}${route.path}  (${route.name})`);
    for (const timer of timers.timers) console.log(`  timer     ${timer.schedule}  (${timer.name}; next ${timer.next.toISOString()})`);
    for (const queue of queues?.names ?? []) console.log(`  queue     ${queue}`);
    console.log(
      `Storage: ${azurite ? `Azurite on http://127.0.0.1:${azurite.port} (blob) and :${azurite.queuePort} (queue)` : 'AzureWebJobsStorage'}; database: ${services.db.dialect}`,
    );
    if (azurite) console.log(`  connection string (for Storage Explorer, az storage, the tests): ${azurite.connectionString}`);
    if (registrations.some((r) => r.name === 'dashboard')) console.log(`Dashboard and console: ${url}/${prefix}/dashboard`);
  }

  return {
    url,
    registrations,
    async close() {
      timers.stop();
      stopping = true;
      // Queue functions running now finish their share (a load commits and stops at its next transaction boundary, or is cut off).
      await Promise.race([queues?.stop(), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())]);
      // Requests still running see their connections end (a load records its run as cut off) and
      // finish before the database and Azurite close under them.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref())]);
      await closed;
      await closeServices();
      await azurite?.stop();
      unlock();
    },
  };
}

/** Host names of this machine's loopback: a page of another site, rebound to 127.0.0.1 by its DNS, still sends its own name. */
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?$/i;

async function dispatch(router: Router, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const host = req.headers.host ?? '';
  if (!LOOPBACK_HOST.test(host)) {
    return sendJsonError(
      req,
      res,
      421,
      'host_not_allowed',
      `the local host answers only to localhost, 127.0.0.1 and [::1]; got Host ${JSON.stringify(host)}`,
    );
  }
  const url = new URL(req.url ?? '/', `http://${host}`);
  const match = router.match(req.method ?? 'GET', url.pathname);
  if (match === undefined) return sendJsonError(req, res, 404, 'route_not_found', `no function serves ${url.pathname}`);
  if (match === 'method') return sendJsonError(req, res, 405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}`);
  const context = newInvocationContext(match.registration.name);
  let result: unknown;
  try {
    result = await match.registration.handler(toHttpRequest(req, url, match.params), context);
  } catch (error) {
    context.error('unhandled error:', error);
    return sendJsonError(req, res, 500, 'internal', `unexpected error; see the log of invocation ${context.invocationId}`);
  }
  await sendResponse(req, res, result as Parameters<typeof sendResponse>[2]);
}

/**
 * Azurite's ports: AZURITE_BLOB_PORT and AZURITE_QUEUE_PORT (0 for any free one), by default
 * Azurite's own 10000 and 10001, so that the connection string printed stays the same from one
 * start to the next; one that is taken becomes a free one (said at start).
 */
async function azuritePorts(): Promise<{ port: number; queuePort: number }> {
  const choose = async (variable: string, standard: number) => {
    const set = process.env[variable];
    if (set !== undefined && set !== '') return Number(set);
    if (!(await isPortOpen(standard))) return standard;
    console.log(`Port ${standard} is taken: Azurite gets a free port (set ${variable} to choose one)`);
    return 0;
  };
  return {
    port: await choose('AZURITE_BLOB_PORT', AZURITE_STANDARD_PORTS.blob),
    queuePort: await choose('AZURITE_QUEUE_PORT', AZURITE_STANDARD_PORTS.queue),
  };
}

/** The compiled function files, from package.json's `main` glob, as the Functions host finds them. */
function functionFiles(): string[] {
  const main: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).main;
  const dir = path.join(ROOT, path.dirname(main));
  const suffix = path.basename(main).replace(/^\*/, '');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => path.join(dir, f));
}

function routePrefix(): string {
  const host = JSON.parse(fs.readFileSync(path.join(ROOT, 'host.json'), 'utf8'));
  return host.extensions?.http?.routePrefix ?? 'api';
}

if (require.main === module) {
  startLocalHost().then(
    (host) => {
      const stop = () => {
        host.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error) => {
      // A folder in use is the user's to sort out, not a crash: its message says how.
      if (error instanceof DataDirInUseError) console.error(`local host not started: ${error.message}`);
      else console.error('local host failed to start:', error);
      process.exit(1);
    },
  );
}
