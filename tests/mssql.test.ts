/**
 * What can be checked of the Azure SQL implementation without a server: the T-SQL it sends parses
 * as T-SQL, the bulk-load columns are the DDL's types, the retry policy's classification, and the
 * configuration builder. The behaviour itself is the contract suite's (contract.mssql.test.ts),
 * which runs wherever MSSQL_TEST_CONNECTION names a server (the CI workflow does).
 */
import { describe, expect, it } from 'vitest';
import { Parser } from 'node-sql-parser';
import { readConfig } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { TABLES, getTable } from '../shared/tables';
import {
  bulkTable,
  createTable,
  dropIndexStatements,
  indexStatements,
  MssqlNames,
  quarterlyHiresView,
  schemaStatements,
} from '../shared/db/mssql/ddl';
import { MssqlStatements } from '../shared/db/mssql/statements';
import { StoreStatements } from '../shared/db/statements';
import { REJECTED_ROWS } from '../shared/db/auditTables';
import { poolConfig, REQUEST_TIMEOUT_MS } from '../shared/db/mssql/connectionConfig';
import { isTransient, withRetry } from '../shared/db/mssql/retry';
import { WRITE_LOCK_TIMEOUT_MS } from '../shared/db/Engine';

const parser = new Parser();
const names = new MssqlNames('ingest');
const statements = new MssqlStatements(names);
const store = new StoreStatements(statements.syntax);

/**
 * node-sql-parser's T-SQL grammar has no foreign-key clause (`REFERENCES`), in a column or table
 * constraint alike. Such clauses are checked here against their one expected shape and removed,
 * and the rest of the statement must parse.
 */
const FOREIGN_KEY = / CONSTRAINT \[(fk_[a-z_]+)\] REFERENCES \[ingest\]\.\[([a-z_]+)\] \(\[id\]\)/g;

/** Nor CLUSTERED indexes nor COUNT_BIG: the indexed view's index is parsed as a plain unique one, its count as COUNT. */
const CLUSTERED = / UNIQUE CLUSTERED INDEX \[ix_quarterly_hires\] /;
const COUNT_BIG = /\bCOUNT_BIG\(\*\)/g;

function parse(sql: string) {
  const withoutForeignKeys = sql
    .replace(FOREIGN_KEY, '')
    .replace(CLUSTERED, ' UNIQUE INDEX [ix_quarterly_hires] ')
    .replace(COUNT_BIG, 'COUNT(*)');
  const ast = parser.astify(withoutForeignKeys, { database: 'transactsql' });
  return Array.isArray(ast) ? ast : [ast];
}

/** Every statement the store and the engine can send to Azure SQL, for every table. */
function everyStatement(): string[] {
  const all = [...schemaStatements(names), statements.allowSnapshotIsolation, statements.isBabelfish];
  for (const table of TABLES) {
    all.push(
      createTable(table, names, `scratch_${table.name}_1_a`),
      store.countRows(table),
      statements.allRows(table),
      store.listRows(table),
      store.findRows(table),
      store.findRows(table, `scratch_${table.name}_1_a`),
      store.existingIds(table),
      statements.deleteAll(table),
      ...indexStatements(names, table),
      ...dropIndexStatements(names, table),
    );
    for (const key of statements.foreignKeysAround([table])) {
      // The grammar takes constraint names bare only; ADD CONSTRAINT ... FOREIGN KEY is checked on its own below.
      all.push(statements.dropForeignKey(key).replace(/\[(fk_[a-z_]+)\]$/, '$1'));
    }
  }
  const hired = getTable('hired_employees');
  const none = { table: false, kind: false, status: false, idempotencyKey: false, after: false };
  all.push(
    store.orphanIds(hired, 'department_id', getTable('departments')),
    store.orphanRows(hired, 'department_id', getTable('departments')),
    store.getRun(),
    store.updateRun(),
    store.insertRunIfMissing(),
    store.listRuns(none),
    store.listRuns({ table: true, kind: true, status: true, idempotencyKey: true, after: true }),
    store.listRejections({ table: false, runId: false }),
    store.listRejections({ table: true, runId: true, openIn: getTable('jobs') }),
    statements.scratchTables(),
    statements.dropTable('scratch_jobs_1_a'),
    statements.countedMetrics.hiresByQuarter,
    statements.countedMetrics.departmentsAboveMean,
    statements.scannedMetrics.hiresByQuarter,
    statements.scannedMetrics.departmentsAboveMean,
    statements.countedMetrics.hireYears,
    statements.scannedMetrics.hireYears,
    ...quarterlyHiresView(names),
    // The view's own query, which the first statement sends as dynamic SQL.
    /AS (SELECT .*)'\)$/.exec(quarterlyHiresView(names)[0])![1],
  );
  return all;
}

