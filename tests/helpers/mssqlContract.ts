/**
 * The database contract on a server that speaks TDS (SQL Server, Azure SQL, Babelfish): each test
 * gets a schema of its own, created by the service's own migration and dropped afterwards, so the
 * suite can share a database with anything else.
 */
import sql from 'mssql';
import { Store } from '../../shared/db/Store';
import { MssqlEngine } from '../../shared/db/mssql/MssqlEngine';
import { describeDatabaseContract } from '../contract/databaseContract';

export function describeMssqlContract(name: string, config: sql.config): void {
  const schemas = new Map<object, string>();
  describeDatabaseContract(name, {
    async open() {
      const schema = `contract_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
      const db = new Store(new MssqlEngine(config, { schema }));
      await db.migrate(); // a failure here is the test's error: nothing was created to drop
      schemas.set(db, schema);
      return db;
    },
    async openAnother(db) {
      const another = new Store(new MssqlEngine(config, { schema: schemas.get(db) }));
      await another.migrate();
      return another;
    },
    async dispose(db) {
      await db.close();
      const schema = schemas.get(db);
      schemas.delete(db);
      if (schema) await dropSchema(config, schema);
    },
  });
}

/**
 * Drops the schema's foreign keys, then its tables, then the schema. STRING_AGG, not `SELECT
 * @sql += ...`: aggregate concatenation through a variable is undefined in T-SQL (Babelfish keeps
 * only the last row).
 */
async function dropSchema(config: sql.config, schema: string): Promise<void> {
  const pool = await new sql.ConnectionPool(config).connect();
  try {
    await pool
      .request()
      .input('schema', sql.NVarChar(128), schema)
      .batch(
        `DECLARE @keys NVARCHAR(MAX), @tables NVARCHAR(MAX), @sql NVARCHAR(MAX);
         SELECT @keys = STRING_AGG(CAST(N'ALTER TABLE ' + QUOTENAME(@schema) + N'.' + QUOTENAME(OBJECT_NAME(parent_object_id)) + N' DROP CONSTRAINT ' + QUOTENAME(name) AS NVARCHAR(MAX)), N'; ')
           FROM sys.foreign_keys WHERE schema_id = SCHEMA_ID(@schema);
         SELECT @tables = STRING_AGG(CAST(N'DROP TABLE ' + QUOTENAME(@schema) + N'.' + QUOTENAME(name) AS NVARCHAR(MAX)), N'; ')
           FROM sys.tables WHERE schema_id = SCHEMA_ID(@schema);
         IF @keys IS NOT NULL EXEC sp_executesql @keys;
         IF @tables IS NOT NULL EXEC sp_executesql @tables;
         SET @sql = N'DROP SCHEMA ' + QUOTENAME(@schema);
         EXEC sp_executesql @sql;`,
      );
  } finally {
    await pool.close();
  }
}
