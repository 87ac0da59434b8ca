/**
 * Starts Azurite's blob and queue services from node_modules, each a child process over the same
 * data folder, for `npm start` and tests. The children run with `exitWithParent` preloaded, so
 * they end with the host even if the host is killed outright.
 */
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** Azurite's documented development account; a public constant, not a secret. */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  readonly connectionString: string;
  /** The blob service's port. */
  readonly port: number;
  readonly queuePort: number;
  stop(): Promise<void>;
}

/** Azurite's own ports, which the local host gives it unless they are taken (and csv2sql expects by default). */
export const AZURITE_STANDARD_PORTS = { blob: 10000, queue: 10001 } as const;

/** The connection string of Azurite's blob and queue services on these ports of this machine, with its well-known account. */
export function connectionStringFor(port: number, queuePort: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};QueueEndpoint=http://127.0.0.1:${queuePort}/${ACCOUNT};`
  );
}

export async function startAzurite(options: { location?: string; port?: number; queuePort?: number }): Promise<Azurite> {
  const port = options.port || (await freePort());
  const blob = await startService('blob', port, options.location);
  try {
    const queuePort = options.queuePort || (await freePort());
    const queue = await startService('queue', queuePort, options.location);
    return {
      port,
      queuePort,
      connectionString: connectionStringFor(port, queuePort),
      stop: async () => {
        await Promise.all([stop(queue), stop(blob)]);
      },
    };
  } catch (error) {
    await stop(blob);
    throw error;
  }
}

async function startService(service: 'blob' | 'queue', port: number, location: string | undefined): Promise<ChildProcess> {
  const main = require.resolve(`azurite/dist/src/${service}/main.js`);
  const args = [
    `--${service}Host`,
    '127.0.0.1',
    `--${service}Port`,
    String(port),
    '--silent',
    '--skipApiVersionCheck',
    '--loose',
    '--disableTelemetry',
  ];
  args.push(...(location ? ['--location', location] : ['--inMemoryPersistence']));
  const child = fork(main, args, {
    execArgv: ['--require', path.join(__dirname, 'exitWithParent.js')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await waitForPort(port, child);
  return child;
}

/** Asks Azurite to save and close; it waits on idle keep-alive connections, so it gets a few seconds, then is killed. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Azurite exited with code ${child.exitCode} before listening`);
    if (await isPortOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`Azurite did not listen on port ${port} within 30 s`);
}

/** Whether something accepts connections on the loopback port. */
export function isPortOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