describe('generated T-SQL', () => {
  it.each(everyStatement().map((sql) => [sql.replace(/\s+/g, ' ').slice(0, 90), sql]))('parses: %s', (_, sql) => {
    expect(parse(sql).length).toBeGreaterThan(0);
  });

  it('adds back, after a restore, exactly the foreign keys the DDL declares', () => {
    const ddl = schemaStatements(names).join('\n');
    const declared = [...ddl.matchAll(FOREIGN_KEY)].map((m) => `${m[1]} -> ${m[2]}`).sort();
    const added = statements.foreignKeysAround(TABLES).map((key) => {
      const m =
        /^ALTER TABLE \[ingest\]\.\[([a-z_]+)\] ADD CONSTRAINT \[(fk_[a-z_]+)\] FOREIGN KEY \(\[([a-z_]+)\]\) REFERENCES \[ingest\]\.\[([a-z_]+)\] \(\[id\]\)$/.exec(
          statements.addForeignKey(key),
        );
      expect(m, statements.addForeignKey(key)).not.toBeNull();
      expect(m![2]).toBe(`fk_${m![1]}_${m![3]}`);
      return `${m![2]} -> ${m![4]}`;
    });
    expect(added.sort()).toEqual(declared.filter((k) => !k.startsWith('fk_rejected_rows')));
  });

  it('declares every foreign key of the table definitions, and only those', () => {
    const ddl = schemaStatements(names).join('\n');
    const declared = [...ddl.matchAll(FOREIGN_KEY)].map((m) => `${m[1]} -> ${m[2]}`).sort();
    const expected = TABLES.flatMap((t) => t.columns.filter((c) => c.references).map((c) => `fk_${t.name}_${c.name} -> ${c.references}`));
    expect(declared).toEqual([...expected, 'fk_rejected_rows_run_id -> runs'].sort());
  });

  it('creates every table and index of the definitions, idempotently', () => {
    const ddl = schemaStatements(names);
    for (const table of TABLES) {
      expect(ddl).toContain(`IF OBJECT_ID(N'[ingest].[${table.name}]', N'U') IS NULL ${createTable(table, names)}`);
      for (const index of table.indexes)
        expect(ddl.some((s) => s.startsWith('IF NOT EXISTS') && s.includes(`CREATE INDEX [${index.name}]`))).toBe(true);
    }
  });

  it('quotes identifiers, so a schema name cannot break out of its brackets', () => {
    expect(new MssqlNames('a]b').table('jobs')).toBe('[a]]b].[jobs]');
  });
});

describe('bulk-load tables', () => {
  /** Column name → type as written in a CREATE TABLE, from the parsed statement. */
  function columnTypes(sql: string): Record<string, string> {
    const [create] = parse(sql) as unknown as {
      create_definitions: { column?: { column: string }; definition: { dataType: string; length?: number } }[];
    }[];
    return Object.fromEntries(
      create.create_definitions
        .filter((d) => d.column)
        .map((d) => [
          d.column!.column,
          `${d.definition.dataType}${d.definition.length === undefined ? '' : `(${d.definition.length})`}`.toUpperCase(),
        ]),
    );
  }

  it.each(TABLES.map((t) => [t.name, t]))('%s: the bulk columns have the DDL column types', (_, table) => {
    const ddl = columnTypes(createTable(table, names));
    // mssql's own declaration of the bulk table is the types it sends in the TDS bulk-load stream.
    const declaration = (bulkTable(table, names) as unknown as { declare(): string }).declare();
    const bulk = columnTypes(declaration.replace(/ \((\d+)\)/g, '($1)'));
    expect(Object.keys(ddl)).toEqual(table.columns.map((c) => c.name));
    expect(bulk).toEqual(ddl);
  });

  it('rejected_rows: the bulk columns have the DDL column types', () => {
    const create = schemaStatements(names).find((s) => s.includes('CREATE TABLE [ingest].[rejected_rows]'))!;
    const ddl = columnTypes(create.slice(create.indexOf('CREATE TABLE')));
    const declaration = (bulkTable(REJECTED_ROWS, names) as unknown as { declare(): string }).declare();
    const bulk = columnTypes(declaration.replace(/ \((\w+)\)/g, '($1)'));
    expect(Object.keys(bulk)).toEqual([
      'run_id',
      'table_name',
      'position',
      'raw_text',
      'format',
      'reasons',
      'created_at',
      'raw_sha256',
      'row_id',
    ]);
    expect(bulk).toEqual(Object.fromEntries(Object.entries(ddl).filter(([column]) => column !== 'id')));
  });
});

