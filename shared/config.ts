/**
 * Every setting the service reads, with its default, in one place. Settings come from the
 * environment: app settings on Azure, local.settings.json under Core Tools, the shell for
 * `npm start`. `SETTINGS` lists them all; the deployment tests compare it with the Bicep app settings.
 */
import { ConfigurationError } from './errors';
import type { RetentionPolicy } from './backup/retention';

/** Settings that have a default, by their app-setting name. The local host resolves `%NAME%` in schedules from these too. */
export const SETTING_DEFAULTS = {
  DATA_DIR: '.data',
  HISTORIC_CONTAINER: 'historic',
  BACKUP_CONTAINER: 'backups',
  /** NCRONTAB (with seconds): daily at 02:00 UTC. */
  BACKUP_SCHEDULE: '0 0 2 * * *',
  /** Backups older than this many days are deleted after each timer run, but for those below. */
  BACKUP_RETENTION_DAYS: '30',
  /** The newest sets kept whatever their age. */
  BACKUP_KEEP_LAST: '7',
  /** The queue of load work in the app's own storage (its poison queue is `<name>-poison`). */
  LOAD_QUEUE: 'loads',
  /** A load's worker stops after this many seconds, at its next commit, and queues its continuation. */
  LOAD_WORKER_SECONDS: '300',
  /** How long a load's lease lasts unless its worker renews it: how soon a dead worker's run shows as interrupted. */
  LOAD_LEASE_SECONDS: '30',
} as const;

/**
 * Every app setting the service's own code reads (the Functions host reads more, such as
 * FUNCTIONS_WORKER_RUNTIME). Storage settings follow the Functions convention for connections:
 * `<NAME>` is a connection string, `<NAME>__blobServiceUri` or `<NAME>__accountName` an
 * identity-based connection, with `<NAME>__clientId` naming a user-assigned identity.
 */
export const SETTINGS = [
  ...Object.keys(SETTING_DEFAULTS),
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__clientId',
  'BACKUP_STORAGE',
  'BACKUP_STORAGE__blobServiceUri',
  'BACKUP_STORAGE__accountName',
  'BACKUP_STORAGE__clientId',
  'SQL_CONNECTION',
  'SQL_SERVER',
  'SQL_DATABASE',
  'AZURE_CLIENT_ID',
] as const;

/** How to reach a storage account: by connection string, or by URL with a Microsoft Entra identity. */
export type StorageConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'identity'; readonly blobServiceUri: string; readonly queueServiceUri: string; readonly clientId: string | undefined };

/** How to reach Azure SQL. Absent: the embedded SQLite database. */
export type SqlConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | { readonly kind: 'entra'; readonly server: string; readonly database: string; readonly clientId: string | undefined };

export interface Config {
  /** Folder of the embedded SQLite database (and of Azurite's data under `npm start`). */
  readonly dataDir: string;
  /** The function app's own storage (AzureWebJobsStorage). */
  readonly storage: StorageConnection | undefined;
  /** The only container that `POST /load {"blob"}` may read. */
  readonly historicContainer: string;
  /** Storage for backups: BACKUP_STORAGE, else the app's own storage. */
  readonly backupStorage: StorageConnection | undefined;
  readonly backupContainer: string;
  readonly backupRetention: RetentionPolicy;
  readonly sql: SqlConnection | undefined;
  readonly loadQueue: string;
  readonly loadWorkerMs: number;
  readonly loadLeaseMs: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const storage = readStorageConnection(env, 'AzureWebJobsStorage');
  return {
    dataDir: env.DATA_DIR || SETTING_DEFAULTS.DATA_DIR,
    storage,
    historicContainer: env.HISTORIC_CONTAINER || SETTING_DEFAULTS.HISTORIC_CONTAINER,
    backupStorage: readStorageConnection(env, 'BACKUP_STORAGE') ?? storage,
    backupContainer: env.BACKUP_CONTAINER || SETTING_DEFAULTS.BACKUP_CONTAINER,
    backupRetention: {
      retentionDays: readCount(env, 'BACKUP_RETENTION_DAYS', 1),
      keepLast: readCount(env, 'BACKUP_KEEP_LAST', 1),
    },
    sql: readSqlConnection(env),
    loadQueue: env.LOAD_QUEUE || SETTING_DEFAULTS.LOAD_QUEUE,
    loadWorkerMs: readCount(env, 'LOAD_WORKER_SECONDS', 1) * 1000,
    loadLeaseMs: readCount(env, 'LOAD_LEASE_SECONDS', 1) * 1000,
  };
}

/** A whole-number setting of at least `min`. */
function readCount(
  env: NodeJS.ProcessEnv,
  name: 'BACKUP_RETENTION_DAYS' | 'BACKUP_KEEP_LAST' | 'LOAD_WORKER_SECONDS' | 'LOAD_LEASE_SECONDS',
  min: number,
): number {
  const text = env[name] || SETTING_DEFAULTS[name];
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min)) throw new ConfigurationError(`${name} must be a whole number of at least ${min}; got ${JSON.stringify(text)}`);
  return value;
}

function readStorageConnection(env: NodeJS.ProcessEnv, name: string): StorageConnection | undefined {
  const connectionString = env[name];
  if (connectionString) return { kind: 'connectionString', connectionString };
  const accountName = env[`${name}__accountName`];
  const blobServiceUri = env[`${name}__blobServiceUri`] || (accountName && `https://${accountName}.blob.core.windows.net`);
  if (!blobServiceUri) return undefined;
  if (!/^https?:\/\/[^\s/]+\/?$/.test(blobServiceUri)) {
    throw new ConfigurationError(
      `${name}__blobServiceUri must be the account's blob endpoint, like https://<account>.blob.core.windows.net; got ${JSON.stringify(blobServiceUri)}`,
    );
  }
  const queueServiceUri =
    env[`${name}__queueServiceUri`] ||
    (accountName ? `https://${accountName}.queue.core.windows.net` : blobServiceUri.replace('.blob.', '.queue.'));
  return { kind: 'identity', blobServiceUri, queueServiceUri, clientId: env[`${name}__clientId`] || env.AZURE_CLIENT_ID || undefined };
}

function readSqlConnection(env: NodeJS.ProcessEnv): SqlConnection | undefined {
  if (env.SQL_CONNECTION) {
    if (env.SQL_SERVER || env.SQL_DATABASE)
      throw new ConfigurationError('set either SQL_CONNECTION or SQL_SERVER with SQL_DATABASE, not both');
    return { kind: 'connectionString', connectionString: env.SQL_CONNECTION };
  }
  if (!env.SQL_SERVER && !env.SQL_DATABASE) return undefined;
  if (!env.SQL_SERVER)
    throw new ConfigurationError('SQL_DATABASE is set but SQL_SERVER is missing (the server name, like myserver.database.windows.net)');
  if (!env.SQL_DATABASE) throw new ConfigurationError('SQL_SERVER is set but SQL_DATABASE is missing (the database name)');
  return { kind: 'entra', server: env.SQL_SERVER, database: env.SQL_DATABASE, clientId: env.AZURE_CLIENT_ID || undefined };
}
