/**
 * The mssql pool configuration for a configured connection. Built as a config object rather than
 * handed over as a string because mssql's connection-string parser does not understand
 * `Authentication=Active Directory Default` (it falls back to SQL logins): Entra authentication is
 * set here explicitly, from the split settings or from such a connection string.
 */
import sql from 'mssql';
import type { SqlConnection } from '../../config';
import { ConfigurationError } from '../../errors';

/** Connections per process. Writes are serialised (see MssqlDatabase), so few are needed: a writer, readers, a snapshot. */
const POOL_MAX = 10;

/** The longest any one statement may take. */
export const REQUEST_TIMEOUT_MS = 15 * 60_000;

/** `Authentication=` values that mean a token from DefaultAzureCredential (managed identity on Azure, az login elsewhere). */
const DEFAULT_CREDENTIAL = /^active\s*directory\s*(default|managed\s*identity|msi)$/i;

export function poolConfig(connection: SqlConnection): sql.config {
  const base: sql.config =
    connection.kind === 'entra'
      ? {
          server: connection.server,
          database: connection.database,
          authentication: { type: 'azure-active-directory-default', options: { clientId: connection.clientId } },
        }
      : fromConnectionString(connection.connectionString);
  return {
    ...base,
    pool: { min: 0, max: POOL_MAX, idleTimeoutMillis: 60_000 },
    // Every statement is bounded, so a stuck one cannot hold the write lock for ever: a load's take
    // seconds; the longest, a backup's one streamed query of a table, reads tens of millions of rows in it.
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: base.connectionTimeout ?? 30_000,
    options: {
      encrypt: true,
      ...base.options,
      // DATETIME2 values are UTC instants: never shifted by the process's time zone.
      useUTC: true,
      appName: 'csv-to-azure-sql',
    },
  };
}

function fromConnectionString(connectionString: string): sql.config {
  let parsed: sql.config & { authentication_type?: string };
  try {
    parsed = sql.ConnectionPool.parseConnectionString(connectionString) as typeof parsed;
  } catch (error) {
    throw new ConfigurationError(`SQL_CONNECTION is not a valid connection string: ${(error as Error).message}`);
  }
  if (!parsed.server) throw new ConfigurationError('SQL_CONNECTION names no server (Server=...)');
  if (!parsed.database) throw new ConfigurationError('SQL_CONNECTION names no database (Database=...)');
  const authentication = /(?:^|;)\s*authentication\s*=\s*([^;]*)/i
    .exec(connectionString)?.[1]
    ?.trim()
    .replace(/^(["'])(.*)\1$/, '$2');
  if (authentication && DEFAULT_CREDENTIAL.test(authentication)) {
    const { authentication_type: _ignored, user: _user, password: _password, ...rest } = parsed;
    const clientId = /(?:^|;)\s*user\s*id\s*=\s*([^;]*)/i.exec(connectionString)?.[1]?.trim() || undefined;
    return { ...rest, authentication: { type: 'azure-active-directory-default', options: { clientId } } };
  }
  if (!parsed.user && !parsed.authentication_type) {
    throw new ConfigurationError(
      'SQL_CONNECTION has no credentials: give User Id and Password, or Authentication=Active Directory Default',
    );
  }
  return parsed;
}
