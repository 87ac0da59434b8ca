/**
 * The database contract on SQL Server / Azure SQL, wherever MSSQL_TEST_CONNECTION names one (a
 * connection string, e.g. `Server=localhost,1433;Database=master;User Id=sa;Password=...;
 * TrustServerCertificate=true`).
 */
import { describe, it } from 'vitest';
import { poolConfig } from '../shared/db/mssql/connectionConfig';
import { describeMssqlContract } from './helpers/mssqlContract';

const connectionString = process.env.MSSQL_TEST_CONNECTION;

if (!connectionString) {
  describe('database contract: SQL Server', () => {
    it.skip('needs MSSQL_TEST_CONNECTION (a SQL Server connection string); see the README, "Testing against SQL Server"', () => {});
  });
} else {
  describeMssqlContract('SQL Server', poolConfig({ kind: 'connectionString', connectionString }));
}
