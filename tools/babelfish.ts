/**
 * A Babelfish for PostgreSQL install beside the project (a real server of SQL Server's TDS
 * protocol and T-SQL, built from source; nothing of it is in this repository): where it is, how
 * to start it, and a fresh database on it for a test file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import sql from 'mssql';

export const BABELFISH_HOME = process.env.BABELFISH_HOME || '/opt/babelfish';
const DATA_DIR = process.env.BABELFISH_DATA || path.join(BABELFISH_HOME, 'data');
const TDS_PORT = Number(process.env.BABELFISH_TDS_PORT || 1433);
const LOGIN = { user: process.env.BABELFISH_USER || 'babelfish', password: process.env.BABELFISH_PASSWORD || 'babelfish' };

/** Why the install cannot be used, or undefined if it can. */
export function babelfishMissing(): string | undefined {
  if (!fs.existsSync(path.join(BABELFISH_HOME, 'bin', 'pg_ctl')))
    return `no Babelfish install at ${BABELFISH_HOME} (set BABELFISH_HOME; the README says how to build one)`;
  if (!fs.existsSync(path.join(BABELFISH_HOME, 'lib', 'postgresql', 'babelfishpg_tsql.so')))
    return `the Babelfish install at ${BABELFISH_HOME} has no babelfishpg_tsql extension`;
  if (!fs.existsSync(path.join(DATA_DIR, 'PG_VERSION'))) return `no initialised Babelfish cluster in ${DATA_DIR} (set BABELFISH_DATA)`;
  return undefined;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Starts the server unless it answers on its TDS port; returns whether it was started here (to stop it after). */
export async function ensureBabelfishRunning(): Promise<boolean> {
  if (await portOpen(TDS_PORT)) return false;
  pgCtl(['-l', path.join(DATA_DIR, 'server.log'), '-w', 'start']);
  for (const deadline = Date.now() + 30_000; !(await portOpen(TDS_PORT));) {
    if (Date.now() > deadline) throw new Error(`Babelfish started but does not answer on port ${TDS_PORT}; see ${DATA_DIR}/server.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

export function stopBabelfish(): void {
  pgCtl(['-m', 'fast', 'stop']);
}

/** Runs pg_ctl on the cluster as the owner of its data folder: PostgreSQL refuses to run as root. */
function pgCtl(args: string[]): void {
  const command = [path.join(BABELFISH_HOME, 'bin', 'pg_ctl'), '-D', DATA_DIR, ...args];
  const owner = fs.statSync(DATA_DIR).uid;
  if (process.getuid?.() === 0 && owner !== 0) command.unshift('runuser', '-u', userOf(owner), '--');
  execFileSync(command[0], command.slice(1), { stdio: 'ignore', timeout: 60_000 });
}

function userOf(uid: number): string {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === String(uid));
  return line?.split(':')[0] ?? String(uid);
}

/** The pool settings for `database` on the local server: no TLS (PostgreSQL's ssl is off there), as the README says. */
export function babelfishConfig(database: string): sql.config {
  return {
    server: '127.0.0.1',
    port: TDS_PORT,
    database,
    ...LOGIN,
    options: { encrypt: false, trustServerCertificate: true },
    pool: { max: 10 },
  };
}

/** A connection string for `database`, as the service's SQL_CONNECTION setting takes it. */
export function babelfishConnectionString(database: string): string {
  return `Server=127.0.0.1,${TDS_PORT};Database=${database};User Id=${LOGIN.user};Password=${LOGIN.password};Encrypt=false;TrustServerCertificate=true`;
}

/** Runs one statement on master (CREATE or DROP DATABASE). */
export async function onMaster(statement: string): Promise<void> {
  const pool = await new sql.ConnectionPool(babelfishConfig('master')).connect();
  try {
    await pool.request().batch(statement);
  } finally {
    await pool.close();
  }
}
