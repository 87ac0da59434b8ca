/**
 * The database contract on SQL Server / Azure SQL, wherever MSSQL_TEST_CONNECTION names one (a
 * connection string, e.g. `Server=localhost,1433;Database=master;User Id=sa;Password=...;
 * TrustServerCertificate=true`). Each test gets a schema of its own, created by the service's own
 * migration and dropped afterwards, so the suite can share a database with anything else.
 */
import { describe, it } from 'vitest';
import sql from 'mssql';
import { MssqlDatabase } from '../shared/db/mssql/MssqlDatabase';
import { poolConfig } from '../shared/db/mssql/connectionConfig';
import { describeDatabaseContract } from './contract/databaseContract';

const connectionString = process.env.MSSQL_TEST_CONNECTION;

if (!connectionString) {
  describe('database contract: SQL Server', () => {
    it.skip('needs MSSQL_TEST_CONNECTION (a SQL Server connection string); see the README, "Testing against SQL Server"', () => {});
  });
} else {
  const config = poolConfig({ kind: 'connectionString', connectionString });
  const schemas = new Map<object, string>();

  describeDatabaseContract('SQL Server', {
    async open() {
      const schema = `contract_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
      const db = new MssqlDatabase(config, { schema });
      await db.migrate();
      schemas.set(db, schema);
      return db;
    },
    async dispose(db) {
      await db.close();
      await dropSchema(schemas.get(db)!);
      schemas.delete(db);
    },
  });

  /** Drops the schema's tables, children first (foreign keys), then the schema. */
  async function dropSchema(schema: string): Promise<void> {
    const pool = await new sql.ConnectionPool(config).connect();
    try {
      await pool
        .request()
        .input('schema', sql.NVarChar(128), schema)
        .batch(
          `DECLARE @sql NVARCHAR(MAX) = N'';
           SELECT @sql += N'ALTER TABLE ' + QUOTENAME(@schema) + N'.' + QUOTENAME(OBJECT_NAME(parent_object_id)) + N' DROP CONSTRAINT ' + QUOTENAME(name) + N'; '
             FROM sys.foreign_keys WHERE schema_id = SCHEMA_ID(@schema);
           SELECT @sql += N'DROP TABLE ' + QUOTENAME(@schema) + N'.' + QUOTENAME(name) + N'; ' FROM sys.tables WHERE schema_id = SCHEMA_ID(@schema);
           SET @sql += N'DROP SCHEMA ' + QUOTENAME(@schema) + N';';
           EXEC sp_executesql @sql;`,
        );
    } finally {
      await pool.close();
    }
  }
}