describe('retry policy', () => {
  it.each([4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 1205])('retries SQL error %i', (number) => {
    expect(isTransient({ number })).toBe(true);
  });

  it.each([547, 2627, 208, 102, 18456, 229, 8152])('does not retry SQL error %i', (number) => {
    expect(isTransient({ number })).toBe(false);
  });

  it('looks through mssql wrappers and at dropped connections', () => {
    expect(isTransient({ code: 'EREQUEST', originalError: { number: 40613 } })).toBe(true);
    expect(isTransient({ code: 'EREQUEST', precedingErrors: [{ number: 40501 }] })).toBe(true);
    expect(isTransient({ code: 'ESOCKET' })).toBe(true);
    expect(isTransient({ code: 'EREQUEST', originalError: { number: 2627 } })).toBe(false);
    expect(isTransient(new Error('boom'))).toBe(false);
  });

  it('retries transient failures with growing delays, then gives up', async () => {
    const delays: number[] = [];
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls++;
        throw Object.assign(new Error('failover'), { number: 40613 });
      },
      { attempts: 4, firstDelayMs: 100, maxDelayMs: 250, sleep: async (ms) => void delays.push(ms) },
    );
    await expect(failing).rejects.toThrow('failover');
    expect(calls).toBe(4);
    expect(delays).toHaveLength(3);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[2]).toBeLessThanOrEqual(250);
  });

  it('fails at once on an error that repeating cannot fix, and returns what a retry got', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw Object.assign(new Error('duplicate key'), { number: 2627 });
      }),
    ).rejects.toThrow('duplicate key');
    expect(calls).toBe(1);
    let attempts = 0;
    const value = await withRetry(
      async () => {
        if (++attempts < 3) throw Object.assign(new Error('busy'), { number: 40501 });
        return 'done';
      },
      { attempts: 5, firstDelayMs: 1, maxDelayMs: 1 },
    );
    expect(value).toBe('done');
  });
});

describe('SQL configuration', () => {
  it('chooses SQLite when no SQL setting is present', () => {
    expect(readConfig({}).sql).toBeUndefined();
  });

  it('builds Entra authentication from SQL_SERVER and SQL_DATABASE, with the managed identity client id', () => {
    const sql = readConfig({ SQL_SERVER: 'srv.database.windows.net', SQL_DATABASE: 'ingest', AZURE_CLIENT_ID: 'client-1' }).sql!;
    const config = poolConfig(sql);
    expect(config).toMatchObject({
      server: 'srv.database.windows.net',
      database: 'ingest',
      authentication: { type: 'azure-active-directory-default', options: { clientId: 'client-1' } },
      options: { encrypt: true, useUTC: true },
    });
    expect(config.password).toBeUndefined();
  });

  it.each([
    [{ SQL_SERVER: 'srv' }, 'SQL_DATABASE is missing'],
    [{ SQL_DATABASE: 'db' }, 'SQL_SERVER is missing'],
    [{ SQL_CONNECTION: 'Server=a;Database=b;User Id=u;Password=p', SQL_SERVER: 'srv' }, 'not both'],
  ])('rejects incomplete settings %j, naming what is missing', (env, message) => {
    expect(() => readConfig(env)).toThrow(ConfigurationError);
    expect(() => readConfig(env)).toThrow(message);
  });

  it('bounds every statement and the wait for the write lock: a stuck statement cannot hold the lock for ever', () => {
    const config = poolConfig(readConfig({ SQL_CONNECTION: 'Server=a;Database=b;User Id=u;Password=p' }).sql!);
    expect(config.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    expect(REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(15 * 60_000);
    // The lock wait is itself a statement (sp_getapplock): it ends before the statement's own timeout.
    expect(WRITE_LOCK_TIMEOUT_MS).toBeLessThan(REQUEST_TIMEOUT_MS);
  });

  it('reads a connection string with a SQL login', () => {
    const config = poolConfig(
      readConfig({ SQL_CONNECTION: 'Server=tcp:db.local,1533;Database=ingest;User Id=sa;Password=pw;TrustServerCertificate=true' }).sql!,
    );
    expect(config).toMatchObject({ server: 'db.local', port: 1533, database: 'ingest', user: 'sa', password: 'pw' });
  });

  it('turns Authentication=Active Directory Default in a connection string into Entra authentication', () => {
    // mssql's parser alone would fall back to a SQL login here.
    const config = poolConfig(
      readConfig({
        SQL_CONNECTION: 'Server=tcp:srv.database.windows.net,1433;Database=ingest;Authentication=Active Directory Default;User Id=client-2',
      }).sql!,
    );
    expect(config.authentication).toEqual({ type: 'azure-active-directory-default', options: { clientId: 'client-2' } });
    expect(config.user).toBeUndefined();
    const quoted = poolConfig(
      readConfig({ SQL_CONNECTION: 'Server=srv;Database=ingest;Authentication="Active Directory Managed Identity"' }).sql!,
    );
    expect(quoted.authentication).toEqual({ type: 'azure-active-directory-default', options: { clientId: undefined } });
  });

  it.each([
    ['Server=srv;User Id=u;Password=p', 'no database'],
    ['Database=db;User Id=u;Password=p', 'no server'],
    ['Server=srv;Database=db', 'no credentials'],
  ])('rejects the connection string %s', (connectionString, message) => {
    expect(() => poolConfig(readConfig({ SQL_CONNECTION: connectionString }).sql!)).toThrow(message);
  });
});
